// Keyed state: a value per key, for stateful bolts behind a fields grouping (each key then lives
// in exactly one task). A member of the bolt like any other; snapshot and restore it with cereal:
//
//   sleet::KeyedState<int64_t> counts_;
//   void snapshot_state(sleet::StateWriter& w) const override { w(counts_); }
//   sleet::Status restore_state(sleet::StateReader& r, uint32_t) override { r(counts_); ... }
//
// What it adds to a plain std::unordered_map<std::string, V>:
// - lookups by std::string_view (a tuple's text field) that allocate only when a key is new;
// - a flat open-addressing table (linear probing, keys kept inline in the slots), so the per-tuple
//   lookup of a small hot key set touches one or two cache lines instead of chasing list nodes;
// - the serialized format of std::unordered_map<std::string, V> (a size, then key/value pairs), so
//   a bolt can switch between the two without a new state version.
// Like every component member it is touched only from the task's fiber: no locking. References to
// values are invalidated by an insertion of a new key or an erase, as in any open-addressing table.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sleet {

template <class V>
class KeyedState {
  struct Slot {
    std::pair<std::string, V> kv;
    uint64_t hash = 0;
    bool used = false;
  };

 public:
  // The value of `key`, value-initialized (0 for numbers) when the key is new.
  V& operator[](std::string_view key) {
    const uint64_t h = hash_of(key);
    if (!slots_.empty()) {
      size_t i = h & mask();
      for (; slots_[i].used; i = (i + 1) & mask())
        if (slots_[i].hash == h && same(slots_[i].kv.first, key)) return slots_[i].kv.second;
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // keep the load at most 3/4
    size_t i = h & mask();
    while (slots_[i].used) i = (i + 1) & mask();
    Slot& s = slots_[i];
    s.kv.first.assign(key.data(), key.size());
    s.kv.second = V{};
    s.hash = h;
    s.used = true;
    ++size_;
    return s.kv.second;
  }
  // nullptr when absent.
  const V* find(std::string_view key) const {
    const size_t i = index_of(key);
    return i == npos ? nullptr : &slots_[i].kv.second;
  }
  bool contains(std::string_view key) const { return index_of(key) != npos; }
  // True if the key was there.
  bool erase(std::string_view key) {
    size_t i = index_of(key);
    if (i == npos) return false;
    // Backward-shift deletion: pull later members of the probe run into the hole, so lookups
    // never need tombstones.
    for (size_t j = (i + 1) & mask(); slots_[j].used; j = (j + 1) & mask()) {
      const size_t home = slots_[j].hash & mask();
      // Slot j may move to i only if its home is not in the cyclic range (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i].kv = std::move(slots_[j].kv);
      slots_[i].hash = slots_[j].hash;
      i = j;
    }
    slots_[i] = Slot{};
    --size_;
    return true;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    slots_.clear();
    size_ = 0;
  }
  void reserve(size_t n) {
    while (n * 4 > slots_.size() * 3) grow();
  }
  // Calls f(key, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.used) f(s.kv.first, s.kv.second);
  }

  // The format of cereal's std::unordered_map<std::string, V>: size tag, then map items.
  template <class Archive>
  void save(Archive& ar) const {
    ar(cereal::make_size_tag(static_cast<cereal::size_type>(size_)));
    for_each([&](const std::string& k, const V& v) { ar(cereal::make_map_item(k, v)); });
  }
  template <class Archive>
  void load(Archive& ar) {
    cereal::size_type n = 0;
    ar(cereal::make_size_tag(n));
    clear();
    reserve(static_cast<size_t>(n));
    for (cereal::size_type k = 0; k < n; ++k) {
      std::string key;
      V value;
      ar(cereal::make_map_item(key, value));
      (*this)[key] = std::move(value);
    }
  }

 private:
  static constexpr size_t npos = static_cast<size_t>(-1);
  // Not persisted (the serialized form is the key/value pairs), so free to change. Keys of up to
  // 16 bytes (words, ids: the per-tuple case) take two overlapping 8-byte loads and one 128-bit
  // multiply, inline; longer ones std::hash.
  static uint64_t hash_of(std::string_view s) {
    const size_t n = s.size();
    if (n > 16) return std::hash<std::string_view>{}(s);
    const char* p = s.data();
    uint64_t a = 0, b = 0;
    if (n >= 8) {
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
      uint32_t x, y;
      std::memcpy(&x, p, 4);
      std::memcpy(&y, p + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = static_cast<unsigned char>(p[0]) | uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
          uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
    }
    const unsigned __int128 m = static_cast<unsigned __int128>(a ^ 0x9e3779b97f4a7c15ull) *
                                (b ^ 0xd6e8feb86659fd93ull ^ (uint64_t{n} << 56));
    return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
  }
  size_t mask() const { return slots_.size() - 1; }
  // Key equality without a memcmp call for short keys (the per-tuple case); exact: the two
  // overlapping loads of each side together cover every byte.
  static bool same(const std::string& k, std::string_view key) {
    const size_t n = key.size();
    if (k.size() != n) return false;
    const char *a = k.data(), *b = key.data();
    if (n >= 8 && n <= 16) {
      uint64_t x0, x1, y0, y1;
      std::memcpy(&x0, a, 8);
      std::memcpy(&y0, b, 8);
      std::memcpy(&x1, a + n - 8, 8);
      std::memcpy(&y1, b + n - 8, 8);
      return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4 && n < 8) {
      uint32_t x0, x1, y0, y1;
      std::memcpy(&x0, a, 4);
      std::memcpy(&y0, b, 4);
      std::memcpy(&x1, a + n - 4, 4);
      std::memcpy(&y1, b + n - 4, 4);
      return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n < 4) {
      for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
      return true;
    }
    return std::memcmp(a, b, n) == 0;
  }

  size_t index_of(std::string_view key) const {
    if (slots_.empty()) return npos;
    const uint64_t h = hash_of(key);
    for (size_t i = h & mask(); slots_[i].used; i = (i + 1) & mask())
      if (slots_[i].hash == h && same(slots_[i].kv.first, key)) return i;
    return npos;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>(old.empty() ? 16 : old.size() * 2);
    for (Slot& s : old) {
      if (!s.used) continue;
      size_t i = s.hash & mask();
      while (slots_[i].used) i = (i + 1) & mask();
      slots_[i] = std::move(s);
    }
  }

  std::vector<Slot> slots_;  // size 0 or a power of two
  size_t size_ = 0;
};

}  // namespace sleet
