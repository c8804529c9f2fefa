// The worker's lease on side effects ZooKeeper cannot fence (DESIGN.md "Cluster mode" step 7,
// issue 12): FileSink renames, KafkaSink publishes and cursor writes, snapshot blob writes. A
// worker paused (GC, SIGSTOP) or cut off from ZooKeeper may have lost its session without knowing
// it; its tasks then run on another worker, and a rename or publish of its own would duplicate or
// overwrite their output. So every such side effect first asks the lease (SideEffectGate,
// include/sleet/component.hpp), which answers from the ZooKeeper client's connection state
// (zk::ConnectionState) alone, without a request:
//
//   expired    the session expired, or it is no longer the session the lease was granted for (the
//              client replaced it): refused until the owner has stopped its tasks, rejoined and
//              called renew() for the new session;
//   open       the server answered a request sent less than 2/3 of the granted session timeout
//              ago (connection up, or down for less than that bound);
//   suspended  otherwise: refused until the server answers again.
//
// Why 2/3 of the timeout from the last answer: the server had heard from the session when that
// request was sent, so it cannot expire the session (and no other worker can take its tasks over,
// since they move only once its ephemeral znode is gone) before last_contact + timeout. Closing
// at last_contact + 2/3 timeout leaves a third of the timeout for the side effect in progress and
// clock rate differences. The client's heartbeat (every 1/6 of the timeout) keeps last_contact
// fresh on a healthy connection. Measuring from the last answer rather than from the moment the
// client noticed the disconnect matters: the C client notices a silent partition only after 2/3
// of the timeout, and a SIGSTOPped process notices nothing until it runs again.
//
// A refusal is Code::unavailable naming the lease's figures and the side effect; callers return
// it as their own error, so the task fails and recovery finishes the step later (never skipped).
//
// Threading: allow() and verdict() from any thread or fiber, concurrently (the probe must be
// thread-safe, as zk::Client::connection_state is); renew() from the owner's controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <sleet/component.hpp>
#include <sleet/status.hpp>

#include "coordination/zk_client.hpp"

namespace sleet::cluster {

enum class LeaseState { open, suspended, expired };
const char* lease_state_name(LeaseState s);

// The lease rule's answer at one instant.
struct LeaseVerdict {
  LeaseState state = LeaseState::suspended;
  bool connected = false;
  std::chrono::milliseconds silent{0};           // since the last answer (0: none yet)
  std::chrono::milliseconds session_timeout{0};  // granted
  std::chrono::milliseconds bound{0};            // 2/3 of session_timeout
  uint64_t session_epoch = 0;                    // the session these facts are about
  uint64_t granted_epoch = 0;                    // the session the lease was granted for
  bool never_answered = false;                   // no answer from this session yet
  // Why side effects are refused ("" when open), e.g. "side effects suspended: ZooKeeper
  // connection suspended for 1400 ms of a 2000 ms session (2/3 = 1333 ms)".
  std::string reason() const;
};

// The rule itself (pure): see the top of this file. `granted_epoch`: the session the lease holds.
LeaseVerdict lease_verdict(const zk::ConnectionState& c, uint64_t granted_epoch,
                           std::chrono::steady_clock::time_point now);

class Lease final : public SideEffectGate {
 public:
  using Clock = std::chrono::steady_clock;
  using Probe = std::function<zk::ConnectionState()>;
  using Now = std::function<Clock::time_point()>;

  // Granted for the probe's current session. Tests inject both; the worker uses the next one.
  Lease(Probe probe, Now now);
  // The client's connection state, the steady clock. `zk` must outlive the lease.
  explicit Lease(const zk::Client& zk);

  // Ok while open; otherwise Code::unavailable: "<reason>; this worker may be a zombie, so it
  // refuses: <what> (...)".
  [[nodiscard]] Status allow(std::string_view what) const override;
  LeaseVerdict verdict() const;
  // The owner stopped its tasks and rejoined after an expiry: grant the lease for the current
  // session. unavailable (lease unchanged) if that session is not connected or has expired too.
  [[nodiscard]] Status renew();
  uint64_t granted_epoch() const { return granted_epoch_.load(); }

 private:
  Probe probe_;
  Now now_;
  std::atomic<uint64_t> granted_epoch_{0};
  // The granted epoch once seen expired (0: none): expired until renew(), whatever the probe says
  // later. An epoch, not a flag, so a verdict racing renew() cannot close the renewed lease.
  mutable std::atomic<uint64_t> expired_for_{0};
};

}  // namespace sleet::cluster
