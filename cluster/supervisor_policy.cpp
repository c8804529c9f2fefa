#include "cluster/supervisor_policy.hpp"

#include <algorithm>

namespace sleet::cluster {

Decision decide(const SupervisorPolicy& policy, FailureHistory& history, const WorkerEnd& end) {
  Decision d;
  if (end.exit_status == 0 || end.exit_status == 2 || end.exit_status == 3) {
    d.kind = Decision::Kind::stop;
    d.exit_code = end.exit_status;
    return d;
  }
  if (end.chaos) return d;  // restart at once
  // Healthy for a while: this failure starts a new count and backoff. Not the repeat detection:
  // a task that stalls for minutes at the same input position each time is stuck however long
  // each attempt ran.
  if (end.ran >= policy.stable_after) history.failures = 0;
  ++history.failures;
  std::string sig;
  if (!end.failure.empty() && !end.transient)
    sig = end.failure + " @ input position " + std::to_string(end.position);
  if (!sig.empty() && sig == history.signature) {
    ++history.repeats;
  } else {
    history.signature = sig;
    history.repeats = sig.empty() ? 0 : 1;
  }
  if (!sig.empty() && history.repeats >= policy.repeat_limit) {
    d.kind = Decision::Kind::give_up;
    d.exit_code = 3;
    d.reason = "the worker failed " + std::to_string(history.repeats) +
               " times in a row with the same error at the same input position, so a restart "
               "cannot fix it: " +
               end.failure;
    return d;
  }
  if (history.failures >= policy.max_failures) {
    d.kind = Decision::Kind::give_up;
    d.exit_code = 1;
    d.reason = "the worker failed " + std::to_string(history.failures) +
               " times in a row (--max-failures " + std::to_string(policy.max_failures) + ")" +
               (end.failure.empty() ? "" : "; last error: " + end.failure);
    return d;
  }
  const int shift = std::min(history.failures - 1, 20);
  d.backoff = std::min(policy.max_backoff, policy.base_backoff * (int64_t{1} << shift));
  return d;
}

}  // namespace sleet::cluster

namespace sleet::cluster {

std::vector<std::string> describe_errors(
    const std::map<std::string, WorkerProgress::ComponentErrors>& errors) {
  std::vector<std::string> out;
  for (auto& [id, e] : errors) {
    if (e.skipped <= 0) continue;
    std::string l = id + ": " + std::to_string(e.skipped) + " record(s) skipped by on_error";
    if (e.dead_lettered > 0) l += ", " + std::to_string(e.dead_lettered) + " of them dead-lettered";
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace sleet::cluster
