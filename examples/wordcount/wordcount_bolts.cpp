// The wordcount example's bolts, built as a plugin (libsleet_wordcount.so) exactly as a user would
// build their own: public headers only, one SLEET_PLUGIN block. Copy this file to start a plugin.
#include <sleet/component.hpp>
#include <sleet/keyed_state.hpp>
#include <sleet/registry.hpp>

#include <string_view>

namespace {

// Stateless: splits a text field on whitespace and emits one tuple per word. Runs in parallel
// behind a shuffle grouping.
class SplitSentence : public sleet::Bolt {
 public:
  explicit SplitSentence(const sleet::Args& args) : field_(args.string_or("field", "value")) {}
  sleet::Fields output_fields() const override { return {"word"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string_view text = input.get_text(field_);
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && is_space(text[i])) ++i;
      size_t start = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      if (i > start) out.emit_values(text.substr(start, i - start));
    }
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  std::string field_;
};

// Stateful: keeps a count per word and emits (word, count) after every update, so the output holds
// each word's counts 1, 2, ..., N exactly once each: a lost or replayed tuple shows up as a gap or
// a repeated count. Behind a fields grouping on "word", each word lives in exactly one task.
class WordCount : public sleet::Bolt {
 public:
  explicit WordCount(const sleet::Args& args) : field_(args.string_or("field", "word")) {}
  sleet::Fields output_fields() const override { return {"word", "count"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    const std::string& w = input.get_string(field_);
    int64_t c = ++counts_[w];
    out.emit_values(w, c);
  }
  bool stateful() const override { return true; }
  // 2: the counts are managed keyed state (checkpointed asynchronously and incrementally by the
  // runtime), so snapshot_state writes nothing. 1: they were in the cereal blob; still read.
  uint32_t state_version() const override { return 2; }
  std::vector<sleet::KeyedStateRef> keyed_states() override { return {{"counts", &counts_}}; }
  sleet::Status restore_state(sleet::StateReader& r, uint32_t version) override {
    if (version == 1) {
      r(counts_);
      return sleet::Status::Ok();
    }
    if (version != 2)
      return sleet::Status::Incompatible("WordCount state version " + std::to_string(version));
    return sleet::Status::Ok();
  }

 private:
  std::string field_;
  sleet::KeyedState<int64_t> counts_;
};

}  // namespace

SLEET_PLUGIN(registry) {
  (void)registry.add(sleet::describe<SplitSentence>(
      "SplitSentence", "Splits a text field on whitespace into words (field: word)",
      {{"field", sleet::ArgKind::string, false, "input field holding text", sleet::Arg("value")}}));
  (void)registry.add(sleet::describe<WordCount>(
      "WordCount", "Counts words; emits (word, count) after every update; stateful",
      {{"field", sleet::ArgKind::string, false, "input field holding the word",
        sleet::Arg("word")}}));
}
