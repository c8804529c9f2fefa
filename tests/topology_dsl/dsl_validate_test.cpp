// Graph validation: each error a person can make in a topology, reported at the line and column
// to fix, all of them at once; plugin problems; validate_topology on specs built in C++; DOT.
#include "tests/topology_dsl/dsl_test_support.hpp"

using namespace sleet;
using namespace sleet::test;
namespace fs = std::filesystem;

using DslValidate = DslTest;
using namespace std::chrono_literals;

TEST_F(DslValidate, DuplicateIds) {
  auto p = write("dup.yaml", replace(kGood, "  - id: sink\n",
                                     "  - id: words\n    class: Sink\n"
                                     "  - id: sink\n"));
  load(p);
  EXPECT_TRUE(has_error(p, 12, 5, "duplicate id 'words' (first defined at " + p.string() + ":5)"));
  EXPECT_EQ(error_count(), 1u) << dump();
}

TEST_F(DslValidate, StreamsFromOrToUnknownIds) {
  auto p = write("ids.yaml", std::string(kGood) +
                                 "  - {from: wrds, to: sink}\n"
                                 "  - {from: typed, to: nowhere}\n"
                                 "  - {to: sink}\n");
  load(p);
  EXPECT_TRUE(has_error(p, 20, 12,
                        "stream from unknown id 'wrds' (did you mean 'words'?); "
                        "ids: sink, typed, words"));
  EXPECT_TRUE(has_error(p, 21, 23, "stream to unknown id 'nowhere'; ids: sink, typed, words"));
  EXPECT_TRUE(has_error(p, 22, 5, "a stream needs from:"));
}

TEST_F(DslValidate, FieldsGroupingOnUndeclaredField) {
  auto p = write("fields.yaml", replace(kGood, "fields: [word]", "fields: [wrod, n, count]"));
  load(p);
  EXPECT_TRUE(has_error(p, 17, 15,
                        "fields grouping on 'wrod', but 'words' declares only [word, "
                        "n] (did you mean 'word'?)"));
  EXPECT_TRUE(has_error(p, 17, 15, "fields grouping on 'count', but 'words' declares only"));
  EXPECT_EQ(error_count(), 2u) << dump();  // 'n' is declared

  auto q = write("nofields.yaml", replace(kGood, "{type: fields, fields: [word]}", "fields"));
  load(q);
  EXPECT_TRUE(has_error(q, 17, 15, "a fields grouping needs fields: [name, ...]"));
  auto r = write("unknown.yaml", replace(kGood, "{type: fields, fields: [word]}", "shufle"));
  load(r);
  EXPECT_TRUE(has_error(r, 17, 15, "unknown grouping 'shufle' (did you mean 'shuffle'?)"));
  auto s = write("ignored.yaml",
                 replace(kGood, "{type: fields, fields: [word]}", "{type: all, fields: [word]}"));
  load(s);
  EXPECT_TRUE(has_warning(s, 17, 15, "fields are ignored by a all grouping"));
  EXPECT_TRUE(last_.ok()) << dump();
  auto t = write("direct.yaml", replace(kGood, "{type: fields, fields: [word]}", "direct"));
  load(t);
  EXPECT_TRUE(has_error(t, 17, 15, "direct grouping is not supported yet"));
}

TEST_F(DslValidate, ParallelismOutOfRange) {
  auto p =
      write("par.yaml", replace(replace(kGood, "parallelism: 3", "parallelism: 0"),
                                "    class: Sink\n", "    class: Sink\n    parallelism: -2\n"));
  load(p);
  EXPECT_TRUE(has_error(p, 10, 18, "parallelism of 'typed' is 0; it must be at least 1"));
  EXPECT_TRUE(has_error(p, 14, 18, "parallelism of 'sink' is -2; it must be at least 1"));
  auto q = write("par-big.yaml", replace(kGood, "parallelism: 3", "parallelism: 20000"));
  load(q);
  EXPECT_TRUE(has_error(q, 10, 18, "parallelism of 'typed' is 20000; at most 10000"));
  auto r = write("par-text.yaml", replace(kGood, "parallelism: 3", "parallelism: three"));
  load(r);
  EXPECT_TRUE(has_error(r, 10, 18, "parallelism must be a whole number, got 'three'"));
}

TEST_F(DslValidate, CyclesAreRejected) {
  auto p = write("cycle.yaml", R"(name: cyc
spouts:
  - {id: s, class: Words}
bolts:
  - {id: a, class: Typed, args: {limit: 1}}
  - {id: b, class: Typed, args: {limit: 1}}
  - {id: c, class: Typed, args: {limit: 1}}
streams:
  - {from: s, to: a}
  - {from: a, to: b}
  - {from: b, to: c}
  - {from: c, to: a}
)");
  load(p);
  EXPECT_TRUE(has_error(p, 12, 5,
                        "the graph has a cycle (a -> b -> c -> a); checkpoint barriers "
                        "cannot align on a cycle"));
  EXPECT_EQ(error_count(), 1u) << dump();

  auto self = write("self.yaml", std::string(kGood) + "  - {from: sink, to: sink}\n");
  load(self);
  EXPECT_TRUE(has_error(self, 20, 5, "the graph has a cycle (sink -> sink)"));
}

TEST_F(DslValidate, UnknownClassListsTheRegisteredOnes) {
  auto p = write("class.yaml", replace(kGood, "class: Sink", "class: Snk"));
  load(p);
  EXPECT_TRUE(has_error(p, 13, 12,
                        "unknown class 'Snk' (did you mean 'Sink'?); registered: "
                        "Picky, Sink, Split, Typed, Words"));
  auto q = write("kind.yaml", replace(kGood, "class: Sink", "class: Words"));
  load(q);
  EXPECT_TRUE(has_error(q, 13, 12, "class 'Words' is a spout, but 'sink' is listed under bolts"));
  auto r = write("noclass.yaml", replace(kGood, "    class: Sink\n", ""));
  load(r);
  EXPECT_TRUE(has_error(r, 12, 5, "component 'sink' needs a class"));
}

TEST_F(DslValidate, MissingAndMistypedArguments) {
  auto p = write("args.yaml", R"(name: args
spouts:
  - {id: s, class: Words}
bolts:
  - id: t
    class: Typed
    args:
      ratio: fast
      tags: {a: 1}
      extra: 1
  - id: p
    class: Picky
    args: {mode: medium}
streams:
  - {from: s, to: t}
  - {from: s, to: p}
)");
  load(p);
  EXPECT_TRUE(has_error(p, 5, 5,
                        "component 't': Typed requires argument 'limit' (integer): how "
                        "many"));
  EXPECT_TRUE(has_error(p, 8, 7,
                        "component 't': Typed argument 'ratio' must be number, got "
                        "string 'fast'"));
  EXPECT_TRUE(has_error(p, 9, 7, "Typed argument 'tags' must be list, got map"));
  EXPECT_TRUE(has_error(p, 10, 7,
                        "Typed has no argument 'extra' (it takes: limit, ratio, tags, "
                        "opts, loud, label)"));
  // The constructor's own complaint, pointed at the argument it names.
  EXPECT_TRUE(has_error(p, 13, 12, "component 'p': Picky: mode must be fast or slow"));
  EXPECT_EQ(error_count(), 5u) << dump();
}

TEST_F(DslValidate, ShapeOfTheGraph) {
  auto p = write("shape.yaml", R"(name: has space
spouts:
  - {id: s, class: Words}
  - {id: idle, class: Words}
bolts:
  - {id: orphan, class: Sink}
  - {id: "a/b", class: Sink}
  - {class: Sink}
streams:
  - {from: s, to: "a/b"}
  - {from: s, to: idle}
  - {from: s, to: "a/b"}
)");
  load(p);
  EXPECT_TRUE(has_error(p, 1, 7, "name 'has space' may only use letters, digits"));
  EXPECT_TRUE(has_warning(p, 4, 5, "spout 'idle' has no outgoing stream"));
  EXPECT_TRUE(has_error(p, 6, 5, "bolt 'orphan' has no input stream"));
  EXPECT_TRUE(has_error(p, 7, 5, "id 'a/b' may only use letters, digits, '_', '-' and '.'"));
  EXPECT_TRUE(has_error(p, 8, 5, "a bolt needs an id"));
  EXPECT_TRUE(has_error(p, 11, 19, "stream into spout 'idle': spouts take no input"));
  EXPECT_TRUE(
      has_error(p, 12, 5, "duplicate stream s -> a/b (first defined at " + p.string() + ":10)"));

  auto q = write("nospout.yaml", "name: n\nbolts:\n  - {id: x, class: Sink}\n");
  load(q);
  EXPECT_TRUE(has_error(q, 1, 1, "the topology has no spout"));
  auto r = write("noname.yaml", replace(kGood, "name: good\n", "config: {}\n"));
  load(r);
  EXPECT_TRUE(has_error(r, 1, 1, "the topology needs a name"));
}

TEST_F(DslValidate, EveryErrorIsReportedNotJustTheFirst) {
  auto p = write("many.yaml", R"(name: many
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
)");
  load(p);
  EXPECT_TRUE(has_error(p, 5, 5, "duplicate id 'words'"));
  EXPECT_TRUE(has_error(p, 9, 12, "unknown class 'Sinkk' (did you mean 'Sink'?)"));
  EXPECT_TRUE(has_error(p, 10, 18, "parallelism of 'sink' is 0"));
  EXPECT_TRUE(has_error(p, 12, 11, "stream from unknown id 'wrds' (did you mean 'words'?)"));
  EXPECT_TRUE(has_error(p, 15, 9, "stream to unknown id 'nowhere'"));
  EXPECT_EQ(error_count(), 5u) << dump();
  // Sorted by position.
  for (size_t i = 1; i < diags_.size(); ++i)
    EXPECT_LE(diags_[i - 1].loc.line, diags_[i].loc.line) << dump();
}

TEST_F(DslValidate, PluginFileProblems) {
  fs::copy_file("/lib/x86_64-linux-gnu/libz.so.1", dir_.path() / "libnot.so");
  write("text.so", "just text\n");
  auto p = write("plugins.yaml",
                 std::string(kGood) + "plugins:\n  - missing.so\n  - libnot.so\n  - text.so\n");
  load(p);
  EXPECT_TRUE(has_error(
      p, 21, 5, "plugin file '" + (dir_.path() / "missing.so").string() + "' does not exist"));
  EXPECT_TRUE(has_error(p, 22, 5, "is not a Sleet plugin (no sleet_plugin_abi_version"));
  EXPECT_TRUE(has_error(p, 23, 5, "is not a shared library, so not a Sleet plugin"));
  EXPECT_EQ(error_count(), 3u) << dump();
}

TEST_F(DslValidate, PluginBuiltAgainstAnotherSleetIsRefused) {
  // A plugin that claims ABI 999, compiled with the system compiler.
  auto src = write("old.cpp",
                   "#include <cstdint>\nnamespace sleet { class Registry; }\n"
                   "extern \"C\" uint32_t sleet_plugin_abi_version() { return 999; }\n"
                   "extern \"C\" void sleet_plugin_register(sleet::Registry&) {}\n");
  auto r = run_command(
      {"c++", "-shared", "-fPIC", "-o", (dir_.path() / "libold.so").string(), src.string()}, 60s);
  ASSERT_EQ(r.status, 0) << r.err;
  auto p = write("abi.yaml", std::string(kGood) + "plugins: [libold.so]\n");
  load(p);
  EXPECT_TRUE(has_error(p, 20, 11,
                        "was built against Sleet plugin ABI 999, this Sleet has ABI " +
                            std::to_string(kPluginAbiVersion) + "; rebuild the plugin"));
}

TEST_F(DslValidate, ValidateASpecBuiltInCode) {
  TopologySpec ok = TopologyBuilder("coded")
                        .spout("w", "Words", 2)
                        .bolt("t", "Typed", 1, {{"limit", Arg(3)}})
                        .stream("w", "t", Grouping{GroupingType::fields, {"word"}})
                        .build();
  EXPECT_TRUE(validate_topology(ok, reg_).empty());

  TopologySpec bad = TopologyBuilder("coded")
                         .spout("w", "Words", 0)
                         .bolt("t", "Typed", 1)
                         .stream("w", "t", Grouping{GroupingType::fields, {"nope"}})
                         .stream("t", "x")
                         .build();
  auto d = validate_topology(bad, reg_);
  std::string all;
  for (auto& x : d) all += x.to_string() + "\n";
  EXPECT_NE(all.find("<topology>: error: parallelism of 'w' is 0"), std::string::npos) << all;
  EXPECT_NE(all.find("<topology>: error: component 't': Typed requires argument 'limit'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("<topology>: error: stream to unknown id 'x'"), std::string::npos) << all;
  EXPECT_NE(all.find("<topology>: error: fields grouping on 'nope', but 'w' declares only [word, "
                     "n]"),
            std::string::npos)
      << all;
  EXPECT_EQ(d.size(), 4u) << all;
}

TEST_F(DslValidate, DotNamesEveryComponentAndEdge) {
  load_text("dot.yaml", kGood);
  ASSERT_TRUE(last_.ok()) << dump();
  std::string dot = to_dot(*last_);
  EXPECT_EQ(dot.rfind("digraph \"good\" {", 0), 0u) << dot;
  EXPECT_NE(dot.find("\"words\" [shape=invhouse, label=\"words\\nWords x1\"]"), std::string::npos)
      << dot;
  EXPECT_NE(dot.find("\"typed\" [shape=box, label=\"typed\\nTyped x3\"]"), std::string::npos)
      << dot;
  EXPECT_NE(dot.find("\"words\" -> \"typed\" [label=\"fields(word)\"]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"typed\" -> \"sink\" [label=\"shuffle\"]"), std::string::npos) << dot;
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");

  TopologySpec odd = TopologyBuilder("q\"uote").spout("a\\b", "W\"x", 1).build();
  std::string dot2 = to_dot(odd);
  EXPECT_NE(dot2.find("digraph \"q\\\"uote\""), std::string::npos) << dot2;
  EXPECT_NE(dot2.find("\"a\\\\b\""), std::string::npos) << dot2;
}

namespace {
// Keeps state: its task keys "<id>-<task>" name checkpoint blobs.
class Tally : public Bolt {
 public:
  explicit Tally(const Args&) {}
  void execute(const Tuple&, Collector&) override {}
  bool stateful() const override { return true; }
};
}  // namespace

// Ids that validate but would break every checkpoint or crash-loop a FileSink are refused at the
// component, with the longest id that fits. Limits: a task key "<id>-<task>" is at most 200 bytes
// (checkpointing/snapshot_store.hpp); a part file "part-<id>-<task>-<epoch or run<ms>>" must fit
// NAME_MAX (255) with the widest task number and a 19-digit number after "run".
TEST_F(DslValidate, IdsTooLongForCheckpointKeysOrFileNames) {
  ASSERT_TRUE(reg_.add(describe<Tally>("Tally", "stateful test bolt")).ok());
  ASSERT_TRUE(reg_.add(*Registry::global().find("FileSink")).ok());
  struct Row {
    std::string cls;
    size_t id_len;
    int parallelism;
    std::string extra;  // more component keys
    std::string error;  // "" = valid
  };
  const std::vector<Row> rows = {
      {"Tally", 198, 1, "", ""},
      {"Tally", 199, 1, "", "its task key '"},
      {"Tally", 199, 1, "", "has 201 bytes, over the 200-byte limit"},
      {"Tally", 199, 1, "", "use an id of at most 198 bytes"},
      {"Tally", 197, 11, "", ""},
      {"Tally", 198, 11, "", "use an id of at most 197 bytes"},
      {"Sink", 240, 1, "", ""},  // stateless: no key
      {"Sink", 186, 1, "    on_error: dead_letter\n    dead_letter_topic: dlq\n", ""},
      {"Sink", 187, 1, "    on_error: dead_letter\n    dead_letter_topic: dlq\n",
       "too long for its dead-letter sink"},
      {"FileSink", 225, 1, "    args: {path: out, delivery: at_least_once}\n", ""},
      {"FileSink", 226, 1, "    args: {path: out, delivery: at_least_once}\n",
       "too long for a FileSink: its part files"},
      {"FileSink", 226, 1, "    args: {path: out, delivery: at_least_once}\n",
       "can reach 256 bytes, over the file name limit of 255; use an id of at most 225 bytes"},
      {"FileSink", 224, 11, "    args: {path: out, delivery: at_least_once}\n", ""},
      {"FileSink", 225, 11, "    args: {path: out, delivery: at_least_once}\n",
       "use an id of at most 224 bytes"},
  };
  int n = 0;
  for (auto& r : rows) {
    std::string id(r.id_len, 'c');
    id[0] = 'x';
    auto p =
        write("limit" + std::to_string(n++) + ".yaml",
              "name: lim\nspouts:\n  - id: words\n    class: Words\nbolts:\n  - id: " + id +
                  "\n    class: " + r.cls + "\n    parallelism: " + std::to_string(r.parallelism) +
                  "\n" + r.extra + "streams:\n  - {from: words, to: " + id + "}\n");
    load(p);
    SCOPED_TRACE(r.cls + " id of " + std::to_string(r.id_len) + " bytes, parallelism " +
                 std::to_string(r.parallelism));
    if (r.error.empty()) {
      EXPECT_TRUE(last_.ok()) << dump();
      EXPECT_EQ(error_count(), 0u) << dump();
    } else {
      EXPECT_TRUE(has_error(p, 6, 5, r.error));
      EXPECT_EQ(error_count(), 1u) << dump();
    }
  }
}

// "<id>.dead_letter" names the dead-letter sink of a component with on_error: dead_letter (its
// checkpointed state and publish cursor): another component may not take it.
TEST_F(DslValidate, DeadLetterSinkIdIsReserved) {
  auto p = write("dlid.yaml",
                 "name: dl\nspouts:\n  - id: words\n    class: Words\nbolts:\n"
                 "  - {id: sink, class: Sink, on_error: dead_letter, dead_letter_topic: dlq}\n"
                 "  - {id: sink.dead_letter, class: Sink}\nstreams:\n"
                 "  - {from: words, to: sink}\n  - {from: words, to: sink.dead_letter}\n");
  load(p);
  EXPECT_TRUE(has_error(p, 7, 5,
                        "id 'sink.dead_letter' is the name of the dead-letter sink of 'sink' "
                        "(on_error: dead_letter); choose another id"));
  EXPECT_EQ(error_count(), 1u) << dump();
}

// `input:` under topics: must be a regular file `sleet run` can read: a directory or /dev/zero
// would "load 0 records" and exit 0.
TEST_F(DslValidate, TopicInputMustBeARegularReadableFile) {
  write("data/lines.txt", "a\nb\n");
  fs::create_directories(dir_.path() / "adir");
  struct Row {
    std::string input;
    std::string error;  // "" = valid
  };
  const std::vector<Row> rows = {
      {"data/lines.txt", ""},
      {"/dev/zero",
       "topic 't': input /dev/zero is a character device, not a regular file; give "
       "a regular file"},
      {"adir", "is a directory, not a regular file"},
  };
  int n = 0;
  for (auto& r : rows) {
    SCOPED_TRACE("input: " + r.input);
    auto p = write("input" + std::to_string(n++) + ".yaml",
                   "name: in\ntopics:\n  - {name: t, input: " + r.input +
                       "}\nspouts:\n  - id: words\n    class: Words\nbolts:\n  - id: sink\n"
                       "    class: Sink\nstreams:\n  - {from: words, to: sink}\n");
    load(p);
    if (r.error.empty()) {
      EXPECT_TRUE(last_.ok()) << dump();
    } else {
      EXPECT_TRUE(has_error(p, 3, 5, r.error));
      EXPECT_EQ(error_count(), 1u) << dump();
    }
  }
  // Missing: a warning only (`sleet worker` on another host loads the file without its input;
  // `sleet run` refuses it).
  auto m = write("missing.yaml",
                 "name: in\ntopics:\n  - {name: t, input: missing.txt}\nspouts:\n  - id: w\n"
                 "    class: Words\nbolts:\n  - {id: s, class: Sink}\nstreams:\n"
                 "  - {from: w, to: s}\n");
  load(m);
  EXPECT_TRUE(last_.ok()) << dump();
  EXPECT_TRUE(has_warning(m, 3, 5, "missing.txt cannot be used: No such file or directory"));
  if (geteuid() != 0) {  // root reads anything
    auto f = write("secret.txt", "x\n");
    fs::permissions(f, fs::perms::none);
    auto p = write("secret.yaml",
                   "name: in\ntopics:\n  - {name: t, input: secret.txt}\nspouts:\n  - id: w\n"
                   "    class: Words\nbolts:\n  - {id: s, class: Sink}\nstreams:\n"
                   "  - {from: w, to: s}\n");
    load(p);
    EXPECT_TRUE(has_error(p, 3, 5, "cannot be read: Permission denied"));
  }
}
