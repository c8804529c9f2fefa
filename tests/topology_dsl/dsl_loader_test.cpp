// The topology file reader: typed args, YAML problems, key checks, ${VAR} substitution, --set,
// includes, Flux spellings, and hostile input (alias bombs, self-referencing aliases, huge
// numbers). Every error is checked with its file, line, column and message.
#include <cmath>
#include <cstdlib>

#include "tests/topology_dsl/dsl_test_support.hpp"

using namespace sleet;
using namespace sleet::test;
namespace fs = std::filesystem;

using DslLoader = DslTest;

TEST_F(DslLoader, GoodFileLoadsWithTypedArgs) {
  load_text("good.yaml", kGood);
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_EQ(error_count(), 0u);
  EXPECT_EQ(last_->name, "good");
  const ComponentSpec* t = last_->find("typed");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->kind, ComponentKind::bolt);
  EXPECT_EQ(t->class_name, "Typed");
  EXPECT_EQ(t->parallelism, 3);
  EXPECT_EQ(t->args.find("limit")->kind(), ArgKind::integer);
  EXPECT_EQ(t->args.find("limit")->as_int(), 5);
  EXPECT_EQ(t->args.find("ratio")->kind(), ArgKind::number);
  EXPECT_DOUBLE_EQ(t->args.find("ratio")->as_double(), 2.5);
  ASSERT_EQ(t->args.find("tags")->as_list().size(), 2u);
  EXPECT_EQ(t->args.find("tags")->as_list()[1].as_string(), "b");
  EXPECT_EQ(t->args.find("opts")->as_map().at("x").as_int(), 1);
  EXPECT_TRUE(t->args.find("loud")->as_bool());
  // Quoted scalars stay strings.
  EXPECT_EQ(t->args.find("label")->kind(), ArgKind::string);
  EXPECT_EQ(t->args.find("label")->as_string(), "7");
  EXPECT_EQ(locs_of("typed").args.at("limit").line, 11);
  EXPECT_EQ(last_->config.at("checkpoint.interval.ms"), "500");
  ASSERT_EQ(last_->streams.size(), 2u);
  EXPECT_EQ(last_->streams[0].grouping.type, GroupingType::fields);
  EXPECT_EQ(last_->streams[0].grouping.fields, std::vector<std::string>{"word"});
  EXPECT_EQ(last_->streams[1].grouping.type, GroupingType::shuffle);
  EXPECT_EQ(last_->components[0].kind, ComponentKind::spout);
}

TEST_F(DslLoader, ScalarTyping) {
  auto p = write("types.yaml", replace(kGood, "label: \"7\"}", R"(label: x}
  - id: extra
    class: Sink
    args:
      i: -42
      hex: 0x1F
      big: 9223372036854775807
      small: -9223372036854775808
      huge: 99999999999999999999
      f: 1.5e3
      inf: -.inf
      yes_is_text: yes
      empty: ""
      nothing: ~
      explicit: !!str 12
      flag: FALSE)") + "  - {from: typed, to: extra}\n");
  reg_ = Registry();
  ASSERT_TRUE(reg_.add(describe<Sink>("Sink", "")).ok());  // Sink declares no args: all accepted
  ASSERT_TRUE(reg_.add(describe<Words>("Words", "")).ok());
  ASSERT_TRUE(reg_.add(describe<Typed>("Typed", "")).ok());
  load(p);
  ASSERT_TRUE(last_.ok()) << dump();
  const Args& a = last_->find("extra")->args;
  EXPECT_EQ(a.find("i")->as_int(), -42);
  EXPECT_EQ(a.find("hex")->as_int(), 31);
  EXPECT_EQ(a.find("big")->as_int(), INT64_MAX);
  EXPECT_EQ(a.find("small")->as_int(), INT64_MIN);
  EXPECT_EQ(a.find("huge")->kind(), ArgKind::number);
  EXPECT_DOUBLE_EQ(a.find("f")->as_double(), 1500.0);
  EXPECT_TRUE(std::isinf(a.find("inf")->as_double()));
  EXPECT_EQ(a.find("yes_is_text")->kind(), ArgKind::string);  // YAML 1.2: only true/false
  EXPECT_EQ(a.find("empty")->kind(), ArgKind::string);
  EXPECT_TRUE(a.find("nothing")->is_null());
  EXPECT_EQ(a.find("explicit")->kind(), ArgKind::string);
  EXPECT_EQ(a.find("flag")->kind(), ArgKind::boolean);
  EXPECT_FALSE(a.find("flag")->as_bool());
}

TEST_F(DslLoader, YamlSyntaxErrorHasLineAndColumn) {
  // yaml-cpp stops at the first syntax error: one error, where the parser noticed it.
  auto p = write("syntax.yaml", "name: x\nspouts:\n  - id: [unclosed\n    class: Words\n");
  load(p);
  EXPECT_FALSE(last_.ok());
  EXPECT_TRUE(has_error(p, 4, 10, "YAML syntax error: end of sequence flow not found"));
  EXPECT_EQ(error_count(), 1u) << dump();

  auto indent = write("indent.yaml", "name: x\nconfig:\n  a: 1\n   b: 2\n");
  load(indent);
  EXPECT_TRUE(has_error(indent, 4, 5, "YAML syntax error: illegal map value"));

  auto tab = write("tab.yaml", "name: x\nspouts:\n\t- id: a\n");
  load(tab);
  EXPECT_TRUE(has_error(tab, 3, 2, "YAML syntax error"));
}

TEST_F(DslLoader, FileLevelProblems) {
  load(dir_.path() / "absent.yaml");
  EXPECT_TRUE(has_error(dir_.path() / "absent.yaml", 0, 0, "does not exist"));
  EXPECT_EQ(diags_[0].to_string(),
            (dir_.path() / "absent.yaml").string() + ": error: the topology file does not exist");

  load(dir_.path());
  EXPECT_TRUE(has_error(dir_.path(), 0, 0, "is a directory"));

  auto empty = write("empty.yaml", "# nothing here\n");
  load(empty);
  EXPECT_TRUE(has_error(empty, 1, 1, "the topology file is empty"));

  auto list = write("list.yaml", "- a\n- b\n");
  load(list);
  EXPECT_TRUE(has_error(list, 1, 1, "a topology file is a map with keys name, includes"));

  auto two = write("two.yaml", std::string(kGood) + "---\nname: other\n");
  load(two);
  EXPECT_TRUE(has_error(two, 21, 1, "one YAML document"));
}

TEST_F(DslLoader, UnknownKeysWithSuggestions) {
  auto p = write("typo.yaml", replace(replace(replace(std::string(kGood) + "stremas: []\n",
                                                      "parallelism: 3", "paralelism: 3"),
                                              "to: sink", "to: sink\n    groupin: all"),
                                      "{type: fields,", "{typ: fields,"));
  load(p);
  EXPECT_TRUE(has_error(p, 21, 1, "unknown key 'stremas' in the topology file"));
  EXPECT_TRUE(has_error(p, 21, 1, "(did you mean 'streams'?)"));
  EXPECT_TRUE(
      has_error(p, 10, 5, "unknown key 'paralelism' in a bolt (did you mean 'parallelism'?)"));
  EXPECT_TRUE(has_error(p, 20, 5, "unknown key 'groupin' in a stream (did you mean 'grouping'?)"));
  EXPECT_TRUE(has_error(p, 17, 16, "unknown key 'typ' in a grouping (did you mean 'type'?)"));
  // A word far from every key gets no suggestion, but the list of known keys.
  auto q = write("far.yaml", std::string(kGood) + "zzzzzzzz: 1\n");
  load(q);
  EXPECT_TRUE(has_error(q, 20, 1, "unknown key 'zzzzzzzz' in the topology file; known keys:"));
}

TEST_F(DslLoader, DuplicateKeys) {
  auto p = write("dupkeys.yaml", replace(kGood, "    parallelism: 3\n",
                                         "    parallelism: 3\n    parallelism: 4\n"));
  load(p);
  EXPECT_TRUE(has_error(p, 11, 5, "duplicate key 'parallelism' (first at line 10)"));
  EXPECT_FALSE(last_.ok());
  auto q = write("dupargs.yaml", replace(kGood, "{limit: 5,", "{limit: 5, limit: 6,"));
  load(q);
  EXPECT_TRUE(has_error(q, 11, 22, "duplicate key 'limit'"));
}

TEST_F(DslLoader, WrongShapes) {
  auto p = write("shapes.yaml", R"(name: shapes
config: [a, b]
plugins: lib.so
spouts:
  words: {class: Words}
bolts:
  - just-a-word
  - id: [a, list]
    class: Sink
    args: [1, 2]
streams: {from: a, to: b}
)");
  load(p);
  EXPECT_TRUE(has_error(p, 2, 9, "config must be a map of key: value, not a list"));
  EXPECT_TRUE(has_error(p, 3, 10, "plugins must be a list of shared library paths"));
  EXPECT_TRUE(has_error(p, 5, 3, "spouts must be a list of components"));
  EXPECT_TRUE(has_error(p, 7, 5, "a bolt is a map {id, class, parallelism, args}, not a single"));
  EXPECT_TRUE(has_error(p, 8, 9, "id must be a single value, not a list"));
  EXPECT_TRUE(has_error(p, 10, 11, "args must be a map of name: value, not a list"));
  EXPECT_TRUE(has_error(p, 11, 10, "streams must be a list of {from, to, grouping}"));
}

TEST_F(DslLoader, EnvironmentSubstitution) {
  setenv("SLEET_TEST_PAR", "4", 1);
  setenv("SLEET_TEST_EMPTY", "", 1);
  setenv("SLEET_TEST_NAME", "sub", 1);
  unsetenv("SLEET_TEST_UNSET");
  std::string text = replace(kGood, "parallelism: 3", "parallelism: ${SLEET_TEST_PAR}");
  text = replace(text, "500", "${SLEET_TEST_UNSET:-750}");
  text = replace(text, "name: good",
                 "name: ${SLEET_TEST_NAME}-${SLEET_TEST_EMPTY:-x}-${ENV-SLEET_TEST_PAR}");
  text =
      replace(text, "label: \"7\"", "label: \"$${HOME} ${SLEET_TEST_UNSET:-${SLEET_TEST_NAME}}\"");
  load_text("env.yaml", text);
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_EQ(last_->name, "sub-x-4");                // an empty variable takes the :- default
  EXPECT_EQ(last_->find("typed")->parallelism, 4);  // substituted, then typed
  EXPECT_EQ(last_->config.at("checkpoint.interval.ms"), "750");
  EXPECT_EQ(last_->find("typed")->args.find("label")->as_string(), "${HOME} sub");

  auto p = write("env2.yaml", replace(replace(replace(kGood, "500", "${SLEET_TEST_UNSET}"),
                                              "class: Sink", "class: ${kafka.class}"),
                                      "label: \"7\"", "label: \"${oops\""));
  load(p);
  EXPECT_TRUE(has_error(p, 3, 27,
                        "environment variable SLEET_TEST_UNSET is not set (use "
                        "${SLEET_TEST_UNSET:-default} to give a default)"));
  EXPECT_TRUE(has_error(p, 13, 12, "looks like a Flux property reference"));
  EXPECT_TRUE(has_error(p, 11, 81, "unterminated '${' in '${oops'"));
  // A value that failed to substitute is not checked further (no "must be a whole number" or
  // "needs a class" on top).
  EXPECT_EQ(error_count(), 3u) << dump();
  auto q = write("env3.yaml", replace(kGood, "class: Sink", "class: ${1BAD}"));
  load(q);
  EXPECT_TRUE(has_error(q, 13, 12, "bad variable reference '${1BAD}'"));
}

TEST_F(DslLoader, SetOverridesConfigAndIsChecked) {
  LoadOptions o;
  o.overrides["zookeeper.connect"] = "127.0.0.1:2181";
  o.overrides["checkpoint.interval.ms"] = "250";
  load_text("set.yaml", kGood, o);
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_EQ(last_->config.at("zookeeper.connect"), "127.0.0.1:2181");
  EXPECT_EQ(last_->config.at("checkpoint.interval.ms"), "250");

  LoadOptions bad;
  bad.overrides["worker.threads"] = "many";
  load_text("set2.yaml", kGood, bad);
  EXPECT_TRUE(has_error("--set worker.threads=many", 0, 0,
                        "config worker.threads must be a whole number, got 'many'"));
  EXPECT_EQ(diags_[0].to_string(),
            "--set worker.threads=many: error: config worker.threads must be a whole number, "
            "got 'many'");
}

TEST_F(DslLoader, ConfigValuesAreChecked) {
  auto p = write("config.yaml",
                 replace(kGood, "  checkpoint.interval.ms: 500\n", R"(  checkpoint.interval.ms: 0
  checkpoint.enabled: yes
  zookeeper.root: sleet
  checkpoint.intervall.ms: 5
  topology.workers: 2
  my.own.setting: [1, 2]
)"));
  load(p);
  EXPECT_TRUE(has_error(p, 3, 27, "config checkpoint.interval.ms must be at least 1, got 0"));
  EXPECT_TRUE(has_error(p, 4, 23, "config checkpoint.enabled must be true or false, got 'yes'"));
  EXPECT_TRUE(has_error(p, 5, 19, "config zookeeper.root must be an absolute path"));
  EXPECT_TRUE(has_warning(p, 6, 28,
                          "unknown config key 'checkpoint.intervall.ms' (did you mean "
                          "'checkpoint.interval.ms'?)"));
  EXPECT_TRUE(has_error(p, 8, 19,
                        "config value of 'my.own.setting' must be a string, number or "
                        "boolean, not a list"));
  for (auto& d : diags_) EXPECT_EQ(d.message.find("topology.workers"), std::string::npos);
}

TEST_F(DslLoader, IncludesMergeRelativeToTheIncludingFile) {
  write("lib/common.yaml",
        "name: from-include\nconfig:\n  checkpoint.dir: /tmp/x\n  checkpoint.interval.ms: 9\n"
        "includes: [sinks.yaml]\n");
  write("lib/sinks.yaml", "bolts:\n  - {id: sink, class: Sink}\n");
  load_text("main.yaml", R"(name: inc
includes: [lib/common.yaml, {file: lib/sinks.yaml, resource: false}]
config:
  checkpoint.interval.ms: 10
spouts:
  - {id: s, class: Words}
streams:
  - {from: s, to: sink}
)");
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_EQ(last_->name, "inc");  // the including file wins
  EXPECT_EQ(last_->config.at("checkpoint.dir"), "/tmp/x");
  EXPECT_EQ(last_->config.at("checkpoint.interval.ms"), "10");
  ASSERT_NE(last_->find("sink"), nullptr);  // read once though named twice
  EXPECT_EQ(last_->find("sink")->loc.file, (dir_.path() / "lib/sinks.yaml").string());
  EXPECT_EQ(last_->components.size(), 2u);
}

TEST_F(DslLoader, IncludeProblems) {
  write("a.yaml", "includes: [b.yaml]\n");
  write("b.yaml", "config: {x: 1}\nincludes:\n  - a.yaml\n");
  write("broken.yaml", "bolts: [ {id: x\n");
  auto top = write("top.yaml", R"(name: t
includes:
  - a.yaml
  - missing.yaml
  - broken.yaml
  - {file: x.yaml, resource: true}
  - .
)");
  load(top);
  EXPECT_TRUE(has_error(dir_.path() / "b.yaml", 3, 5, "include cycle: "));
  bool chain = false;
  for (auto& d : diags_)
    chain |= d.message.find("a.yaml -> " + (dir_.path() / "b.yaml").string() + " -> ") !=
             std::string::npos;
  EXPECT_TRUE(chain) << dump();
  EXPECT_TRUE(has_error(
      top, 4, 5, "included file " + (dir_.path() / "missing.yaml").string() + " does not exist"));
  EXPECT_TRUE(has_error(dir_.path() / "broken.yaml", 2, 1, "YAML syntax error"));
  EXPECT_TRUE(has_error(top, 6, 30, "resource: true includes from the Java classpath"));
  EXPECT_TRUE(has_error(top, 7, 5, "is a directory"));
  EXPECT_FALSE(last_.ok());

  auto self = write("self.yaml", "name: s\nincludes: [self.yaml]\n");
  load(self);
  EXPECT_TRUE(has_error(self, 2, 12, "include cycle: " + self.string() + " -> " + self.string()));
}

TEST_F(DslLoader, FluxSpellingsLoadUnchanged) {
  auto p = write("flux.yaml", R"(name: "flux-style"
config:
  topology.workers: 1
components:
  - id: "unused"
    className: "org.example.Bean"
spouts:
  - id: "words"
    className: "Words"
    parallelism: 1
bolts:
  - id: "typed"
    className: "Typed"
    parallelismHint: 2
    constructorArgs: [3, 0.5]
    properties:
      - name: "loud"
        value: true
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
      streamId: "default"
  - name: "typed --> sink"
    from: "typed"
    to: "sink"
    grouping:
      type: LOCAL_OR_SHUFFLE
)");
  load(p);
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_TRUE(has_warning(p, 5, 3, "Flux 'components' (Java beans) are ignored"));
  const ComponentSpec* t = last_->find("typed");
  EXPECT_EQ(t->parallelism, 2);
  EXPECT_EQ(t->args.find("limit")->as_int(), 3);  // constructorArgs are positional
  EXPECT_DOUBLE_EQ(t->args.find("ratio")->as_double(), 0.5);
  EXPECT_TRUE(t->args.find("loud")->as_bool());
  EXPECT_EQ(locs_of("typed").args.at("ratio").line, 15);
  EXPECT_EQ(last_->streams[0].grouping.fields, std::vector<std::string>{"word"});
  EXPECT_EQ(last_->streams[1].grouping.type, GroupingType::local_or_shuffle);
}

TEST_F(DslLoader, FluxFeaturesSleetDoesNotHave) {
  auto p = write("flux-bad.yaml", R"(name: flux-bad
spouts:
  - id: words
    className: Words
    configMethods:
      - name: withX
bolts:
  - id: typed
    className: Typed
    constructorArgs: [1, 2.0, [a], {x: 1}, true, "l", 7]
  - id: sink
    className: Sink
    class: Sink
    properties:
      - name: n
        ref: other
  - id: twice
    class: Typed
    constructorArgs: [1]
    args: {limit: 2}
streams:
  - from: words
    to: typed
    grouping: {type: CUSTOM, customClass: {name: x}}
  - from: typed
    to: sink
    grouping: {type: shuffle, streamId: errors}
  - {from: typed, to: twice}
)");
  load(p);
  EXPECT_TRUE(has_error(p, 6, 7, "configMethods (Java setter calls) are not supported"));
  EXPECT_TRUE(has_error(p, 10, 22,
                        "constructorArgs has 7 values, but Typed takes 6 (in this "
                        "order: limit, ratio, tags, opts, loud, label)"));
  EXPECT_TRUE(has_error(p, 12, 16, "give class or className, not both"));
  EXPECT_TRUE(has_error(p, 16, 14, "ref: (a reference to a Flux component) is not supported"));
  EXPECT_TRUE(has_error(p, 19, 23, "argument 'limit' is given twice"));
  EXPECT_TRUE(has_error(p, 24, 22, "custom groupings (Java classes) are not supported"));
  EXPECT_TRUE(has_error(p, 24, 43, "custom groupings (Java classes) are not supported"));
  // Flux's streamId is a named stream now: Typed declares only the default one.
  EXPECT_TRUE(has_error(p, 27, 41, "'typed' has no output stream 'errors'; it declares [default]"));
}

TEST_F(DslLoader, ErrorPolicies) {
  auto p = write("policies.yaml", replace(kGood, "    class: Sink\n", R"(    class: Sink
    on_error: dead_letter
    dead_letter_topic: errors
  - id: skipper
    class: Sink
    on_error: skip
  - id: wrong
    class: Sink
    on_error: ignore
  - id: no-topic
    class: Sink
    on_error: dead_letter
  - id: unused-topic
    class: Sink
    dead_letter_topic: dl
)") + "  - {from: typed, to: skipper}\n  - {from: typed, to: wrong}\n" +
                                      "  - {from: typed, to: no-topic}\n" +
                                      "  - {from: typed, to: unused-topic}\n");
  load(p);
  EXPECT_TRUE(has_error(p, 21, 15, "on_error must be fail, skip or dead_letter, got 'ignore'"));
  EXPECT_TRUE(has_error(p, 22, 5, "'no-topic' has on_error: dead_letter but no dead_letter_topic"));
  EXPECT_TRUE(
      has_warning(p, 25, 5, "'unused-topic' names a dead_letter_topic but on_error is fail"));
  EXPECT_EQ(error_count(), 2u) << dump();

  auto ok = write("policies-ok.yaml", replace(kGood, "    class: Sink\n",
                                              "    class: Sink\n    on_error: dead_letter\n"
                                              "    dead_letter_topic: errors\n"));
  load(ok);
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_EQ(last_->find("sink")->on_error, ErrorPolicy::dead_letter);
  EXPECT_EQ(last_->find("sink")->dead_letter_topic, "errors");
}

TEST_F(DslLoader, TopicsAreRead) {
  auto p = write("topics.yaml", std::string(kGood) + R"(topics:
  - {name: in, partitions: 3, input: data/in.txt}
  - {name: out}
  - {name: bad, partitions: 0}
  - {partitions: two}
)");
  load(p);
  EXPECT_TRUE(has_error(p, 23, 29, "partitions must be between 1 and 100000, got 0"));
  EXPECT_TRUE(has_error(p, 24, 5, "a topic needs a name"));
  EXPECT_TRUE(has_error(p, 24, 18, "partitions must be a whole number, got 'two'"));
  auto q = write("topics-ok.yaml", std::string(kGood) +
                                       "topics:\n  - {name: in, partitions: 3, "
                                       "input: data/in.txt}\n");
  load(q);
  ASSERT_TRUE(last_.ok()) << dump();
  ASSERT_EQ(topics_.size(), 1u);
  EXPECT_EQ(topics_[0].partitions, 3);
  EXPECT_EQ(topics_[0].input_file, (dir_.path() / "data/in.txt").string());
}

TEST_F(DslLoader, HostileInputIsRefusedNotFatal) {
  // Each YAML alias level multiplies the size by 9: 9^9 nodes if expanded.
  std::string bomb =
      "name: laughs\nspouts: [{id: s, class: Words}]\nbolts:\n  - id: b\n"
      "    class: Sink\n    args:\n      l0: &l0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    bomb += "      l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", " : "") + prev;
    bomb += "]\n";
  }
  bomb += "streams: [{from: s, to: b}]\n";
  auto p = write("bomb.yaml", bomb);
  load(p);
  EXPECT_FALSE(last_.ok());
  bool found = false;
  for (auto& d : diags_)
    found |= d.message.find("YAML nodes (through aliases?)") != std::string::npos;
  EXPECT_TRUE(found) << dump();

  auto self = write("self-alias.yaml",
                    "name: x\nspouts: [{id: s, class: Words}]\nbolts:\n"
                    "  - id: b\n    class: Sink\n    args:\n"
                    "      a: &a [*a]\n      m: &m {self: *m}\n"
                    "streams: [{from: s, to: b}]\n");
  load(self);
  EXPECT_TRUE(has_error(self, 7, 10, "nested more than 64 levels deep")) << dump();
  EXPECT_TRUE(has_error(self, 8, 10, "nested more than 64 levels deep")) << dump();

  auto digits = write("digits.yaml",
                      replace(kGood, "parallelism: 3", "parallelism: " + std::string(5000, '1')));
  load(digits);
  // Regression (issue 10): digits too many for 64 bits said "must be a whole number".
  EXPECT_TRUE(has_error(digits, 10, 18, "parallelism is out of range: 11111111111111111111..."))
      << dump();
  EXPECT_TRUE(has_error(digits, 10, 18, "(-9223372036854775808 to 9223372036854775807)")) << dump();
  auto range = write("range.yaml", replace(kGood, "parallelism: 3", "parallelism: 99999999999"));
  load(range);
  EXPECT_TRUE(has_error(range, 10, 18, "parallelism 99999999999 is out of range (at most 10000)"));

  auto deep = write("deep.yaml", "name: x\nconfig: " + std::string(5000, '[') + "\n");
  load(deep);
  EXPECT_FALSE(last_.ok());
  EXPECT_GE(error_count(), 1u);

  auto longname = write("long.yaml", "name: x\n" + std::string(1000, 'k') + ": 1\n");
  load(longname);
  EXPECT_TRUE(has_error(longname, 2, 1, "unknown key 'kkkk"));
}

// Regression (fuzzer): yaml-cpp 0.7's LoadAll never returned on a ',' outside a flow collection.
TEST_F(DslLoader, StrayCommaIsASyntaxErrorNotAHang) {
  const char* kMsg = "YAML syntax error: ',' cannot start a value outside a flow collection";
  struct Case {
    const char* name;
    const char* text;
    int line, col;
  };
  for (const Case& c : {Case{"comma.yaml", ",\n", 1, 1}, Case{"comma-seq.yaml", "- a\n,\n", 2, 1},
                        Case{"comma-doc.yaml", "name: x\n---\n, second\n", 3, 1},
                        Case{"comma-tag.yaml", "!t ,\n", 1, 4}}) {
    auto p = write(c.name, c.text);
    load(p);
    EXPECT_TRUE(has_error(p, c.line, c.col, kMsg)) << dump();
  }
  // A second, well-formed document is still named where it starts.
  auto e = write("two-docs.yaml", "name: x\n---\nname: y\n");
  load(e);
  EXPECT_TRUE(
      has_error(e, 3, 1, "a topology file holds one YAML document; a second one starts here"))
      << dump();
}

// Regression (fuzz input): aliases repeat a node's errors once per alias, so a 4 KB file made
// ~100k "unknown key" errors with a suggestion search each, which took over 10 s under the
// fuzzer. Reading stops after 1000 errors, and graph checks are skipped like for a cut-short file.
TEST_F(DslLoader, AliasedErrorsStopAtALimit) {
  std::string keys;
  for (int i = 0; i < 200; ++i) keys += (i ? ", k" : "k") + std::to_string(1000 + i) + ": 1";
  std::string text = "name: x\nbolts: [&b {" + keys + "}";
  for (int i = 0; i < 10; ++i) text += ", *b";  // 11 x 200 unknown keys
  auto p = write("aliased-keys.yaml", text + "]\n");
  load(p);
  EXPECT_FALSE(last_.ok());
  EXPECT_TRUE(has_error(p, 2, 13, "unknown key 'k1000' in a bolt")) << dump();
  // Five components' 200 errors each, then the first key of the sixth stops the reading.
  EXPECT_TRUE(
      has_error(p, 2, 13, "more than 1000 errors (aliases repeat a node's errors); stopping here"))
      << dump();
  EXPECT_EQ(error_count(), 1001u);
  for (auto& d : diags_) EXPECT_EQ(d.message.find("needs an id"), std::string::npos) << dump();
}

// Regression (fuzz input): a stream to an unknown id searched every id for a suggestion, per
// stream; a 1000-character id and 1000 aliased streams (*s) took seconds. The search skips ids
// whose length alone rules them out and runs once per unknown id.
TEST_F(DslLoader, AliasedStreamsToUnknownIdsAreReportedQuickly) {
  std::string text = "name: x\nspouts: [{id: " + std::string(1000, 'i') +
                     ", class: Words}, {id: source, class: Words}]\n"
                     "streams: [&s {from: sourc, to: nowhere}";
  for (int i = 0; i < 900; ++i) text += ", *s";
  auto p = write("aliased-streams.yaml", text + "]\n");
  load(p);
  EXPECT_FALSE(last_.ok());
  EXPECT_TRUE(
      has_error(p, 3, 21, "stream from unknown id 'sourc' (did you mean 'source'?); ids: iiii"))
      << dump();
  EXPECT_TRUE(has_error(p, 3, 32, "stream to unknown id 'nowhere'; ids: iiii")) << dump();
  size_t from = 0, to = 0;
  for (auto& d : diags_) {
    from += d.message.find("from unknown id 'sourc' (did you mean 'source'?)") != std::string::npos;
    to += d.message.find("to unknown id 'nowhere'") != std::string::npos;
  }
  EXPECT_EQ(from, 901u);  // every stream is still reported
  EXPECT_EQ(to, 901u);
  // 'source' is what the broken streams most likely mean, so it is not called idle.
  for (auto& d : diags_)
    EXPECT_EQ(d.message.find("spout 'source' has no outgoing stream"), std::string::npos) << dump();
}

TEST_F(DslLoader, LoadFromTextResolvesIncludesNextToThePath) {
  write("sub/part.yaml", "bolts:\n  - {id: sink, class: Sink}\n");
  std::vector<Diagnostic> d;
  LoadOptions o;
  o.registry = &reg_;
  auto spec = load_topology_text(
      "name: t\nincludes: [part.yaml]\nspouts: [{id: s, class: Words}]\nstreams: "
      "[{from: s, to: sink}]\n",
      (dir_.path() / "sub/virtual.yaml").string(), o, d);
  ASSERT_TRUE(spec.ok()) << (d.empty() ? "" : d[0].to_string());
  EXPECT_NE(spec->find("sink"), nullptr);
  EXPECT_EQ(spec->file, (dir_.path() / "sub/virtual.yaml").string());
}

TEST_F(DslLoader, ParseOnlyOptionSkipsGraphChecks) {
  LoadOptions o;
  o.validate = false;
  load_text("parse-only.yaml", replace(kGood, "class: Sink", "class: NoSuchClass"), o);
  EXPECT_TRUE(last_.ok()) << dump();
}

// The fine-grained locations and `topics:` are the DSL's: they come beside the spec
// (LoadedTopology), not in the TopologySpec plugins and embedders see (issue 11).
template <class T>
concept HasArgLocs = requires(T c) {
  c.arg_locs;
};
template <class T>
concept HasFromLoc = requires(T s) {
  s.from_loc;
};
template <class T>
concept HasTopics = requires(T t) {
  t.topics;
};
template <class T>
concept HasPluginLocs = requires(T t) {
  t.plugin_locs;
};
static_assert(!HasArgLocs<ComponentSpec> && !HasFromLoc<StreamSpec>);
static_assert(!HasTopics<TopologySpec> && !HasPluginLocs<TopologySpec>);

TEST_F(DslLoader, LocationsAndTopicsComeBesideTheSpec) {
  auto p = write("beside.yaml", std::string(kGood) +
                                    "plugins: [libx.so]\n"
                                    "topics:\n  - {name: in, partitions: 2}\n");
  LoadOptions o;
  o.registry = &reg_;
  o.load_plugins = false;
  auto t = load_topology_file(p.string(), o, diags_);
  ASSERT_TRUE(t.ok()) << dump();
  const SourceMap& m = t->locations;
  ASSERT_EQ(m.components.size(), t->spec.components.size());
  ASSERT_EQ(m.streams.size(), t->spec.streams.size());
  ASSERT_EQ(m.plugins.size(), 1u);
  auto at = [&](const SourceLocation& l) {
    return std::to_string(l.line) + ":" + std::to_string(l.col);
  };
  EXPECT_EQ(m.plugins[0].file, p.string());
  EXPECT_EQ(at(m.plugins[0]), "20:11");
  EXPECT_EQ(at(m.component(1).class_name), "9:12");  // typed
  EXPECT_EQ(at(m.component(1).parallelism), "10:18");
  EXPECT_EQ(at(m.component(1).args.at("ratio")), "11:22");
  EXPECT_EQ(at(m.stream(0).from), "15:11");
  EXPECT_EQ(at(m.stream(0).to), "16:9");
  EXPECT_EQ(at(m.stream(0).grouping), "17:15");
  EXPECT_EQ(at(m.stream(1).grouping), "18:5");  // no grouping: the stream itself
  ASSERT_EQ(t->topics.size(), 1u);
  EXPECT_EQ(t->topics[0].name, "in");
  EXPECT_EQ(t->topics[0].partitions, 2);
  EXPECT_EQ(at(t->topics[0].loc), "22:5");
  // Past the end (a spec edited or built in code) reads as unknown.
  EXPECT_EQ(m.component(99).class_name.line, 0);
  EXPECT_EQ(m.stream(99).from.line, 0);
  EXPECT_EQ(m.plugin(99).line, 0);

  // validate_topology sees only the spec: without the SourceMap an unknown class is reported at
  // the component (its `loc`), not at its class: value.
  TopologySpec spec = t->spec;
  spec.components[1].class_name = "Nope";
  bool found = false;
  for (auto& d : validate_topology(spec, reg_))
    if (d.message.find("unknown class 'Nope'") != std::string::npos) {
      found = true;
      EXPECT_EQ(at(d.loc), "8:5") << d.to_string();
    }
  EXPECT_TRUE(found);
}
