// Typed identifiers: an offset is not a partition is not an epoch. Mixing them up is a compile
// error instead of an off-by-one at 3 a.m. (Hailstorm's replay double count was exactly such a mix
// of "last read" and "next to read").
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace sleet {

template <class Tag, class Rep>
struct StrongId {
  Rep value{};
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : value(v) {}
  constexpr auto operator<=>(const StrongId&) const = default;
  constexpr Rep operator()() const { return value; }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value);
  }
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) { return os << id.value; }
};

// Kafka partition number within a topic.
using PartitionId = StrongId<struct PartitionTag, int32_t>;
// Offset of the NEXT record to read from a partition (never "the last one read").
using Offset = StrongId<struct OffsetTag, int64_t>;
// Checkpoint number; a sink epoch n holds the records emitted between barrier n-1 and barrier n.
using CheckpointId = StrongId<struct CheckpointTag, int64_t>;
// Index of a task within its component, 0 .. parallelism-1.
using TaskIndex = StrongId<struct TaskIndexTag, int32_t>;
// Version of the generation znode a coordinator holds; a commit checks it to fence stale ones.
using Generation = StrongId<struct GenerationTag, int32_t>;

}  // namespace sleet

template <class Tag, class Rep>
struct std::hash<sleet::StrongId<Tag, Rep>> {
  size_t operator()(const sleet::StrongId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value);
  }
};
