// Storm users' files (issue 14): every tests/topology_dsl/flux_corpus/*.yaml (Flux files written
// for this test in the shapes of Storm's flux-examples) loads with exactly the diagnostics of its
// .expected file (FILE:LINE:COL, warnings for what Sleet ignores, errors only where it cannot run
// the file); and the tables behind them: Storm class aliases, Java simple names, ignored keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "topology_dsl/loader.hpp"
#include "topology_dsl/storm_compat.hpp"

using namespace sleet;
namespace fs = std::filesystem;

TEST(FluxCorpus, EachFileGivesItsExpectedDiagnostics) {
  const fs::path dir = fs::path(SLEET_SOURCE_DIR) / "tests/topology_dsl/flux_corpus";
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    ++files;
    std::vector<Diagnostic> diags;
    LoadOptions o;
    auto r = load_topology_file(e.path().string(), o, diags);
    std::string got;
    bool errors = false;
    for (const auto& d : diags) {
      std::string line = d.to_string();
      const std::string prefix = e.path().parent_path().string() + "/";
      if (line.rfind(prefix, 0) == 0) line = line.substr(prefix.size());
      got += line + "\n";
      errors |= d.error;
      EXPECT_GT(d.loc.line, 0) << "every diagnostic has a line: " << line;
      EXPECT_GT(d.loc.col, 0) << "and a column: " << line;
    }
    fs::path want_path = e.path();
    want_path.replace_extension(".expected");
    std::ifstream in(want_path);
    ASSERT_TRUE(in) << "missing " << want_path;
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(got, want.str()) << e.path();
    EXPECT_EQ(r.ok(), !errors) << "loads exactly when there is no error: " << e.path();
  }
  EXPECT_GE(files, 3);
}

TEST(StormCompat, AliasTable) {
  struct Case {
    const char* storm;
    const char* sleet;  // nullptr: no alias
  } cases[] = {
      {"org.apache.storm.kafka.spout.KafkaSpout", "KafkaSpout"},
      {"org.apache.storm.kafka.bolt.KafkaBolt", "KafkaSink"},
      {"org.apache.storm.flux.wrappers.bolts.LogInfoBolt", "StdoutSink"},
      {"org.apache.storm.testing.PrinterBolt", "StdoutSink"},
      {"org.apache.storm.testing.TestWordSpout", nullptr},  // random words: no equivalent
      {"org.apache.storm.hdfs.bolt.HdfsBolt", nullptr},
      {"KafkaSpout", nullptr},
      {"com.example.KafkaSpout", nullptr},
  };
  for (const auto& c : cases) {
    const auto* a = dsl::find_storm_alias(c.storm);
    if (!c.sleet) {
      EXPECT_EQ(a, nullptr) << c.storm;
    } else {
      ASSERT_NE(a, nullptr) << c.storm;
      EXPECT_EQ(a->sleet, c.sleet);
    }
  }
}

TEST(StormCompat, JavaSimpleName) {
  EXPECT_EQ(dsl::java_simple_name("org.apache.storm.kafka.spout.KafkaSpout"), "KafkaSpout");
  EXPECT_EQ(dsl::java_simple_name("a.Outer$Inner"), "Inner");
  EXPECT_EQ(dsl::java_simple_name("KafkaSpout"), std::nullopt);
  EXPECT_EQ(dsl::java_simple_name("trailing."), std::nullopt);
}

TEST(StormCompat, IgnoredFluxKeys) {
  for (const char* k : {"numTasks", "config", "onHeapMemoryLoad", "offHeapMemoryLoad", "cpuLoad"}) {
    auto w = dsl::flux_ignored_component_key(k);
    ASSERT_TRUE(w.has_value()) << k;
    EXPECT_NE(w->find(std::string("'") + k + "' ignored: "), std::string::npos) << *w;
  }
  EXPECT_TRUE(dsl::flux_ignored_top_level_key("workerHooks").has_value());
  EXPECT_FALSE(dsl::flux_ignored_component_key("parallelism").has_value());
  EXPECT_FALSE(dsl::flux_ignored_component_key("workerHooks").has_value());
  EXPECT_FALSE(dsl::flux_ignored_top_level_key("numTasks").has_value());
}
