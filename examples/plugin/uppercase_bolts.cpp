// A user plugin: two bolts built against an installed (or built) Sleet with its public headers
// only, registered in one SLEET_PLUGIN block. `sleet list-components --plugin
// build/libsleet_uppercase.so` shows them; uppercase.yaml uses them.
#include <sleet/component.hpp>
#include <sleet/registry.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/unordered_set.hpp>
#include <string>
#include <unordered_set>

namespace {

// Stateless: emits the text of one field with ASCII letters uppercased (other bytes, such as
// UTF-8 sequences, unchanged). Any parallelism, any grouping.
class UpperCase : public sleet::Bolt {
 public:
  explicit UpperCase(const sleet::Args& args) : field_(args.string_or("field", "value")) {}
  sleet::Fields output_fields() const override { return {"value"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string s(input.get_text(field_));
    for (char& c : s)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.emit({std::move(s)});
  }

 private:
  std::string field_;
};

// Stateful: passes a value on the first time it is seen and drops it after that. The set of seen
// values is the bolt's state: the runtime snapshots it at every checkpoint barrier and restores it
// after a crash, so each distinct value comes out exactly once even across restarts. Put it behind
// a fields grouping on the same field, so that equal values meet in the same task.
// The set only grows: fine for bounded inputs and examples; a real job would expire entries.
class Dedupe : public sleet::Bolt {
 public:
  explicit Dedupe(const sleet::Args& args) : field_(args.string_or("field", "value")) {}
  sleet::Fields output_fields() const override { return {"value"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string v(input.get_text(field_));
    if (seen_.insert(v).second) out.emit({std::move(v)});
  }
  bool stateful() const override { return true; }
  uint32_t state_version() const override { return 1; }
  void snapshot_state(sleet::StateWriter& w) const override { w(seen_); }
  sleet::Status restore_state(sleet::StateReader& r, uint32_t version) override {
    if (version != 1)
      return sleet::Status::Incompatible("Dedupe state version " + std::to_string(version));
    r(seen_);
    return sleet::Status::Ok();
  }

 private:
  std::string field_;
  std::unordered_set<std::string> seen_;
};

}  // namespace

SLEET_PLUGIN(registry) {
  (void)registry.add(sleet::describe<UpperCase>(
      "UpperCase", "Uppercases the ASCII letters of a text field (emits: value)",
      {{"field", sleet::ArgKind::string, false, "input field holding text", sleet::Arg("value")}}));
  (void)registry.add(sleet::describe<Dedupe>(
      "Dedupe", "Passes each distinct value of a field once (emits: value); stateful",
      {{"field", sleet::ArgKind::string, false, "input field to deduplicate on",
        sleet::Arg("value")}}));
}
