// Fault matrix, sink cases (issue 10 items 3 and 4), end to end with real processes: every case
// ends with output that is exact (compared with an expectation computed from the input alone), or
// with a refusal and its message, never exit 0 with wrong output.
//
// - Two supervisors taking over: two `sleet worker`s of one topology on one ZooKeeper and one
//   output dir. The first is fenced (exit 3) while it keeps pre-committing epochs whose numbers
//   the second reuses; then the second crashes and a third recovers from its checkpoint. None of
//   the fenced worker's pre-committed records may become visible.
// - A rerun in the same state and output dirs: the second `sleet run` starts fresh; nothing of
//   the first run's output may stay mixed into its output.
// - The example's output lands under `--state-dir`, not under the working directory.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "cluster/worker.hpp"
#include "cluster/zk_server.hpp"
#include "kafka/kafka.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kPlugin = std::string(SLEET_BINARY_DIR) + "/plugins/libsleet_wordcount.so";

std::vector<std::string> sentences(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    for (int k = 0; k < 6; ++k) s += (k ? " w" : "w") + std::to_string(rng() % 300);
    out.push_back(s);
  }
  return out;
}

std::string tail(const fs::path& log) {
  std::string l = test::read_file(log);
  return l.size() > 3000 ? l.substr(l.size() - 3000) : l;
}

double status_of(const fs::path& status, const std::string& key) {
  return sleet::status_number(test::read_file(status), key, -1);
}

}  // namespace

// Issue 10 item 3.
TEST(FaultMatrix, TwoSupervisorsTakingOverGiveExactFileOutput) {
  test::TempDir dir("sleet-fm-sinks");
  auto zk = EmbeddedZooKeeper::start(dir.path() / "zk", 0);
  ASSERT_TRUE(zk.ok()) << zk.status().to_string();
  auto kafka = test::start_kafka({{"in", 3}});
  const std::string boot = kafka->bootstrap();
  const fs::path out = dir.path() / "out";
  const fs::path topo = dir.path() / "topology.yaml";
  {
    std::ofstream o(topo);
    o << "name: takeover\n"
      << "config:\n"
      << "  checkpoint.interval.ms: 150\n"
      << "  kafka.bootstrap.servers: " << boot << "\n"
      << "  zookeeper.connect: " << (*zk)->connect_string() << "\n"
      << "  checkpoint.dir: " << (dir.path() / "checkpoints").string() << "\n"
      << "plugins: [" << kPlugin << "]\n"
      << "spouts:\n"
      << "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: in}}\n"
      << "bolts:\n"
      << "  - {id: split, class: SplitSentence, parallelism: 2}\n"
      << "  - {id: count, class: WordCount, parallelism: 2}\n"
      << "  - {id: files, class: FileSink, parallelism: 2, args: {path: " << out.string() << "}}\n"
      << "streams:\n"
      << "  - {from: in, to: split, grouping: local_or_shuffle}\n"
      << "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
      << "  - {from: count, to: files, grouping: local_or_shuffle}\n";
  }
  std::mutex mu;
  std::vector<std::string> produced;
  auto produce = [&](const std::vector<std::string>& lines) {
    std::vector<test::ProduceRecord> recs;
    for (auto& l : lines) recs.push_back({std::nullopt, l, -1, {}});
    test::produce(boot, "in", recs);
    std::lock_guard lk(mu);
    produced.insert(produced.end(), lines.begin(), lines.end());
  };
  produce(sentences(2000, 1));
  // Input keeps arriving, so every epoch of both workers has records to pre-commit.
  std::atomic<bool> stop_feeding{false};
  std::thread feeder([&] {
    for (uint64_t seed = 100; !stop_feeding.load(); ++seed) {
      produce(sentences(40, seed));
      std::this_thread::sleep_for(20ms);
    }
  });
  struct Stop {
    std::atomic<bool>& flag;
    std::thread& t;
    ~Stop() {
      flag = true;
      if (t.joinable()) t.join();
    }
  } stop_feeder{stop_feeding, feeder};

  auto worker = [&](const std::string& tag, bool until_drained, int interval_ms = 150) {
    std::vector<std::string> argv = {SLEET_CLI_PATH,
                                     "worker",
                                     topo.string(),
                                     "--status-file",
                                     (dir.path() / (tag + ".json")).string(),
                                     "--status-interval-ms",
                                     "50",
                                     "--set",
                                     "checkpoint.interval.ms=" + std::to_string(interval_ms)};
    if (until_drained) argv.push_back("--until-drained");
    auto log = (dir.path() / (tag + ".log")).string();
    return test::Child::spawn(argv, {}, log, log);
  };
  // The first checkpoints every 1.5 s, and the second starts right after one of its commits: so
  // the second has recovered before the first pre-commits its next epoch (the one whose commit
  // is refused), and that epoch's number is one the second commits too.
  auto first = worker("first", false, 1500);
  const fs::path first_status = dir.path() / "first.json";
  ASSERT_TRUE(
      test::wait_until([&] { return status_of(first_status, "last_checkpoint") >= 2; }, 30s))
      << tail(dir.path() / "first.log");
  const double seen = status_of(first_status, "last_checkpoint");
  ASSERT_TRUE(
      test::wait_until([&] { return status_of(first_status, "last_checkpoint") > seen; }, 30s))
      << tail(dir.path() / "first.log");
  // The second supervisor's worker claims the next generation and recovers from the latest
  // checkpoint, while the first goes on until its next commit is refused.
  auto second = worker("second", false);
  auto st = first.wait(30s);
  ASSERT_TRUE(st.has_value()) << "the first worker was not fenced; log:\n"
                              << tail(dir.path() / "first.log");
  EXPECT_EQ(*st, 3) << tail(dir.path() / "first.log");
  EXPECT_NE(test::read_file(dir.path() / "first.log").find("fenced"), std::string::npos)
      << tail(dir.path() / "first.log");
  ASSERT_TRUE(test::wait_until(
      [&] {
        return status_of(dir.path() / "second.json", "last_checkpoint") >=
               status_of(dir.path() / "second.json", "restored_from") + 4;
      },
      30s))
      << tail(dir.path() / "second.log");
  stop_feeding = true;
  feeder.join();
  // The second crashes too; a third recovers from its checkpoint, with the first's pre-committed
  // epochs still lying in .pending under numbers the second committed.
  ASSERT_TRUE(second.running()) << tail(dir.path() / "second.log");
  second.signal(SIGKILL);
  ASSERT_EQ(second.wait(10s).value_or(-1), 128 + SIGKILL);
  auto third = worker("third", true);
  auto done = third.wait(60s);
  ASSERT_TRUE(done.has_value()) << "did not drain; log:\n" << tail(dir.path() / "third.log");
  ASSERT_EQ(*done, 0) << tail(dir.path() / "third.log");

  auto expected = test::word_counts(produced);
  std::string wrong = test::running_count_mismatches(test::part_file_lines(out), expected);
  EXPECT_TRUE(wrong.empty()) << wrong;
  ASSERT_TRUE((*zk)->stop().ok());
}

namespace {

// A wordcount topology for `sleet run` reading `input` into a 2-partition topic.
fs::path write_run_topology(const fs::path& dir, const fs::path& input, const fs::path& out) {
  fs::path f = dir / "rerun.yaml";
  std::ofstream o(f);
  o << "name: rerun\n"
    << "config:\n"
    << "  checkpoint.interval.ms: 100\n"
    << "plugins: [" << kPlugin << "]\n"
    << "topics:\n"
    << "  - {name: sentences, partitions: 2, input: " << input.string() << "}\n"
    << "spouts:\n"
    << "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: sentences}}\n"
    << "bolts:\n"
    << "  - {id: split, class: SplitSentence, parallelism: 2}\n"
    << "  - {id: count, class: WordCount, parallelism: 2}\n"
    << "  - {id: out, class: FileSink, parallelism: 2, args: {path: " << out.string() << "}}\n"
    << "streams:\n"
    << "  - {from: in, to: split, grouping: local_or_shuffle}\n"
    << "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
    << "  - {from: count, to: out, grouping: local_or_shuffle}\n";
  return f;
}

void write_lines(const fs::path& f, const std::vector<std::string>& lines) {
  std::ofstream o(f, std::ios::trunc);
  for (auto& l : lines) o << l << "\n";
}

}  // namespace

// Issue 10 item 4: the second run's output is exactly its own input's, although the first run
// (more input, loaded slowly, so more epochs) left more part files in the same output dir.
TEST(FaultMatrix, RerunInTheSameStateAndOutputDirsHasNothingOfTheFirstRun) {
  test::TempDir dir("sleet-fm-sinks");
  const fs::path input = dir.path() / "input.txt", out = dir.path() / "out";
  const fs::path topo = write_run_topology(dir.path(), input, out);
  const std::string state = (dir.path() / "state").string();

  write_lines(input, sentences(6000, 7));
  auto r1 = test::run_command({SLEET_CLI_PATH, "run", topo.string(), "--until-drained",
                               "--state-dir", state, "--input-rate", "3000"},
                              120s);
  ASSERT_EQ(r1.status, 0) << r1.err;
  EXPECT_TRUE(fs::exists(out / ".sleet-filesink-out")) << "the sink did not mark its directory";
  test::write_file(out / "notes.txt", "not Sleet's\n");

  const auto second = sentences(1500, 8);
  write_lines(input, second);
  auto r2 = test::run_command(
      {SLEET_CLI_PATH, "run", topo.string(), "--until-drained", "--state-dir", state}, 120s);
  ASSERT_EQ(r2.status, 0) << r2.err;
  std::string wrong =
      test::running_count_mismatches(test::part_file_lines(out), test::word_counts(second));
  EXPECT_TRUE(wrong.empty()) << "the first run's output is mixed in: " << wrong;
  EXPECT_EQ(test::read_file(out / "notes.txt"), "not Sleet's\n") << "a foreign file was touched";
}

// Issue 10 item 4: output Sleet cannot account for (no marker) is refused, with the directory and
// the way out, exit 3, and left as it was.
TEST(FaultMatrix, RunRefusesAnOutputDirWithUnaccountedPartFiles) {
  test::TempDir dir("sleet-fm-sinks");
  const fs::path input = dir.path() / "input.txt", out = dir.path() / "out";
  const fs::path topo = write_run_topology(dir.path(), input, out);
  write_lines(input, sentences(100, 9));
  fs::create_directories(out);
  test::write_file(out / "part-out-0-3", "w1\t1\n");
  ASSERT_EQ(test::read_file(out / "part-out-0-3"), "w1\t1\n");
  auto r = test::run_command({SLEET_CLI_PATH, "run", topo.string(), "--until-drained",
                              "--state-dir", (dir.path() / "state").string()},
                             60s);
  EXPECT_EQ(r.status, 3) << r.err;
  const std::string log = r.err + test::read_file(dir.path() / "state" / "worker.log");
  EXPECT_NE(log.find(out.string()), std::string::npos) << log;
  EXPECT_NE(log.find("no marker"), std::string::npos) << log;
  EXPECT_EQ(test::read_file(out / "part-out-0-3"), "w1\t1\n");
}

// Issue 10 item 4: the example writes its output under the state dir (`${SLEET_STATE_DIR}`), not
// under the working directory, and --top reads it from there.
TEST(FaultMatrix, ExampleOutputIsUnderTheStateDir) {
  test::TempDir dir("sleet-fm-sinks");
  const fs::path cwd = dir.path() / "cwd", state = dir.path() / "state";
  fs::create_directories(cwd);
  const std::string example = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";
  // The working directory of the run: sleet run resolves relative paths against it.
  const fs::path here = fs::current_path();
  fs::current_path(cwd);
  auto r =
      test::run_command({SLEET_CLI_PATH, "run", example, "--until-drained", "--top", "3",
                         "--state-dir", state.string()},
                        120s, {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"}});
  fs::current_path(here);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(cwd / "sleet-state")) << "output written under the working directory";
  auto lines = test::part_file_lines(state / "out");
  std::vector<std::string> input = test::split_lines(
      test::read_file(std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/sample.txt"));
  std::string wrong = test::running_count_mismatches(lines, test::word_counts(input));
  EXPECT_TRUE(wrong.empty()) << wrong;
  EXPECT_NE(r.out.find((state / "out").string()), std::string::npos) << r.out;
}
