#include "cluster/lease.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace sleet::cluster {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

const char* lease_state_name(LeaseState s) {
  switch (s) {
    case LeaseState::open:
      return "open";
    case LeaseState::suspended:
      return "suspended";
    case LeaseState::expired:
      return "expired";
  }
  return "?";
}

LeaseVerdict lease_verdict(const zk::ConnectionState& c, uint64_t granted_epoch,
                           std::chrono::steady_clock::time_point now) {
  LeaseVerdict v;
  v.connected = c.connected;
  v.session_timeout = c.session_timeout;
  v.bound = c.session_timeout * 2 / 3;
  v.session_epoch = c.session_epoch;
  v.granted_epoch = granted_epoch;
  v.never_answered = !c.last_contact.has_value();
  if (c.last_contact)
    v.silent = std::max(milliseconds(0), duration_cast<milliseconds>(now - *c.last_contact));
  if (c.expired || c.session_epoch != granted_epoch) {
    v.state = LeaseState::expired;
  } else if (c.last_contact && now - *c.last_contact < v.bound) {
    v.state = LeaseState::open;
  } else {
    v.state = LeaseState::suspended;
  }
  return v;
}

std::string LeaseVerdict::reason() const {
  const std::string session = std::to_string(session_timeout.count()) +
                              " ms session (2/3 = " + std::to_string(bound.count()) + " ms)";
  switch (state) {
    case LeaseState::open:
      return "";
    case LeaseState::expired:
      return "side effects stopped: the ZooKeeper session this worker's lease was granted for "
             "(epoch " +
             std::to_string(granted_epoch) +
             ") expired: its ephemeral znodes are gone and its tasks may already run on another "
             "worker; the worker must stop its tasks and rejoin (Lease::renew)";
    case LeaseState::suspended:
      if (never_answered)
        return "side effects suspended: ZooKeeper has not answered this session yet (" + session +
               ")";
      return std::string("side effects suspended: ZooKeeper connection ") +
             (connected ? "silent" : "suspended") + " for " + std::to_string(silent.count()) +
             " ms of a " + session;
  }
  return "";
}

Lease::Lease(Probe probe, Now now) : probe_(std::move(probe)), now_(std::move(now)) {
  granted_epoch_.store(probe_().session_epoch);
}

Lease::Lease(const zk::Client& zk)
    : Lease([&zk] { return zk.connection_state(); }, [] { return Clock::now(); }) {}

LeaseVerdict Lease::verdict() const {
  LeaseVerdict v = lease_verdict(probe_(), granted_epoch_.load(), now_());
  if (v.state == LeaseState::expired) {
    if (expired_for_.exchange(v.granted_epoch) != v.granted_epoch)
      spdlog::warn("side-effect lease: {}", v.reason());
  } else if (expired_for_.load() == v.granted_epoch) {
    v.state = LeaseState::expired;  // sticky until renew()
  }
  return v;
}

Status Lease::allow(std::string_view what) const {
  LeaseVerdict v = verdict();
  if (v.state == LeaseState::open) return Status::Ok();
  return Status::Unavailable(
      v.reason() + "; this worker may be a zombie, so it refuses: " + std::string(what) +
      (v.state == LeaseState::suspended
           ? " (side effects resume once ZooKeeper answers again; recovery finishes what was "
             "refused)"
           : " (recovery by the next generation finishes it)"));
}

Status Lease::renew() {
  zk::ConnectionState c = probe_();
  if (!c.connected || c.expired)
    return Status::Unavailable("cannot renew the side-effect lease: ZooKeeper session epoch " +
                               std::to_string(c.session_epoch) +
                               (c.expired ? " expired too" : " is not connected") +
                               "; rejoin once the client has a connected session");
  uint64_t expired = c.session_epoch;
  expired_for_.compare_exchange_strong(expired, 0);  // renewed for the very session seen expired
  granted_epoch_.store(c.session_epoch);
  return Status::Ok();
}

}  // namespace sleet::cluster
