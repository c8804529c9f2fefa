// The named-streams example's bolts (libsleet_streams.so), a plugin built like any user's: public
// headers only. RouteWords splits sentences and sends each word to one of two output streams;
// OriginCount reads several streams of several components and keeps its counts apart by where
// each tuple came from (Tuple::source_component / source_stream).
#include <sleet/component.hpp>
#include <sleet/keyed_state.hpp>
#include <sleet/registry.hpp>

#include <string>
#include <string_view>

namespace {

// Words of at most `max_short` bytes go to stream "short", longer ones to "long"; both carry
// [word]. No default stream: emit(values) would be an error, only emit(stream, values) is used.
class RouteWords : public sleet::Bolt {
 public:
  explicit RouteWords(const sleet::Args& args)
      : field_(args.string_or("field", "value")),
        max_short_(static_cast<size_t>(args.int_or("max_short", 3))) {}
  std::vector<sleet::StreamDecl> output_streams() const override {
    return {{"short", {"word"}}, {"long", {"word"}}};
  }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string_view text = input.get_text(field_);
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && is_space(text[i])) ++i;
      size_t start = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      if (i == start) continue;
      std::string_view w = text.substr(start, i - start);
      out.emit_values_to(w.size() <= max_short_ ? "short" : "long", w);
    }
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  std::string field_;
  size_t max_short_;
};

// Stateful: counts words per origin, the key "<component>/<stream>/<word>", and emits (key, count)
// after every update: each key's counts 1..N appear exactly once in the output. Fed by a fields
// grouping on "word" from every input, so a key lives in one task.
class OriginCount : public sleet::Bolt {
 public:
  explicit OriginCount(const sleet::Args&) {}
  sleet::Fields output_fields() const override { return {"key", "count"}; }
  void execute(const sleet::Tuple& input, sleet::Collector& out) override {
    std::string key;
    key.reserve(64);
    key.append(input.source_component()).append("/").append(input.source_stream()).append("/");
    key.append(input.get_string("word"));
    int64_t c = ++counts_[key];
    out.emit_values(std::move(key), c);
  }
  bool stateful() const override { return true; }
  void snapshot_state(sleet::StateWriter& w) const override { w(counts_); }
  sleet::Status restore_state(sleet::StateReader& r, uint32_t version) override {
    if (version != 1)
      return sleet::Status::Incompatible("OriginCount state version " + std::to_string(version));
    r(counts_);
    return sleet::Status::Ok();
  }

 private:
  sleet::KeyedState<int64_t> counts_;
};

}  // namespace

SLEET_PLUGIN(registry) {
  (void)registry.add(sleet::describe<RouteWords>(
      "RouteWords",
      "Splits a text field into words: stream short [word] (at most max_short bytes), stream "
      "long [word] (the others)",
      {{"field", sleet::ArgKind::string, false, "input field holding text", sleet::Arg("value")},
       {"max_short", sleet::ArgKind::integer, false, "longest short word, in bytes",
        sleet::Arg(int64_t{3})}}));
  (void)registry.add(sleet::describe<OriginCount>(
      "OriginCount",
      "Counts words per origin (component/stream/word); emits (key, count) after every update; "
      "stateful"));
}
