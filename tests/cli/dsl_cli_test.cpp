// The dry-run commands as a user runs them: `sleet validate`, `sleet graph`,
// `sleet list-components`, `--help` on each, `--version`. Exit status 0 on success, 2 on any
// error; diagnostics on stderr one per line as FILE:LINE:COL: error: MESSAGE.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include <sleet/registry.hpp>

#include "tests/support/support.hpp"

using namespace sleet::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kCli = SLEET_CLI_PATH;
const std::string kWordcountPlugin =
    std::string(SLEET_BINARY_DIR) + "/plugins/libsleet_wordcount.so";

// Built-in classes only (SequenceSpout, StdoutSink), so no plugin or Kafka is needed.
const char* kValid = R"(name: cli-ok
config:
  checkpoint.interval.ms: 200
spouts:
  - id: numbers
    class: SequenceSpout
    parallelism: 2
    args: {count: 10}
bolts:
  - id: print
    class: StdoutSink
    parallelism: 3
streams:
  - from: numbers
    to: print
    grouping: {type: fields, fields: [n]}
)";

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

class DslCli : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_.path() / name;
    write_file(p, text);
    return p;
  }
  CommandResult sleet(std::vector<std::string> args) {
    args.insert(args.begin(), kCli);
    return run_command(args, 60s);
  }
  TempDir dir_{"sleet-dsl-cli"};
};

}  // namespace

TEST_F(DslCli, ValidatePrintsASummaryAndExitsZero) {
  auto p = write("ok.yaml", kValid);
  auto r = sleet({"validate", p.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("topology cli-ok (" + p.string() + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("components: 2 (5 tasks)"), std::string::npos) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("spout +numbers +SequenceSpout +x2 +emits n, text")))
      << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("bolt +print +StdoutSink +x3 +\\(emits nothing\\)")))
      << r.out;
  EXPECT_NE(r.out.find("numbers -> print [fields n]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checkpoint.interval.ms = 200"), std::string::npos) << r.out;
  EXPECT_EQ(lines(r.out).back(), "ok");
}

TEST_F(DslCli, ValidateReportsEveryErrorAsFileLineColAndExitsTwo) {
  auto p = write("bad.yaml", R"(name: cli-bad
spouts:
  - id: numbers
    class: SequenceSpot
bolts:
  - id: print
    class: StdoutSink
    parallelism: 0
streams:
  - from: numbers
    to: prnt
)");
  auto r = sleet({"validate", p.string()});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  auto l = lines(r.err);
  const std::regex diag("^" + p.string() + ":[0-9]+:[0-9]+: (error|warning): .+$");
  ASSERT_GE(l.size(), 4u) << r.err;
  for (size_t i = 0; i + 1 < l.size(); ++i) EXPECT_TRUE(std::regex_match(l[i], diag)) << l[i];
  EXPECT_NE(r.err.find(p.string() + ":4:12: error: unknown class 'SequenceSpot' (did you mean "
                                    "'SequenceSpout'?); registered: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(p.string() + ":8:18: error: parallelism of 'print' is 0"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(p.string() + ":11:9: error: stream to unknown id 'prnt' (did you mean "
                                    "'print'?)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(l.back(), p.string() + ": 3 errors");
}

TEST_F(DslCli, ValidateSyntaxAndFileErrorsExitTwo) {
  auto p = write("syntax.yaml", "name: x\nspouts: [\n");
  auto r = sleet({"validate", p.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(
      std::regex_search(r.err, std::regex(p.string() + ":[0-9]+:[0-9]+: error: YAML syntax error")))
      << r.err;

  auto missing = sleet({"validate", (dir_.path() / "nope.yaml").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find((dir_.path() / "nope.yaml").string() +
                             ": error: the topology file does not exist"),
            std::string::npos)
      << missing.err;
}

TEST_F(DslCli, SetOverridesConfigAndBadSetIsAnError) {
  auto p = write("ok.yaml", kValid);
  auto r =
      sleet({"validate", p.string(), "--set", "checkpoint.interval.ms=750", "--set", "my.key=a=b"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("checkpoint.interval.ms = 750"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("my.key = a=b"), std::string::npos) << r.out;

  auto typed = sleet({"validate", p.string(), "--set", "checkpoint.interval.ms=soon"});
  EXPECT_EQ(typed.status, 2);
  EXPECT_NE(typed.err.find("--set checkpoint.interval.ms=soon: error: config "
                           "checkpoint.interval.ms must be a whole number, got 'soon'"),
            std::string::npos)
      << typed.err;

  auto malformed = sleet({"validate", p.string(), "--set", "novalue"});
  EXPECT_EQ(malformed.status, 2);
  EXPECT_NE(malformed.err.find("--set takes key=value, got 'novalue'"), std::string::npos)
      << malformed.err;
}

TEST_F(DslCli, WarningsDoNotFailValidation) {
  auto p = write("warn.yaml", std::string(kValid) + "  - from: numbers\n    to: print2\n" +
                                  "    grouping: {type: all, fields: [n]}\n");
  // print2 does not exist yet: an error; add it and only the warning remains.
  auto r = sleet({"validate", p.string()});
  EXPECT_EQ(r.status, 2);
  auto q = write("warn2.yaml", std::string(kValid) + "  - from: numbers\n    to: print2\n" +
                                   "    grouping: {type: all, fields: [n]}\n" +
                                   "  - {from: print, to: print2}\n");
  std::string text = read_file(q);
  text.insert(text.find("streams:"), "  - {id: print2, class: StdoutSink}\n");
  write_file(q, text);
  auto w = sleet({"validate", q.string()});
  EXPECT_EQ(w.status, 0) << w.err;
  EXPECT_NE(w.err.find(q.string() + ":20:15: warning: fields are ignored by a all grouping"),
            std::string::npos)
      << w.err;
  EXPECT_NE(w.err.find("warning: 'print' declares no output fields, so nothing flows to 'print2'"),
            std::string::npos)
      << w.err;
  EXPECT_EQ(lines(w.out).back(), "ok (2 warnings)") << w.out;
}

TEST_F(DslCli, GraphPrintsDot) {
  auto p = write("ok.yaml", kValid);
  auto r = sleet({"graph", p.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("digraph \"cli-ok\" {", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"numbers\" [shape=invhouse, label=\"numbers\\nSequenceSpout x2\"];"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"numbers\" -> \"print\" [label=\"fields(n)\"];"), std::string::npos)
      << r.out;
  EXPECT_EQ(lines(r.out).back(), "}");

  auto bad = write("bad.yaml", "name: g\n");
  auto b = sleet({"graph", bad.string()});
  EXPECT_EQ(b.status, 2);
  EXPECT_EQ(b.out, "");
  EXPECT_NE(b.err.find(bad.string() + ":1:1: error: the topology has no components"),
            std::string::npos)
      << b.err;
}

TEST_F(DslCli, ListComponentsShowsBuiltInsPluginsAndTheirArgs) {
  auto r = sleet({"list-components"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("SequenceSpout (spout, built-in)"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n    count: +integer, default 1000"))) << r.out;
  EXPECT_EQ(r.out.find("SplitSentence"), std::string::npos) << r.out;
  // Each class's output fields (issue 14), spouts and bolts alike.
  EXPECT_NE(r.out.find("    output fields: key, value, partition, offset, timestamp, headers, "
                       "key_null, value_null\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    output fields: n, text\n"), std::string::npos) << r.out;

  ASSERT_TRUE(fs::exists(kWordcountPlugin)) << "build the wordcount_plugin target";
  auto p = sleet({"list-components", "--plugin", kWordcountPlugin});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_NE(p.out.find("SplitSentence (bolt, " + kWordcountPlugin + ")"), std::string::npos)
      << p.out;
  EXPECT_TRUE(std::regex_search(p.out, std::regex("\n    field: +string, default value - input "
                                                  "field holding text")))
      << p.out;
  EXPECT_NE(p.out.find("SequenceSpout (spout, built-in)"), std::string::npos) << p.out;
  EXPECT_TRUE(std::regex_search(p.out, std::regex("SplitSentence [^\n]*\n[^\n]*\n    output "
                                                  "fields: [a-z]")))
      << "a plugin's bolt shows its fields too: " << p.out;

  // The plugins named in a topology file.
  auto f = write("with-plugin.yaml", "name: x\nplugins: [" + kWordcountPlugin + "]\n");
  auto fr = sleet({"list-components", f.string()});
  ASSERT_EQ(fr.status, 0) << fr.err;
  EXPECT_NE(fr.out.find("WordCount (bolt, " + kWordcountPlugin + ")"), std::string::npos) << fr.out;

  auto missing = sleet({"list-components", "--plugin", (dir_.path() / "none.so").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("none.so' does not exist"), std::string::npos) << missing.err;
}

TEST_F(DslCli, HelpOnEveryCommandAndVersion) {
  for (std::string cmd : {"validate", "graph", "list-components"}) {
    auto r = sleet({cmd, "--help"});
    EXPECT_EQ(r.status, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("--help"), std::string::npos) << cmd << ": " << r.out;
    if (cmd != "list-components") {
      EXPECT_NE(r.out.find("Exit status: 0 when the topology is valid"), std::string::npos)
          << r.out;
    }
  }
  auto v = sleet({"validate", "--help"});
  EXPECT_NE(v.out.find("--set KEY=VALUE"), std::string::npos) << v.out;
  auto l = sleet({"list-components", "--help"});
  EXPECT_NE(l.out.find("--plugin PATH"), std::string::npos) << l.out;

  auto top = sleet({"--help"});
  EXPECT_EQ(top.status, 0);
  for (std::string cmd : {"validate", "graph", "list-components"})
    EXPECT_NE(top.out.find(cmd), std::string::npos) << top.out;
  auto ver = sleet({"--version"});
  EXPECT_EQ(ver.status, 0);
  EXPECT_EQ(ver.out, std::string("sleet ") + sleet::kVersion + "\n");
}
