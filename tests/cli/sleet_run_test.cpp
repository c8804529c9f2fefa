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

#include "tests/support/kafka_fixture.hpp"
#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";
const std::string kSample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/sample.txt";

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
      test::example_env(dir), log, log);
  EXPECT_TRUE(test::wait_until(
      [&] { return test::read_file(log).find("worker started") != std::string::npos; }, 60s))
      << test::read_file(log);
  return run;
}

// Word -> count, by awk, independently of Sleet.
std::map<std::string, int64_t> awk_counts() {
  return test::awk_word_counts(kSample);
}

}  // namespace

TEST(SleetRun, ReadmeCommandWithChaosGivesExactCounts) {
  test::TempDir dir("sleet-run");
  // The README's chaos command line, with the state kept in the test's temp dir.
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", kExample, "--until-drained", "--top", "10", "--chaos-kill-every", "1",
       "--input-rate", "1000", "--state-dir", (dir.path() / "state").string()},
      300s, test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  // The output holds each word's counts 1..N exactly once; N must equal awk's count.
  auto seen = test::part_file_counts(dir.path() / "out");
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
  EXPECT_NE(r.err.find(") resumed from checkpoint "), std::string::npos) << r.err;
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
  auto env = test::example_env(dir);
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
                        60s, test::example_env(dir));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("port " + std::to_string(port)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
  // Said once, with the way out for a port (regression: twice, with the packages' hint).
  auto first = r.err.find("already in use");
  EXPECT_EQ(r.err.find("already in use", first + 1), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--zookeeper-port"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("apt-get"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

TEST(SleetRun, MissingJavaIsAClearError) {
  test::TempDir dir("sleet-run");
  auto env = test::example_env(dir);
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
  auto env = test::example_env(dir);
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
                        120s, test::example_env(dir));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("loaded 10000 records"), std::string::npos) << r.err;
}

namespace {

// Lines of `n` sentences over a small vocabulary, written to `file`; returns them.
std::vector<std::string> write_sentences(const fs::path& file, int n) {
  std::vector<std::string> lines;
  std::string text;
  for (int i = 0; i < n; ++i) {
    lines.push_back("a" + std::to_string(i % 7) + " b" + std::to_string(i % 11) + " c" +
                    std::to_string(i));
    text += lines.back() + "\n";
  }
  test::write_file(file, text);
  return lines;
}

}  // namespace

// Topics named only by a KafkaSink, by a KafkaSpout and as a dead-letter topic are created on the
// embedded Kafka too (with the largest parallelism of the components naming them), and data flows
// through one of them: sentences -> split -> KafkaSink(words) ... KafkaSpout(words) -> FileSink.
TEST(SleetRun, CreatesEveryTopicTheTopologyNames) {
  test::TempDir dir("sleet-run");
  auto input = write_sentences(dir.path() / "input.txt", 300);
  fs::path f = dir.path() / "topics.yaml";
  test::write_file(f,
                   "name: alltopics\n"
                   "config: {checkpoint.interval.ms: 200}\n"
                   "plugins: [" SLEET_BINARY_DIR
                   "/plugins/libsleet_wordcount.so]\n"
                   "topics:\n"
                   "  - {name: sentences, partitions: 3, input: input.txt}\n"
                   "spouts:\n"
                   "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: sentences}}\n"
                   "  - {id: words_in, class: KafkaSpout, parallelism: 3, args: {topic: words}}\n"
                   "bolts:\n"
                   "  - {id: split, class: SplitSentence, parallelism: 2, on_error: dead_letter,\n"
                   "     dead_letter_topic: split_errors}\n"
                   "  - {id: to_words, class: KafkaSink, parallelism: 2, args: {topic: words}}\n"
                   "  - {id: files, class: FileSink, parallelism: 1, args: {path: " +
                       (dir.path() / "out").string() +
                       "}}\n"
                       "streams:\n"
                       "  - {from: in, to: split}\n"
                       "  - {from: split, to: to_words}\n"
                       "  - {from: words_in, to: files}\n");
  auto log = (dir.path() / "run.log").string();
  auto run = test::Child::spawn(
      {SLEET_CLI_PATH, "run", f.string(), "--state-dir", (dir.path() / "state").string()},
      test::example_env(dir), log, log);
  ASSERT_TRUE(test::wait_until(
      [&] { return test::read_file(log).find("worker started") != std::string::npos; }, 60s))
      << test::read_file(log);
  std::string l = test::read_file(log);
  auto at = l.find("embedded Kafka at ");
  ASSERT_NE(at, std::string::npos) << l;
  at += std::string("embedded Kafka at ").size();
  std::string boot = l.substr(at, l.find(' ', at) - at);

  for (auto [topic, parts] : std::vector<std::pair<std::string, int>>{
           {"sentences", 3}, {"words", 3}, {"split_errors", 2}}) {
    auto meta = test::run_command(
        {"kcat", "-L", "-b", boot, "-t", topic, "-X", "broker.address.family=v4"}, 20s);
    EXPECT_EQ(meta.status, 0) << meta.err;
    EXPECT_NE(
        meta.out.find("topic \"" + topic + "\" with " + std::to_string(parts) + " partitions"),
        std::string::npos)
        << meta.out;
  }
  EXPECT_NE(l.find("created topic words with 3 partition(s) (named by words_in, to_words)"),
            std::string::npos)
      << l;

  // Every word of the input reaches the FileSink through `words`, exactly once.
  std::vector<std::string> want;
  for (auto& [w, c] : test::word_counts(input))
    for (int64_t i = 0; i < c; ++i) want.push_back(w);
  std::sort(want.begin(), want.end());
  EXPECT_TRUE(test::wait_until(
      [&] { return test::spout_values(dir.path() / "out").size() >= want.size(); }, 90s))
      << test::spout_values(dir.path() / "out").size() << " of " << want.size() << "; log:\n"
      << test::read_file(log);
  run.signal(SIGINT);
  auto st = run.wait(30s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0) << test::read_file(log);
  EXPECT_EQ(test::spout_values(dir.path() / "out"), want);
  expect_no_children_left(dir);
}

// Against an external cluster `sleet run` creates nothing, and loads a declared input over the
// partitions the topic really has (here 1, where the file declares 4): no record is lost.
TEST(SleetRun, ExternalTopicWithFewerPartitionsGetsAllInput) {
  test::TempDir dir("sleet-run");
  auto kafka = test::start_kafka({{"ext_in", 1}});
  auto input = write_sentences(dir.path() / "input.txt", 500);
  fs::path f = dir.path() / "external.yaml";
  test::write_file(f,
                   "name: external\n"
                   "config: {checkpoint.interval.ms: 200, kafka.bootstrap.servers: '" +
                       kafka->bootstrap() +
                       "'}\n"
                       "topics:\n"
                       "  - {name: ext_in, partitions: 4, input: input.txt}\n"
                       "spouts:\n"
                       "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: ext_in}}\n"
                       "bolts:\n"
                       "  - {id: files, class: FileSink, parallelism: 1, args: {path: " +
                       (dir.path() / "out").string() +
                       "}}\n"
                       "streams:\n"
                       "  - {from: in, to: files}\n");
  auto r = test::run_command({SLEET_CLI_PATH, "run", f.string(), "--until-drained", "--state-dir",
                              (dir.path() / "state").string()},
                             120s, test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("fewer than the 4 declared"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("loaded 500 records"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("created topic"), std::string::npos) << r.err;
  auto want = input;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(test::spout_values(dir.path() / "out"), want);
  auto meta = test::run_command(
      {"kcat", "-L", "-b", kafka->bootstrap(), "-t", "ext_in", "-X", "broker.address.family=v4"},
      20s);
  EXPECT_NE(meta.out.find("topic \"ext_in\" with 1 partitions"), std::string::npos) << meta.out;
  expect_no_children_left(dir);
}

namespace {

// A topology reading `topic` (one partition unless said) with one KafkaSpout into a tsv FileSink
// at `out`; `extra` is appended under bolts: (with its streams in `extra_streams`).
std::string spout_to_files(const std::string& name, const fs::path& out,
                           const std::string& config = "{checkpoint.interval.ms: 200}",
                           const std::string& topics =
                               "  - {name: in, partitions: 1, input: "
                               "input.txt}\n") {
  return "name: " + name + "\nconfig: " + config + "\ntopics:\n" + topics +
         "spouts:\n"
         "  - {id: in, class: KafkaSpout, parallelism: 1, args: {topic: in}}\n"
         "bolts:\n"
         "  - {id: files, class: FileSink, parallelism: 1, args: {path: " +
         out.string() +
         "}}\n"
         "streams:\n"
         "  - {from: in, to: files}\n";
}

// `n` distinct lines of about `width` bytes each.
std::vector<std::string> write_wide_lines(const fs::path& file, int n, size_t width) {
  std::vector<std::string> lines;
  std::string text;
  for (int i = 0; i < n; ++i) {
    std::string l = "r" + std::to_string(i) + "-";
    l.append(width > l.size() ? width - l.size() : 0, 'x');
    lines.push_back(l);
    text += l + "\n";
  }
  test::write_file(file, text);
  return lines;
}

}  // namespace

// Regression (issue 10 item 5): the embedded Kafka keeps only about 5 MiB per partition and
// dropped older input silently. 7 MB into one partition must arrive exactly, whole.
TEST(SleetRun, InputLargerThanTheEmbeddedKafkaRetentionDrainsExact) {
  test::TempDir dir("sleet-run");
  auto input = write_wide_lines(dir.path() / "input.txt", 35'000, 200);
  fs::path f = dir.path() / "big.yaml";
  test::write_file(f, spout_to_files("big", dir.path() / "out"));
  auto r = test::run_command({SLEET_CLI_PATH, "run", f.string(), "--until-drained", "--state-dir",
                              (dir.path() / "state").string()},
                             180s, test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("DROPPED"), std::string::npos) << r.err;
  auto want = input;
  std::sort(want.begin(), want.end());
  auto got = test::spout_values(dir.path() / "out");
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "output differs from the input";
  expect_no_children_left(dir);
}

// Regression (issue 10 item 5): KafkaSink output on the embedded Kafka that no one reads is trimmed
// past about 5 MiB; the run says so and --until-drained does not exit 0.
TEST(SleetRun, DroppedSinkOutputIsReportedAndFailsTheDrain) {
  test::TempDir dir("sleet-run");
  write_wide_lines(dir.path() / "input.txt", 30'000, 200);
  fs::path f = dir.path() / "drop.yaml";
  test::write_file(f,
                   "name: drop\nconfig: {checkpoint.interval.ms: 200}\n"
                   "topics:\n  - {name: in, partitions: 1, input: input.txt}\n"
                   "spouts:\n  - {id: in, class: KafkaSpout, parallelism: 1, args: {topic: in}}\n"
                   "bolts:\n  - {id: out, class: KafkaSink, parallelism: 1, args: {topic: out}}\n"
                   "streams:\n  - {from: in, to: out}\n");
  auto r = test::run_command({SLEET_CLI_PATH, "run", f.string(), "--until-drained", "--state-dir",
                              (dir.path() / "state").string()},
                             180s, test::example_env(dir));
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("DROPPED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("topic out partition 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("external Kafka"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

// Regression (issue 10 item 7): `--state-dir` on a directory Sleet did not create deleted it.
TEST(SleetRun, UnmarkedNonEmptyStateDirIsRefusedAndKept) {
  test::TempDir dir("sleet-run");
  fs::path mine = dir.path() / "project";
  fs::create_directories(mine / "zookeeper");
  test::write_file(mine / "notes.txt", "precious");
  auto r = test::run_command({SLEET_CLI_PATH, "run", kExample, "--state-dir", mine.string()}, 60s,
                             test::example_env(dir));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(mine.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(mine / "notes.txt"), "precious");
  EXPECT_TRUE(fs::exists(mine / "zookeeper"));
  EXPECT_EQ(r.err.find("worker started"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

// Regression (issue 10 item 7): a second `sleet run` on a live state dir wiped the first one's
// ZooKeeper data.
TEST(SleetRun, SecondRunOnTheSameStateDirIsRefused) {
  test::TempDir dir("sleet-run");
  auto log = (dir.path() / "run.log").string();
  auto first = start_run(dir, log);
  ASSERT_TRUE(first.running()) << test::read_file(log);
  fs::path zk_data = dir.path() / "state" / "zookeeper";
  ASSERT_TRUE(fs::exists(zk_data));
  auto second = test::run_command(
      {SLEET_CLI_PATH, "run", kExample, "--state-dir", (dir.path() / "state").string()}, 60s,
      test::example_env(dir));
  EXPECT_EQ(second.status, 2) << second.err;
  EXPECT_NE(second.err.find("in use by another sleet run (pid " + std::to_string(first.pid())),
            std::string::npos)
      << second.err;
  EXPECT_TRUE(first.running());
  EXPECT_TRUE(fs::exists(zk_data));
  first.signal(SIGINT);
  auto st = first.wait(30s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0) << test::read_file(log);
  expect_no_children_left(dir);
}

// Regression (issue 10 item 8): --until-drained trusted the previous run's status.json (here on
// an external Kafka, where the state dir is kept) and stopped the new worker before it read.
TEST(SleetRun, StaleStatusFileOfAnEarlierRunIsNotTrusted) {
  test::TempDir dir("sleet-run");
  auto kafka = test::start_kafka({{"in", 2}});
  auto input = write_sentences(dir.path() / "input.txt", 400);
  fs::path f = dir.path() / "stale.yaml";
  test::write_file(f, spout_to_files("stale", dir.path() / "out",
                                     "{checkpoint.interval.ms: 200, kafka.bootstrap.servers: '" +
                                         kafka->bootstrap() + "'}",
                                     "  - {name: in, partitions: 2, input: input.txt}\n"));
  fs::path state = dir.path() / "state";
  fs::create_directories(state);
  test::write_file(state / ".sleet-state", "topology: stale\n");
  test::write_file(state / "status.json",
                   "{\"pid\":1,\"last_checkpoint\":99,\"visible\":99,\"drained\":true,"
                   "\"committed_offsets\":99999999}\n");
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", f.string(), "--until-drained", "--state-dir", state.string()}, 120s,
      test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  auto want = input;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(test::spout_values(dir.path() / "out"), want);
  expect_no_children_left(dir);
}

// Regression (issue 10, smaller things): negative counts and rates were accepted.
TEST(SleetRun, NegativeNumbersAreRefused) {
  for (auto [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--threads", "-1"},
                                                        {"--max-failures", "-1"},
                                                        {"--input-rate", "-5"},
                                                        {"--chaos-kill-every", "-1"}}) {
    auto r = test::run_command({SLEET_CLI_PATH, "run", kExample, flag, value}, 30s);
    EXPECT_EQ(r.status, 2) << flag << ": " << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  }
}

// Regression (issue 10, smaller things): `--max-failures 1` allowed two failures.
TEST(SleetRun, MaxFailuresOneGivesUpAtTheFirstFailure) {
  test::TempDir dir("sleet-run");
  fs::path blocker = dir.path() / "not-a-dir";
  test::write_file(blocker, "x");
  auto env = test::example_env(dir);
  env["OUTPUT_DIR"] = (blocker / "out").string();
  auto r = test::run_command({SLEET_CLI_PATH, "run", kExample, "--until-drained", "--state-dir",
                              (dir.path() / "state").string(), "--max-failures", "1"},
                             120s, env);
  EXPECT_NE(r.err.find("failed 1 times"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("restarting"), std::string::npos) << r.err;
  EXPECT_EQ(r.status, 1) << r.err;
  expect_no_children_left(dir);
}

// Regression (issue 10, smaller things): a --set checkpoint.dir was overridden by the state dir's.
TEST(SleetRun, CheckpointDirSetIsHonoured) {
  test::TempDir dir("sleet-run");
  fs::path cps = dir.path() / "my-checkpoints";
  auto r =
      test::run_command({SLEET_CLI_PATH, "run", kExample, "--until-drained", "--state-dir",
                         (dir.path() / "state").string(), "--set", "checkpoint.dir=" + cps.string(),
                         "--set", "checkpoint.inline.bytes=0"},
                        120s, test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  // State over the inline limit (0 bytes) goes to checkpoint.dir: the one given, not the state
  // dir's.
  EXPECT_TRUE(fs::exists(cps / "wordcount")) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "state" / "checkpoints" / "wordcount"));
}

// Regression (issue 10, smaller things): a 5 MB line said only "Message size too large".
TEST(SleetRun, OversizedInputLineNamesFileLineAndLimit) {
  test::TempDir dir("sleet-run");
  test::write_file(dir.path() / "input.txt", "small\n" + std::string(5'000'000, 'x') + "\n");
  fs::path f = dir.path() / "huge.yaml";
  test::write_file(f, spout_to_files("huge", dir.path() / "out"));
  auto r = test::run_command({SLEET_CLI_PATH, "run", f.string(), "--until-drained", "--state-dir",
                              (dir.path() / "state").string()},
                             60s, test::example_env(dir));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find((dir.path() / "input.txt").string() + ":2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1000000"), std::string::npos) << r.err;
  expect_no_children_left(dir);
}

// Regression (issue 10, smaller things): --input-rate topped out near 1,100 records/s. Loose: at
// 5,000/s the 10,000 sample lines take about 2 s (the old loader needed about 9 s).
TEST(SleetRun, InputRateIsPacedByTime) {
  test::TempDir dir("sleet-run");
  auto r = test::run_command({SLEET_CLI_PATH, "run", kExample, "--until-drained", "--input-rate",
                              "5000", "--state-dir", (dir.path() / "state").string()},
                             120s, test::example_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  auto stamp = [&](const std::string& what) {
    auto at = r.err.find(what);
    if (at == std::string::npos) return -1.0;
    auto bol = r.err.rfind('\n', at);
    bol = bol == std::string::npos ? 0 : bol + 1;
    int h, m;
    double s;
    if (sscanf(r.err.c_str() + bol, "%d:%d:%lf", &h, &m, &s) != 3) return -1.0;
    return h * 3600.0 + m * 60 + s;
  };
  double started = stamp("worker started"), loaded = stamp("loaded 10000 records");
  ASSERT_GE(started, 0) << r.err;
  ASSERT_GE(loaded, 0) << r.err;
  EXPECT_LT(loaded - started, 5.0) << r.err;
}

// Regression (issue 10, smaller things): librdkafka's own log lines ("%3|...|FAIL|...") reached the
// console directly, repeated. They go through the logger, each kind once.
TEST(SleetRun, KafkaClientLogLinesGoThroughTheLoggerOncePerKind) {
  test::TempDir dir("sleet-run");
  test::write_file(dir.path() / "input.txt", "hello\n");
  fs::path f = dir.path() / "down.yaml";
  test::write_file(
      f, spout_to_files("down", dir.path() / "out", "{kafka.bootstrap.servers: '127.0.0.1:1'}"));
  auto r = test::run_command(
      {SLEET_CLI_PATH, "run", f.string(), "--state-dir", (dir.path() / "state").string()}, 60s,
      test::example_env(dir));
  EXPECT_EQ(r.status, 1) << r.err;
  size_t fails = 0;
  for (auto& l : test::split_lines(r.err)) {
    EXPECT_NE(l.rfind('%', 0), 0u) << "raw librdkafka line: " << l;
    if (l.find("librdkafka FAIL") != std::string::npos) ++fails;
  }
  EXPECT_EQ(fails, 1u) << r.err;
  expect_no_children_left(dir);
}
