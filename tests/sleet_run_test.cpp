// `sleet run` end to end: the README's command line with a chaos interval must give the exact word
// counts (compared with awk over the same input), leave no process behind however it ends, and
// fail a bad start with a one-line cause.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>

#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";
const std::string kSample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/sample.txt";

std::map<std::string, std::string> env_for(const test::TempDir& dir) {
  return {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"},
          {"OUTPUT_DIR", (dir.path() / "out").string()},
          {"CHECKPOINT_INTERVAL_MS", "300"}};
}

// Processes whose command line names `dir` (every child `sleet run` starts gets a path inside its
// state directory on its command line: the ZooKeeper config, the worker's status file).
std::vector<pid_t> processes_mentioning(const fs::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmd = test::read_file(e.path() / "cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(dir.string()) != std::string::npos && std::stol(name) != getpid())
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

void expect_no_children_left(const test::TempDir& dir) {
  EXPECT_TRUE(test::wait_until([&] { return processes_mentioning(dir.path()).empty(); }, 10s))
      << "processes left running: " << processes_mentioning(dir.path()).size();
}

// `sleet run` of the example in the background, returned once its worker has started.
test::Child start_run(const test::TempDir& dir, const std::string& log) {
  auto run = test::Child::spawn(
      {SLEET_CLI_PATH, "run", kExample, "--state-dir", (dir.path() / "state").string()},
      env_for(dir), log, log);
  EXPECT_TRUE(test::wait_until(
      [&] { return test::read_file(log).find("worker started") != std::string::npos; }, 60s))
      << test::read_file(log);
  return run;
}

// Word -> count, by awk, independently of Sleet.
std::map<std::string, int64_t> awk_counts() {
  auto r = test::run_command(
      {"awk", "{for(i=1;i<=NF;i++)c[$i]++} END{for(w in c) print w \"\\t\" c[w]}", kSample}, 30s);
  EXPECT_EQ(r.status, 0);
  std::map<std::string, int64_t> m;
  std::istringstream is(r.out);
  std::string w;
  int64_t c;
  while (is >> w >> c) m[w] = c;
  return m;
}

}  // namespace

TEST(SleetRun, ReadmeCommandWithChaosGivesExactCounts) {
  test::TempDir dir("sleet-run");
  // The README's chaos command line, with the state kept in the test's temp dir.
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", kExample, "--until-drained", "--top", "10", "--chaos-kill-every", "1",
       "--input-rate", "1000", "--state-dir", (dir.path() / "state").string()},
      300s, env_for(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  // The output holds each word's counts 1..N exactly once; N must equal awk's count.
  std::map<std::string, std::vector<int64_t>> seen;
  for (auto& e : fs::directory_iterator(dir.path() / "out")) {
    if (e.path().filename().string().rfind("part-", 0) != 0) continue;
    std::istringstream is(test::read_file(e.path()));
    std::string w;
    int64_t c;
    while (is >> w >> c) seen[w].push_back(c);
  }
  auto want = awk_counts();
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(seen.size(), want.size());
  for (auto& [w, n] : want) {
    auto& v = seen[w];
    std::sort(v.begin(), v.end());
    std::vector<int64_t> exp(static_cast<size_t>(n));
    std::iota(exp.begin(), exp.end(), 1);
    EXPECT_EQ(v, exp) << "word " << w;
  }
  EXPECT_NE(r.out.find("top 10"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("chaos: SIGKILL"), std::string::npos) << "no chaos kill happened:\n"
                                                             << r.err;
  EXPECT_NE(r.err.find("restarting"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

TEST(SleetRun, SigintStopsEverythingAndExitsZero) {
  test::TempDir dir("sleet-run");
  auto log = (dir.path() / "run.log").string();
  auto run = start_run(dir, log);
  ASSERT_TRUE(run.running()) << test::read_file(log);
  run.signal(SIGINT);
  auto st = run.wait(30s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0) << test::read_file(log);
  expect_no_children_left(dir);
}

TEST(SleetRun, WorkerFailureStopsEverything) {
  test::TempDir dir("sleet-run");
  // A FileSink that cannot write its directory fails the worker on every start: the supervisor
  // must give up (no endless restarts) and leave nothing running.
  fs::path blocker = dir.path() / "not-a-dir";
  test::write_file(blocker, "x");
  auto env = env_for(dir);
  env["OUTPUT_DIR"] = (blocker / "out").string();
  auto r = test::run_command({SLEET_CLI_PATH, "run", kExample, "--until-drained", "--state-dir",
                              (dir.path() / "state").string(), "--max-failures", "3"},
                             120s, env);
  EXPECT_NE(r.err.find("giving up"), std::string::npos) << r.err;
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.status, -2) << "timed out";
  expect_no_children_left(dir);
}

TEST(SleetRun, BadTopologyFileIsExit2WithLocation) {
  test::TempDir dir("sleet-run");
  fs::path f = dir.path() / "bad.yaml";
  test::write_file(f, "name: bad\nspouts:\n  - id: s\n    class: NoSuchSpout\n");
  auto r = test::run_command({SLEET_CLI_PATH, "run", f.string()}, 30s);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(f.string() + ":4:"), std::string::npos) << r.err;
}

TEST(SleetRun, ZooKeeperPortInUseIsAClearError) {
  test::TempDir dir("sleet-run");
  test::ListeningSocket taken;
  int port = taken.port();
  auto r =
      test::run_command({SLEET_CLI_PATH, "run", kExample, "--state-dir",
                         (dir.path() / "state").string(), "--zookeeper-port", std::to_string(port)},
                        60s, env_for(dir));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("port " + std::to_string(port)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

TEST(SleetRun, MissingJavaIsAClearError) {
  test::TempDir dir("sleet-run");
  auto env = env_for(dir);
  env["PATH"] = "/nonexistent";
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", kExample, "--state-dir", (dir.path() / "state").string()}, 60s, env);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("java"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

// SLEET_ZOOKEEPER_JAR points at a jar that is not there: the ZooKeeper package is missing.
TEST(SleetRun, MissingZooKeeperJarIsAClearError) {
  test::TempDir dir("sleet-run");
  auto env = env_for(dir);
  const std::string jar = (dir.path() / "no-such-dir" / "zookeeper.jar").string();
  env["SLEET_ZOOKEEPER_JAR"] = jar;
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", kExample, "--state-dir", (dir.path() / "state").string()}, 60s, env);
  EXPECT_EQ(r.status, 1) << r.err;
  // One line gives the whole cause: what is missing, and the package that provides it.
  std::string cause;
  for (auto& l : test::split_lines(r.err))
    if (l.find(jar) != std::string::npos) cause = l;
  EXPECT_NE(cause.find("error"), std::string::npos) << r.err;
  EXPECT_NE(cause.find("apt-get install zookeeper"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("worker started"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

// Even a SIGKILLed supervisor leaves nothing behind: its children die with it.
TEST(SleetRun, SupervisorKilledTakesChildrenWithIt) {
  test::TempDir dir("sleet-run");
  auto log = (dir.path() / "run.log").string();
  auto run = start_run(dir, log);
  ASSERT_TRUE(run.running()) << test::read_file(log);
  EXPECT_FALSE(processes_mentioning(dir.path()).empty());
  run.signal(SIGKILL);
  ASSERT_TRUE(run.wait(10s).has_value());
  expect_no_children_left(dir);
}

// Regression: `topics: input:` of a topology named by a relative path was resolved twice.
TEST(SleetRun, RelativeTopologyPathFindsItsInput) {
  test::TempDir dir("sleet-run");
  auto r =
      test::run_command({"bash", "-c",
                         std::string("cd ") + SLEET_SOURCE_DIR + " && exec " + SLEET_CLI_PATH +
                             " run examples/wordcount/wordcount.yaml --until-drained --state-dir " +
                             (dir.path() / "state").string()},
                        120s, env_for(dir));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("loaded 10000 records"), std::string::npos) << r.err;
}
