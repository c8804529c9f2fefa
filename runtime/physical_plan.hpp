// The physical plan: which tasks a topology has, where each runs (worker, OS thread, own fiber or
// chained into its producer's), and the channels between them. A pure function of the topology
// and the engine options that shape it, so it is tested as a table (tests/runtime/
// physical_plan_test.cpp) and cluster mode can compute the same plan on every worker.
//
// Rules (Engine::wire instantiates exactly this):
// - Tasks: components in spec order, each's tasks 0 .. parallelism-1.
// - Chaining (PlanOptions::chaining, Flink's operator chaining): a local_or_shuffle stream into a
//   component of the same parallelism whose only input it is chains that component: its task i
//   runs inside the fiber of the source's task i, on its thread, with no channel. A chain of
//   chains has one head (the first unchained component up the chain); members of a cycle stay
//   unchained.
// - Workers (PlanOptions::worker_of; default: all on worker 0): a chained task must be placed on
//   its producer's worker (refused otherwise: the assignment keeps chains together, so a split
//   chain is a bug upstream).
// - Threads: each worker's unchained tasks round robin over PlanOptions::threads in task order
//   (a worker counts only its own tasks, so one with 1 thread runs everything on thread 0); a
//   chained task runs on its chain head's thread.
// - local_or_shuffle's preferred targets (PlannedEdge::local): those on the sender's worker AND
//   thread.
// - Channels: one per (stream, upstream task, downstream task) for every stream that is not
//   chained; the input index at a downstream task counts its channels in stream order, then
//   upstream task order.
//
// Not in the plan: the dead-letter sink tasks of on_error: dead_letter components (the engine
// adds one per task, chained to it, from EngineOptions::dead_letter_sink).
//
// Threading: a pure function; call it from anywhere.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <sleet/ids.hpp>
#include <sleet/status.hpp>
#include <sleet/topology.hpp>

namespace sleet {

struct PlanOptions {
  bool chaining = true;
  int threads = 1;  // OS threads of each worker's engine; at least 1
  // Cluster mode: the worker of each task, by plan task index (cluster/assignment.hpp). Empty:
  // every task on worker 0, the single-process plan.
  std::vector<int> worker_of;
};

struct PlannedTask {
  size_t component = 0;  // index into TopologySpec::components
  TaskIndex index{0};
  // Placement: the worker process that runs this task (PlanOptions::worker_of; 0 without it); a
  // chain is never split across workers.
  int worker = 0;
  int thread = 0;  // OS thread within its worker
  // Chained: the task whose fiber runs this one (its only input, same worker and thread).
  std::optional<size_t> chained_from;
  size_t inputs = 0;  // input channels (its inbox's FIFOs); 0 for chained tasks and spouts
};

struct PlannedChannel {
  size_t stream = 0;  // index into TopologySpec::streams
  size_t from = 0;    // upstream task (index into PhysicalPlan::tasks)
  size_t to = 0;      // downstream task
  size_t input = 0;   // which of `to`'s input FIFOs
};

// One output stream of one upstream task.
struct PlannedEdge {
  size_t stream = 0;
  size_t from = 0;
  GroupingType grouping = GroupingType::shuffle;
  // Chained: every tuple is executed by this task on the sender's fiber; `channels` is empty.
  std::optional<size_t> chain;
  // Otherwise one channel per downstream task, in task index order (indexes into
  // PhysicalPlan::channels); groupings pick among them by position.
  std::vector<size_t> channels;
  // Positions in `channels` whose task runs on the sender's worker and thread: local_or_shuffle
  // sends only to these when there are any.
  std::vector<size_t> local;
};

struct PhysicalPlan {
  std::vector<PlannedTask> tasks;
  std::vector<PlannedEdge> edges;  // streams in spec order, then upstream tasks in index order
  std::vector<PlannedChannel> channels;
  std::vector<size_t> first_task;  // per component: the index of its task 0 in `tasks`

  size_t task_of(size_t component, TaskIndex i) const {
    return first_task[component] + static_cast<size_t>(i.value);
  }
};

// Refuses (Invalid) a component with parallelism below 1, a stream naming an unknown component,
// direct grouping (not supported yet), a worker_of of another size than the task count or with a
// negative worker, and a chained task placed on another worker than its producer. What needs the
// instantiated components (spout or bolt, declared fields) the engine checks.
[[nodiscard]] Result<PhysicalPlan> plan_physical(const TopologySpec& spec,
                                                 const PlanOptions& options);

}  // namespace sleet
