// `sleet status` against a real `sleet run` of the wordcount example (its embedded ZooKeeper and
// Kafka): --json while it runs and after it stopped (state, final figures, the time it stopped),
// the ZooKeeper view, and the exit 3 refusals when there is nothing to show. The per-component
// keys of the metrics branch are not asserted here (absent until it is merged).
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>

#include "cluster/status_json.hpp"
#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";

cluster::JsonValue status_json(const std::vector<std::string>& args, int want_exit) {
  std::vector<std::string> argv = {SLEET_CLI_PATH, "status"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  auto r = test::run_command(argv, 30s);
  EXPECT_EQ(r.status, want_exit) << r.out << r.err;
  auto v = cluster::parse_json(r.out);
  EXPECT_TRUE(v.ok()) << r.out << "\n" << r.err;
  return v.ok() ? *v : cluster::JsonValue{};
}

}  // namespace

TEST(SleetStatus, JsonWhileRunningAndAfterItStopped) {
  test::TempDir dir("sleet-status");
  const fs::path state = dir.path() / "state";
  const std::string log = (dir.path() / "run.log").string();
  const int zk_port = test::free_port();
  auto run = test::Child::spawn({SLEET_CLI_PATH, "run", kExample, "--state-dir", state.string(),
                                 "--zookeeper-port", std::to_string(zk_port)},
                                test::example_env(dir), log, log);
  // Running: the worker wrote its status and committed a checkpoint.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return test::read_file(state / "status.json").find("\"last_checkpoint\":0,") ==
                   std::string::npos &&
               fs::exists(state / "status.json");
      },
      60s))
      << test::read_file(log);
  cluster::JsonValue live = status_json({"--state-dir", state.string()}, 0);
  EXPECT_EQ(live.string_at("topology"), "wordcount");
  EXPECT_EQ(live.string_at("state"), "running");
  EXPECT_EQ(live.bool_at("final"), false);
  EXPECT_EQ(live.string_at("source"), "state_dir");
  EXPECT_TRUE(live.get("stopped_at") && live.get("stopped_at")->is_null());
  ASSERT_TRUE(live.get("workers") && live.get("workers")->array.size() == 1)
      << cluster::write_json(live);
  const auto worker_pid = live.get("workers")->array[0].number_at("pid");
  ASSERT_TRUE(worker_pid && *worker_pid > 0);
  EXPECT_EQ(::kill(static_cast<pid_t>(*worker_pid), 0), 0) << "the worker's pid is not alive";
  ASSERT_TRUE(live.get("totals"));
  EXPECT_GT(live.get("totals")->number_at("records_in").value_or(0), 0);
  ASSERT_TRUE(live.get("checkpoints") && !live.get("checkpoints")->array.empty())
      << cluster::write_json(live) << "\nstatus.json: " << test::read_file(state / "status.json");
  EXPECT_GT(live.get("checkpoints")->array[0].number_at("id").value_or(0), 0);

  // The tables say the same to a person.
  auto text = test::run_command({SLEET_CLI_PATH, "status", "--state-dir", state.string()}, 30s);
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("topology wordcount: running"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("checkpoints (newest first)"), std::string::npos) << text.out;

  // ZooKeeper: the topology exists and has a committed checkpoint; a single-process `sleet run`
  // registers no cluster workers. An unknown topology is nothing to show (3).
  const std::string zk = "127.0.0.1:" + std::to_string(zk_port);
  cluster::JsonValue via_zk = status_json({"wordcount", "--zookeeper", zk}, 0);
  EXPECT_EQ(via_zk.string_at("source"), "zookeeper");
  EXPECT_GT(via_zk.number_at("committed_checkpoint").value_or(0), 0) << cluster::write_json(via_zk);
  auto unknown = test::run_command({SLEET_CLI_PATH, "status", "nosuch", "--zookeeper", zk}, 30s);
  EXPECT_EQ(unknown.status, 3) << unknown.err;
  EXPECT_NE(unknown.err.find("no topology 'nosuch'"), std::string::npos) << unknown.err;

  // Stopped: the same state dir now reports the run as stopped, with its final figures.
  run.signal(SIGINT);
  auto st = run.wait(30s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0) << test::read_file(log);
  cluster::JsonValue done = status_json({"--state-dir", state.string()}, 0);
  EXPECT_EQ(done.string_at("state"), "stopped");
  EXPECT_EQ(done.bool_at("final"), true);
  ASSERT_TRUE(done.string_at("stopped_at")) << cluster::write_json(done);
  EXPECT_EQ(done.string_at("stopped_at")->size(), 20u);  // 2026-12-01T22:05:03Z
  ASSERT_TRUE(done.get("totals"));
  EXPECT_GE(done.get("totals")->number_at("records_in").value_or(0),
            live.get("totals")->number_at("records_in").value_or(0));
  text = test::run_command({SLEET_CLI_PATH, "status", "--state-dir", state.string()}, 30s);
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("STOPPED at "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("FINAL"), std::string::npos) << text.out;
}

TEST(SleetStatus, NothingToShowIsExitThree) {
  test::TempDir dir("sleet-status");
  // Not a state dir at all.
  auto r = test::run_command({SLEET_CLI_PATH, "status", "--state-dir", dir.path().string()}, 30s);
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("not a state dir"), std::string::npos) << r.err;
  // A marked state dir no run ever locked.
  test::write_file(dir.path() / ".sleet-state", "topology: wordcount\n");
  r = test::run_command({SLEET_CLI_PATH, "status", "--state-dir", dir.path().string()}, 30s);
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("no run ever used"), std::string::npos) << r.err;
  // Of another topology: the name is wrong (2).
  r = test::run_command({SLEET_CLI_PATH, "status", "other", "--state-dir", dir.path().string()},
                        30s);
  EXPECT_EQ(r.status, 2) << r.err;
  // Bad flags.
  r = test::run_command({SLEET_CLI_PATH, "status", "--zookeeper", "127.0.0.1:1"}, 30s);
  EXPECT_EQ(r.status, 2) << r.err;
}
