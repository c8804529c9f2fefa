// Fault matrix, spout offsets (issue 10 item 2): a real `sleet worker` process, a real ZooKeeper
// server and mock Kafka clusters hosted in this test process (so they outlive the worker). A
// checkpoint whose offsets no longer fit the Kafka log under it must be refused with exit 3 (a
// restart cannot fix it), naming the partition, the offset, the log's range and the way out:
//   - retention deleted records past the checkpointed offset (the log start moved beyond it);
//   - a new Kafka cluster under the old checkpoint (another cluster id).
// And with `on_offset_out_of_range: earliest` the first case resumes at the log start, counted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cluster/zk_server.hpp"
#include "kafka/kafka.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int kExitIncompatible = 3;

class FaultMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<test::TempDir>("sleet-fm-offsets");
    auto zk = EmbeddedZooKeeper::start(dir_->path() / "zk", 0);
    ASSERT_TRUE(zk.ok()) << zk.status().to_string();
    zk_ = std::move(zk).value();
    auto k = kafka::MockCluster::start(1);
    ASSERT_TRUE(k.ok()) << k.status().to_string();
    kafka_ = std::move(k).value();
    ASSERT_TRUE(kafka_->create_topic("in", 1).ok());
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  void produce_small(const std::string& boot, int n) {
    std::vector<test::ProduceRecord> rs;
    for (int i = 0; i < n; ++i) rs.push_back({std::nullopt, "r" + std::to_string(i), 0, {}});
    test::produce(boot, "in", rs);
  }

  fs::path topology(const std::string& boot, const std::string& policy = "") {
    fs::path f = dir_->path() / "topology.yaml";
    std::ofstream o(f);
    o << "name: " << name_ << "\n"
      << "config:\n"
      << "  checkpoint.interval.ms: 200\n"
      << "  kafka.bootstrap.servers: " << boot << "\n"
      << "  zookeeper.connect: " << zk_->connect_string() << "\n"
      << "  checkpoint.dir: " << (dir_->path() / "checkpoints").string() << "\n"
      << "spouts:\n"
      << "  - {id: in, class: KafkaSpout, parallelism: 1, args: {topic: in"
      << (policy.empty() ? "" : ", on_offset_out_of_range: " + policy) << "}}\n"
      << "bolts:\n"
      << "  - {id: files, class: FileSink, parallelism: 1, args: {path: "
      << (dir_->path() / "out").string() << "}}\n"
      << "streams:\n"
      << "  - {from: in, to: files}\n";
    return f;
  }

  // Runs `sleet worker --until-drained` to its end; returns its exit status.
  int run_worker(const fs::path& topo) {
    log_ = dir_->path() / ("worker-" + std::to_string(++runs_) + ".log");
    auto w = test::Child::spawn({SLEET_CLI_PATH, "worker", topo.string(), "--until-drained",
                                 "--status-file", (dir_->path() / "status.json").string()},
                                {}, log_.string(), log_.string());
    auto st = w.wait(60s);
    EXPECT_TRUE(st.has_value()) << "worker did not finish; log:\n" << log();
    return st.value_or(-1);
  }

  std::string log() { return test::read_file(log_); }

  void expect_in_log(const std::string& part) {
    std::string l = log();
    EXPECT_NE(l.find(part), std::string::npos) << "'" << part << "' not in the worker log:\n" << l;
  }

  std::unique_ptr<test::TempDir> dir_;
  std::unique_ptr<EmbeddedZooKeeper> zk_;
  std::unique_ptr<kafka::MockCluster> kafka_;
  std::string name_;
  fs::path log_;
  int runs_ = 0;
};

TEST_F(FaultMatrix, RetentionPastACheckpointIsRefusedUnlessTheTopologyOptsIn) {
  produce_small(kafka_->bootstrap(), 100);
  ASSERT_EQ(run_worker(topology(kafka_->bootstrap())), 0) << log();
  ASSERT_EQ(test::part_file_lines(dir_->path() / "out").size(), 100u);

  // Retention: the mock keeps ~5 MiB per partition, so 8 MB of new records push the log start
  // past offset 100, where the checkpoint stands, before a worker read them.
  std::vector<test::ProduceRecord> big;
  for (int i = 0; i < 40; ++i) big.push_back({std::nullopt, std::string(200'000, 'x'), 0, {}});
  test::produce(kafka_->bootstrap(), "in", big);
  auto rk = kafka::make_consumer({{"bootstrap.servers", kafka_->bootstrap()}});
  ASSERT_TRUE(rk.ok());
  auto wm = kafka::query_watermarks(rk->get(), "in", 0, 10s);
  ASSERT_TRUE(wm.ok()) << wm.status().to_string();
  const auto [lo, hi] = *wm;
  ASSERT_GT(lo, 100) << "retention did not pass the checkpoint";

  EXPECT_EQ(run_worker(topology(kafka_->bootstrap())), kExitIncompatible) << log();
  expect_in_log("KafkaSpout component 'in'");
  expect_in_log("topic in partition 0: checkpointed offset 100 lies outside the partition's log [" +
                std::to_string(lo) + ", " + std::to_string(hi) + ")");
  expect_in_log("on_offset_out_of_range");
  EXPECT_EQ(test::part_file_lines(dir_->path() / "out").size(), 100u) << "nothing read";

  // Opted in: resumes at the log start, counts the reset, reads the rest.
  EXPECT_EQ(run_worker(topology(kafka_->bootstrap(), "earliest")), 0) << log();
  expect_in_log("on_offset_out_of_range: earliest resets it to " + std::to_string(lo));
  EXPECT_EQ(test::part_file_lines(dir_->path() / "out").size(), static_cast<size_t>(100 + hi - lo));
}

TEST_F(FaultMatrix, ANewKafkaClusterUnderAnOldCheckpointIsRefused) {
  produce_small(kafka_->bootstrap(), 100);
  ASSERT_EQ(run_worker(topology(kafka_->bootstrap())), 0) << log();

  // Another cluster with more records on the same topic: offset 100 lies within its log, so
  // only the cluster id tells that it means other records there.
  auto other = kafka::MockCluster::start(1);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->create_topic("in", 1).ok());
  produce_small((*other)->bootstrap(), 300);
  ASSERT_NE((*other)->cluster_id(), kafka_->cluster_id());

  EXPECT_EQ(run_worker(topology((*other)->bootstrap())), kExitIncompatible) << log();
  expect_in_log("recorded on Kafka cluster '" + kafka_->cluster_id() + "'");
  expect_in_log("is Kafka cluster '" + (*other)->cluster_id() + "'");
  expect_in_log("same Kafka cluster");
  EXPECT_EQ(test::part_file_lines(dir_->path() / "out").size(), 100u) << "nothing read";
}

}  // namespace
