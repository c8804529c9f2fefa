// Keyed state: a value per key, for stateful bolts behind a fields grouping (each key then lives
// in exactly one task). Two ways to checkpoint it:
//
// 1. Managed (the fast path for large state): return it from Component::keyed_states() and leave
//    it out of snapshot_state. The runtime then checkpoints it itself, asynchronously and
//    incrementally (docs/state.md): at a barrier the task freezes a copy-on-write view of the
//    table in O(pages) (about 4 us per million keys), forwards the barrier at once, and a writer
//    thread serializes and writes the view; a checkpoint stores only the entries changed or
//    erased since the previous committed one, plus a full base now and then.
//
//      sleet::KeyedState<int64_t> counts_;
//      std::vector<sleet::KeyedStateRef> keyed_states() override { return {{"counts", &counts_}}; }
//
// 2. Plain cereal, like any member: `w(counts_)` in snapshot_state, `r(counts_)` in
//    restore_state. The whole table is serialized on the task's fiber at every barrier.
//
// What it adds to a plain std::unordered_map<std::string, V>:
// - lookups by std::string_view (a tuple's text field) that allocate only when a key is new;
// - a flat open-addressing table (linear probing, keys kept inline in the slots), so the per-tuple
//   lookup of a small hot key set touches one or two cache lines instead of chasing list nodes;
// - the cereal format of std::unordered_map<std::string, V> (a size, then key/value pairs), so
//   a bolt can switch between the two without a new state version.
//
// Threading: like every component member it is touched only from the task's fiber, no locking.
// A KeyedStateView (what freeze() returns) is read by one other thread (the snapshot writer); it
// shares pages with the table, and the table copies a page before its first change while a view
// still holds it (copy-on-write), so neither ever sees the other's writes. References to values
// are invalidated by an insertion of a new key, an erase, or the first change of a page after a
// freeze, as in any open-addressing table.
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <sleet/status.hpp>

namespace sleet {

// The blob format of managed keyed state (little-endian, as written by this build; the runtime
// checksums every blob):
//   "SLKS" | u32 format (1) | u8 kind (0 base, 1 delta) | u64 checkpoint | u64 since |
//   u64 erase count | u64 upsert count | erases: varint length, key | upserts: varint length,
//   key, value (arithmetic: its bytes; std::string: varint length, bytes; else varint length,
//   cereal PortableBinary bytes)
// A base holds every entry; a delta the keys erased and the entries changed after checkpoint
// `since` (erases apply first, so a key erased and set again ends up set).
namespace keyed_blob {
inline constexpr char kMagic[4] = {'S', 'L', 'K', 'S'};
inline constexpr uint32_t kFormat = 1;
inline constexpr size_t kHeaderBytes = 4 + 4 + 1 + 8 * 4;

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
template <class T>
inline void put_raw(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads a blob in place (no copy); every read is bounds-checked, a short or malformed blob is a
// corruption error, never undefined behaviour.
class Reader {
 public:
  explicit Reader(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_++);
      v |= uint64_t{c & 0x7fu} << shift;
      if (c < 0x80) return true;
    }
    return false;
  }
  template <class T>
  bool raw(T& v) {
    if (static_cast<size_t>(end_ - p_) < sizeof v) return false;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return true;
  }
  bool bytes(std::string_view& s) {
    uint64_t n = 0;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    s = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

template <class V>
void put_value(std::string& out, const V& v) {
  if constexpr (std::is_arithmetic_v<V>) {
    put_raw(out, v);
  } else if constexpr (std::is_same_v<V, std::string>) {
    put_varint(out, v.size());
    out.append(v);
  } else {
    std::ostringstream os(std::ios::binary);
    {
      cereal::PortableBinaryOutputArchive ar(os);
      ar(v);
    }
    const std::string s = std::move(os).str();
    put_varint(out, s.size());
    out.append(s);
  }
}
template <class V>
bool get_value(Reader& r, V& v) {
  if constexpr (std::is_arithmetic_v<V>) {
    return r.raw(v);
  } else if constexpr (std::is_same_v<V, std::string>) {
    std::string_view s;
    if (!r.bytes(s)) return false;
    v.assign(s.data(), s.size());
    return true;
  } else {
    std::string_view s;
    if (!r.bytes(s)) return false;
    try {
      std::istringstream is(std::string(s), std::ios::binary);
      cereal::PortableBinaryInputArchive ar(is);
      ar(v);
    } catch (const std::exception&) {
      return false;
    }
    return true;
  }
}
}  // namespace keyed_blob

// A frozen view of one KeyedState at a barrier: read only by the snapshot writer thread.
class KeyedStateView {
 public:
  virtual ~KeyedStateView() = default;
  // Appends the blob (keyed_blob format) to `out` and releases the frozen pages as it goes, so
  // the table stops copying them. Call once.
  virtual void serialize(std::string& out) = 0;
  virtual bool base() const = 0;
  // Entries in the blob (erases plus upserts for a delta); valid after serialize().
  virtual uint64_t entries() const = 0;
};

// What the runtime sees of a managed KeyedState<V> (Component::keyed_states()). Epochs are
// checkpoint ids: an entry changed after barrier n-1 and before barrier n carries epoch n.
class KeyedStateBase {
 public:
  virtual ~KeyedStateBase() = default;
  // Task fiber, at barrier n, after every tuple of epoch n: the state as of now, as a base (every
  // entry) or a delta (entries changed and keys erased after checkpoint `since`). O(pages) for a
  // base, O(changed pages) for a delta; entries are not copied. Later changes go to epoch n+1.
  virtual std::unique_ptr<KeyedStateView> freeze(uint64_t n, uint64_t since, bool base) = 0;
  // Task fiber: checkpoint `tip` is committed and the chain now ends there; erase records of
  // epochs <= tip are no longer needed.
  virtual void committed(uint64_t tip) = 0;
  // Start-up (restore): applies one blob of the chain, base first, then deltas in order.
  [[nodiscard]] virtual Status apply_blob(std::string_view blob) = 0;
  // Start-up: restored to (or starting fresh at, 0) checkpoint `id`; changes from now on carry
  // epoch id+1.
  virtual void restored(uint64_t id) = 0;
  virtual size_t entry_count() const = 0;
  // Bytes the table holds in memory (slots and out-of-line key bytes, estimated).
  virtual size_t memory_bytes() const = 0;
};

// A managed keyed state of a component: its name (unique within the component, [A-Za-z0-9_.-],
// at most 64 bytes; part of blob names) and the object (a member of the component).
struct KeyedStateRef {
  std::string name;
  KeyedStateBase* state = nullptr;
};

template <class V>
class KeyedState final : public KeyedStateBase {
  struct Slot {
    std::pair<std::string, V> kv;
    uint64_t hash = 0;
    uint32_t epoch = 0;  // the checkpoint epoch of the last change (see KeyedStateBase)
    bool used = false;
  };
  struct Page {
    std::vector<Slot> slots;
  };
  static constexpr size_t kMaxPageBits = 12;  // 4096 slots a page

 public:
  KeyedState() = default;
  KeyedState(const KeyedState& o) : KeyedStateBase() { copy_from(o); }
  KeyedState& operator=(const KeyedState& o) {
    if (this != &o) copy_from(o);
    return *this;
  }
  KeyedState(KeyedState&&) noexcept = default;
  KeyedState& operator=(KeyedState&&) noexcept = default;

  // The value of `key`, value-initialized (0 for numbers) when the key is new. Counts as a
  // change of the entry (a managed state's next delta holds it).
  V& operator[](std::string_view key) {
    const uint64_t h = hash_of(key);
    if (cap_ != 0) {
      // The per-tuple path: the table's geometry in locals, one slot address per probe; the hit
      // goes through writable() and touch() like every other write.
      Slot* const* const ptrs = ptrs_.data();
      const size_t m = cap_ - 1, bits = page_bits_, pmask = page_mask_;
      for (size_t i = h & m;; i = (i + 1) & m) {
        Slot* s = ptrs[i >> bits] + (i & pmask);
        if (!s->used) break;
        if (s->hash == h && same(s->kv.first, key)) [[likely]] {
          Slot& w = writable(i);  // the one copy-on-write path
          touch(i, w);
          return w.kv.second;
        }
      }
    }
    if ((size_ + 1) * 4 > cap_ * 3) grow(cap_ == 0 ? 16 : cap_ * 2);  // keep the load <= 3/4
    size_t i = h & mask();
    while (at(i).used) i = (i + 1) & mask();
    Slot& s = writable(i);
    s.kv.first.assign(key.data(), key.size());
    s.kv.second = V{};
    s.hash = h;
    s.used = true;
    touch(i, s);
    ++size_;
    return s.kv.second;
  }
  // nullptr when absent.
  const V* find(std::string_view key) const {
    const size_t i = index_of(key);
    return i == npos ? nullptr : &at(i).kv.second;
  }
  bool contains(std::string_view key) const { return index_of(key) != npos; }
  // True if the key was there.
  bool erase(std::string_view key) {
    size_t i = index_of(key);
    if (i == npos) return false;
    erased_.back().keys.emplace_back(key);
    // Backward-shift deletion: pull later members of the probe run into the hole, so lookups
    // never need tombstones. A moved entry keeps its epoch (it did not change).
    for (size_t j = (i + 1) & mask(); at(j).used; j = (j + 1) & mask()) {
      const size_t home = at(j).hash & mask();
      // Slot j may move to i only if its home is not in the cyclic range (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      Slot& from = writable(j);
      Slot& to = writable(i);
      to.kv = std::move(from.kv);
      to.hash = from.hash;
      to.epoch = from.epoch;
      page_epoch_[i >> page_bits_] = std::max(page_epoch_[i >> page_bits_], to.epoch);
      i = j;
    }
    writable(i) = Slot{};
    --size_;
    return true;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // A managed state's next checkpoint after a clear() is a full base (no erase records).
  void clear() {
    drop_table();
    cleared_epoch_ = epoch_;
  }
  void reserve(size_t n) {
    size_t c = cap_ == 0 ? 16 : cap_;
    while (n * 4 > c * 3) c *= 2;
    if (c != cap_) grow(c);
  }
  // Calls f(key, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& p : pages_)
      for (const Slot& s : p->slots)
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

  // --- KeyedStateBase (managed checkpoints) ---
  std::unique_ptr<KeyedStateView> freeze(uint64_t n, uint64_t since, bool base) override {
    auto v = std::make_unique<View>();
    if (cleared_epoch_ > static_cast<uint32_t>(since)) base = true;  // a delta cannot say clear
    v->id = n;
    v->since = since;
    v->is_base = base;
    v->entries_hint = size_;
    const auto since32 = static_cast<uint32_t>(since);
    for (size_t p = 0; p < pages_.size(); ++p) {
      if (!base && page_epoch_[p] <= since32) continue;  // nothing changed there since `since`
      v->pages.push_back(pages_[p]);
      shared_[p] = 1;
    }
    if (!base)
      for (auto& seg : erased_)
        if (seg.epoch > since32) v->erased.push_back(seg.keys_ptr());
    // The erase segment of epoch n is closed: later erases go to epoch n+1.
    epoch_ = static_cast<uint32_t>(n + 1);
    erased_.push_back(EraseSegment{epoch_, {}});
    return v;
  }
  void committed(uint64_t tip) override {
    const auto t = static_cast<uint32_t>(tip);
    while (erased_.size() > 1 && erased_.front().epoch <= t) erased_.erase(erased_.begin());
  }
  Status apply_blob(std::string_view blob) override {
    auto bad = [](const std::string& why) {
      return Status::Corruption("keyed state blob: " + why);
    };
    keyed_blob::Reader r(blob);
    char magic[4];
    uint32_t format = 0;
    uint8_t kind = 0;
    uint64_t id = 0, since = 0, n_erase = 0, n_upsert = 0;
    if (!r.raw(magic) || std::memcmp(magic, keyed_blob::kMagic, 4) != 0)
      return bad("not a keyed state blob (bad magic)");
    if (!r.raw(format) || format != keyed_blob::kFormat)
      return Status::Incompatible("keyed state blob has format " + std::to_string(format) +
                                  "; this build reads " + std::to_string(keyed_blob::kFormat));
    if (!r.raw(kind) || kind > 1 || !r.raw(id) || !r.raw(since) || !r.raw(n_erase) ||
        !r.raw(n_upsert))
      return bad("truncated header");
    if (kind == 0) {
      drop_table();
      reserve(static_cast<size_t>(std::min<uint64_t>(n_upsert, blob.size())));
    }
    for (uint64_t k = 0; k < n_erase; ++k) {
      std::string_view key;
      if (!r.bytes(key)) return bad("truncated erase record");
      erase(key);
    }
    for (uint64_t k = 0; k < n_upsert; ++k) {
      std::string_view key;
      V value{};
      if (!r.bytes(key) || !keyed_blob::get_value(r, value)) return bad("truncated entry");
      (*this)[key] = std::move(value);
    }
    if (!r.done()) return bad("trailing bytes after the last entry");
    return Status::Ok();
  }
  void restored(uint64_t id) override {
    // Restored entries are part of checkpoint `id`: epoch 0 keeps them out of the next delta.
    for (size_t p = 0; p < pages_.size(); ++p) {
      Page& pg = unshare(p);
      for (Slot& s : pg.slots) s.epoch = 0;
      page_epoch_[p] = 0;
    }
    epoch_ = static_cast<uint32_t>(id + 1);
    cleared_epoch_ = 0;
    erased_.assign(1, EraseSegment{epoch_, {}});
  }
  size_t entry_count() const override { return size_; }
  size_t memory_bytes() const override {
    size_t b = cap_ * sizeof(Slot);
    for_each([&](const std::string& k, const V&) {
      if (k.capacity() > 15) b += k.capacity() + 1;
    });
    return b;
  }

 private:
  static constexpr size_t npos = static_cast<size_t>(-1);

  struct EraseSegment {
    uint32_t epoch = 1;
    std::vector<std::string> keys;
    // Shared with a view; the segment itself is never changed after the freeze that closed it.
    std::shared_ptr<const std::vector<std::string>> frozen;
    std::shared_ptr<const std::vector<std::string>> keys_ptr() {
      if (!frozen) frozen = std::make_shared<const std::vector<std::string>>(std::move(keys));
      return frozen;
    }
  };

  // Read by the writer thread only.
  struct View final : KeyedStateView {
    uint64_t id = 0, since = 0;
    bool is_base = false;
    size_t entries_hint = 0;
    uint64_t written = 0;
    std::vector<std::shared_ptr<Page>> pages;
    std::vector<std::shared_ptr<const std::vector<std::string>>> erased;
    bool base() const override { return is_base; }
    uint64_t entries() const override { return written; }
    void serialize(std::string& out) override {
      const size_t head = out.size();
      out.append(keyed_blob::kMagic, 4);
      keyed_blob::put_raw(out, keyed_blob::kFormat);
      keyed_blob::put_raw(out, static_cast<uint8_t>(is_base ? 0 : 1));
      keyed_blob::put_raw(out, id);
      keyed_blob::put_raw(out, since);
      uint64_t n_erase = 0, n_upsert = 0;
      keyed_blob::put_raw(out, n_erase);
      keyed_blob::put_raw(out, n_upsert);
      if (is_base) out.reserve(out.size() + entries_hint * 24);
      for (auto& seg : erased)
        for (const std::string& k : *seg) {
          keyed_blob::put_varint(out, k.size());
          out.append(k);
          ++n_erase;
        }
      erased.clear();
      const auto since32 = static_cast<uint32_t>(since);
      for (auto& p : pages) {
        for (const Slot& s : p->slots) {
          if (!s.used || (!is_base && s.epoch <= since32)) continue;
          keyed_blob::put_varint(out, s.kv.first.size());
          out.append(s.kv.first);
          keyed_blob::put_value(out, s.kv.second);
          ++n_upsert;
        }
        p.reset();  // the table may change this page in place again
      }
      pages.clear();
      std::memcpy(out.data() + head + keyed_blob::kHeaderBytes - 16, &n_erase, 8);
      std::memcpy(out.data() + head + keyed_blob::kHeaderBytes - 8, &n_upsert, 8);
      written = n_erase + n_upsert;
    }
  };

  size_t mask() const { return cap_ - 1; }
  const Slot& at(size_t i) const { return ptrs_[i >> page_bits_][i & page_mask_]; }
  Slot& at(size_t i) { return ptrs_[i >> page_bits_][i & page_mask_]; }
  // The slot, in a page this table owns alone (copied first if a view still reads it).
  Slot& writable(size_t i) {
    const size_t p = i >> page_bits_;
    if (shared_[p]) unshare(p);
    return ptrs_[p][i & page_mask_];
  }
  void touch(size_t i, Slot& s) {
    s.epoch = epoch_;
    page_epoch_[i >> page_bits_] = epoch_;
  }
  Page& unshare(size_t p) {
    if (shared_[p]) {
      // use_count 1: every view released the page (its release happens-before this acquire).
      if (pages_[p].use_count() != 1) {
        pages_[p] = std::make_shared<Page>(*pages_[p]);
        ptrs_[p] = pages_[p]->slots.data();
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      shared_[p] = 0;
    }
    return *pages_[p];
  }
  void drop_table() {
    pages_.clear();
    ptrs_.clear();
    shared_.clear();
    page_epoch_.clear();
    cap_ = 0;
    size_ = 0;
    page_bits_ = 0;
    page_mask_ = 0;
  }
  void grow(size_t new_cap) {
    std::vector<std::shared_ptr<Page>> old = std::move(pages_);
    std::vector<uint8_t> old_shared = std::move(shared_);
    size_t bits = 0;
    while ((size_t{1} << bits) < new_cap) ++bits;
    page_bits_ = std::min(bits, kMaxPageBits);
    page_mask_ = (size_t{1} << page_bits_) - 1;
    cap_ = new_cap;
    const size_t n_pages = new_cap >> page_bits_;
    pages_.clear();
    ptrs_.assign(n_pages, nullptr);
    shared_.assign(n_pages, 0);
    page_epoch_.assign(n_pages, 0);
    for (size_t p = 0; p < n_pages; ++p) {
      pages_.push_back(std::make_shared<Page>());
      pages_[p]->slots.resize(size_t{1} << page_bits_);
      ptrs_[p] = pages_[p]->slots.data();
    }
    for (size_t op = 0; op < old.size(); ++op) {
      // A page a view still reads is copied from, never moved from.
      const bool frozen = old_shared[op] && old[op].use_count() != 1;
      std::atomic_thread_fence(std::memory_order_acquire);
      for (Slot& s : old[op]->slots) {
        if (!s.used) continue;
        size_t i = s.hash & mask();
        while (at(i).used) i = (i + 1) & mask();
        Slot& d = at(i);
        if (frozen)
          d = s;
        else
          d = std::move(s);
        page_epoch_[i >> page_bits_] = std::max(page_epoch_[i >> page_bits_], d.epoch);
      }
    }
  }
  void copy_from(const KeyedState& o) {
    drop_table();
    cap_ = o.cap_;
    size_ = o.size_;
    page_bits_ = o.page_bits_;
    page_mask_ = o.page_mask_;
    for (const auto& p : o.pages_) {
      pages_.push_back(std::make_shared<Page>(*p));
      ptrs_.push_back(pages_.back()->slots.data());
    }
    shared_.assign(pages_.size(), 0);
    page_epoch_ = o.page_epoch_;
    epoch_ = o.epoch_;
    erased_.assign(1, EraseSegment{epoch_, {}});
  }

  // Not persisted (the serialized forms are the key/value pairs), so free to change. Keys of up
  // to 16 bytes (words, ids: the per-tuple case) take two overlapping 8-byte loads and one
  // 128-bit multiply, inline; longer ones std::hash.
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
    if (cap_ == 0) return npos;
    const uint64_t h = hash_of(key);
    for (size_t i = h & mask(); at(i).used; i = (i + 1) & mask())
      if (at(i).hash == h && same(at(i).kv.first, key)) return i;
    return npos;
  }

  // Pages of 2^page_bits_ slots (fewer for a small table); slot i is in page i >> page_bits_.
  std::vector<std::shared_ptr<Page>> pages_;
  std::vector<Slot*> ptrs_;           // pages_[p]->slots.data(): one load on the lookup path
  std::vector<uint8_t> shared_;       // 1: a view took the page since its last copy check
  std::vector<uint32_t> page_epoch_;  // the highest entry epoch in the page (conservative)
  size_t cap_ = 0;                    // slots: 0 or a power of two
  size_t size_ = 0;
  size_t page_bits_ = 0, page_mask_ = 0;
  uint32_t epoch_ = 1;
  uint32_t cleared_epoch_ = 0;  // the epoch of the last clear(), 0 if none
  // Keys erased per epoch not yet covered by a committed checkpoint; the last is the open one.
  std::vector<EraseSegment> erased_ = std::vector<EraseSegment>(1);
};

}  // namespace sleet
