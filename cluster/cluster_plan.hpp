// The bridge between the engine's physical plan and cluster placement: what assign() is given
// for a topology (its components and chains, as the engine would fuse them), and, from an
// assignment, the Placement the engine of one worker runs. Pure; table-tested in
// tests/cluster/cluster_plan_test.cpp.
//
// Threading: pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include <sleet/status.hpp>
#include <sleet/topology.hpp>

#include "cluster/assignment.hpp"
#include "runtime/engine.hpp"
#include "runtime/physical_plan.hpp"

namespace sleet::cluster {

// The components in spec order and the chains `plan` fuses (each chain: its head's component,
// then the chained ones in plan order). `plan` must come from plan_physical(spec, ...) with the
// chaining option the engines will use.
PlacementTopology placement_topology(const TopologySpec& spec, const PhysicalPlan& plan);

// Placement::worker_of for `plan` under `assignment` (index of each task's worker in
// assignment.workers). corruption if a task of the plan is not assigned, or to an unknown worker
// (an assignment written for another shape of the topology).
Result<std::vector<int>> worker_of_tasks(const TopologySpec& spec, const PhysicalPlan& plan,
                                         const ClusterAssignment& assignment);

// Every task that acks a checkpoint, cluster-wide: the plan's tasks plus one dead-letter sink
// per task of each bolt with on_error: dead_letter (the engine adds those, chained, on the
// worker of their parent). Names as "component[task]", what the coordinator reports on timeout.
std::vector<std::string> cluster_task_names(const TopologySpec& spec, const PhysicalPlan& plan);

}  // namespace sleet::cluster
