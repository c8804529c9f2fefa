// examples/streams end to end: `sleet validate` and `sleet graph` of the example, then `sleet run
// --until-drained` with chaos SIGKILLs. OriginCount reads two streams of route_a and one of
// route_b (each tuple's origin in its key), so every key's counts 1..N must appear once each,
// N computed by awk from the same input: a tuple routed to the wrong stream, given the wrong
// origin, lost or replayed across a kill shows up as a wrong key, a gap or a repeat.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>

#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/streams/streams.yaml";
const std::string kSample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/sample.txt";

// key -> count, by awk over the input, independently of Sleet: words of at most 3 bytes reach
// count from route_a's short stream only (route_b's short stream has no subscriber), longer ones
// from route_a's and route_b's long streams.
std::map<std::string, int64_t> awk_counts() {
  auto r =
      test::run_command({"awk",
                         "{for(i=1;i<=NF;i++){w=$i; if(length(w)<=3) c[\"route_a/short/\" w]++; "
                         "else {c[\"route_a/long/\" w]++; c[\"route_b/long/\" w]++}}} "
                         "END{for(k in c) print k \"\\t\" c[k]}",
                         kSample},
                        30s, {{"LC_ALL", "C"}});
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, int64_t> m;
  std::istringstream is(r.out);
  std::string k;
  int64_t c;
  while (is >> k >> c) m[k] = c;
  return m;
}

}  // namespace

TEST(StreamsExample, ValidatesAndGraphsWithStreamLabels) {
  test::TempDir dir("sleet-streams");
  auto v = test::run_command({SLEET_CLI_PATH, "validate", kExample}, 60s, test::example_env(dir));
  ASSERT_EQ(v.status, 0) << v.out << v.err;
  EXPECT_NE(v.err.find("output stream 'short' of 'route_b' has no subscriber"), std::string::npos)
      << v.err;
  auto g = test::run_command({SLEET_CLI_PATH, "graph", kExample}, 60s, test::example_env(dir));
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_NE(g.out.find("\"route_a\" -> \"count\" [label=\"short: fields(word)\"]"),
            std::string::npos)
      << g.out;
  EXPECT_NE(g.out.find("\"route_b\" -> \"count\" [label=\"long: fields(word)\"]"),
            std::string::npos)
      << g.out;
  auto l = test::run_command({SLEET_CLI_PATH, "list-components", "--plugin",
                              std::string(SLEET_BINARY_DIR) + "/plugins/libsleet_streams.so"},
                             60s);
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_NE(l.out.find("    output streams:\n      short [word]\n      long [word]\n"),
            std::string::npos)
      << l.out;
}

TEST(StreamsExample, RunWithChaosGivesExactCountsPerOrigin) {
  test::TempDir dir("sleet-streams");
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", kExample, "--until-drained", "--chaos-kill-every", "1",
       "--input-rate", "2000", "--state-dir", (dir.path() / "state").string()},
      300s, test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  auto seen = test::part_file_counts(dir.path() / "out");
  auto want = awk_counts();
  ASSERT_GT(want.size(), 100u);
  EXPECT_EQ(seen.size(), want.size());
  size_t wrong = 0;
  for (auto& [k, n] : want) {
    auto& v = seen[k];
    std::sort(v.begin(), v.end());
    std::vector<int64_t> exp(static_cast<size_t>(n));
    std::iota(exp.begin(), exp.end(), 1);
    if (v != exp && wrong++ < 5) ADD_FAILURE() << "key " << k << ": " << v.size() << " records";
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_NE(r.err.find("chaos: SIGKILL"), std::string::npos) << "no chaos kill happened:\n"
                                                             << r.err;
  EXPECT_NE(r.err.find(") resumed from checkpoint "), std::string::npos) << r.err;
}
