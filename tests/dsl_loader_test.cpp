// The topology file loader: every validation error carries file, line, column and an actionable
// message; all errors are reported, not just the first; Flux spellings, ${VAR} substitution,
// --set overrides and includes work.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/support/support.hpp"
#include "topology_dsl/loader.hpp"

using namespace sleet;
namespace fs = std::filesystem;

namespace {

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

class Loader : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)reg_.add(describe<Words>("Words", "test spout"));
    (void)reg_.add(describe<Sink>("Sink", "test sink"));
    (void)reg_.add(describe<Typed>("Typed", "bolt with declared args",
                                   {{"limit", ArgKind::integer, true, "how many"},
                                    {"ratio", ArgKind::number, false, ""},
                                    {"tags", ArgKind::list, false, ""},
                                    {"opts", ArgKind::map, false, ""},
                                    {"loud", ArgKind::boolean, false, ""}}));
  }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_.path() / name;
    test::write_file(p, text);
    return p;
  }

  // Loads and returns the diagnostics as "LINE:COL: message" strings (file checked separately).
  std::vector<std::string> errors(const fs::path& p, LoadOptions o = {}) {
    o.registry = &reg_;
    std::vector<Diagnostic> d;
    last_ = load_topology(p.string(), o, d);
    std::vector<std::string> out;
    for (auto& x : d) {
      if (!x.error) continue;
      EXPECT_EQ(x.loc.file, p.string()) << x.to_string();
      out.push_back(std::to_string(x.loc.line) + ":" + std::to_string(x.loc.col) + ": " +
                    x.message);
    }
    return out;
  }

  static bool has(const std::vector<std::string>& v, const std::string& prefix,
                  const std::string& text) {
    for (auto& s : v)
      if (s.rfind(prefix, 0) == 0 && s.find(text) != std::string::npos) return true;
    return false;
  }

  test::TempDir dir_{"sleet-dsl"};
  Registry reg_;
  Result<TopologySpec> last_ = Status::Internal("not loaded");
};

const char* kGood = R"(name: good
config:
  checkpoint.interval.ms: 500
spouts:
  - id: words
    class: Words
bolts:
  - id: typed
    class: Typed
    parallelism: 3
    args: {limit: 5, ratio: 2, tags: [a, b], opts: {x: 1}, loud: true}
  - id: sink
    class: Sink
streams:
  - from: words
    to: typed
    grouping: {type: fields, fields: [word]}
  - from: typed
    to: sink
)";

}  // namespace

TEST_F(Loader, GoodFileLoadsWithTypedArgs) {
  auto e = errors(write("good.yaml", kGood));
  ASSERT_TRUE(e.empty()) << e[0];
  ASSERT_TRUE(last_.ok());
  const ComponentSpec* t = last_->find("typed");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->parallelism, 3);
  EXPECT_EQ(t->args.find("limit")->kind(), ArgKind::integer);
  EXPECT_EQ(t->args.find("ratio")->kind(), ArgKind::integer);  // 2 is an integer; fits number
  EXPECT_EQ(t->args.find("tags")->as_list().size(), 2u);
  EXPECT_EQ(t->args.find("opts")->as_map().at("x").as_int(), 1);
  EXPECT_TRUE(t->args.find("loud")->as_bool());
  EXPECT_EQ(last_->config.at("checkpoint.interval.ms"), "500");
  EXPECT_EQ(last_->streams[0].grouping.type, GroupingType::fields);
}

TEST_F(Loader, YamlSyntaxError) {
  auto e = errors(write("syntax.yaml", "name: x\nspouts:\n  - id: [unclosed\n"));
  ASSERT_FALSE(e.empty());
  EXPECT_TRUE(has(e, "4:", "")) << e[0];
}

TEST_F(Loader, UnknownTopLevelKeyWithSuggestion) {
  auto e = errors(write("typo.yaml", std::string(kGood) + "stremas: []\n"));
  EXPECT_TRUE(has(e, "20:1:", "unknown key 'stremas'")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "20:1:", "did you mean 'streams'")) << testing::PrintToString(e);
}

TEST_F(Loader, AllErrorsReportedNotJustTheFirst) {
  auto e = errors(write("many.yaml", R"(name: many
spouts:
  - id: words
    class: Words
  - id: words
    class: Words
bolts:
  - id: sink
    class: Sinkk
    parallelism: 0
streams:
  - from: wrds
    to: sink
  - from: words
    to: nowhere
)"));
  EXPECT_TRUE(has(e, "5:5:", "duplicate id 'words'")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "9:12:", "unknown class 'Sinkk'")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "9:12:", "registered: Sink, Typed, Words")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "10:18:", "parallelism of 'sink' is 0")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "12:11:", "unknown id 'wrds' (did you mean 'words'?)"))
      << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "15:9:", "unknown id 'nowhere'")) << testing::PrintToString(e);
  EXPECT_GE(e.size(), 5u);
}

TEST_F(Loader, FieldsGroupingOnUndeclaredField) {
  std::string text = kGood;
  text.replace(text.find("fields: [word]"), 14, "fields: [wrod]");
  auto e = errors(write("fields.yaml", text));
  EXPECT_TRUE(has(e, "17:15:", "fields grouping on 'wrod', but 'words' declares only [word, n]"))
      << testing::PrintToString(e);
}

TEST_F(Loader, CycleIsRejected) {
  auto e = errors(write("cycle.yaml", R"(name: cyc
spouts:
  - {id: s, class: Words}
bolts:
  - {id: a, class: Typed, args: {limit: 1}}
  - {id: b, class: Typed, args: {limit: 1}}
streams:
  - {from: s, to: a}
  - {from: a, to: b}
  - {from: b, to: a}
)"));
  EXPECT_TRUE(has(e, "5:5:", "cycle (a -> b -> a)")) << testing::PrintToString(e);
}

TEST_F(Loader, MissingAndMistypedArguments) {
  auto e = errors(write("args.yaml", R"(name: args
spouts:
  - {id: s, class: Words}
bolts:
  - id: t
    class: Typed
    args:
      ratio: fast
      extra: 1
streams:
  - {from: s, to: t}
)"));
  EXPECT_TRUE(has(e, "5:5:", "requires argument 'limit' (integer): how many"))
      << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "8:7:", "argument 'ratio' must be number, got string 'fast'"))
      << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "9:7:", "has no argument 'extra'")) << testing::PrintToString(e);
}

TEST_F(Loader, PluginProblems) {
  fs::path not_plugin = dir_.path() / "libnot.so";
  // A shared library that is not a Sleet plugin: any system library will do.
  fs::copy_file("/lib/x86_64-linux-gnu/libz.so.1", not_plugin);
  auto e = errors(
      write("plugins.yaml", std::string(kGood) + "plugins:\n  - missing.so\n  - libnot.so\n"));
  EXPECT_TRUE(has(e, "21:5:", "does not exist")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "22:5:", "is not a Sleet plugin")) << testing::PrintToString(e);
}

TEST_F(Loader, PluginBuiltForAnotherAbiIsRefused) {
  // Compile a tiny plugin claiming ABI 999 with the system compiler.
  fs::path src = write("old.cpp",
                       "#include <cstdint>\nnamespace sleet { class Registry; }\n"
                       "extern \"C\" uint32_t sleet_plugin_abi_version() { return 999; }\n"
                       "extern \"C\" void sleet_plugin_register(sleet::Registry&) {}\n");
  auto r = test::run_command(
      {"c++", "-shared", "-fPIC", "-o", (dir_.path() / "libold.so").string(), src.string()},
      std::chrono::seconds(60));
  ASSERT_EQ(r.status, 0) << r.err;
  auto e = errors(write("abi.yaml", std::string(kGood) + "plugins: [libold.so]\n"));
  EXPECT_TRUE(has(e, "20:11:", "plugin ABI 999")) << testing::PrintToString(e);
  EXPECT_TRUE(has(e, "20:11:", "rebuild the plugin")) << testing::PrintToString(e);
}

TEST_F(Loader, EnvironmentSubstitutionAndOverrides) {
  setenv("SLEET_TEST_PAR", "4", 1);
  unsetenv("SLEET_TEST_UNSET");
  std::string text = kGood;
  text.replace(text.find("parallelism: 3"), 14, "parallelism: ${SLEET_TEST_PAR}");
  text.replace(text.find("500"), 3, "${SLEET_TEST_UNSET:-750}");
  LoadOptions o;
  o.overrides["zookeeper.connect"] = "127.0.0.1:2181";
  auto e = errors(write("env.yaml", text), o);
  ASSERT_TRUE(e.empty()) << e[0];
  EXPECT_EQ(last_->find("typed")->parallelism, 4);
  EXPECT_EQ(last_->config.at("checkpoint.interval.ms"), "750");
  EXPECT_EQ(last_->config.at("zookeeper.connect"), "127.0.0.1:2181");

  text.replace(text.find("${SLEET_TEST_UNSET:-750}"), 24, "${SLEET_TEST_UNSET}");
  auto e2 = errors(write("env2.yaml", text));
  EXPECT_TRUE(has(e2, "3:27:", "environment variable SLEET_TEST_UNSET is not set"))
      << testing::PrintToString(e2);
}

TEST_F(Loader, FluxSpellingsLoadUnchanged) {
  auto e = errors(write("flux.yaml", R"(name: "flux-style"
config:
  topology.workers: 1
spouts:
  - id: "words"
    className: "Words"
    parallelism: 1
bolts:
  - id: "typed"
    className: "Typed"
    parallelism: 2
    properties:
      - name: "limit"
        value: 3
  - id: "sink"
    className: "Sink"
    parallelism: 1
streams:
  - name: "words --> typed"
    from: "words"
    to: "typed"
    grouping:
      type: FIELDS
      args: ["word"]
  - name: "typed --> sink"
    from: "typed"
    to: "sink"
    grouping:
      type: SHUFFLE
)"));
  ASSERT_TRUE(e.empty()) << testing::PrintToString(e);
  EXPECT_EQ(last_->find("typed")->args.find("limit")->as_int(), 3);
  EXPECT_EQ(last_->streams[0].grouping.fields, std::vector<std::string>{"word"});
}

TEST_F(Loader, IncludesMergeAndCyclesAreCaught) {
  write("common.yaml", "config:\n  checkpoint.dir: /tmp/x\nbolts:\n  - {id: sink, class: Sink}\n");
  auto e = errors(write("main.yaml", R"(name: inc
includes: [common.yaml]
spouts:
  - {id: s, class: Words}
streams:
  - {from: s, to: sink}
)"));
  ASSERT_TRUE(e.empty()) << testing::PrintToString(e);
  EXPECT_EQ(last_->config.at("checkpoint.dir"), "/tmp/x");
  EXPECT_NE(last_->find("sink"), nullptr);

  write("a.yaml", "includes: [b.yaml]\n");
  write("b.yaml", "includes: [a.yaml]\n");
  fs::path top = write("top.yaml", "name: t\nincludes: [a.yaml]\n");
  std::vector<Diagnostic> d;
  LoadOptions o;
  o.registry = &reg_;
  (void)load_topology(top.string(), o, d);
  bool found = false;
  for (auto& x : d)
    found |= x.message.find("include cycle") != std::string::npos &&
             x.loc.file == (dir_.path() / "b.yaml").string() && x.loc.line == 1;
  EXPECT_TRUE(found);
}

TEST_F(Loader, DotOutputNamesEveryEdge) {
  auto e = errors(write("dot.yaml", kGood));
  ASSERT_TRUE(e.empty());
  std::string dot = to_dot(*last_);
  EXPECT_NE(dot.find("\"words\" -> \"typed\" [label=\"fields(word)\"]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"typed\" -> \"sink\" [label=\"shuffle\"]"), std::string::npos) << dot;
}
