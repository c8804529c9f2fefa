// The checkpoint manifest: everything recovery needs to restore a topology to checkpoint n (spout
// positions, each task's state blob with size and checksum, the topology's shape and fingerprint).
// It is written to ZooKeeper by CheckpointStore::commit as part of the single commit multi.
//
// Encoding: cereal PortableBinary, the format version first; decode_manifest refuses other
// versions (Code::incompatible) and undecodable bytes (Code::corruption). Bump kFormatVersion
// whenever the layout changes, and keep a decoder for the old one.
//
// Format history:
//   1  id, topology, fingerprint, parallelism, stateful, positions, tasks, sizes
//   2  + shapes: class and input streams of every stateful component, so recovery can name
//      exactly what changed (plan_recovery). A version-1 manifest decodes with empty shapes,
//      which recovery treats as "unknown" and does not check.
//   3  positions keyed by (component, task, topic, partition), each with the cluster id of its
//      source (Kafka: rd_kafka_clusterid). Formats 1 and 2 kept (topic, partition, next) only, so
//      two spout components on one topic overwrote each other's offsets at restore. A format-1/2
//      manifest decodes its positions with component "" and task -1 ("not recorded");
//      restore_positions (coordinator.hpp) hands those to every spout, which takes the ones of
//      its topic as before (the best an old manifest allows: exact for one spout per topic, the
//      old ambiguity for several), and without a cluster id, which is then not checked.
//      Also since 3, generation: the generation whose coordinator committed the checkpoint, i.e.
//      whose sinks pre-committed its epochs (FileSink recovery publishes only that generation's
//      pending files). Read as 0 (unknown) from older manifests.
//   4  + links: per task, the blob chain of every managed KeyedState (core/state_chain.hpp): a
//      base and the deltas after it, each with its checkpoint id, entry count and BlobHandle.
//      Older manifests decode with no links (their tasks have only the cereal blob).
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/ids.hpp>
#include <sleet/status.hpp>

#include "core/checkpoint_contract.hpp"

namespace sleet {

// BlobHandle (where one task's snapshot bytes are) is part of the engine contract:
// core/checkpoint_contract.hpp.

struct TaskSnapshot {
  std::string component;
  int32_t task = 0;
  uint32_t state_version = 1;  // Component::state_version() of the writer
  BlobHandle handle;
  // Since format 4 (serialized by Manifest, after the version-3 layout): the chains of the
  // task's managed keyed states, each a base then deltas, in order.
  std::vector<StateLink> links;
  bool operator==(const TaskSnapshot&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(component, task, state_version, handle);
  }
};

// One stream into a stateful component as recovery compares it: where it comes from and how the
// engine routes its tuples to tasks. Key fields keep their declared order, because the fields
// grouping hashes them in that order (a different order sends a key to a different task).
struct InputStream {
  std::string from;                 // upstream component id
  std::string grouping;             // grouping_name(): "fields", "shuffle", ...
  std::vector<std::string> fields;  // key fields of a fields grouping, else empty
  auto operator<=>(const InputStream&) const = default;
  bool operator==(const InputStream&) const = default;
  // "seq -> fields(word)", "seq -> shuffle": for error messages.
  std::string describe() const;
  template <class A>
  void serialize(A& ar) {
    ar(from, grouping, fields);
  }
};

// What restored state depends on besides parallelism: the class that wrote it (another class
// cannot be trusted to read its bytes) and the streams into it (another grouping or other key
// fields route a key to a task that does not hold its state). Built by stateful_shape() in
// coordinator.hpp.
struct StatefulShape {
  std::string class_name;
  std::vector<InputStream> inputs;  // sorted, so stream order in the file does not matter
  bool operator==(const StatefulShape&) const = default;
  // "[seq -> fields(word), other -> fields(word)]", "[]" for none.
  std::string describe_inputs() const;
  template <class A>
  void serialize(A& ar) {
    ar(class_name, inputs);
  }
};

// One spout task's recorded position of one topic partition.
struct TaskPosition {
  std::string component;  // "" when read from a format-1/2 manifest (not recorded)
  int32_t task = -1;      // the task that recorded it; -1 likewise. For diagnostics only: a
                          // restore looks positions up by component and partition, so they
                          // survive partitions moving between the component's tasks.
  SourcePosition position;
  bool operator==(const TaskPosition&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(component, task, position.topic, position.partition, position.next, position.cluster);
  }
};

// One spout task's recorded event-time progress of one topic partition (since format 5).
struct TaskEventTime {
  std::string component;
  int32_t task = -1;  // the task that recorded it (diagnostics only, as TaskPosition::task)
  SourceEventTime event_time;
  bool operator==(const TaskEventTime&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(component, task, event_time);
  }
};

// The position layout of formats 1 and 2 (decoding only).
struct LegacyPosition {
  std::string topic;
  PartitionId partition;
  Offset next;
  template <class A>
  void serialize(A& ar) {
    ar(topic, partition, next);
  }
};

// Thrown by Manifest::serialize while loading a format version it does not know; decode_manifest
// turns it into Code::incompatible.
struct ManifestFormatError : std::runtime_error {
  uint32_t found;
  explicit ManifestFormatError(uint32_t v)
      : std::runtime_error("unsupported manifest format version"), found(v) {}
};

struct Manifest {
  static constexpr uint32_t kFormatVersion = 5;
  static constexpr uint32_t kOldestReadableVersion = 1;

  uint32_t format_version = kFormatVersion;
  CheckpointId id;
  std::string topology;
  std::string fingerprint;
  std::map<std::string, int> parallelism;  // component id -> parallelism
  std::vector<std::string> stateful;       // component ids that had state
  // Next offset per (component, task, topic, partition), sorted in that order.
  std::vector<TaskPosition> positions;
  std::vector<TaskSnapshot> tasks;
  int64_t created_unix_ms = 0;
  int64_t total_bytes = 0;
  // Since format 2: stateful component id -> its shape when the checkpoint was written. Empty
  // (unknown) when read from a format-1 manifest; a component missing here is not checked.
  std::map<std::string, StatefulShape> shapes;
  // Since format 3: the Generation (znode version) the committing coordinator held; 0 = unknown.
  int32_t generation = 0;
  // Since format 5: the largest event time read per (component, task, topic, partition) of the
  // spouts that report it (EventTimeCheckpointed), sorted like positions. Empty when read from
  // an older manifest: unknown, the spouts' watermarks start over as they did then.
  std::vector<TaskEventTime> event_times;

  bool operator==(const Manifest&) const = default;
  // The snapshot of (component, task), or null.
  const TaskSnapshot* find_task(const std::string& component, int32_t task) const;

  template <class A>
  void serialize(A& ar) {
    ar(format_version);
    if constexpr (A::is_loading::value) {
      if (format_version < kOldestReadableVersion || format_version > kFormatVersion)
        throw ManifestFormatError(format_version);
    }
    ar(id, topology, fingerprint, parallelism, stateful);
    // Format 3 replaced the positions in the version-1 layout's slot (see TaskPosition).
    if (format_version >= 3) {
      ar(positions);
    } else {
      std::vector<LegacyPosition> legacy;
      ar(legacy);
      positions.clear();
      for (auto& p : legacy) positions.push_back({"", -1, {p.topic, p.partition, p.next, ""}});
    }
    ar(tasks, created_unix_ms, total_bytes);
    // Fields added in later versions go after the version-1 layout, read only when present.
    if (format_version >= 2) ar(shapes);
    if (format_version >= 3) ar(generation);
    if (format_version >= 4) {
      std::vector<std::vector<StateLink>> links;
      if constexpr (!A::is_loading::value)
        for (const auto& t : tasks) links.push_back(t.links);
      ar(links);
      if constexpr (A::is_loading::value) {
        if (links.size() != tasks.size())
          throw std::runtime_error("keyed-state links for " + std::to_string(links.size()) +
                                   " tasks, but " + std::to_string(tasks.size()) + " tasks");
        for (size_t i = 0; i < tasks.size(); ++i) tasks[i].links = std::move(links[i]);
      }
    }
    if (format_version >= 5) ar(event_times);
  }
};

// Always writes kFormatVersion.
std::string encode_manifest(const Manifest& m);
// Reads versions kOldestReadableVersion..kFormatVersion (format_version tells which it was);
// incompatible for any other format version, corruption for bytes that do not decode.
Result<Manifest> decode_manifest(std::string_view bytes);

// Checkpoint znode / directory names: zero-padded so that names sort like numbers.
std::string checkpoint_name(CheckpointId id);  // 7 -> "00000000000000000007"
std::optional<CheckpointId> parse_checkpoint_name(std::string_view name);

}  // namespace sleet
