#include "cluster/cluster_plan.hpp"

#include <map>

namespace sleet::cluster {

PlacementTopology placement_topology(const TopologySpec& spec, const PhysicalPlan& plan) {
  PlacementTopology t;
  t.name = spec.name;
  for (const auto& c : spec.components) t.components.push_back({c.id, c.parallelism});
  // Chains by head component: a chained task's head is the end of its chained_from walk.
  std::map<size_t, std::vector<size_t>> members;  // head component -> chained components
  for (size_t k = 0; k < plan.tasks.size(); ++k) {
    const PlannedTask& pt = plan.tasks[k];
    if (!pt.chained_from || pt.index.value != 0) continue;
    size_t head = *pt.chained_from;
    while (plan.tasks[head].chained_from) head = *plan.tasks[head].chained_from;
    members[plan.tasks[head].component].push_back(pt.component);
  }
  for (auto& [head, chained] : members) {
    std::vector<std::string> chain{spec.components[head].id};
    for (size_t c : chained) chain.push_back(spec.components[c].id);
    t.chains.push_back(std::move(chain));
  }
  return t;
}

Result<std::vector<int>> worker_of_tasks(const TopologySpec& spec, const PhysicalPlan& plan,
                                         const ClusterAssignment& assignment) {
  std::vector<int> out;
  out.reserve(plan.tasks.size());
  for (const PlannedTask& pt : plan.tasks) {
    const std::string& id = spec.components[pt.component].id;
    auto it = assignment.tasks.find(TaskRef{id, pt.index.value});
    if (it == assignment.tasks.end())
      return Status::Corruption("the assignment of generation " +
                                std::to_string(assignment.generation) + " places no worker for " +
                                id + "[" + std::to_string(pt.index.value) +
                                "] (written for another shape of topology '" + spec.name + "')");
    int w = assignment.index_of(it->second);
    if (w < 0)
      return Status::Corruption("the assignment places " + id + "[" +
                                std::to_string(pt.index.value) + "] on unknown worker '" +
                                it->second + "'");
    out.push_back(w);
  }
  return out;
}

std::vector<std::string> cluster_task_names(const TopologySpec& spec, const PhysicalPlan& plan) {
  std::vector<std::string> out;
  for (const PlannedTask& pt : plan.tasks)
    out.push_back(spec.components[pt.component].id + "[" + std::to_string(pt.index.value) + "]");
  for (const PlannedTask& pt : plan.tasks) {
    const ComponentSpec& c = spec.components[pt.component];
    if (c.kind == ComponentKind::bolt && c.on_error == ErrorPolicy::dead_letter)
      out.push_back(dead_letter_component_id(c.id) + "[" + std::to_string(pt.index.value) + "]");
  }
  return out;
}

}  // namespace sleet::cluster
