// Asynchronous, incremental task snapshots (issue 15, docs/state.md).
//
// At barrier n a stateful task (on its fiber) serializes its plain cereal state (snapshot_state)
// and freezes every managed KeyedState (Component::keyed_states()) into a copy-on-write view, in
// O(pages); it hands both to the AsyncSnapshotWriter and forwards the barrier at once. A writer
// thread serializes the views, writes every blob through the SnapshotWriter (the worker's
// GenerationSnapshotWriter, which asks the SideEffectGate first), records the task's new chains,
// and only then sends the task's ack to the SnapshotListener: the ack waits for the write, the
// task does not.
//
// ManagedStates is the task's side: the chains of its keyed states that committed checkpoints
// hold, which checkpoint a delta is relative to, and the restore of a chain at start-up.
//
// Threading: ManagedStates is touched by its task's fiber (freeze, on_committed), the starting
// thread (bind, restore) and a writer thread (the `written` record, under its mutex).
// AsyncSnapshotWriter::submit from any fiber or thread; drain() from the engine's controlling
// thread once no task submits any more.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/keyed_state.hpp>

#include "core/checkpoint_contract.hpp"

namespace sleet {

class ManagedStates;

struct KeyedPart {
  std::string state;
  std::unique_ptr<KeyedStateView> view;
  std::vector<StateLink> chain;  // the committed chain at the barrier
};

// One task's snapshot of checkpoint ack.id, as taken at the barrier.
struct SnapshotJob {
  TaskSnapshotData ack;     // component, task, id, version, positions: complete but for blobs
  std::string task_key;     // snapshot_task_key()
  std::string state_bytes;  // the cereal bytes of snapshot_state
  std::vector<KeyedPart> parts;
  std::shared_ptr<ManagedStates> owner;  // records the new chains; null without keyed state
  std::chrono::steady_clock::time_point frozen_at{};
};

struct AsyncSnapshotStats {
  int64_t jobs = 0;
  int64_t bytes_written = 0;  // every blob, keyed and cereal
  int64_t keyed_bytes_written = 0;
  int64_t bases = 0, deltas = 0;
  int64_t last_job_us = 0;  // barrier to ack of the last job
  int64_t max_job_us = 0;
};

class AsyncSnapshotWriter {
 public:
  AsyncSnapshotWriter(SnapshotWriter& writer, SnapshotListener& listener, size_t threads);
  ~AsyncSnapshotWriter();  // drain()
  AsyncSnapshotWriter(const AsyncSnapshotWriter&) = delete;
  AsyncSnapshotWriter& operator=(const AsyncSnapshotWriter&) = delete;

  void submit(SnapshotJob job);
  // Finishes every queued job (each acks), then joins the threads. Idempotent.
  void drain();
  AsyncSnapshotStats stats() const;

 private:
  void run();
  void process(SnapshotJob& job);

  SnapshotWriter& writer_;
  SnapshotListener& listener_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SnapshotJob> queue_;
  bool stop_ = false;
  AsyncSnapshotStats stats_;
  std::vector<std::thread> threads_;
};

class ManagedStates {
 public:
  // The keyed states of `comp` (validated names, no duplicates). Starting thread.
  static Result<std::shared_ptr<ManagedStates>> bind(Component& comp, const std::string& task_name);
  bool empty() const { return states_.empty(); }

  // Starting thread, any number of tasks in parallel: applies every chain `links` holds for this
  // task (restore.links), each blob streamed through restore.read_blob and checked, then marks
  // every state restored to checkpoint `id`. A missing or corrupt link, or a link of a state the
  // component no longer has, is refused naming checkpoint, component, task, state and blob.
  Status restore(CheckpointId id, const std::vector<StateLink>& links, const RestorePlan& plan,
                 const std::string& task_name);

  // Task fiber, at barrier n: freezes every state (a base or a delta, plan_next_link) into `job`.
  void freeze_into(SnapshotJob& job, CheckpointId n);
  // Task fiber: checkpoint c is committed; the chains it recorded become the committed ones.
  void on_committed(CheckpointId c);
  // Writer thread: the chains of checkpoint `id`, written and about to be acked.
  void written(CheckpointId id, std::vector<StateLink> links);

 private:
  struct State {
    std::string name;
    KeyedStateBase* ks = nullptr;
    std::vector<StateLink> chain;  // committed
  };
  std::vector<State> states_;
  CheckpointId tip_{0};  // the checkpoint the committed chains end at
  std::mutex mu_;        // guards written_
  std::map<CheckpointId, std::vector<StateLink>> written_;
};

}  // namespace sleet
