// The leader election recipe of cluster mode (issue 12), as ZooKeeper's recipes describe it:
// every candidate creates an EPHEMERAL_SEQUENTIAL znode `<dir>/c_<token>-n_<seq>` whose data is
// its owner (the worker id); the lowest sequence number leads; every other candidate watches only
// the candidate just before it (no herd effect: a loss wakes one candidate). The cluster worker's
// leader thread (cluster/cluster_worker.cpp) runs it; the elected worker claims generations and
// runs the coordinator.
//
// Connection loss: a create whose reply was lost may or may not have made the node, so a
// candidate finds its node by the token in its name (unique per Election object), never by
// creating again blindly; duplicates of its own token are removed, keeping the lowest. After a
// session expiry the node is gone (ephemeral): is_leader() turns false as soon as the client learns
// of it (no request) and the next check() or wait_for_leadership() enters again at the back.
//
// Leadership is a hint, not a lock: a leader must still fence what it writes (the coordinator's
// generation check in zoo_multi), and after a connection loss call check() before acting.
//
// Threading: one fiber or thread at a time per Election; the Client may be shared.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sleet/status.hpp>

#include "coordination/zk_client.hpp"

namespace sleet::zk {

class Election {
 public:
  // Nothing is written until the first check(). `dir` is an absolute znode path, created if
  // missing; `owner` (the candidate's data) names it in leader().
  Election(Client& client, std::string dir, std::string owner);
  Election(const Election&) = delete;
  Election& operator=(const Election&) = delete;

  // Finds or creates this candidate's node, then reads whether it leads; when it does not, arms a
  // watch on its predecessor only. unavailable if ZooKeeper could not say (call again).
  Result<bool> check();
  // The last check() found this candidate first, and its session is still the same one.
  bool is_leader() const;
  // Returns Ok once this candidate leads; Code::timeout at `until`. Re-enters after a session
  // loss; waits on the predecessor's watch between checks.
  Status wait_for_leadership(std::chrono::steady_clock::time_point until);
  // While leading: Ok once leadership is lost (own node deleted or session lost); Code::timeout
  // at `until`; invalid_argument if not the leader.
  Status wait_while_leader(std::chrono::steady_clock::time_point until);
  // Deletes this candidate's node (Ok if none); a successor is woken.
  Status resign();

  // The current leader's owner (data of the lowest candidate); not_found if there is none.
  Result<std::string> leader();

  const std::string& node() const { return node_; }    // candidate name, "" before check()
  const std::string& token() const { return token_; }  // in the node's name
  // Predecessor watches that fired (each wakes one check()); the herd-effect tests count these.
  uint64_t wakeups() const { return wakeups_.load(); }

  // The sequence number of a candidate name (the digits after the last "-n_"), -1 if none.
  static int64_t sequence_of(const std::string& name);

 private:
  // Candidates sorted by sequence; names not made by this recipe are ignored.
  static std::vector<std::string> sorted_candidates(const std::vector<std::string>& names);

  Client& client_;
  std::string dir_;
  std::string owner_;
  std::string token_;
  std::string node_;
  uint64_t epoch_ = 0;  // session epoch in which node_ was found or created
  bool leader_ = false;
  bool dir_ready_ = false;
  Watch predecessor_;  // armed while not leading
  std::string predecessor_for_;
  Watch own_;  // armed while leading: fires when the own node goes
  std::string own_for_;
  std::atomic<uint64_t> wakeups_{0};  // read by other threads (tests)
};

}  // namespace sleet::zk
