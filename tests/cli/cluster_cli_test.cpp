// The cluster verbs as a user runs them (cli/cmd_cluster.cpp, cli/cmd_worker.cpp) against a real
// ZooKeeper server: `sleet submit` stores the definition, `sleet list` shows it, `sleet worker
// --topology NAME` runs the stored definition and refuses a plugin whose bytes differ on this host,
// `sleet kill` requests the stop and waits for live workers. Flag errors exit 2 with a message
// before anything connects.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "cluster/submission.hpp"
#include "tests/support/support.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kCli = SLEET_CLI_PATH;
const std::string kFaultsPlugin =
    std::string(SLEET_BINARY_DIR) + "/plugins/libsleet_test_faults.so";

CommandResult run_sleet(std::vector<std::string> args) {
  args.insert(args.begin(), kCli);
  return run_command(args, 60s);
}

const char* kTopology = R"(name: cli-cluster
config:
  checkpoint.interval.ms: 100
plugins:
  - ./libfaults.so
spouts:
  - id: numbers
    class: SequenceSpout
    parallelism: 2
    args:
      count: ${CLI_CLUSTER_COUNT:-6}
bolts:
  - id: print
    class: StdoutSink
streams:
  - {from: numbers, to: print}
)";

class ClusterCli : public ZkTest {
 protected:
  void SetUp() override {
    ZkTest::SetUp();
    fs::copy_file(kFaultsPlugin, dir_.path() / "libfaults.so");
    write_file(dir_.path() / "t.yaml", kTopology);
  }
  std::string file() const { return (dir_.path() / "t.yaml").string(); }
  std::string zk() { return zk_server().connect_string(); }
  TempDir dir_{"sleet-cluster-cli"};
};

}  // namespace

TEST(ClusterCliFlags, BadFlagsExit2WithAMessageBeforeConnecting) {
  TempDir dir("sleet-cluster-flags");
  const std::string f = (dir.path() / "t.yaml").string();
  write_file(f, "name: x\n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"worker", f, "--zookeeper", "nope"}, "'nope' is not HOST:PORT"},
      {{"worker", f, "--zookeeper", "zk:0"}, "'zk:0' is not HOST:PORT"},
      {{"worker", f, "--zookeeper", "zk:2181,other"}, "'other' is not HOST:PORT"},
      {{"worker", f, "--advertise", "127.0.0.1:5"}, "add --zookeeper"},
      {{"worker", f, "--zookeeper", "zk:2181", "--advertise", "localhost:5"}, "not A.B.C.D:PORT"},
      {{"worker", f, "--zookeeper", "zk:2181", "--advertise", "1.2.3.4:65536"}, "not A.B.C.D:PORT"},
      {{"worker", f, "--zookeeper", "zk:2181", "--slots", "-1"}, "--slots -1"},
      {{"worker", f, "--zookeeper", "zk:2181", "--id", "a/b"}, "no '/'"},
      {{"worker", f, "--zookeeper", "zk:2181", "--topology", "x"}, "not both"},
      {{"worker", "--zookeeper", "zk:2181"}, "a topology FILE is required"},
      {{"submit", f, "--zookeeper", "zk"}, "'zk' is not HOST:PORT"},
      {{"submit", f}, "--zookeeper is required"},
      {{"list", "--zookeeper", ":2181"}, "':2181' is not HOST:PORT"},
      {{"kill", "t", "--zookeeper", "zk:x"}, "'zk:x' is not HOST:PORT"},
      {{"run", f, "--workers", "0"}, "--workers"},
  };
  for (auto& c : cases) {
    CommandResult r = run_sleet(c.args);
    std::string cmd;
    for (auto& a : c.args) cmd += " " + a;
    EXPECT_EQ(r.status, 2) << "sleet" << cmd << "\n" << r.err;
    EXPECT_NE((r.out + r.err).find(c.says), std::string::npos) << "sleet" << cmd << "\n" << r.err;
  }
}

TEST_F(ClusterCli, SubmitListRunTheStoredDefinitionAndKill) {
  const std::string rootset = "zookeeper.root=" + root();
  CommandResult r = run_sleet({"submit", file(), "--zookeeper", zk(), "--set", rootset});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("topology cli-cluster submitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sleet worker --zookeeper " + zk() + " --root " + root() +
                       " --topology cli-cluster"),
            std::string::npos)
      << r.out;
  r = run_sleet({"submit", file(), "--zookeeper", zk(), "--set", rootset});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("unchanged"), std::string::npos) << r.out;

  r = run_sleet({"list", "--zookeeper", zk(), "--root", root(), "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("{\"name\":\"cli-cluster\",\"submitted\":true,"), std::string::npos)
      << r.out;
  r = run_sleet({"list", "--zookeeper", zk(), "--root", root()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cli-cluster"), std::string::npos) << r.out;

  // The stored definition runs without the file, with ${CLI_CLUSTER_COUNT} as it was at submit.
  r = run_command(
      {kCli, "worker", "--zookeeper", zk(), "--root", root(), "--topology", "cli-cluster",
       "--until-drained", "--set", "checkpoint.dir=" + (dir_.path() / "cp").string()},
      60s, {{"CLI_CLUSTER_COUNT", "1000"}});
  ASSERT_EQ(r.status, 0) << r.err;
  auto printed = split_lines(r.out);
  EXPECT_EQ(printed.size(), 6u) << r.out;

  // Another build of the plugin on this host: refused, naming it and both checksums.
  const std::string lib = (dir_.path() / "libfaults.so").string();
  auto submitted = cluster::checksum_plugin(lib);
  ASSERT_TRUE(submitted.ok());
  {
    std::ofstream f(lib, std::ios::app | std::ios::binary);
    f << "another build";
  }
  auto here = cluster::checksum_plugin(lib);
  ASSERT_TRUE(here.ok());
  r = run_sleet({"worker", "--zookeeper", zk(), "--root", root(), "--topology", "cli-cluster"});
  EXPECT_EQ(r.status, 3) << r.err;
  for (const std::string& part :
       {fs::absolute(lib).lexically_normal().string(), cluster::describe_checksum(*submitted),
        cluster::describe_checksum(*here), std::string("same path on every host")})
    EXPECT_NE(r.err.find(part), std::string::npos) << part << " in:\n" << r.err;

  r = run_sleet({"worker", "--zookeeper", zk(), "--root", root(), "--topology", "nope"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("no topology 'nope' was submitted"), std::string::npos) << r.err;

  // A live worker: a different definition is refused unless --replace; kill --wait waits for it.
  ASSERT_TRUE(client().ensure_path(cluster::workers_znode(root(), "cli-cluster")).ok());
  ASSERT_TRUE(
      client().create(cluster::workers_znode(root(), "cli-cluster") + "/w0", "", true).ok());
  r = run_sleet({"submit", file(), "--zookeeper", zk(), "--set", rootset, "--set", "custom.x=1"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--replace"), std::string::npos) << r.err;
  r = run_sleet({"submit", file(), "--zookeeper", zk(), "--set", rootset, "--set", "custom.x=1",
                 "--replace"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("replaced"), std::string::npos) << r.out;

  r = run_sleet({"kill", "cli-cluster", "--zookeeper", zk(), "--root", root(), "--wait", "0.5"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("still live: w0"), std::string::npos) << r.err;
  auto k = cluster::kill_requested(client(), root(), "cli-cluster");
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(*k);
  ASSERT_TRUE(client().remove(cluster::workers_znode(root(), "cli-cluster") + "/w0").ok());
  r = run_sleet({"kill", "cli-cluster", "--zookeeper", zk(), "--root", root(), "--wait", "10"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("every worker of cli-cluster has stopped"), std::string::npos) << r.out;

  r = run_sleet({"kill", "nope", "--zookeeper", zk(), "--root", root()});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("no topology 'nope'"), std::string::npos) << r.err;
}

// `sleet run --workers N` starts N cluster-mode `sleet worker` processes with the flags the
// cluster worker reads (--zookeeper, --advertise 127.0.0.(10+i):PORT, --id w<i>, --slots 0,
// --threads ceil(T/N)), each with its own log and status file, and stops them all on SIGINT.
// (Cluster mode needs checkpointing: the workers join, elect and share the topology.)
TEST(ClusterCliRun, WorkersNStartsNClusterWorkersWithTheirFlags) {
  TempDir dir("sleet-run-workers");
  const fs::path state = dir.path() / "state";
  write_file(dir.path() / "t.yaml", R"(name: run-workers
spouts:
  - id: idle
    class: KafkaSpout
    args:
      topic: idle
bolts:
  - id: print
    class: StdoutSink
streams:
  - {from: idle, to: print}
)");
  const std::string err = (dir.path() / "run.err").string();
  Child run = Child::spawn({kCli, "run", (dir.path() / "t.yaml").string(), "--workers", "2",
                            "--threads", "3", "--state-dir", state.string()},
                           {}, (dir.path() / "run.out").string(), err);
  auto logs_say = [&](const std::string& id, const std::string& what) {
    return read_file(state / "workers" / (id + ".log")).find(what) != std::string::npos;
  };
  const bool both = wait_until(
      [&] {
        return logs_say("w0", "cluster mode: worker w0 advertising 127.0.0.10:") &&
               logs_say("w1", "cluster mode: worker w1 advertising 127.0.0.11:") &&
               fs::exists(state / "workers" / "w0.status.json") &&
               fs::exists(state / "workers" / "w1.status.json");
      },
      60s);
  run.signal(SIGINT);
  auto st = run.wait(60s);
  ASSERT_TRUE(both) << read_file(err) << "\nw0:\n"
                    << read_file(state / "workers" / "w0.log") << "\nw1:\n"
                    << read_file(state / "workers" / "w1.log");
  ASSERT_TRUE(st.has_value()) << read_file(err);
  const std::string out = read_file(err);
  EXPECT_NE(out.find("2 cluster-mode workers w0..w1 on 127.0.0.10..127.0.0.11, 2 thread(s) each"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("2 workers started (w0 pid "), std::string::npos) << out;
  EXPECT_NE(out.find("workers: w0 stopped | w1 stopped"), std::string::npos) << out;
  for (const char* id : {"w0", "w1"})
    EXPECT_NE(read_file(state / "workers" / (std::string(id) + ".log"))
                  .find("with unlimited slot(s) on ZooKeeper 127.0.0.1:"),
              std::string::npos)
        << id;
  EXPECT_EQ(*st, 0) << out;
}
