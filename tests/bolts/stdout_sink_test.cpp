// StdoutSink through the CLI: `sleet worker` with checkpointing off prints every tuple once.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

TEST(StdoutSink, WorkerPrintsEveryTuple) {
  test::TempDir dir("sleet-stdout");
  auto f = dir.path() / "t.yaml";
  test::write_file(f, R"(name: print
config: {checkpoint.enabled: false}
spouts:
  - {id: seq, class: SequenceSpout, parallelism: 2, args: {count: 500}}
bolts:
  - {id: print, class: StdoutSink, args: {format: jsonl}}
streams:
  - {from: seq, to: print}
)");
  auto r = test::run_command({SLEET_CLI_PATH, "worker", f.string(), "--until-drained"}, 60s);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream is(r.out);
  std::string line;
  std::set<std::string> lines;
  size_t n = 0;
  while (std::getline(is, line)) {
    lines.insert(line);
    ++n;
  }
  EXPECT_EQ(n, 500u);
  EXPECT_EQ(lines.size(), 500u);
  EXPECT_TRUE(lines.count("{\"n\":499,\"text\":\"499\"}")) << r.out.substr(0, 200);
}
