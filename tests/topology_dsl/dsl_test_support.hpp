// Shared fixture of the dsl_*_test.cpp files: a private Registry with small test components (so
// the tests do not depend on the built-ins), files in a temp dir, and diagnostics matched by
// file, line, column and message.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/support.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::test {

class Words : public Spout {
 public:
  explicit Words(const Args&) {}
  Fields output_fields() const override { return {"word", "n"}; }
  Result<size_t> next_batch(Collector&) override { return size_t{0}; }
};
class Sink : public Bolt {
 public:
  explicit Sink(const Args&) {}
  void execute(const Tuple&, Collector&) override {}
};
class Typed : public Bolt {
 public:
  explicit Typed(const Args&) {}
  Fields output_fields() const override { return {"word"}; }
  void execute(const Tuple&, Collector&) override {}
};
// Its factory rejects a value the ArgSpecs cannot express, as real components do.
class Picky : public Bolt {
 public:
  explicit Picky(const Args& a) {
    if (a.string_or("mode", "fast") != "fast" && a.string_or("mode", "fast") != "slow")
      throw std::invalid_argument("mode must be fast or slow");
  }
  Fields output_fields() const override { return {"word"}; }
  void execute(const Tuple&, Collector&) override {}
};

// Named streams: "ok" [word, n] and "errors" [word, reason], no default stream.
class Split : public Bolt {
 public:
  explicit Split(const Args&) {}
  std::vector<StreamDecl> output_streams() const override {
    return {{"ok", {"word", "n"}}, {"errors", {"word", "reason"}}};
  }
  void execute(const Tuple&, Collector&) override {}
};

class DslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(reg_.add(describe<Words>("Words", "test spout")).ok());
    ASSERT_TRUE(reg_.add(describe<Sink>("Sink", "test sink")).ok());
    ASSERT_TRUE(reg_.add(describe<Split>("Split", "bolt with named streams")).ok());
    ASSERT_TRUE(reg_.add(describe<Typed>("Typed", "bolt with declared args",
                                         {{"limit", ArgKind::integer, true, "how many", {}},
                                          {"ratio", ArgKind::number, false, "", {}},
                                          {"tags", ArgKind::list, false, "", {}},
                                          {"opts", ArgKind::map, false, "", {}},
                                          {"loud", ArgKind::boolean, false, "", {}},
                                          {"label", ArgKind::string, false, "", {}}}))
                    .ok());
    ASSERT_TRUE(
        reg_.add(describe<Picky>("Picky", "validates in its constructor",
                                 {{"mode", ArgKind::string, false, "fast or slow", Arg("fast")}}))
            .ok());
  }

  std::filesystem::path write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_.path() / name;
    std::filesystem::create_directories(p.parent_path());
    write_file(p, text);
    return p;
  }

  // Loads `p` against the test registry; keeps the result (the spec in last_, its locations in
  // locs_, its topics in topics_) and every diagnostic.
  const std::vector<Diagnostic>& load(const std::filesystem::path& p, LoadOptions o = {}) {
    if (!o.registry) o.registry = &reg_;
    diags_.clear();
    locs_ = {};
    topics_.clear();
    auto loaded = load_topology_file(p.string(), o, diags_);
    if (loaded.ok()) {
      locs_ = loaded->locations;
      topics_ = loaded->topics;
      last_ = std::move(loaded).value().spec;
    } else {
      last_ = loaded.status();
    }
    return diags_;
  }
  const std::vector<Diagnostic>& load_text(const std::string& name, const std::string& text,
                                           LoadOptions o = {}) {
    return load(write(name, text), std::move(o));
  }

  // The one error at file:line:col whose message contains `text`.
  ::testing::AssertionResult has_error(const std::filesystem::path& file, int line, int col,
                                       const std::string& text, bool error = true) const {
    for (auto& d : diags_)
      if (d.error == error && d.loc.file == file.string() && d.loc.line == line &&
          d.loc.col == col && d.message.find(text) != std::string::npos)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "no " << (error ? "error" : "warning") << " at " << file.string() << ":" << line
           << ":" << col << " containing \"" << text << "\"; got:\n"
           << dump();
  }
  ::testing::AssertionResult has_warning(const std::filesystem::path& file, int line, int col,
                                         const std::string& text) const {
    return has_error(file, line, col, text, false);
  }

  size_t error_count() const {
    size_t n = 0;
    for (auto& d : diags_) n += d.error ? 1 : 0;
    return n;
  }
  std::string dump() const {
    std::string s;
    for (auto& d : diags_) s += "  " + d.to_string() + "\n";
    return s.empty() ? "  (no diagnostics)\n" : s;
  }

  TempDir dir_{"sleet-dsl"};
  Registry reg_;
  std::vector<Diagnostic> diags_;
  Result<TopologySpec> last_ = Status::Internal("not loaded");
  SourceMap locs_;
  std::vector<TopicSpec> topics_;

  // The locations of component `id` of the last loaded spec.
  const ComponentLocations& locs_of(const std::string& id) const {
    for (size_t i = 0; i < last_->components.size(); ++i)
      if (last_->components[i].id == id) return locs_.component(i);
    return locs_.component(last_->components.size());
  }
};

// A valid topology over the test components; tests edit copies of it. Line numbers matter.
inline const char* kGood = R"(name: good
config:
  checkpoint.interval.ms: 500
spouts:
  - id: words
    class: Words
bolts:
  - id: typed
    class: Typed
    parallelism: 3
    args: {limit: 5, ratio: 2.5, tags: [a, b], opts: {x: 1}, loud: true, label: "7"}
  - id: sink
    class: Sink
streams:
  - from: words
    to: typed
    grouping: {type: fields, fields: [word]}
  - from: typed
    to: sink
)";

// `text` with the first occurrence of `from` replaced by `to`.
inline std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto p = text.find(from);
  if (p == std::string::npos) throw std::logic_error("replace: '" + from + "' not found");
  return text.replace(p, from.size(), to);
}

}  // namespace sleet::test
