// The in-process runtime: instantiates every task of a TopologySpec, wires them with bounded
// per-input channels, and runs each task as a fiber on a small pool of OS threads. It knows the
// barrier half of the checkpoint protocol (spouts inject barriers, tasks align them, snapshot and
// forward them); the coordinator (checkpointing/) decides when to start a checkpoint and what
// commits, and talks to the engine only through this interface.
//
// Threading: create()/start()/wait() from one controlling thread. trigger_checkpoint(),
// checkpoint_committed(), request_stop() and the stats accessors from any thread.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/registry.hpp>
#include <sleet/topology.hpp>

#include "core/checkpoint_contract.hpp"
#include "core/metrics.hpp"
#include "runtime/async_snapshot.hpp"
#include "runtime/channel.hpp"
#include "runtime/physical_plan.hpp"

namespace sleet {

// The sink that takes the dead letters of one task of a component with on_error: dead_letter.
// The engine chains a task of `class_name` (a registered bolt) to the failing task, so its
// output is checkpointed and made visible with every checkpoint like any sink's.
struct DeadLetterSink {
  std::string class_name;
  Args args;
  // Written into the dead letter of a tuple that carries no "topic" field (empty: none).
  std::string source_topic;
};
// Supplied by the layer above (the worker: a KafkaSink to the component's dead_letter_topic);
// the engine knows no sink by name. Called from Engine::create, on its thread, once per task.
// An error refuses the topology.
using DeadLetterSinkFactory = std::function<Result<DeadLetterSink>(
    const TopologySpec& topology, const ComponentSpec& component, TaskIndex task)>;

class Inbox;

// Cluster mode (issue 12): which worker process runs each task of the physical plan. The engine
// instantiates every component (to know every task's output fields) but opens, restores and runs
// only the tasks placed on `self`; chains are never split (cluster/assignment.hpp guarantees it).
// Default (empty worker_of): every task runs here, exactly as before.
struct Placement {
  int self = 0;
  std::vector<int> worker_of;  // per PhysicalPlan::tasks index; empty: every task on `self`
  bool local(size_t plan_task) const { return worker_of.empty() || worker_of[plan_task] == self; }
};

// Carries the plan channels that cross workers (implemented by cluster/transport). Called by
// Engine::create on its thread, once per crossing channel, before any fiber runs.
class RemoteChannels {
 public:
  virtual ~RemoteChannels() = default;
  // The sending side of plan channel `index` (from a task here to a task on worker `to_worker`).
  // Its send() parks the calling fiber while the channel has no credit, like a full local FIFO.
  virtual Result<std::unique_ptr<ChannelSender>> sender(size_t index, const PlannedChannel& channel,
                                                        int to_worker) = 0;
  // The receiving side of plan channel `index` (from a task on `from_worker`): what arrives for it
  // is pushed, in order, into FIFO `channel.input` of `inbox` (the local downstream task's), with
  // tuples bound to `fields` (the fields of the upstream's output stream this channel subscribes
  // to) and `source` (the upstream task and stream), both outliving the engine's run. The
  // implementation returns the channel's credits as the owner pops (Inbox::set_pop_listener).
  // `inbox` lives as long as the Engine: stop pushing into it before the Engine is destroyed (a
  // push after abort() returns false and drops the message).
  virtual Status receiver(size_t index, const PlannedChannel& channel, int from_worker,
                          Inbox& inbox, const Fields* fields,
                          const TupleSource* source = nullptr) = 0;
};

struct EngineOptions {
  int threads = 0;               // 0: one per core
  size_t batch_size = 512;       // tuples per channel message
  size_t channel_capacity = 16;  // messages per input channel
  bool checkpointing = true;
  // Flink's operator chaining: a local_or_shuffle stream into a bolt of the same parallelism whose
  // only input it is runs that bolt's task i inside the fiber of the source's task i (no batch, no
  // channel, no context switch). Off: every task is its own fiber.
  bool chaining = true;
  SnapshotListener* listener = nullptr;  // required when checkpointing
  SnapshotWriter* snapshots = nullptr;   // required when checkpointing: tasks write state blobs
  CursorStore* cursors = nullptr;        // for sinks that keep publish cursors
  // Context::side_effects of every task: the worker's lease (cluster/lease.hpp); null: allowed.
  const SideEffectGate* side_effects = nullptr;
  // Context::generation / restored_generation of every task (the worker fills them).
  Generation generation{0};
  Generation restored_generation{0};
  // Idle spouts are asked again after this long.
  std::chrono::microseconds spout_idle_wait{1000};
  // Required when a component has on_error: dead_letter.
  DeadLetterSinkFactory dead_letter_sink;
  // Cluster mode: where tasks run, and the transport for channels that cross workers (required
  // when some task is placed elsewhere).
  Placement placement;
  RemoteChannels* remote = nullptr;
  // Execute latency, back-pressure and idle time per task (runtime/task_metrics.hpp); false:
  // counters only (metrics.enabled: false, or the benchmark's metrics-off run).
  bool metrics = true;
  // Writer threads for asynchronous task snapshots (runtime/async_snapshot.hpp): a stateful task
  // forwards a barrier as soon as its state is frozen, and a writer thread writes the blobs and
  // sends the ack. 0: tasks write their blobs on their own fiber before forwarding (the old way;
  // managed KeyedState is then still incremental).
  size_t snapshot_threads = 2;
};

struct TaskStats {
  std::string component;
  int task = 0;
  std::map<std::string, int64_t> counters;  // "in", "out", "skipped", ... plus component counters
  HistogramSnapshot execute;                // sampled execute latency (bolts)
  HistogramSnapshot publish;                // sinks: commit notice to epoch visible
  int64_t backpressure_ns = 0;              // blocked handing batches to full output channels
  int64_t idle_ns = 0;                      // waiting for input (spouts: idle sleeps)
  int64_t queue_depth = -1;                 // messages in the input channels; -1: no inbox
  bool spout = false;
  bool dead_letter_sink = false;  // a task the engine chained for on_error: dead_letter
};

class Task;
class ChannelSender;

class Engine {
 public:
  // Instantiates components through the registry and checks the graph; no fiber runs yet.
  static Result<std::unique_ptr<Engine>> create(const TopologySpec& spec, const Registry& registry,
                                                EngineOptions options);
  ~Engine();

  // Restores state and positions, lets sinks finish committed epochs (on_recover), opens every
  // component, then starts the threads. A failure here leaves nothing running.
  Status start(const RestorePlan& restore = {});

  // Spouts inject barrier `id` at their next loop turn. Ids must increase.
  void trigger_checkpoint(CheckpointId id);
  // Checkpoint `id` is committed: every task gets on_checkpoint_committed(id) on its fiber.
  void checkpoint_committed(CheckpointId id);
  // Highest checkpoint id every task has finished on_checkpoint_committed() for.
  // Cluster mode: this and the accessors below (stats, task_count, stateful_components,
  // all_spouts_drained) count only the tasks placed on this worker (Placement::local), dead-letter
  // sinks of local tasks included; a worker with no task here has visible_checkpoint() 0.
  CheckpointId visible_checkpoint() const;

  // Spouts stop; end-of-stream flows down; tasks exit. Nothing further is checkpointed.
  void request_stop();
  // Cluster mode rollback: every local task exits at once, without end of stream and without
  // finishing anything in flight (closes every inbox; remote senders are unblocked by the
  // transport's end_generation()). wait() then returns Ok unless a task had failed before (a
  // failure while unwinding is not recorded). Tasks still call close() on their components
  // (FileSink and KafkaSink then publish and rename nothing: that only happens for committed
  // checkpoints, in on_checkpoint_committed). Any thread, any number of times.
  void abort();
  // Joins the threads. Returns the first task failure, or Ok after a clean stop.
  Status wait();
  bool finished() const { return finished_.load(); }
  // First failure so far (Ok if none); any thread.
  Status failure() const;

  std::vector<TaskStats> stats() const;
  size_t task_count() const;
  // Ids of components whose instances keep state (Component::stateful()).
  std::vector<std::string> stateful_components() const;
  // Every spout task reports its bounded input read to its end (checkpointing off: used to stop).
  bool all_spouts_drained() const;
  const TopologySpec& spec() const { return spec_; }

  // Internal: used by tasks.
  void fail(const Status& s);
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }
  // abort() was called. Acquire on stop_ first: a task that left its loop on a relaxed stop_ then
  // sees the aborted_ stored before it.
  bool aborted() const {
    return stop_.load(std::memory_order_acquire) && aborted_.load(std::memory_order_acquire);
  }
  // A task has failed the topology (cheap; failure() has the status).
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  CheckpointId requested_checkpoint() const { return requested_.load(std::memory_order_acquire); }
  // Asynchronous snapshot figures (zeros when checkpointing is off); any thread.
  AsyncSnapshotStats snapshot_stats() const;
  // The longest a task was stopped at a barrier for its snapshot (on_barrier excluded), in us.
  int64_t max_barrier_pause_us() const { return max_pause_us_.load(std::memory_order_relaxed); }
  // Internal: used by tasks.
  AsyncSnapshotWriter* async_snapshots() const { return async_.get(); }
  void record_pause(int64_t us);
  CheckpointId committed_checkpoint() const { return committed_.load(std::memory_order_acquire); }
  // CLOCK_MONOTONIC ns of the earliest commit notice of a checkpoint in (after, upto]: what a
  // sink that made those epochs visible waited since; 0 when none of them is remembered (the
  // last kNotices are).
  int64_t commit_notice_ns(CheckpointId after, CheckpointId upto) const;
  const EngineOptions& options() const { return options_; }
  // Where each task runs and how they are connected (fixed by create()).
  const PhysicalPlan& plan() const { return plan_; }

 private:
  Engine(TopologySpec spec, EngineOptions options);
  Status wire(const Registry& registry);
  Status wire_channels();
  Status wire_dead_letters(const Registry& registry);

  TopologySpec spec_;
  EngineOptions options_;
  PhysicalPlan plan_;
  // The plan's tasks in plan order, then the dead-letter sink tasks (not in the plan).
  std::vector<std::unique_ptr<Task>> tasks_;
  // The sending side of the plan's channels, by channel index. Declared after tasks_, so they
  // go first (an InboxSender refers to its task's inbox); tasks only hold pointers to them.
  std::vector<std::unique_ptr<ChannelSender>> channels_;
  std::vector<std::thread> threads_;
  std::atomic<CheckpointId> requested_{CheckpointId{0}};
  std::atomic<CheckpointId> committed_{CheckpointId{0}};
  std::atomic<bool> stop_{false};
  std::atomic<bool> aborted_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> finished_{false};
  mutable std::mutex mu_;  // guards failure_
  Status failure_;
  bool started_ = false;
  std::atomic<int64_t> max_pause_us_{0};
  // When each recent checkpoint's commit was noticed, by id % kNotices. Written by the thread
  // calling checkpoint_committed() (one at a time: the coordinator's, or cluster mode's io
  // thread), read by sink task fibers (commit_notice_ns): the id is cleared, the time stored,
  // then the id published (release); a reader re-checks the id after reading the time.
  static constexpr size_t kNotices = 64;
  struct CommitNotice {
    std::atomic<int64_t> id{0}, ns{0};
  };
  std::array<CommitNotice, kNotices> notices_{};
  // Declared last, so it is destroyed (drained: every queued snapshot written and acked) first.
  std::unique_ptr<AsyncSnapshotWriter> async_;
};

}  // namespace sleet
