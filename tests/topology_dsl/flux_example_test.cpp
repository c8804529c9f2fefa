// The Flux-shaped example file loads unchanged, validates, and runs to the same counts as awk.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
const std::string kFlux = std::string(SLEET_SOURCE_DIR) + "/examples/flux/wordcount_flux.yaml";
const std::string kSample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/sample.txt";
}  // namespace

TEST(FluxExample, ValidatesUnchanged) {
  auto r =
      sleet::test::run_command({SLEET_CLI_PATH, "validate", kFlux}, 60s,
                               {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"}});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("splitter -> counter [fields word]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("counter -> writer [local_or_shuffle]"), std::string::npos) << r.out;
}

TEST(FluxExample, RunsToTheSameCountsAsAwk) {
  sleet::test::TempDir dir("sleet-flux");
  auto r =
      sleet::test::run_command({SLEET_CLI_PATH, "run", kFlux, "--input", "sentences=" + kSample,
                                "--until-drained", "--state-dir", (dir.path() / "state").string()},
                               120s,
                               {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"},
                                {"OUTPUT_DIR", (dir.path() / "out").string()}});
  ASSERT_EQ(r.status, 0) << r.err;
  // Every output record of a word, in no particular order (part files are per epoch and task).
  auto records = sleet::test::part_file_counts(dir.path() / "out");
  std::map<std::string, int64_t> got;
  for (auto& [w, counts] : records) got[w] = *std::max_element(counts.begin(), counts.end());
  const std::map<std::string, int64_t> want = sleet::test::awk_word_counts(kSample);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want);
  // WordCount emits (word, count) after every update, so exactly-once output holds each of
  // 1..N exactly once per word: a duplicated or lost record shows here even when the largest
  // count is right (the same check as bench/bench_util.hpp's check_counts, per word).
  for (auto& [w, counts] : records) {
    std::vector<int64_t> sorted = counts, expect(counts.size());
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < expect.size(); ++i) expect[i] = static_cast<int64_t>(i) + 1;
    EXPECT_EQ(sorted, expect) << "output counts of '" << w << "'";
  }
}
