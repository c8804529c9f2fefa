// What `sleet run` does when its worker process ends: stop, restart after a backoff, or give up.
// A pure function of the policy's memory and how the worker ended, table-tested in
// tests/cluster/supervisor_policy_test.cpp; the Supervisor (cluster/supervisor.cpp) is its only
// caller.
//
// Rules, in order:
//   - exit 0: the worker stopped on its own (done); exit 2 / 3: a restart cannot fix it.
//   - a chaos kill (the supervisor's own SIGKILL): restart at once, not counted as a failure.
//   - anything else is a failure. A worker that stayed up for `stable_after` first resets the
//     count of failures in a row and the backoff (it was healthy), not the repeat detection.
//   - the same non-transient failure (message and input position) as the previous one, for the
//     `repeat_limit`-th time in a row: give up, exit 3 (deterministic: a restart replays the
//     same input and fails the same way). Committed checkpoints do not reset this: a restart
//     commits a fresh checkpoint at the same position before failing again.
//   - the `max_failures`-th failure in a row: give up, exit 1.
//   - else restart after base_backoff * 2^(failures-1), at most max_backoff.
#pragma once

#include <chrono>
#include <string>

namespace sleet::cluster {

struct SupervisorPolicy {
  int max_failures = 10;  // --max-failures
  int repeat_limit = 3;
  std::chrono::milliseconds base_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds stable_after{30000};
};

// How a worker process ended, from its exit status and its last status file (only when that
// file is this worker's: same pid).
struct WorkerEnd {
  int exit_status = 0;     // exit code, or 128 + signal
  bool chaos = false;      // killed by --chaos-kill-every
  std::string failure;     // its error ("" if unknown: killed, or no status of its own)
  bool transient = false;  // the error is of the retriable class
  int64_t position = 0;    // input position at the failure (committed offsets, summed)
  std::chrono::milliseconds ran{0};
};

// What the policy remembers across restarts.
struct FailureHistory {
  int failures = 0;       // in a row
  std::string signature;  // of the last failure ("" if it had none)
  int repeats = 0;        // times in a row that signature was seen
};

struct Decision {
  enum class Kind { stop, restart, give_up } kind = Kind::restart;
  int exit_code = 0;  // stop / give_up: what `sleet run` exits with
  std::chrono::milliseconds backoff{0};
  std::string reason;  // give_up: a sentence for the console
};

Decision decide(const SupervisorPolicy& policy, FailureHistory& history, const WorkerEnd& end);

}  // namespace sleet::cluster

#include <map>

#include "cluster/worker.hpp"

namespace sleet::cluster {

// The run summary's lines about tuples the on_error policies set aside, one per component with
// any ("split: 10000 records skipped by on_error, 10000 of them dead-lettered"); none if none.
std::vector<std::string> describe_errors(
    const std::map<std::string, WorkerProgress::ComponentErrors>& errors);

}  // namespace sleet::cluster
