// The lifecycle of one worker process (Worker::run, cluster/worker.cpp) as an explicit state
// machine on core/state_machine.hpp: join (connect to ZooKeeper, claim the topology's
// generation), restore (read the latest checkpoint, plan recovery, start the engine from it), run,
// then either stop cleanly or roll back (the in-flight checkpoint is dropped uncommitted and the
// next worker replays from the last commit) and fail. The table is data: tests/cluster/
// worker_lifecycle_test.cpp checks every pair against it and cluster/README.md prints it.
//
// Threading: the machine belongs to the thread in Worker::run().
#pragma once

#include "core/state_machine.hpp"

namespace sleet {

enum class WorkerState {
  created,       // constructed, run() not called yet
  joining,       // connecting to ZooKeeper and claiming the generation (checkpointing on)
  restoring,     // reading the latest checkpoint, planning recovery, starting the engine
  running,       // engine and coordinator run; until stopped, drained or failed
  stopping,      // a clean stop: coordinator stopped first, then the tasks are joined
  rolling_back,  // a failure: in-flight checkpoint dropped, tasks stopped (or abandoned)
  stopped,       // run() returned OK
  failed,        // run() returned the failure
};

const char* worker_state_name(WorkerState s);

inline constexpr Transition<WorkerState> kWorkerTransitions[] = {
    {WorkerState::created, WorkerState::joining, "run(), checkpointing on"},
    {WorkerState::created, WorkerState::restoring, "run(), checkpointing off: nothing to join"},
    {WorkerState::created, WorkerState::failed, "the topology's config is refused"},
    {WorkerState::joining, WorkerState::restoring, "generation claimed"},
    {WorkerState::joining, WorkerState::failed, "ZooKeeper unreachable, claim refused"},
    {WorkerState::restoring, WorkerState::running, "engine started from the plan (or fresh)"},
    {WorkerState::restoring, WorkerState::failed, "recovery refused, engine did not start"},
    {WorkerState::running, WorkerState::stopping, "stop requested, or drained"},
    {WorkerState::running, WorkerState::rolling_back, "task, coordinator failure, or a stall"},
    {WorkerState::stopping, WorkerState::stopped, "tasks joined"},
    {WorkerState::stopping, WorkerState::failed, "a task failed while stopping"},
    {WorkerState::rolling_back, WorkerState::failed, "tasks joined or abandoned"},
};

}  // namespace sleet
