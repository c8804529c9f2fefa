// KafkaSpout -> KafkaSink under the real engine (fibers on two threads, aligned barriers), with the
// test playing the coordinator: trigger checkpoints, collect snapshots, commit, and restart a new
// engine from a committed checkpoint. Output must hold every input record exactly once.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "runtime/engine.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

using Collecting = test::CollectingListener;

TopologySpec pipeline(const std::string& boot) {
  return TopologyBuilder("kafka-pipe")
      .config("kafka.bootstrap.servers", boot)
      .spout("read", "KafkaSpout", 2, {{"topic", "in"}, {"max.batch", int64_t{256}}})
      .bolt("write", "KafkaSink", 2, {{"topic", "out"}})
      .stream("read", "write")
      .build();
}

RestorePlan plan_from(const std::vector<TaskSnapshotData>& snaps, CheckpointId id) {
  RestorePlan p;
  p.id = id;
  for (const auto& d : snaps) {
    if (d.stateful) p.states[{d.component, d.task.value}] = {d.state_version, d.bytes};
    if (d.source) p.positions.insert(p.positions.end(), d.positions.begin(), d.positions.end());
  }
  return p;
}

class KafkaEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_ = start_kafka({{"in", 4}, {"out", 3}});
    boot_ = kafka_->bootstrap();
  }

  void produce_input(int from, int to) {
    std::vector<ProduceRecord> rs;
    for (int i = from; i < to; ++i)
      rs.push_back({"k" + std::to_string(i), "v" + std::to_string(i), i % 4, {}});
    produce(boot_, "in", rs);
  }

  static int64_t read_so_far(const std::vector<TaskSnapshotData>& snaps) {
    int64_t n = 0;
    for (auto& d : snaps)
      for (auto& p : d.positions) n += p.next.value;
    return n;
  }

  std::unique_ptr<Engine> make_engine(Collecting& listener) {
    EngineOptions o;
    o.threads = 2;
    o.listener = &listener;
    o.cursors = &cursors_;
    o.batch_size = 128;
    auto e = Engine::create(pipeline(boot_), Registry::global(), o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  // Checkpoint `id` completes (every task acked); returns its snapshots.
  std::vector<TaskSnapshotData> checkpoint(Engine& e, Collecting& l, int64_t id) {
    e.trigger_checkpoint(CheckpointId{id});
    EXPECT_TRUE(
        wait_until([&] { return l.of(id).size() == e.task_count() || !e.failure().ok(); }, 20s))
        << "checkpoint " << id;
    EXPECT_TRUE(e.failure().ok()) << e.failure().to_string();
    return l.of(id);
  }

  void commit(Engine& e, int64_t id) {
    e.checkpoint_committed(CheckpointId{id});
    EXPECT_TRUE(
        wait_until([&] { return e.visible_checkpoint().value >= id || !e.failure().ok(); }, 20s));
    EXPECT_TRUE(e.failure().ok()) << e.failure().to_string();
  }

  // Checkpoints (and commits) until a checkpoint's spout snapshots say everything was read.
  void run_to_end(Engine& e, Collecting& l, int64_t& id) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto snaps = checkpoint(e, l, ++id);
      commit(e, id);
      bool drained = true;
      for (auto& d : snaps) drained = drained && (!d.source || d.drained);
      if (drained) return;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "input not drained";
  }

  void expect_exactly_once() {
    auto out = consume_all(boot_, "out");
    std::map<std::string, int> n;
    for (const auto& r : out) {
      // tsv of key, value, partition, offset, timestamp
      auto tab = r.value.find('\t');
      n[r.value.substr(tab + 1, r.value.find('\t', tab + 1) - tab - 1)]++;
    }
    EXPECT_EQ(out.size(), static_cast<size_t>(kRecords));
    EXPECT_EQ(n.size(), static_cast<size_t>(kRecords));
    for (auto& [v, k] : n) ASSERT_EQ(k, 1) << v;
  }

  static constexpr int kRecords = 20000;
  std::unique_ptr<kafka::MockCluster> kafka_;
  std::string boot_;
  MemoryCursorStore cursors_;
};

TEST_F(KafkaEngineTest, EveryRecordOnceAfterTheFinalCommit) {
  produce_input(0, kRecords);
  Collecting l;
  auto e = make_engine(l);
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start().ok());
  int64_t id = 0;
  run_to_end(*e, l, id);
  e->request_stop();
  ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  expect_exactly_once();
}

TEST_F(KafkaEngineTest, RestartFromACommittedCheckpointCountsNothingTwice) {
  const int half = kRecords / 2;
  produce_input(0, half);
  Collecting l1;
  int64_t id = 0, committed_id = 0;
  std::vector<TaskSnapshotData> committed;
  {
    auto e = make_engine(l1);
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->start().ok());
    // First half read, checkpointed and committed.
    run_to_end(*e, l1, id);
    committed_id = id;
    committed = l1.of(id);
    ASSERT_EQ(read_so_far(committed), half);
    // Second half partly read into checkpoints that never commit, then a "crash" (stop without
    // commit): those epochs must never appear, and the restart re-reads their records.
    produce_input(half, kRecords);
    ASSERT_TRUE(wait_until([&] { return read_so_far(checkpoint(*e, l1, ++id)) > half; }, 20s));
    e->request_stop();
    ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  }
  EXPECT_EQ(consume_all(boot_, "out").size(), static_cast<size_t>(half));

  Collecting l2;
  auto e = make_engine(l2);
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start(plan_from(committed, CheckpointId{committed_id})).ok());
  id = committed_id;
  run_to_end(*e, l2, id);
  e->request_stop();
  ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  expect_exactly_once();
}

}  // namespace
