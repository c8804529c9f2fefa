// Generic bolts for the generative exactly-once test (tests/e2e/generative_exactly_once_test.cpp,
// tests/support/generative.hpp), built as a plugin (libsleet_gen_bolts.so) with the public
// headers only. Input records are Kafka records with key "kJ" and value "tI:q kJ"; a bolt reads
// either such a record (KafkaSpout fields) or a Tag's output, so any of them can follow any other.
#include <sleet/component.hpp>
#include <sleet/keyed_state.hpp>
#include <sleet/registry.hpp>
#include <sleet/this_task.hpp>

#include <string>
#include <string_view>

namespace {

// The record id "tI:q" of a spout tuple (first word of its value) or of a Tag tuple.
std::string_view record_id(const sleet::Tuple& in) {
  if (in.fields() && in.fields()->contains("id")) return in.get_text("id");
  std::string_view v = in.get_text("value");
  return v.substr(0, v.find(' '));
}

// Stateless: passes the record on as (id, key, path), appending its own component id to the
// path (a spout tuple starts the path), so a sink line says by which Tags it came. With slow.us
// it pauses that long per tuple (suspending its fiber only): a slow path that back-pressures its
// spouts, so they lag behind the log end.
class Tag : public sleet::Bolt {
 public:
  explicit Tag(const sleet::Args& args) : slow_us_(args.int_or("slow.us", 0)) {}
  sleet::Fields output_fields() const override { return {"id", "key", "path"}; }
  sleet::Status open(sleet::Context& ctx) override {
    self_ = ctx.component;
    return sleet::Status::Ok();
  }
  void execute(const sleet::Tuple& in, sleet::Collector& out) override {
    std::string path;
    if (in.fields() && in.fields()->contains("path")) {
      path.assign(in.get_text("path"));
      path += '>';
    }
    path += self_;
    if (slow_us_ > 0) sleet::this_task::sleep_for(std::chrono::microseconds(slow_us_));
    out.emit_values(record_id(in), in.get_text("key"), std::move(path));
  }

 private:
  std::string self_;
  int64_t slow_us_;
};

// Stateful, keyed: per key the number of updates and the sum of the records' sequence numbers
// (the q of "tI:q"); emits (key, count, bolt, sum) after every update. Behind a fields grouping
// on key (or global), so each key lives in one task.
class KeyedCount : public sleet::Bolt {
 public:
  explicit KeyedCount(const sleet::Args&) {}
  sleet::Fields output_fields() const override { return {"key", "count", "bolt", "sum"}; }
  sleet::Status open(sleet::Context& ctx) override {
    self_ = ctx.component;
    return sleet::Status::Ok();
  }
  void execute(const sleet::Tuple& in, sleet::Collector& out) override {
    std::string_view id = record_id(in);
    auto colon = id.find(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("record id '" + std::string(id) + "' has no ':'");
    int64_t q = std::stoll(std::string(id.substr(colon + 1)));
    std::string_view key = in.get_text("key");
    int64_t c = ++counts_[key];
    int64_t s = (sums_[key] += q);
    out.emit_values(key, c, self_, s);
  }
  bool stateful() const override { return true; }
  uint32_t state_version() const override { return 1; }
  void snapshot_state(sleet::StateWriter& w) const override { w(counts_, sums_); }
  sleet::Status restore_state(sleet::StateReader& r, uint32_t version) override {
    if (version != 1)
      return sleet::Status::Incompatible("KeyedCount state version " + std::to_string(version));
    r(counts_, sums_);
    return sleet::Status::Ok();
  }

 private:
  std::string self_;
  sleet::KeyedState<int64_t> counts_, sums_;
};

}  // namespace

SLEET_PLUGIN(registry) {
  (void)registry.add(sleet::describe<Tag>(
      "Tag", "Test bolt: passes (id, key, path) on, appending its id to path; stateless",
      {{"slow.us", sleet::ArgKind::integer, false, "pause per tuple, microseconds",
        sleet::Arg(0)}}));
  (void)registry.add(sleet::describe<KeyedCount>(
      "KeyedCount",
      "Test bolt: per key counts updates and sums sequence numbers; emits (key, count, bolt, sum) "
      "after every update; stateful",
      {}));
}
