// KafkaSpout -> KafkaSink under the real engine (fibers on two threads, aligned barriers), with the
// test playing the coordinator: trigger checkpoints, collect snapshots, commit, and restart a new
// engine from a committed checkpoint. Output must hold every input record exactly once.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include <sleet/registry.hpp>

#include "checkpointing/coordinator.hpp"
#include "checkpointing/manifest.hpp"
#include "runtime/engine.hpp"
#include "tests/support/engine_support.hpp"
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

RestorePlan plan_from(const std::vector<test::CollectedSnapshot>& snaps, CheckpointId id) {
  RestorePlan p;
  p.id = id;
  for (const auto& d : snaps) {
    if (d.stateful) p.states[{d.component, d.task.value}] = {d.state_version, d.bytes};
    if (d.source) {
      auto& mine = p.positions[d.component];
      mine.insert(mine.end(), d.positions.begin(), d.positions.end());
    }
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

  static int64_t read_so_far(const std::vector<test::CollectedSnapshot>& snaps) {
    int64_t n = 0;
    for (auto& d : snaps)
      for (auto& p : d.positions) n += p.next.value;
    return n;
  }

  std::unique_ptr<Engine> make_engine(Collecting& listener) {
    EngineOptions o = test::collecting_options(listener);
    o.cursors = &cursors_;
    o.batch_size = 128;
    auto e = Engine::create(pipeline(boot_), Registry::global(), o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  // Checkpoint `id` completes (every task acked); returns its snapshots.
  std::vector<test::CollectedSnapshot> checkpoint(Engine& e, Collecting& l, int64_t id) {
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
  std::vector<test::CollectedSnapshot> committed;
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

// Keeps (partition, offset) of every tuple it gets, per component id, for the whole process.
class OffsetRecorder : public Bolt {
 public:
  explicit OffsetRecorder(const Args&) {}
  Status open(Context& ctx) override {
    component_ = ctx.component;
    return Status::Ok();
  }
  void execute(const Tuple& t, Collector&) override {
    std::lock_guard lk(mu);
    seen[component_].emplace_back(t.get<int64_t>(size_t{2}), t.get<int64_t>(size_t{3}));
  }
  static inline std::mutex mu;
  static inline std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> seen;

 private:
  std::string component_;
};

// Two pipelines over one input topic: spouts "a" and "b" read "in", each into its own recorder.
// The checkpoint holds a's and b's positions of the same partitions with different progress,
// b's recorded by two tasks (it had parallelism 2) though it now has one. Through the real
// manifest (format 3 bytes) and restore plan, each spout must resume at its own offsets: before
// positions were keyed by component, every spout got both sets and kept the last match.
TEST_F(KafkaEngineTest, TwoSpoutsOnOneTopicEachResumeAtTheirOwnPositions) {
  produce_input(0, 400);  // 100 per partition
  const std::string cluster = kafka_->cluster_id();
  std::vector<test::CollectedSnapshot> snaps;
  auto spout_snap = [&](const std::string& c, int task, std::vector<std::pair<int, int64_t>> ps) {
    test::CollectedSnapshot d;
    d.component = c;
    d.task = TaskIndex{task};
    d.id = CheckpointId{5};
    d.source = true;
    for (auto [p, next] : ps) d.positions.push_back({"in", PartitionId{p}, Offset{next}, cluster});
    snaps.push_back(std::move(d));
  };
  spout_snap("a", 0, {{0, 10}, {2, 12}});
  spout_snap("a", 1, {{1, 11}, {3, 13}});
  spout_snap("b", 0, {{0, 60}, {2, 62}});
  spout_snap("b", 1, {{1, 61}, {3, 63}});
  Manifest m;
  m.id = CheckpointId{5};
  for (auto& d : snaps) add_positions(m, d);
  sort_positions(m.positions);
  auto back = decode_manifest(encode_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  RestorePlan plan;
  plan.id = back->id;
  plan.positions = restore_positions(back->positions);

  Registry reg = test::builtin_registry();
  (void)reg.add(describe<OffsetRecorder>("OffsetRecorder", ""));
  auto spec = TopologyBuilder("two-spouts")
                  .config("kafka.bootstrap.servers", boot_)
                  .spout("a", "KafkaSpout", 2, {{"topic", "in"}})
                  .spout("b", "KafkaSpout", 1, {{"topic", "in"}})
                  .bolt("a_out", "OffsetRecorder", 1)
                  .bolt("b_out", "OffsetRecorder", 1)
                  .stream("a", "a_out")
                  .stream("b", "b_out")
                  .build();
  {
    std::lock_guard lk(OffsetRecorder::mu);
    OffsetRecorder::seen.clear();
  }
  Collecting l;
  EngineOptions o;
  o.threads = 2;
  o.listener = &l;
  o.snapshots = &l;
  o.cursors = &cursors_;
  auto e = Engine::create(spec, reg, o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_TRUE((*e)->start(plan).ok()) << (*e)->failure().to_string();
  const size_t want_a = 400 - (10 + 11 + 12 + 13), want_b = 400 - (60 + 61 + 62 + 63);
  EXPECT_TRUE(wait_until(
      [&] {
        std::lock_guard lk(OffsetRecorder::mu);
        return OffsetRecorder::seen["a_out"].size() >= want_a &&
               OffsetRecorder::seen["b_out"].size() >= want_b;
      },
      20s));
  (*e)->request_stop();
  ASSERT_TRUE((*e)->wait().ok()) << (*e)->failure().to_string();
  std::lock_guard lk(OffsetRecorder::mu);
  for (auto [sink, base] : {std::pair{"a_out", 10}, std::pair{"b_out", 60}}) {
    std::map<int64_t, int64_t> first;  // partition -> first offset emitted after the restore
    for (auto [p, off] : OffsetRecorder::seen[sink]) first.emplace(p, off);
    for (int p = 0; p < 4; ++p)
      EXPECT_EQ(first[p], base + p) << sink << " partition " << p << " resumed elsewhere";
  }
  EXPECT_EQ(OffsetRecorder::seen["a_out"].size(), want_a);
  EXPECT_EQ(OffsetRecorder::seen["b_out"].size(), want_b);
}

// Keeps every watermark its task's on_watermark gets, for the whole process.
class WatermarkRecorder : public Bolt {
 public:
  explicit WatermarkRecorder(const Args&) {}
  void execute(const Tuple&, Collector&) override {}
  Status on_watermark(int64_t w, Collector&) override {
    std::lock_guard lk(mu);
    seen.push_back(w);
    return Status::Ok();
  }
  static inline std::mutex mu;
  static inline std::vector<int64_t> seen;
};

// KafkaSpout's largest event time per partition goes into the checkpoint with its positions
// (through the real manifest bytes and restore plan), so a restored topology's first watermark
// is the one it had at the checkpoint, before any record is read again: here nothing is left to
// read, so without them no watermark would come at all. The spout had 2 tasks and has 1 now.
TEST_F(KafkaEngineTest, TheFirstWatermarkAfterARestoreIsTheCheckpointedOne) {
  std::vector<ProduceRecord> rs;
  std::map<int, int64_t> largest;  // partition -> largest timestamp produced
  for (int i = 0; i < 400; ++i) {
    const int p = i % 4;
    const int64_t ts = 1'700'000'000'000 + p * 1000 + (i * 7919) % 5000;
    largest[p] = std::max(largest[p], ts);
    ProduceRecord r{"k" + std::to_string(i), "v", p, {}};
    r.timestamp = ts;
    rs.push_back(std::move(r));
  }
  produce(boot_, "in", rs);
  int64_t expect = kIdleWatermark;  // min over partitions of largest - bound - 1
  for (auto& [p, ts] : largest) expect = std::min(expect, ts - 100 - 1);

  Registry reg;
  for (auto* d : Registry::global().list()) (void)reg.add(*d);
  (void)reg.add(describe<WatermarkRecorder>("WatermarkRecorder", ""));
  auto spec = [&](int spouts) {
    return TopologyBuilder("event-time")
        .config("kafka.bootstrap.servers", boot_)
        .spout("read", "KafkaSpout", spouts,
               {{"topic", "in"}, {"max_out_of_orderness_ms", int64_t{100}}})
        .bolt("wm", "WatermarkRecorder", 1)
        .stream("read", "wm")
        .build();
  };
  auto engine = [&](int spouts, Collecting& l) {
    EngineOptions o;
    o.threads = 2;
    o.listener = &l;
    o.snapshots = &l;
    o.cursors = &cursors_;
    auto e = Engine::create(spec(spouts), reg, o);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(e).value() : nullptr;
  };
  auto last_seen = [] {
    std::lock_guard lk(WatermarkRecorder::mu);
    return WatermarkRecorder::seen.empty() ? kNoTimestamp : WatermarkRecorder::seen.back();
  };
  {
    std::lock_guard lk(WatermarkRecorder::mu);
    WatermarkRecorder::seen.clear();
  }
  Manifest m;
  {
    Collecting l;
    auto e = engine(2, l);
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->start().ok());
    ASSERT_TRUE(wait_until([&] { return last_seen() == expect; }, 20s)) << last_seen();
    int64_t id = 0;
    run_to_end(*e, l, id);
    for (auto& d : l.of(id)) add_positions(m, d);
    m.id = CheckpointId{id};
    e->request_stop();
    ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  }
  sort_positions(m.positions);
  sort_event_times(m.event_times);
  auto back = decode_manifest(encode_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  RestorePlan plan;
  plan.id = back->id;
  plan.positions = restore_positions(back->positions);
  plan.event_times = restore_event_times(back->event_times);
  {
    std::lock_guard lk(WatermarkRecorder::mu);
    WatermarkRecorder::seen.clear();
  }
  Collecting l;
  auto e = engine(1, l);
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start(plan).ok()) << e->failure().to_string();
  EXPECT_TRUE(wait_until([&] { return last_seen() != kNoTimestamp; }, 10s))
      << "no watermark after the restore";
  e->request_stop();
  ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  std::lock_guard lk(WatermarkRecorder::mu);
  ASSERT_FALSE(WatermarkRecorder::seen.empty());
  EXPECT_EQ(WatermarkRecorder::seen.front(), expect);
}

}  // namespace
