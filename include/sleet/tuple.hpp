// Tuples: ordered values with field names declared by the producing component.
// A Tuple is owned by the batch that carries it; bolts get const references that are valid only
// during execute(). Copy what you keep.
#pragma once

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <sleet/ids.hpp>

namespace sleet {

// Event time (docs/time-and-windows.md): milliseconds since the epoch. A tuple without one (its
// spout assigns none, or it was emitted from a timer) has kNoTimestamp. kIdleWatermark is what a
// spout reports while none of its partitions is active (the idle timeout): downstream leaves that
// input out of its minimum instead of waiting for it.
inline constexpr int64_t kNoTimestamp = INT64_MIN;
inline constexpr int64_t kIdleWatermark = INT64_MAX;
// The stream a component emits on with emit(values), and the one a subscription without
// `stream:` reads.
inline constexpr std::string_view kDefaultStream = "default";

// Raw bytes, distinct from text so sinks can encode them differently (jsonl: base64).
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(data);
  }
};

using Value = std::variant<int64_t, double, std::string, Bytes, bool>;

enum class ValueType { int64 = 0, float64 = 1, string = 2, bytes = 3, boolean = 4 };
const char* value_type_name(ValueType t);
inline ValueType type_of(const Value& v) {
  return static_cast<ValueType>(v.index());
}
// Text form used by the tsv format and logs: int/double/bool printed, bytes raw.
std::string to_text(const Value& v);
// The same, appended to `out` without a temporary (the sinks' hot path).
void append_text(const Value& v, std::string& out);
// Stable 64-bit hash (independent of std::hash and of the process) for fields grouping.
uint64_t stable_hash(const Value& v);

// The names of a component's output fields. Shared, immutable once declared.
class Fields {
 public:
  Fields() = default;
  Fields(std::initializer_list<std::string> names) : names_(names) {}
  explicit Fields(std::vector<std::string> names) : names_(std::move(names)) {}
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  bool empty() const { return names_.empty(); }
  // -1 when absent.
  // Called per tuple by name-based getters: field names are short, so an inline compare beats a
  // memcmp call.
  int index_of(std::string_view name) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      const std::string& n = names_[i];
      if (n.size() != name.size()) continue;
      size_t k = 0;
      while (k < n.size() && n[k] == name[k]) ++k;
      if (k == n.size()) return static_cast<int>(i);
    }
    return -1;
  }
  bool contains(std::string_view name) const { return index_of(name) >= 0; }
  bool operator==(const Fields&) const = default;

 private:
  std::vector<std::string> names_;
};

// Where a received tuple comes from. One immutable record per (producing task, output stream),
// owned by the runtime and shared by every tuple that task emits on that stream: a tuple carries a
// pointer, never strings. Outlives every tuple that points at it.
struct TupleSource {
  std::string component;
  TaskIndex task{0};
  std::string stream{kDefaultStream};
};
// What a tuple built without a source (tests, a sink's own tuples) reports: no component, task 0,
// the default stream.
inline const TupleSource kUnknownTupleSource{};

// Up to four values live inside the tuple itself: emitting a (word, count) pair allocates nothing.
// More spill to the heap. Construct with braces (`out.emit({w, c})`), like a std::vector.
inline constexpr size_t kInlineValues = 4;
using Values = boost::container::small_vector<Value, kInlineValues>;

class Tuple {
 public:
  Tuple() = default;
  Tuple(const Fields* fields, Values&& values, const TupleSource* source = nullptr)
      : fields_(fields), source_(source) {
    adopt(values);
  }
  Tuple(const Fields* fields, const Values& values, const TupleSource* source = nullptr)
      : fields_(fields), source_(source), values_(values) {}

  size_t size() const { return values_.size(); }
  const Value& at(size_t i) const { return values_.at(i); }
  const Value& at(std::string_view field) const {
    // Inline: name lookups run per tuple in most bolts.
    const int i = fields_ ? fields_->index_of(field) : -1;
    if (i < 0 || static_cast<size_t>(i) >= values_.size()) return at_missing(field);
    return values_[static_cast<size_t>(i)];
  }
  const Values& values() const { return values_; }
  Values& mutable_values() { return values_; }
  const Fields* fields() const { return fields_; }
  // Event time in ms since the epoch (kNoTimestamp: none). Set by the runtime: a spout's
  // emit_at(), else the timestamp of the input being executed when the tuple was emitted.
  int64_t timestamp() const { return timestamp_; }
  void set_timestamp(int64_t ts) { timestamp_ = ts; }

  // Origin: the component, task and output stream that emitted this tuple (for a bolt with
  // several inputs, a join). Valid as long as the tuple.
  std::string_view source_component() const { return source().component; }
  TaskIndex source_task() const { return source().task; }
  std::string_view source_stream() const { return source().stream; }
  const TupleSource& source() const { return source_ ? *source_ : kUnknownTupleSource; }

  // Typed access; throws std::invalid_argument with the field name on a type mismatch so the
  // component's error policy can name the field.
  template <class T>
  const T& get(size_t i) const {
    const Value& v = at(i);
    if (auto* p = std::get_if<T>(&v)) return *p;
    throw std::invalid_argument("field " + std::to_string(i) + " has type " +
                                value_type_name(type_of(v)));
  }
  template <class T>
  const T& get(std::string_view field) const {
    const Value& v = at(field);
    if (auto* p = std::get_if<T>(&v)) return *p;
    throw std::invalid_argument("field '" + std::string(field) + "' has type " +
                                value_type_name(type_of(v)));
  }
  const std::string& get_string(std::string_view f) const { return get<std::string>(f); }
  int64_t get_int(std::string_view f) const { return get<int64_t>(f); }
  double get_double(std::string_view f) const { return get<double>(f); }
  bool get_bool(std::string_view f) const { return get<bool>(f); }
  // Text of a string or the raw bytes of a Bytes value.
  std::string_view get_text(std::string_view f) const;

  // "word=the count=3" for error messages.
  std::string debug_string() const;

 private:
  size_t index(std::string_view field) const;
  // Throws what at(field) throws for a field the tuple lacks.
  [[noreturn]] const Value& at_missing(std::string_view field) const;
  // Every emitted tuple passes here. Values on the heap are taken by pointer; inline ones are
  // moved with a switch on the type, which the compiler inlines, instead of std::variant's generic
  // move (an indirect call per value).
  void adopt(Values& v) {
    if (v.size() > kInlineValues) {
      values_ = std::move(v);
      return;
    }
    for (Value& x : v) {
      switch (x.index()) {
        case 0:
          values_.emplace_back(std::in_place_index<0>, *std::get_if<0>(&x));
          break;
        case 1:
          values_.emplace_back(std::in_place_index<1>, *std::get_if<1>(&x));
          break;
        case 2:
          values_.emplace_back(std::in_place_index<2>, std::move(*std::get_if<2>(&x)));
          break;
        case 3:
          values_.emplace_back(std::in_place_index<3>, std::move(*std::get_if<3>(&x)));
          break;
        default:
          values_.emplace_back(std::move(x));
      }
    }
  }
  const Fields* fields_ = nullptr;
  const TupleSource* source_ = nullptr;
  Values values_;
  int64_t timestamp_ = kNoTimestamp;
};

}  // namespace sleet
