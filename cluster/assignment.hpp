// Task placement for cluster mode (issue 12): which live worker runs which task. A pure function
// of (topology shape, sorted live workers with slots, previous assignment), so the coordinator can
// compute it anywhere and the rules are table-tested without ZooKeeper, sockets or time.
// The elected coordinator (cluster/cluster_worker.cpp) calls it and writes the result, encoded by
// encode_assignment, in the fenced zoo_multi that claims a new generation
// (CheckpointStore::claim_generation).
//
// Units and slots: a placement unit is what must run in one process and takes one slot: one task of
// an unchained component, or task i of every component of a chain (the engine fuses chained tasks
// into one fiber, so a chain never splits). A worker with N slots runs at most N units.
//
// Rules, in this order:
//  1. Refusal: if the units outnumber the live workers' slots, invalid_argument naming both numbers
//     and every worker's slots (nothing is assigned).
//  2. Stickiness: a unit whose previous worker (the worker of its first task) is live stays there,
//     up to that worker's slots (a worker that came back with fewer slots keeps its lowest units
//     in topology order; the rest are orphans). Nothing else moves; a worker that joins gets only
//     orphaned units.
//  3. Spread: orphaned units (of a lost worker, new tasks, or no previous assignment at all) are
//     placed in topology order (component order, then task index), each on the worker with a free
//     slot that holds the fewest units of its component, then the fewest units, then the lowest id.
//     With no previous assignment this is exactly round robin over the workers, per component, up
//     to their slots.
//  4. Deterministic: the result depends only on the inputs' values (not on the order of `workers`).
#pragma once

#include <compare>
#include <map>
#include <string>
#include <vector>

#include <sleet/status.hpp>

namespace sleet::cluster {

struct PlacementComponent {
  std::string id;
  int parallelism = 1;
};

// The shape of a topology as placement sees it (not the engine's TopologySpec).
struct PlacementTopology {
  std::string name;
  std::vector<PlacementComponent> components;  // topology order
  // Components whose task i run fused in one fiber (same parallelism, each in at most one chain).
  std::vector<std::vector<std::string>> chains;
};

struct WorkerSlots {
  std::string id;
  int slots = 0;
};

struct TaskRef {
  std::string component;
  int index = 0;
  auto operator<=>(const TaskRef&) const = default;
};

using Assignment = std::map<TaskRef, std::string>;  // task -> worker id

// The placement units of `topology` in placement order, each the tasks that share one slot.
// invalid_argument for a malformed topology (unknown or duplicate ids, parallelism < 1, a chain
// whose members differ in parallelism, a component in two chains).
Result<std::vector<std::vector<TaskRef>>> placement_units(const PlacementTopology& topology);

// The assignment of every task of `topology` to one of `workers` (live workers; ids unique,
// slots >= 0), given the `previous` assignment (tasks and workers that no longer exist are
// ignored). See the file comment for the rules.
Result<Assignment> assign(const PlacementTopology& topology,
                          const std::vector<WorkerSlots>& workers, const Assignment& previous);

// Rebalance on a join: `previous` without the units that make a live worker hold more than its
// fair share (ceil(units / live workers), per unit's first component) of a component's units,
// then of all units (floor or ceil of all units / live workers, the most loaded keeping the
// larger shares), so assign() hands exactly those to the
// workers with the fewest (a new worker takes over tasks even when each component is spread
// thin).
// Only units of LIVE workers move this way, and only in a new generation, which no worker starts
// before every worker of it has torn down the previous one (the transport's mesh handshake), so a
// task never runs twice. The highest task indexes move first. Pure.
Assignment rebalanced(const PlacementTopology& topology, const std::vector<WorkerSlots>& workers,
                      const Assignment& previous);

// One generation's assignment as the coordinator writes it to ZooKeeper (`assignment`), text a
// person can read with zkCli:
//   generation=<g>
//   coordinator=<worker id>
//   worker=<id> <host:port> <slots>        (every worker of the generation, sorted by id)
//   task=<component> <index> <worker id>   (every task)
struct AssignedWorker {
  std::string id;
  std::string address;  // host:port of its transport
  int slots = 0;
  bool operator==(const AssignedWorker&) const = default;
};

struct ClusterAssignment {
  int32_t generation = 0;
  std::string coordinator;
  std::vector<AssignedWorker> workers;  // sorted by id; a worker's index is its position
  Assignment tasks;
  bool operator==(const ClusterAssignment&) const = default;
  // Position of `id` in workers, -1 if absent.
  int index_of(const std::string& id) const;
};

std::string encode_assignment(const ClusterAssignment& a);
// corruption naming the line for anything malformed; an empty text is not_found (none yet).
Result<ClusterAssignment> decode_assignment(const std::string& text);

}  // namespace sleet::cluster
