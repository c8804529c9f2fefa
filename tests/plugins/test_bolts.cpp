// Bolts for end-to-end tests that run a real `sleet worker` (libsleet_test_bolts.so, built into
// build/plugins/ next to the wordcount plugin). Public headers only, like a user's plugin.
#include <sleet/component.hpp>
#include <sleet/registry.hpp>

#include <stdexcept>
#include <string>

namespace {

// Throws on every tuple whose text field contains `marker`; passes the others on. With
// on_error: dead_letter, the throwing tuples become dead letters.
class FailOn : public sleet::Bolt {
 public:
  explicit FailOn(const sleet::Args& a)
      : field_(a.string_or("field", "value")), marker_(a.string_or("marker", "bad")) {}
  sleet::Fields output_fields() const override { return {"value"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string_view text = input.get_text(field_);
    if (text.find(marker_) != std::string_view::npos)
      throw std::runtime_error("refused: contains " + marker_);
    out.emit_values(std::string(text));
  }

 private:
  std::string field_, marker_;
};

}  // namespace

SLEET_PLUGIN(registry) {
  (void)registry.add(sleet::describe<FailOn>(
      "FailOn", "Throws on tuples whose field contains marker (tests of on_error)",
      {{"field", sleet::ArgKind::string, false, "text field to look at", sleet::Arg("value")},
       {"marker", sleet::ArgKind::string, false, "text that makes it throw", sleet::Arg("bad")}}));
}
