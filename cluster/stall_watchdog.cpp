#include "cluster/stall_watchdog.hpp"

#include <set>

namespace sleet {

std::string component_of_task(const std::string& task_name) {
  return task_name.substr(0, task_name.rfind('['));
}

StallWatchdog::StallWatchdog(const TopologySpec& spec, std::chrono::milliseconds timeout)
    : spec_(spec), timeout_(timeout) {}

std::vector<std::string> StallWatchdog::check(Clock::time_point now, Clock::time_point committed_at,
                                              const std::map<std::string, int64_t>& counters,
                                              const std::vector<std::string>& missing) {
  for (auto& [task, v] : counters) {
    auto [it, fresh] = seen_.try_emplace(task, Seen{v, now});
    if (!fresh && it->second.value != v) it->second = Seen{v, now};
  }
  std::vector<std::string> stuck;
  if (missing.empty() || now - committed_at < timeout_) return stuck;
  std::set<std::string> waiting;
  for (auto& t : missing) waiting.insert(component_of_task(t));
  for (auto& t : missing) {
    const std::string c = component_of_task(t);
    bool upstream_waiting = false;
    for (auto& st : spec_.streams)
      if (st.to == c && st.from != c && waiting.count(st.from)) upstream_waiting = true;
    if (upstream_waiting) continue;
    auto it = seen_.find(t);
    if (it != seen_.end() && now - it->second.since >= timeout_) stuck.push_back(t);
  }
  return stuck;
}

}  // namespace sleet
