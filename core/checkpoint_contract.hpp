// The contract between the engine (runtime/) and the checkpoint coordinator (checkpointing/):
// what a task hands over at a barrier, what the coordinator drives, and the state a run starts
// from. Plain data and two interfaces, so neither library includes the other; the worker
// (cluster/) connects them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/ids.hpp>

namespace sleet {

// What a task hands over when it has taken its part of checkpoint `id`.
struct TaskSnapshotData {
  std::string component;
  TaskIndex task{0};
  CheckpointId id{0};
  bool stateful = false;
  uint32_t state_version = 1;
  std::string bytes;          // serialized state (empty when stateless)
  SourcePositions positions;  // spouts only
  bool source = false;        // the task is a spout
  bool drained = false;       // spouts only: input read to its end
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
