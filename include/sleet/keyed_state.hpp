// Keyed state: a value per key, for stateful bolts behind a fields grouping (each key then lives
// in exactly one task). A member of the bolt like any other; snapshot and restore it with cereal:
//
//   sleet::KeyedState<int64_t> counts_;
//   void snapshot_state(sleet::StateWriter& w) const override { w(counts_); }
//   sleet::Status restore_state(sleet::StateReader& r, uint32_t) override { r(counts_); ... }
//
// What it adds to a plain map: lookups by std::string_view (a tuple's text field) that allocate
// only when a key is new, and a serialized form that is exactly that of
// std::unordered_map<std::string, V>, so a bolt can switch between the two without a new state
// version. Like every component member it is touched only from the task's fiber: no locking.
#pragma once

#include <cereal/types/string.hpp>
#include <cereal/types/unordered_map.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sleet {

template <class V>
class KeyedState {
  // Transparent hashing: find(std::string_view) without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

 public:
  // The value of `key`, value-initialized (0 for numbers) when the key is new.
  V& operator[](std::string_view key) {
    auto it = map_.find(key);
    if (it == map_.end()) it = map_.emplace(std::string(key), V{}).first;
    return it->second;
  }
  // nullptr when absent.
  const V* find(std::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view key) const { return map_.find(key) != map_.end(); }
  // True if the key was there.
  bool erase(std::string_view key) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    map_.erase(it);
    return true;
  }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  void clear() { map_.clear(); }
  void reserve(size_t n) { map_.reserve(n); }
  // Iteration in no particular order, over (const std::string, V) pairs.
  auto begin() const { return map_.begin(); }
  auto end() const { return map_.end(); }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(map_);
  }

 private:
  Map map_;
};

}  // namespace sleet
