// The worker's watchdog for a stuck task: a task that makes no progress (its tuple counters do not
// move) while it keeps every checkpoint from completing (it is among the tasks that did not ack
// the last aborted checkpoint) for `worker.stall.timeout.ms`. Left alone such a worker would run
// forever without committing anything; the worker fails the topology naming the task instead.
//
// Of the tasks that did not ack, the blockers are those whose upstream components all acked: the
// tasks downstream of a stuck one wait for its barrier and are not the cause.
//
// Threading: one owner (the worker's controlling thread). Pure apart from its own memory: the
// caller passes the clock and the engine's figures in, so it is table-tested without an engine.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sleet/topology.hpp>

namespace sleet {

class StallWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  // `spec` gives the streams (who is upstream of whom); it must outlive the watchdog.
  StallWatchdog(const TopologySpec& spec, std::chrono::milliseconds timeout);

  // `counters`: per task ("component[task]") a number that moves whenever it makes progress (its
  // in + out tuple counts). `missing`: tasks that did not ack the last aborted checkpoint.
  // `committed_at`: when the last checkpoint committed (or the worker started). Returns the
  // stuck blockers (empty while none is).
  std::vector<std::string> check(Clock::time_point now, Clock::time_point committed_at,
                                 const std::map<std::string, int64_t>& counters,
                                 const std::vector<std::string>& missing);

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  const TopologySpec& spec_;
  std::chrono::milliseconds timeout_;
  struct Seen {
    int64_t value = 0;
    Clock::time_point since{};
  };
  std::map<std::string, Seen> seen_;
};

// "component[3]" -> "component" (the whole name when it has no "[").
std::string component_of_task(const std::string& task_name);

}  // namespace sleet
