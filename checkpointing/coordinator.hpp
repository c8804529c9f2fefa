// The checkpoint coordinator: starts checkpoint n every interval, gathers every task's ack (the
// handle of the state blob the task wrote itself, its spout positions), and commits checkpoint n
// with one ZooKeeper multi (the single commit point), then tells the engine so sinks make epoch n
// visible.
//
// An explicit state machine (core/state_machine.hpp; the table is kCoordinatorTransitions below and
// in checkpointing/README.md) running on its own OS thread; collaborators (stores, the engine as a
// CheckpointTarget, the clock) are injected. A transition the table lacks is a bug: it becomes the
// coordinator's failure() and the coordinator stops checkpointing, never silently ignored.
//
//   idle --interval--> collecting(n) --all acks--> committing(n) --ok--> idle (n+1)
//                        |timeout, or a task's      |unavailable: resolving(n): re-read `latest`
//                        |blob write failed:        |  when ZK is back; committed -> idle,
//                        v abort n                  |  not committed -> committing(n) again
//                      idle (n+1)                   |fenced: failed (a newer coordinator exists)
//
// Threading: on_task_snapshot() is called from task fibers and only enqueues (a short std::mutex
// section). Everything else runs on the coordinator thread, except stats()/failure() (any thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "checkpointing/checkpoint_store.hpp"
#include "checkpointing/manifest.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "core/checkpoint_contract.hpp"
#include "core/state_machine.hpp"

namespace sleet {

enum class CoordinatorState { idle, collecting, committing, resolving, failed, stopped };
const char* coordinator_state_name(CoordinatorState s);

// Every transition the coordinator may take (checkpointing/README.md prints the same table; the
// unit test coordinator_transitions_test checks both). failed and stopped are terminal.
inline constexpr Transition<CoordinatorState> kCoordinatorTransitions[] = {
    {CoordinatorState::idle, CoordinatorState::collecting,
     "the interval passed, or trigger_now(): checkpoint n+1 begins"},
    {CoordinatorState::collecting, CoordinatorState::committing, "every task acked n"},
    {CoordinatorState::collecting, CoordinatorState::idle,
     "timeout, or a task's blob write failed: abort n"},
    {CoordinatorState::committing, CoordinatorState::idle,
     "committed; or the commit failed (not fenced, not unknown): abort n"},
    {CoordinatorState::committing, CoordinatorState::resolving,
     "commit outcome unknown (ZooKeeper unavailable)"},
    {CoordinatorState::committing, CoordinatorState::failed,
     "fenced (another coordinator took over), or an illegal transition was attempted"},
    {CoordinatorState::idle, CoordinatorState::failed, "an illegal transition was attempted"},
    {CoordinatorState::collecting, CoordinatorState::failed, "an illegal transition was attempted"},
    {CoordinatorState::resolving, CoordinatorState::failed, "an illegal transition was attempted"},
    {CoordinatorState::resolving, CoordinatorState::idle, "latest is n: the commit had applied"},
    {CoordinatorState::resolving, CoordinatorState::committing, "latest is not n: commit again"},
    {CoordinatorState::idle, CoordinatorState::stopped, "stop()"},
    {CoordinatorState::collecting, CoordinatorState::stopped, "stop()"},
    {CoordinatorState::committing, CoordinatorState::stopped, "stop()"},
    {CoordinatorState::resolving, CoordinatorState::stopped, "stop()"},
};

struct CoordinatorOptions {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{60000};
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

// One finished checkpoint attempt, for the worker's metrics and status page.
struct CheckpointRecord {
  CheckpointId id{0};
  std::string outcome;      // "completed", "aborted" (timeout, a task's write error) or "failed"
  std::string reason;       // why it was aborted or failed ("" when completed)
  double duration_s = 0;    // trigger to commit (or to the abort)
  double alignment_s = -1;  // trigger to the last task's ack; -1: not every task acked
  int64_t bytes = 0;        // state bytes (completed only)
  std::chrono::steady_clock::time_point at{};  // when it finished
};

struct CheckpointStats {
  CheckpointId last_committed{0};
  int64_t last_duration_ms = 0;  // trigger to commit
  int64_t last_bytes = 0;        // state bytes of the last committed checkpoint
  bool drained = false;          // every spout had read its input to the end at last_committed
  int64_t committed = 0;         // checkpoints committed by this coordinator
  int64_t aborted = 0;
  int64_t committed_offsets = 0;  // sum of next offsets over all partitions at last_committed
  // "topic:partition" -> the lowest next offset over the spouts reading it, at last_committed: what
  // `sleet run` may let the embedded Kafka drop, and how far its input has been drained.
  std::map<std::string, int64_t> committed_positions;
  std::chrono::steady_clock::time_point committed_at{};
  std::string state = "idle";
  // The last abort: why (a timeout, a blob write error such as a full checkpoint.dir, a failed
  // commit), and for a timeout the tasks that had not acked ("component[task]").
  std::string last_abort_reason;
  std::vector<std::string> last_abort_missing;
  int64_t failed = 0;                     // commits that failed (not a timeout): outcome "failed"
  std::vector<CheckpointRecord> history;  // the last 10 attempts, newest first
};

class Coordinator : public SnapshotListener {
 public:
  Coordinator(CheckpointStore& store, SnapshotStore& snapshots, CoordinatorOptions options);
  ~Coordinator() override;

  // Starts the thread. `gen` is the generation this coordinator claimed; checkpoints continue
  // after `last_committed`. `base` carries topology, fingerprint, parallelism and stateful
  // components, and the restored positions (for progress figures); the coordinator fills id,
  // positions, tasks and sizes per checkpoint.
  void start(CheckpointTarget& target, Generation gen, CheckpointId last_committed, Manifest base);
  void stop();

  void on_task_snapshot(TaskSnapshotData&& data) override;

  // Starts the next checkpoint as soon as the current one (if any) is done, instead of at the next
  // interval: the worker calls it once its spouts are drained, so `--until-drained` ends without
  // waiting out the interval. Any thread.
  void trigger_now();

  CheckpointStats stats() const;
  // Fatal coordinator failure (fenced, or repeated errors), Ok otherwise.
  Status failure() const;

 private:
  using State = CoordinatorState;

  void run();
  void begin(CheckpointId id);
  void collect(std::unique_lock<std::mutex>& lk);
  void commit();
  void resolve();
  void finish_commit();
  void abort_current(const std::string& why, std::vector<std::string> missing = {});
  // The one way to change state (go: takes mu_; go_locked: the caller holds it). An illegal
  // transition becomes failure_ and moves the coordinator to `failed`, which the table allows
  // from every live state for exactly this.
  void go(State to, const std::string& why);
  void go_locked(State to, const std::string& why);

  CheckpointStore& store_;
  SnapshotStore& snapshots_;
  CoordinatorOptions options_;
  Manifest base_;
  CheckpointTarget* target_ = nullptr;
  Generation gen_{0};

  mutable std::mutex mu_;  // guards the queue, stop flag, stats, failure, sm_
  std::condition_variable cv_;
  std::deque<TaskSnapshotData> queue_;
  bool stop_ = false;
  StateMachine<State> sm_{"checkpoint coordinator", State::idle, kCoordinatorTransitions,
                          coordinator_state_name};
  CheckpointStats stats_;
  Status failure_;

  // Coordinator-thread only.
  CheckpointId current_{0};
  Manifest pending_;
  size_t acked_ = 0;
  std::set<std::string> acked_names_;  // "component[task]" acked for current_
  bool all_drained_ = true;
  std::chrono::steady_clock::time_point started_at_{}, next_trigger_{};
  std::chrono::steady_clock::time_point aligned_at_{};  // every task acked current_
  // Adds current_'s outcome to stats_.history; mu_ held.
  void record_locked(const std::string& outcome, const std::string& reason);
  bool trigger_requested_ = false;  // trigger_now() since the last begin(); guarded by mu_
  std::thread thread_;
};

// Builds the restore plan for `spec` from a committed manifest: loads and verifies every state
// blob. Called by Worker::run before the engine is created. Refuses (Code::incompatible, which
// the worker turns into exit 3 and the supervisor does not restart) when a stateful component of
// the checkpoint
//   - is gone from the topology,
//   - has another class (the new class cannot be trusted to read the old bytes),
//   - has another parallelism (keyed state cannot be redistributed yet), or
//   - has other input streams: any stream added, removed, or with another grouping or other key
//     fields (restored per-key state would sit on tasks the keys no longer go to),
// so state is never silently dropped or mis-assigned. Class and inputs are checked only when the
// manifest recorded them (format 2 on). Stateless components, and components that had no state
// in the checkpoint, may change freely. `topology_path` (CheckpointStore::topology_path()) is
// named in the refusal as what to delete to start from scratch.
Result<RestorePlan> plan_recovery(const Manifest& m, const TopologySpec& spec,
                                  SnapshotStore& snapshots, const std::string& topology_path);

// The class and sorted input streams of component `id` in `spec` (empty if `spec` has no such
// component). manifest_base records it for every stateful component; plan_recovery compares.
StatefulShape stateful_shape(const TopologySpec& spec, const std::string& id);

// Spout positions between manifest and restore plan. A manifest keys them by (component, task,
// topic, partition); a restore plan by component only (RestorePlan::positions), so a spout task
// finds a partition's position whatever task recorded it, and never another component's.
// Positions of a format-1/2 manifest (component "") stay under "" (see manifest.hpp).
// Records task `d`'s positions (and event times) under its component and task (the
// coordinator, per snapshot).
void add_positions(Manifest& m, const TaskSnapshotData& d);
void sort_positions(std::vector<TaskPosition>& ps);
// The spouts' event times of a manifest (format 5 on), as add_positions adds them from acks,
// sorted like positions, and per spout component for a RestorePlan.
void sort_event_times(std::vector<TaskEventTime>& es);
std::map<std::string, SourceEventTimes> restore_event_times(const std::vector<TaskEventTime>& es);
std::map<std::string, SourcePositions> restore_positions(const std::vector<TaskPosition>& ps);
// The plan's positions as manifest entries (task -1: which task restores which partition is the
// spout's business); the coordinator's base, for progress figures until the first checkpoint.
std::vector<TaskPosition> task_positions(const RestorePlan& plan);

// The manifest fields that do not change between checkpoints.
Manifest manifest_base(const TopologySpec& spec, const std::vector<std::string>& stateful);

}  // namespace sleet
