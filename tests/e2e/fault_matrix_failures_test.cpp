// Fault matrix, failures and waits (issue 10, items 9-11): an interrupted drain, a killed embedded
// ZooKeeper, a stuck bolt and a poison record, each through a real `sleet run` (real ZooKeeper,
// embedded Kafka, the FailOn/Stall bolts of tests/plugins/fault_bolts.cpp loaded as a plugin).
// Each must end exact, or refused with its message and the right exit code; never exit 0 with
// wrong output, never wait forever.
//
// SLEET_TEST_CLI=<path to another sleet> runs the same cases against that binary (how the cases
// were checked to fail before their fixes).
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string cli() {
  const char* c = std::getenv("SLEET_TEST_CLI");
  return c && *c ? c : SLEET_CLI_PATH;
}

const std::string kPlugin = std::string(SLEET_BINARY_DIR) + "/plugins/libsleet_test_faults.so";
const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";
const std::string kSample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/sample.txt";

// in (KafkaSpout, 1 task) -> `bolt_yaml` (id "bad") -> files (FileSink), with `lines` as the input.
fs::path faulty_topology(const test::TempDir& dir, const std::string& bolt_yaml,
                         const std::vector<std::string>& lines, const std::string& config = "") {
  std::string text;
  for (auto& l : lines) text += l + "\n";
  test::write_file(dir.path() / "input.txt", text);
  fs::path f = dir.path() / "faulty.yaml";
  test::write_file(f,
                   "name: faulty\n"
                   "config: {checkpoint.interval.ms: 200" +
                       config +
                       "}\n"
                       "plugins: [" +
                       kPlugin +
                       "]\n"
                       "topics:\n"
                       "  - {name: in, partitions: 1, input: input.txt}\n"
                       "spouts:\n"
                       "  - {id: in, class: KafkaSpout, parallelism: 1, args: {topic: in}}\n"
                       "bolts:\n"
                       "  - " +
                       bolt_yaml +
                       "\n"
                       "  - {id: files, class: FileSink, parallelism: 1, args: {path: " +
                       (dir.path() / "out").string() +
                       "}}\n"
                       "streams:\n"
                       "  - {from: in, to: bad}\n"
                       "  - {from: bad, to: files}\n");
  return f;
}

std::vector<std::string> numbered(int n, const std::string& special, int at) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(i == at ? special : "r" + std::to_string(i));
  return v;
}

}  // namespace

// Item 11: with the default on_error: fail one bad record used to give hundreds of restarts (each
// restart committed a fresh checkpoint, so the give-up counter never grew). Now the worker exits
// 3 at once, naming component, task, partition, offset, values and message, and `sleet run`
// stops without a restart.
TEST(FaultMatrix, PoisonRecordStopsWithExit3NamingTheRecord) {
  test::TempDir dir("fm-poison");
  auto f = faulty_topology(dir, "{id: bad, class: FailOn, parallelism: 1, args: {value: poison}}",
                           numbered(20, "poison", 7));
  auto r = test::run_command(
      {cli(), "run", f.string(), "--until-drained", "--state-dir", (dir.path() / "state").string()},
      90s);
  ASSERT_NE(r.status, -2) << "timed out (a poison record looping forever?):\n" << r.err;
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("poison record: bolt 'bad' task 0 failed on the record at partition 0 "
                       "offset 7"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("value=poison"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("FailOn: refusing value 'poison'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("restarting"), std::string::npos) << "a poison record was retried:\n"
                                                         << r.err;
}

// Item 10: a bolt stuck in execute() used to leave `sleet run` waiting forever with "checkpoint
// aborted" only in worker.log. Now the console names the task every aborted checkpoint waits for,
// the watchdog fails the worker naming the task after worker.stall.timeout.ms, and since the
// stall repeats at the same input position after each restart, the supervisor gives up (exit 3).
TEST(FaultMatrix, StuckBoltIsNamedAndTheRunGivesUp) {
  test::TempDir dir("fm-stall");
  auto f = faulty_topology(dir, "{id: bad, class: Stall, parallelism: 1, args: {value: stuck}}",
                           numbered(20, "stuck", 5),
                           ", checkpoint.timeout.ms: 800, worker.stall.timeout.ms: 2500");
  auto r = test::run_command(
      {cli(), "run", f.string(), "--until-drained", "--state-dir", (dir.path() / "state").string()},
      120s);
  ASSERT_NE(r.status, -2) << "timed out (a stuck bolt waited on forever?):\n" << r.err;
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("checkpoint aborted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no ack from bad[0]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stalled: task bad[0] of component 'bad'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("same error at the same input position"), std::string::npos) << r.err;
}

// Item 9: Ctrl-C or SIGTERM during --until-drained used to exit 0 and print --top from partial
// output. It still stops cleanly, but exits 128 + signal and labels the result as partial.
TEST(FaultMatrix, InterruptedDrainExits130Or143AndSaysPartial) {
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    test::TempDir dir("fm-interrupt");
    auto log = (dir.path() / "run.log").string();
    auto out = (dir.path() / "run.out").string();
    // Paced loading keeps the drain far away when the signal comes.
    auto run =
        test::Child::spawn({cli(), "run", kExample, "--until-drained", "--top", "3", "--input-rate",
                            "200", "--state-dir", (dir.path() / "state").string()},
                           test::example_env(dir), out, log);
    ASSERT_TRUE(
        test::wait_until([&] { return !test::part_file_lines(dir.path() / "out").empty(); }, 60s))
        << test::read_file(log);
    run.signal(sig);
    auto st = run.wait(30s);
    ASSERT_TRUE(st.has_value()) << test::read_file(log);
    EXPECT_EQ(*st, 128 + sig) << test::read_file(log);
    std::string err = test::read_file(log);
    EXPECT_NE(err.find("interrupted by signal " + std::to_string(sig)), std::string::npos) << err;
    EXPECT_NE(err.find("partial"), std::string::npos) << err;
    std::string printed = test::read_file(out);
    EXPECT_TRUE(printed.empty() || printed.find("PARTIAL") != std::string::npos) << printed;
  }
}

// Item 10: a SIGKILLed embedded ZooKeeper used to be neither restarted nor reported, and the run
// waited forever. The supervisor restarts it on its data dir, says so, and the run still ends
// exact.
TEST(FaultMatrix, KilledEmbeddedZooKeeperIsRestartedAndTheRunEndsExact) {
  test::TempDir dir("fm-zk");
  auto log = (dir.path() / "run.log").string();
  auto run = test::Child::spawn({cli(), "run", kExample, "--until-drained", "--input-rate", "1500",
                                 "--state-dir", (dir.path() / "state").string()},
                                test::example_env(dir), log, log);
  std::smatch m;
  std::string l;
  const std::regex zk_pid("ZooKeeper at [0-9.:]+ \\(pid ([0-9]+)");
  ASSERT_TRUE(test::wait_until(
      [&] {
        l = test::read_file(log);
        return std::regex_search(l, m, zk_pid) &&
               !test::part_file_lines(dir.path() / "out").empty();
      },
      60s))
      << l;
  pid_t zk = static_cast<pid_t>(std::stol(m[1].str()));
  ASSERT_EQ(::kill(zk, SIGKILL), 0);
  auto st = run.wait(120s);
  ASSERT_TRUE(st.has_value()) << "still waiting after ZooKeeper was killed:\n"
                              << test::read_file(log);
  std::string err = test::read_file(log);
  EXPECT_EQ(*st, 0) << err;
  EXPECT_NE(err.find("ZooKeeper (pid " + std::to_string(zk) + ") died"), std::string::npos) << err;
  EXPECT_NE(err.find("ZooKeeper restarted"), std::string::npos) << err;
  auto lines = test::split_lines(test::read_file(kSample));
  EXPECT_EQ(test::running_count_mismatches(test::part_file_lines(dir.path() / "out"),
                                           test::word_counts(lines)),
            "");
}

// Item 10: set-ups that would wait forever are refused at start with exit 2, naming the thing and
// the way out.
TEST(RunRefusals, InputIntoATopicNoSpoutReadsIsRefused) {
  test::TempDir dir("fm-refuse");
  test::write_file(dir.path() / "more.txt", "x y\n");
  auto r = test::run_command({cli(), "run", kExample, "--until-drained", "--input",
                              "sentencs=" + (dir.path() / "more.txt").string(), "--state-dir",
                              (dir.path() / "state").string()},
                             60s, test::example_env(dir));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("topic 'sentencs', which no KafkaSpout"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its KafkaSpouts read: sentences"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("worker started"), std::string::npos) << r.err;
}

TEST(RunRefusals, DrainWithoutCheckpointsIsRefused) {
  test::TempDir dir("fm-refuse");
  auto r = test::run_command(
      {cli(), "run", kExample, "--until-drained", "--set", "checkpoint.enabled=false",
       "--state-dir", (dir.path() / "state").string()},
      60s, test::example_env(dir));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("checkpoint.enabled is false"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("worker started"), std::string::npos) << r.err;
}

// Smaller things: `on_error: skip` that skipped every record used to end with exit 0 and no word.
// The summary shows skipped and dead-lettered counts per component.
TEST(RunSummary, ShowsSkippedAndDeadLetteredCountsPerComponent) {
  test::TempDir dir("fm-skip");
  std::vector<std::string> lines = numbered(30, "r0", -1);
  std::string text;
  for (auto& l : lines) text += l + "\n";
  test::write_file(dir.path() / "input.txt", text);
  fs::path f = dir.path() / "skip.yaml";
  test::write_file(f,
                   "name: skipping\n"
                   "config: {checkpoint.interval.ms: 200}\n"
                   "plugins: [" +
                       kPlugin +
                       "]\n"
                       "topics:\n"
                       "  - {name: in, partitions: 1, input: input.txt}\n"
                       "spouts:\n"
                       "  - {id: in, class: KafkaSpout, parallelism: 1, args: {topic: in}}\n"
                       "bolts:\n"
                       "  - {id: skipper, class: FailOn, on_error: skip, args: {value: '*'}}\n"
                       "  - {id: letters, class: FailOn, on_error: dead_letter,\n"
                       "     dead_letter_topic: errs, args: {value: r3}}\n"
                       "  - {id: files, class: FileSink, args: {path: " +
                       (dir.path() / "out").string() +
                       "}}\n"
                       "streams:\n"
                       "  - {from: in, to: skipper}\n"
                       "  - {from: in, to: letters}\n"
                       "  - {from: skipper, to: files}\n"
                       "  - {from: letters, to: files}\n");
  auto r = test::run_command(
      {cli(), "run", f.string(), "--until-drained", "--state-dir", (dir.path() / "state").string()},
      90s);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("skipper: 30 record(s) skipped by on_error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("letters: 1 record(s) skipped by on_error, 1 of them dead-lettered"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(test::part_file_lines(dir.path() / "out").size(), 29u);
}

// worker.stall.timeout.ms is validated like the other config keys (a typo or 0 is an error at
// `sleet validate`, not a watchdog that fires at once).
TEST(RunRefusals, StallTimeoutKeyIsValidated) {
  test::TempDir dir("fm-validate");
  auto ok = faulty_topology(dir, "{id: bad, class: Stall, args: {value: x}}", {"a"},
                            ", worker.stall.timeout.ms: 5000");
  auto r = test::run_command({cli(), "validate", ok.string()}, 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("worker.stall.timeout.ms"), std::string::npos) << r.err;
  auto bad = faulty_topology(dir, "{id: bad, class: Stall, args: {value: x}}", {"a"},
                             ", worker.stall.timeout.ms: 0");
  r = test::run_command({cli(), "validate", bad.string()}, 30s);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("worker.stall.timeout.ms"), std::string::npos) << r.err;
}

// Item 9: a SIGTERM reaching the worker while it was still starting (before it had registered
// its signal callback) was lost: the worker ran on until the supervisor SIGKILLed it 10 s later.
TEST(FaultMatrix, InterruptRightAfterStartStopsTheWorkerCleanly) {
  test::TempDir dir("fm-early");
  auto log = (dir.path() / "run.log").string();
  auto run = test::Child::spawn(
      {cli(), "run", kExample, "--until-drained", "--state-dir", (dir.path() / "state").string()},
      test::example_env(dir), log, log);
  ASSERT_TRUE(test::wait_until(
      [&] { return test::read_file(log).find("worker started") != std::string::npos; }, 60s, 2ms))
      << test::read_file(log);
  run.signal(SIGTERM);
  auto st = run.wait(30s);
  ASSERT_TRUE(st.has_value()) << test::read_file(log);
  std::string err = test::read_file(log);
  EXPECT_EQ(*st, 128 + SIGTERM) << err;
  EXPECT_EQ(err.find("killed by SIGKILL"), std::string::npos) << err;
}
