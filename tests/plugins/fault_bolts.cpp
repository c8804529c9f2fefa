// Bolts that misbehave on purpose, for the fault-matrix tests (tests/e2e/fault_matrix_*_test.cpp).
// Built as a plugin (libsleet_test_faults.so in <build>/plugins) and named under `plugins:` in a
// test topology, exactly as a user's plugin is; public headers only.
//
//   FailOn: forwards field `field` (default "value") as "value"; throws on a tuple whose field
//           equals `value` ("*": on every tuple), or contains `marker`; a poison record,
//           deterministic: it throws on every replay (with on_error: dead_letter, a dead letter).
//   Stall:  forwards like FailOn; on a tuple whose field equals `value` it never returns from
//           execute() (sleeps on its fiber in a loop): a stuck task that blocks checkpoints.
#include <sleet/component.hpp>
#include <sleet/registry.hpp>
#include <sleet/this_task.hpp>

#include <stdexcept>
#include <string>

namespace {

class FailOn : public sleet::Bolt {
 public:
  explicit FailOn(const sleet::Args& args)
      : field_(args.string_or("field", "value")),
        value_(args.string_or("value", "")),
        marker_(args.string_or("marker", "")) {}
  sleet::Fields output_fields() const override { return {"value"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string v(input.get_text(field_));
    if ((!value_.empty() && (v == value_ || value_ == "*")) ||
        (!marker_.empty() && v.find(marker_) != std::string::npos))
      throw std::runtime_error("FailOn: refusing value '" + v + "'");
    out.emit_values(v);
  }

 private:
  std::string field_, value_, marker_;
};

class Stall : public sleet::Bolt {
 public:
  explicit Stall(const sleet::Args& args)
      : field_(args.string_or("field", "value")), value_(args.string_or("value", "")) {}
  sleet::Fields output_fields() const override { return {"value"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string v(input.get_text(field_));
    if (v == value_)
      while (true) sleet::this_task::sleep_for(std::chrono::milliseconds(100));
    out.emit_values(v);
  }

 private:
  std::string field_, value_;
};

}  // namespace

SLEET_PLUGIN(registry) {
  const sleet::ArgSpec field = {"field", sleet::ArgKind::string, false, "input field to look at",
                                sleet::Arg("value")};
  (void)registry.add(sleet::describe<FailOn>(
      "FailOn", "Throws on a tuple whose field equals `value` or contains `marker`",
      {field,
       {"value", sleet::ArgKind::string, false, "the value that makes it throw (*: every one)",
        sleet::Arg("")},
       {"marker", sleet::ArgKind::string, false, "text that makes it throw when contained",
        sleet::Arg("")}}));
  (void)registry.add(sleet::describe<Stall>(
      "Stall", "Never returns from execute() on a tuple whose field equals `value`",
      {field, {"value", sleet::ArgKind::string, true, "the value that stalls it", {}}}));
}
