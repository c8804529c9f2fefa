// The contract between the engine (runtime/) and the checkpoint coordinator (checkpointing/):
// what a task hands over at a barrier, where it writes its state, what the coordinator drives, and
// the state a run starts from. Plain data and three interfaces, so neither library includes the
// other; the worker (cluster/) connects them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/ids.hpp>
#include <sleet/status.hpp>

namespace sleet {

// Where one task's snapshot bytes are: an inline znode (small) or a file under checkpoint.dir.
// The manifest records it (checkpointing/manifest.hpp serializes it as part of TaskSnapshot), so a
// location, once committed, is read back as written, whatever naming later versions use.
struct BlobHandle {
  enum class Kind : uint8_t { inline_znode, file };
  Kind kind = Kind::inline_znode;
  // inline_znode: the znode's full path; file: the path relative to the snapshot store's dir
  // ("<id>/g<generation>/<task_key>.snap"; before generations were in the name
  // "<id>/<task_key>.snap"), so a shared directory may be mounted at different paths.
  std::string location;
  uint64_t size = 0;
  uint32_t checksum = 0;  // CRC-32C of the bytes
  bool operator==(const BlobHandle&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(kind, location, size, checksum);
  }
};

// One blob of the chain of a managed KeyedState (Component::keyed_states()): a full base, or a
// delta on the link before it. A task's chain of a state is a base followed by deltas in
// checkpoint order; recovery applies them in that order.
struct StateLink {
  std::string state;   // KeyedStateRef::name
  CheckpointId id{0};  // the checkpoint that wrote this blob
  bool base = false;
  uint64_t entries = 0;  // entries in the blob (a delta: erases plus upserts)
  BlobHandle handle;
  bool operator==(const StateLink&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(state, id, base, entries, handle);
  }
};

// Where a task writes its serialized state at a barrier (DESIGN.md, exactly-once step 3), before
// it acks. Implemented by checkpointing/ (an adapter over SnapshotStore bound to the worker's
// generation, so blob names carry it). Called on the task's fiber: the write suspends that fiber
// only (ZooKeeper async completions, file I/O on the store's own threads), never its OS thread.
// Any number of tasks may call it concurrently.
class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  // task_key names the task within the checkpoint ("count-3"). An error names the blob and why
  // (a full checkpoint.dir, ZooKeeper unreachable); the task then acks with it.
  virtual Result<BlobHandle> write(CheckpointId id, const std::string& task_key,
                                   std::string_view bytes) = 0;
};

// The snapshot key of a task, unique within a checkpoint: "<component>-<task>".
inline std::string snapshot_task_key(const std::string& component, TaskIndex task) {
  return component + "-" + std::to_string(task.value);
}

// A spout partition's event-time progress as of the tuples emitted so far: the largest event
// time read from it (KafkaSpout's per-partition maximum; its watermark is a function of these).
// Checkpointed beside the positions (manifest format 5), so a restored spout starts from the
// watermark the checkpoint had instead of from nothing, and replay fires windows alike. A
// partition without one (none read yet, or a checkpoint older than format 5) is unknown.
struct SourceEventTime {
  std::string topic;
  PartitionId partition;
  int64_t max_timestamp = kNoTimestamp;
  bool operator==(const SourceEventTime&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(topic, partition, max_timestamp);
  }
};
using SourceEventTimes = std::vector<SourceEventTime>;

// Implemented by built-in spouts with event time (KafkaSpout); the engine finds it with
// dynamic_cast. Internal, not part of the plugin API: a plugin spout's watermark starts over
// after a restore, as every spout's did before format 5.
class EventTimeCheckpointed {
 public:
  virtual ~EventTimeCheckpointed() = default;
  // As of the tuples emitted so far, like Spout::positions(); on the task's fiber at a barrier.
  virtual SourceEventTimes event_times() const = 0;
  // Called before open(), after seek(), with what every task of this component recorded (a
  // task takes those of the partitions it owns now); empty when the checkpoint has none.
  virtual void restore_event_times(const SourceEventTimes& recorded) = 0;
};

// A task's ack of checkpoint `id`: what it hands over when it has taken its part. Carries no state
// bytes, only where the task wrote them, so an ack is small and can cross a network.
struct TaskSnapshotData {
  std::string component;
  TaskIndex task{0};
  CheckpointId id{0};
  bool stateful = false;
  uint32_t state_version = 1;
  BlobHandle handle;  // stateful only: the blob the task wrote (size = state bytes)
  // Stateful tasks with managed keyed state: the whole chain of every state as of checkpoint
  // `id` (older links were written by earlier checkpoints; links with this id are new).
  std::vector<StateLink> links;
  Status error;                  // stateful only: the blob write failed; the checkpoint must abort
  SourcePositions positions;     // spouts only
  SourceEventTimes event_times;  // spouts implementing EventTimeCheckpointed only
  bool source = false;           // the task is a spout
  bool drained = false;          // spouts only: input read to its end
};

// Implemented by the checkpoint coordinator. Called on task fibers: must not block for long.
class SnapshotListener {
 public:
  virtual ~SnapshotListener() = default;
  virtual void on_task_snapshot(TaskSnapshotData&& data) = 0;
};

// State to start from: the committed checkpoint's per-task state and spout positions.
struct RestorePlan {
  CheckpointId id{0};  // 0: fresh start
  // (component, task) -> (state_version, bytes)
  std::map<std::pair<std::string, int>, std::pair<uint32_t, std::string>> states;
  // (component, task) -> the chains of its managed keyed states (manifest format 4 on).
  std::map<std::pair<std::string, int>, std::vector<StateLink>> links;
  // Streams one blob of a chain: calls `consume` with the bytes, verified against the handle's
  // size and CRC-32C (a missing or damaged blob is Code::corruption naming it, and `consume`
  // is not called). Set whenever `links` is not empty. Any thread, concurrently.
  std::function<Status(const BlobHandle&, const std::function<Status(std::string_view)>&)>
      read_blob;
  // Spout component id -> the positions all of its tasks recorded. Keyed by component, not task:
  // a task seeks to those of the partitions it owns now, which need not be the ones it owned
  // when they were recorded. Key "": positions of a format-1/2 manifest, which did not record
  // their component; every spout gets those (the behaviour of those formats).
  std::map<std::string, SourcePositions> positions;

  // What the tasks of spout `component` seek to: its own positions, never another component's.
  SourcePositions positions_for(const std::string& component) const {
    SourcePositions out;
    for (const std::string& key : {component, std::string()}) {
      if (key.empty() && component.empty()) continue;
      if (auto it = positions.find(key); it != positions.end())
        out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
  }
  // Spout component id -> the event times all of its tasks recorded (manifest format 5 on;
  // absent: unknown).
  std::map<std::string, SourceEventTimes> event_times;
  const SourceEventTimes& event_times_for(const std::string& component) const {
    static const SourceEventTimes kNone;
    auto it = event_times.find(component);
    return it == event_times.end() ? kNone : it->second;
  }
  size_t position_count() const {
    size_t n = 0;
    for (const auto& [c, ps] : positions) n += ps.size();
    return n;
  }
};

// What the coordinator drives. The Engine implements it through a thin adapter.
class CheckpointTarget {
 public:
  virtual ~CheckpointTarget() = default;
  virtual void trigger_checkpoint(CheckpointId id) = 0;
  virtual void checkpoint_committed(CheckpointId id) = 0;
  virtual size_t task_count() const = 0;
  // "component[task]" of every task, so a timed-out checkpoint can name the tasks that did not
  // ack. Empty: the abort reason gives only counts.
  virtual std::vector<std::string> task_names() const { return {}; }
};

}  // namespace sleet
