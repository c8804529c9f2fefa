// KafkaSink against librdkafka's mock cluster, driven by hand the way the runtime drives a task:
// on_recover, open, execute..., on_barrier(n), snapshot_state, on_checkpoint_committed(n).
// The topic is read back with an independent plain-librdkafka consumer (tests/support).
#include <gtest/gtest.h>

#include <sleet/registry.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bolts/kafka_sink.hpp"
#include "core/sink_metrics.hpp"
#include "tests/support/components.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"
#include "tests/support/switch_gate.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;
using sleet::kafka::KafkaSink;
using sleet::kafka::PublishCursor;

namespace {

const Fields kFields{"word", "count"};

std::unique_ptr<Bolt> make_sink(Args args) {
  return create_component<Bolt>("KafkaSink", args);
}

struct NullCollector : Collector {
  void emit(Values&&) override {}
};

void feed(Bolt& b, int from, int to) {
  NullCollector null;
  for (int i = from; i < to; ++i)
    b.execute(Tuple(&kFields, {"w" + std::to_string(i), int64_t{i}}), null);
}

std::string snapshot(const Component& c) {
  std::ostringstream os(std::ios::binary);
  {
    StateWriter w(os);
    c.snapshot_state(w);
  }
  return os.str();
}

Status restore(Component& c, const std::string& bytes) {
  std::istringstream is(bytes, std::ios::binary);
  StateReader r(is);
  return c.restore_state(r, c.state_version());
}

// Records of `topic` written by sink task `task` for `epoch`: seq -> how many copies.
std::map<int, int> copies(const std::vector<ConsumedRecord>& rs, const std::string& task,
                          int64_t epoch) {
  std::map<int, int> m;
  for (const auto& r : rs) {
    auto t = r.headers.find("sleet.task"), e = r.headers.find("sleet.epoch"),
         s = r.headers.find("sleet.seq");
    if (t == r.headers.end() || e == r.headers.end() || s == r.headers.end()) continue;
    if (t->second == task && e->second == std::to_string(epoch)) m[std::stoi(s->second)]++;
  }
  return m;
}

// A CursorStore in a directory (one file per key), so a cursor survives a SIGKILLed child.
class FileCursorStore : public CursorStore {
 public:
  explicit FileCursorStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Result<std::string> load(const std::string& key) override {
    if (!std::filesystem::exists(dir_ / key)) return Status::NotFound(key);
    return read_file(dir_ / key);
  }
  Status store(const std::string& key, const std::string& value) override {
    write_file(dir_ / (key + ".tmp"), value);
    std::filesystem::rename(dir_ / (key + ".tmp"), dir_ / key);
    return Status::Ok();
  }

 private:
  std::filesystem::path dir_;
};

// Fails every store() while `fail` is set.
class FlakyCursorStore : public MemoryCursorStore {
 public:
  bool fail_published = false;
  Status store(const std::string& key, const std::string& value) override {
    if (fail_published && value.find("published=1") != std::string::npos)
      return Status::Unavailable("ZooKeeper connection lost (simulated)");
    return MemoryCursorStore::store(key, value);
  }
};

class KafkaSinkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (const char* b = getenv("SLEET_TEST_KAFKA")) {
      shared_boot_ = b;  // a death-test child: use the parent's cluster
    } else {
      kafka_ = start_kafka({}).release();
      shared_boot_ = kafka_->bootstrap();
    }
  }
  static void TearDownTestSuite() {
    delete kafka_;
    kafka_ = nullptr;
  }
  void SetUp() override {
    boot_ = shared_boot_;
    topic_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (kafka_) {
      ASSERT_TRUE(kafka_->create_topic(topic_, 3).ok());
    }
  }
  Args args(std::string delivery = "exactly_once") {
    return {{"topic", topic_}, {"delivery", delivery}};
  }
  Context ctx(CursorStore* cursors, int task = 0) {
    return make_context("sink", task, 2, {{"kafka.bootstrap.servers", boot_}}, cursors);
  }
  static kafka::MockCluster* kafka_;
  static std::string shared_boot_;
  std::string boot_;
  std::string topic_;
};
kafka::MockCluster* KafkaSinkTest::kafka_ = nullptr;
std::string KafkaSinkTest::shared_boot_;

TEST_F(KafkaSinkTest, AtLeastOncePublishesAtOnce) {
  Args a = args("at_least_once");
  a.set("key.field", "word");
  auto sink = make_sink(a);
  EXPECT_FALSE(sink->stateful());
  Context c = ctx(nullptr);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
  ASSERT_TRUE(sink->open(c).ok());
  feed(*sink, 0, 50);
  // Visible without any barrier or commit.
  std::vector<ConsumedRecord> got;
  ASSERT_TRUE(wait_until([&] { return (got = consume_all(boot_, topic_)).size() == 50; }, 20s))
      << got.size();
  NullCollector null;
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  std::set<std::string> values;
  for (const auto& r : got) {
    ASSERT_TRUE(r.key.has_value());
    EXPECT_EQ(r.value, *r.key + "\t" + r.key->substr(1)) << "tsv: values joined by a tab";
    values.insert(r.value);
    EXPECT_TRUE(r.headers.empty());
  }
  EXPECT_EQ(values.size(), 50u);
  sink->close();
}

TEST_F(KafkaSinkTest, ExactlyOnceIsInvisibleUntilCommitted) {
  MemoryCursorStore cursors;
  Args a = args();
  a.set("format", "jsonl");
  auto sink = make_sink(a);
  EXPECT_TRUE(sink->stateful());
  Context c = ctx(&cursors, 1);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
  ASSERT_TRUE(sink->open(c).ok());
  NullCollector null;
  feed(*sink, 0, 100);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  feed(*sink, 100, 150);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{2}, null).ok());
  EXPECT_EQ(static_cast<KafkaSink&>(*sink).pending_epochs(), 2u);
  EXPECT_TRUE(consume_all(boot_, topic_).empty()) << "nothing visible before the commit";
  EXPECT_TRUE(cursors.cells.empty());

  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  auto got = consume_all(boot_, topic_);
  ASSERT_EQ(got.size(), 100u) << "epoch 1 only";
  auto e1 = copies(got, "sink-1", 1);
  ASSERT_EQ(e1.size(), 100u);
  for (auto [seq, n] : e1) EXPECT_EQ(n, 1) << "seq " << seq;
  std::set<std::string> values;
  for (const auto& r : got) values.insert(r.value);
  EXPECT_EQ(values.count("{\"word\":\"w7\",\"count\":7}"), 1u)
      << "jsonl with the input's field names";
  EXPECT_FALSE(got[0].key.has_value());
  auto cur = PublishCursor::decode(cursors.cells.at("sink-1"));
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(cur->epoch, 1);
  EXPECT_TRUE(cur->published);
  EXPECT_EQ(cur->offsets, (std::map<int32_t, int64_t>{{0, 0}, {1, 0}, {2, 0}}));

  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());
  got = consume_all(boot_, topic_);
  EXPECT_EQ(got.size(), 150u);
  EXPECT_EQ(copies(got, "sink-1", 2).size(), 50u);
  EXPECT_EQ(static_cast<KafkaSink&>(*sink).pending_epochs(), 0u);
  // A repeated commit notification publishes nothing again.
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());
  EXPECT_EQ(consume_all(boot_, topic_).size(), 150u);
  sink->close();
}

TEST_F(KafkaSinkTest, RecoveryPublishesCommittedEpochsFromTheSnapshot) {
  MemoryCursorStore cursors;
  std::string bytes;
  {
    auto sink = make_sink(args());
    Context c = ctx(&cursors);
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
    ASSERT_TRUE(sink->open(c).ok());
    NullCollector null;
    feed(*sink, 0, 30);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
    bytes = snapshot(*sink);
    // Crash: checkpoint 1 committed, the sink never heard of it.
  }
  EXPECT_TRUE(consume_all(boot_, topic_).empty());
  auto sink = make_sink(args());
  ASSERT_TRUE(restore(*sink, bytes).ok());
  Context c = ctx(&cursors);
  ASSERT_TRUE(sink->on_recover(CheckpointId{1}, c).ok());
  auto got = consume_all(boot_, topic_);
  ASSERT_EQ(got.size(), 30u);
  EXPECT_EQ(copies(got, "sink-0", 1).size(), 30u);
  // Recovering once more from the same checkpoint (another crash right after) adds nothing: the
  // cursor says epoch 1 is published.
  auto again = make_sink(args());
  ASSERT_TRUE(restore(*again, bytes).ok());
  ASSERT_TRUE(again->on_recover(CheckpointId{1}, c).ok());
  EXPECT_EQ(consume_all(boot_, topic_).size(), 30u);
}

TEST_F(KafkaSinkTest, RecoveryAfterAPartialPublishWritesOnlyTheMissingRecords) {
  const int n = 40;
  MemoryCursorStore cursors;
  NullCollector null;
  std::string bytes;
  {
    auto sink = make_sink(args());
    Context c = ctx(&cursors);
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
    ASSERT_TRUE(sink->open(c).ok());
    feed(*sink, 0, 10);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{2}, null).ok());
    ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());  // epoch 2 fully out
    feed(*sink, 10, 10 + n);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{3}, null).ok());
    bytes = snapshot(*sink);
  }
  // Simulate a worker that died while publishing epoch 3: it stored the cursor, then some of the
  // epoch's records reached the topic (not a prefix: produce requests to different partitions
  // complete in any order).
  auto ends = [&] {
    auto rk = kafka::make_consumer({{"bootstrap.servers", boot_}});
    return kafka::end_offsets(rk->get(), topic_, 10s).value();
  }();
  PublishCursor cur;
  cur.epoch = 3;
  cur.offsets = ends;
  ASSERT_TRUE(cursors.store("sink-0", cur.encode()).ok());
  std::vector<ProduceRecord> partial;
  std::set<int> written = {0, 1, 2, 3, 5, 8, 13, 21, 34, 39};
  for (int seq : written) {
    int i = 10 + seq;
    partial.push_back(
        {std::nullopt,
         "w" + std::to_string(i) + "\t" + std::to_string(i),
         -1,
         {{"sleet.task", "sink-0"}, {"sleet.epoch", "3"}, {"sleet.seq", std::to_string(seq)}}});
  }
  // Noise the scan must not count: another task, another epoch of ours, no headers at all.
  partial.push_back({std::nullopt,
                     "other task",
                     -1,
                     {{"sleet.task", "sink-1"}, {"sleet.epoch", "3"}, {"sleet.seq", "4"}}});
  partial.push_back({std::nullopt,
                     "older epoch",
                     -1,
                     {{"sleet.task", "sink-0"}, {"sleet.epoch", "2"}, {"sleet.seq", "6"}}});
  partial.push_back({std::nullopt, "someone else", -1, {}});
  produce(boot_, topic_, partial);

  auto sink = make_sink(args());
  ASSERT_TRUE(restore(*sink, bytes).ok());
  EXPECT_EQ(static_cast<KafkaSink&>(*sink).pending_epochs(), 1u);
  Context c = ctx(&cursors);
  ASSERT_TRUE(sink->on_recover(CheckpointId{3}, c).ok());
  auto got = consume_all(boot_, topic_);
  EXPECT_EQ(got.size(), static_cast<size_t>(10 + n + 3));
  auto e3 = copies(got, "sink-0", 3);
  ASSERT_EQ(e3.size(), static_cast<size_t>(n));
  for (auto [seq, k] : e3) EXPECT_EQ(k, 1) << "seq " << seq << " of epoch 3";
  std::set<std::string> values;
  for (const auto& r : got)
    if (r.headers.count("sleet.epoch") && r.headers.at("sleet.task") == "sink-0" &&
        r.headers.at("sleet.epoch") == "3")
      values.insert(r.value);
  EXPECT_EQ(values.size(), static_cast<size_t>(n)) << "the missing records carry their own values";
  EXPECT_TRUE(values.count("w49\t49"));
  auto done = PublishCursor::decode(cursors.cells.at("sink-0"));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->epoch, 3);
  EXPECT_TRUE(done->published);
  EXPECT_EQ(done->offsets, ends) << "the scan starts where the crashed attempt started";
}

TEST_F(KafkaSinkTest, AFailedPublishIsResumedWithoutDuplicates) {
  FlakyCursorStore cursors;
  auto sink = make_sink(args());
  Context c = ctx(&cursors);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
  ASSERT_TRUE(sink->open(c).ok());
  NullCollector null;
  feed(*sink, 0, 25);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  cursors.fail_published = true;  // records go out, marking the epoch published fails
  Status s = sink->on_checkpoint_committed(CheckpointId{1});
  EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
  EXPECT_EQ(static_cast<KafkaSink&>(*sink).pending_epochs(), 1u);
  cursors.fail_published = false;
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  auto got = consume_all(boot_, topic_);
  EXPECT_EQ(got.size(), 25u) << "the retry found every record and produced none again";
  EXPECT_EQ(static_cast<KafkaSink&>(*sink).pending_epochs(), 0u);
}

// The real thing: a child process publishing an epoch SIGKILLs itself at the
// kafka_sink.mid_publish kill point with half of the epoch delivered; a new sink restored from the
// snapshot and the durable cursor finishes the epoch, every record exactly once.
TEST_F(KafkaSinkTest, KillPointMidPublishThenRecover) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int n = 1000;
  std::string dir_env = getenv("SLEET_TEST_DIR") ? getenv("SLEET_TEST_DIR") : "";
  std::unique_ptr<TempDir> tmp;
  if (dir_env.empty()) {
    tmp = std::make_unique<TempDir>("kafka-sink-kill");
    dir_env = tmp->str();
  }
  setenv("SLEET_TEST_DIR", dir_env.c_str(), 1);
  setenv("SLEET_TEST_KAFKA", boot_.c_str(), 1);
  FileCursorStore cursors(dir_env);
  auto publish_and_die = [&] {
    setenv("SLEET_KILL_POINT", "kafka_sink.mid_publish", 1);
    auto sink = make_sink(args());
    Context c = ctx(&cursors);
    if (!sink->on_recover(CheckpointId{0}, c).ok() || !sink->open(c).ok()) std::_Exit(3);
    NullCollector null;
    feed(*sink, 0, n);
    if (!sink->on_barrier(CheckpointId{1}, null).ok()) std::_Exit(4);
    write_file(std::filesystem::path(dir_env) / "snapshot", snapshot(*sink));
    (void)sink->on_checkpoint_committed(CheckpointId{1});
    std::_Exit(5);  // not reached when the kill point fires
  };
  EXPECT_EXIT(publish_and_die(), ::testing::KilledBySignal(SIGKILL), "kafka_sink.mid_publish");
  unsetenv("SLEET_TEST_KAFKA");
  unsetenv("SLEET_TEST_DIR");

  auto before = consume_all(boot_, topic_);
  EXPECT_EQ(before.size(), static_cast<size_t>(n / 2)) << "half the epoch was flushed";
  auto cur = cursors.load("sink-0");
  ASSERT_TRUE(cur.ok());
  EXPECT_NE(cur->find("epoch=1 published=0"), std::string::npos) << *cur;

  auto sink = make_sink(args());
  ASSERT_TRUE(restore(*sink, read_file(std::filesystem::path(dir_env) / "snapshot")).ok());
  Context c = ctx(&cursors);
  ASSERT_TRUE(sink->on_recover(CheckpointId{1}, c).ok());
  auto got = consume_all(boot_, topic_);
  EXPECT_EQ(got.size(), static_cast<size_t>(n));
  auto e1 = copies(got, "sink-0", 1);
  ASSERT_EQ(e1.size(), static_cast<size_t>(n));
  for (auto [seq, k] : e1) EXPECT_EQ(k, 1) << "seq " << seq;
  EXPECT_NE(cursors.load("sink-0")->find("published=1"), std::string::npos);
}

TEST_F(KafkaSinkTest, ClearErrors) {
  EXPECT_FALSE(Registry::global().create("KafkaSink", {}).ok()) << "topic is required";
  EXPECT_FALSE(
      Registry::global().create("KafkaSink", {{"topic", "t"}, {"delivery", "maybe"}}).ok());
  EXPECT_FALSE(Registry::global().create("KafkaSink", {{"topic", "t"}, {"format", "xml"}}).ok());
  {
    auto sink = make_sink(args());
    Context c = ctx(nullptr);
    Status s = sink->open(c);
    EXPECT_EQ(s.code(), Code::invalid_argument);
    EXPECT_NE(s.message().find("cursor store"), std::string::npos) << s.to_string();
  }
  {
    auto sink = make_sink({{"topic", topic_}});
    Context c = make_context("sink", 0, 1);
    Status s = sink->open(c);
    EXPECT_EQ(s.code(), Code::invalid_argument);
    EXPECT_NE(s.message().find("kafka.bootstrap.servers"), std::string::npos) << s.to_string();
  }
  {
    // Without checkpointing nothing would ever commit: the sink writes at once instead.
    auto sink = make_sink(args());
    Context c = ctx(nullptr);
    c.checkpointing = false;
    ASSERT_TRUE(sink->open(c).ok());
    EXPECT_FALSE(sink->stateful());
    feed(*sink, 0, 3);
    sink->close();
    EXPECT_EQ(consume_all(boot_, topic_).size(), 3u);
  }
  {
    Args a = args("at_least_once");
    a.set("key.field", "nope");
    auto sink = make_sink(a);
    Context c = ctx(nullptr);
    ASSERT_TRUE(sink->open(c).ok());
    NullCollector null;
    EXPECT_THROW(sink->execute(Tuple(&kFields, {"a", int64_t{1}}), null), std::invalid_argument);
  }
}

}  // namespace

// Issue 10 item 3: generation 1 committed checkpoint 2 and was then fenced by generation 2, which
// recovered from checkpoint 2 and published epoch 2. The fenced sink hears of the commit late: it
// must see the newer generation's cursor and publish nothing, not a second copy of epoch 2.
TEST_F(KafkaSinkTest, AFencedGenerationDoesNotPublishOverItsSuccessor) {
  MemoryCursorStore cursors;
  NullCollector null;
  auto first = make_sink(args());
  Context c1 = ctx(&cursors);
  c1.generation = Generation{1};
  ASSERT_TRUE(first->on_recover(CheckpointId{0}, c1).ok());
  ASSERT_TRUE(first->open(c1).ok());
  feed(*first, 0, 20);
  ASSERT_TRUE(first->on_barrier(CheckpointId{1}, null).ok());
  ASSERT_TRUE(first->on_checkpoint_committed(CheckpointId{1}).ok());
  feed(*first, 20, 50);
  ASSERT_TRUE(first->on_barrier(CheckpointId{2}, null).ok());
  std::string bytes = snapshot(*first);  // checkpoint 2, committed by generation 1

  auto second = make_sink(args());
  ASSERT_TRUE(restore(*second, bytes).ok());
  Context c2 = ctx(&cursors);
  c2.generation = Generation{2};
  c2.restored_generation = Generation{1};
  ASSERT_TRUE(second->on_recover(CheckpointId{2}, c2).ok());
  auto cur = PublishCursor::decode(cursors.cells.at("sink-0"));
  ASSERT_TRUE(cur.ok()) << cur.status().to_string();
  EXPECT_EQ(cur->generation, 2);
  EXPECT_EQ(cur->epoch, 2);
  EXPECT_TRUE(cur->published);

  Status late = first->on_checkpoint_committed(CheckpointId{2});
  EXPECT_EQ(late.code(), Code::fenced) << late.to_string();
  EXPECT_NE(late.message().find("generation 2"), std::string::npos) << late.message();
  auto got = consume_all(boot_, topic_);
  EXPECT_EQ(got.size(), 50u) << "the fenced generation published epoch 2 again";
  auto e2 = copies(got, "sink-0", 2);
  EXPECT_EQ(e2.size(), 30u);
  for (auto [seq, n] : e2) EXPECT_EQ(n, 1) << "seq " << seq;
  EXPECT_EQ(cursors.cells.at("sink-0"), cur->encode()) << "the successor's cursor was overwritten";
  first->close();
  second->close();
}

TEST(PublishCursorGeneration, RoundTripsAndReadsVersion1) {
  PublishCursor c;
  c.epoch = 9;
  c.published = true;
  c.generation = 4;
  c.offsets = {{0, 5}, {1, 7}};
  EXPECT_EQ(c.encode(), "v2 epoch=9 published=1 generation=4 offsets=0:5,1:7");
  auto d = PublishCursor::decode(c.encode());
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, c);
  auto v1 = PublishCursor::decode("v1 epoch=9 published=1 offsets=0:5,1:7");
  ASSERT_TRUE(v1.ok()) << v1.status().to_string();
  EXPECT_EQ(v1->generation, 0) << "written before generations: unknown";
  for (const char* bad :
       {"v2 epoch=9 published=1 offsets=0:5", "v2 epoch=9 published=1 generation=x offsets="})
    EXPECT_FALSE(PublishCursor::decode(bad).ok()) << bad;
}

// Issue 11: the publish protocol is an explicit state machine (PublishState, bolts/README.md).
// The sink's state says where the protocol stopped: idle after a published epoch, failed (the
// epoch kept) after a failed step, and fenced, terminally, once a successor took over, with
// every later call refused the same way and nothing produced.
TEST_F(KafkaSinkTest, ThePublishStateSaysWhereTheProtocolStopped) {
  using sleet::kafka::PublishState;
  FlakyCursorStore cursors;
  NullCollector null;
  auto first = make_sink(args());
  auto& sink = static_cast<KafkaSink&>(*first);
  Context c1 = ctx(&cursors);
  c1.generation = Generation{1};
  ASSERT_TRUE(first->on_recover(CheckpointId{0}, c1).ok());
  ASSERT_TRUE(first->open(c1).ok());
  EXPECT_EQ(sink.publish_state(), PublishState::idle);
  feed(*first, 0, 10);
  ASSERT_TRUE(first->on_barrier(CheckpointId{1}, null).ok());
  ASSERT_TRUE(first->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(sink.publish_state(), PublishState::idle);

  feed(*first, 10, 20);
  ASSERT_TRUE(first->on_barrier(CheckpointId{2}, null).ok());
  cursors.fail_published = true;
  EXPECT_EQ(first->on_checkpoint_committed(CheckpointId{2}).code(), Code::unavailable);
  EXPECT_EQ(sink.publish_state(), PublishState::failed);
  EXPECT_EQ(sink.pending_epochs(), 1u);
  cursors.fail_published = false;

  // A successor (generation 2) takes the cell over with epoch 3; the retry of epoch 2 is refused.
  auto second = make_sink(args());
  Context c2 = ctx(&cursors);
  c2.generation = Generation{2};
  ASSERT_TRUE(second->on_recover(CheckpointId{0}, c2).ok());
  ASSERT_TRUE(second->open(c2).ok());
  feed(*second, 100, 105);
  ASSERT_TRUE(second->on_barrier(CheckpointId{3}, null).ok());
  ASSERT_TRUE(second->on_checkpoint_committed(CheckpointId{3}).ok());
  EXPECT_EQ(static_cast<KafkaSink&>(*second).publish_state(), PublishState::idle);
  const std::string successor = cursors.cells.at("sink-0");

  Status late = first->on_checkpoint_committed(CheckpointId{2});
  EXPECT_EQ(late.code(), Code::fenced) << late.to_string();
  EXPECT_EQ(sink.publish_state(), PublishState::fenced);
  feed(*first, 20, 30);
  ASSERT_TRUE(first->on_barrier(CheckpointId{4}, null).ok());
  Status again = first->on_checkpoint_committed(CheckpointId{4});
  EXPECT_EQ(again.code(), Code::fenced);
  EXPECT_EQ(again.message(), late.message()) << "fenced is terminal: the same refusal";
  EXPECT_EQ(sink.publish_state(), PublishState::fenced);
  EXPECT_EQ(cursors.cells.at("sink-0"), successor) << "the successor's cursor was overwritten";
  // Epoch 1 (10) and epoch 2 (10: produced before marking failed) of the first sink, epoch 3 (5)
  // of the second; nothing of the fenced sink's epoch 4.
  EXPECT_EQ(consume_all(boot_, topic_).size(), 25u);
  first->close();
  second->close();
}

// Issue 12 (leases): an epoch is published only while Context::side_effects allows it, asked
// before every cursor write and before producing (and again every 4096 records). A refusal fails
// the commit with the gate's status (publish state failed, the epoch kept pending and in the
// snapshot): no cursor, no record; a recovery with the gate open publishes it exactly once.
TEST_F(KafkaSinkTest, ARefusedPublishWritesNoCursorNoRecordAndRecoveryPublishesIt) {
  using sleet::kafka::PublishState;
  MemoryCursorStore cursors;
  test::SwitchGate gate;
  std::string bytes;
  {
    auto sink = make_sink(args());
    Context c = ctx(&cursors);
    c.generation = Generation{3};
    c.side_effects = &gate;
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
    ASSERT_TRUE(sink->open(c).ok());
    NullCollector null;
    feed(*sink, 0, 30);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
    bytes = snapshot(*sink);
    gate.close("ZooKeeper connection suspended");
    Status s = sink->on_checkpoint_committed(CheckpointId{1});
    EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
    EXPECT_NE(s.message().find("ZooKeeper connection suspended"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("KafkaSink sink-0"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("epoch 1"), std::string::npos) << s.message();
    EXPECT_EQ(static_cast<KafkaSink&>(*sink).publish_state(), PublishState::failed);
    EXPECT_EQ(static_cast<KafkaSink&>(*sink).pending_epochs(), 1u);
    EXPECT_TRUE(cursors.cells.empty()) << "a cursor was stored past a closed gate";
    EXPECT_EQ(gate.refused(), 1);
    sink->close();
  }
  EXPECT_TRUE(consume_all(boot_, topic_).empty()) << "records produced past a closed gate";

  gate.open();
  auto sink = make_sink(args());
  ASSERT_TRUE(restore(*sink, bytes).ok());
  Context c = ctx(&cursors);
  c.generation = Generation{4};
  c.side_effects = &gate;
  ASSERT_TRUE(sink->on_recover(CheckpointId{1}, c).ok());
  auto got = consume_all(boot_, topic_);
  ASSERT_EQ(got.size(), 30u);
  auto e1 = copies(got, "sink-0", 1);
  ASSERT_EQ(e1.size(), 30u);
  for (auto [seq, n] : e1) EXPECT_EQ(n, 1) << "seq " << seq;
  sink->close();
}

// The gate closes after the write-ahead cursor was stored (before producing), and in another run
// in the middle of a long epoch (after 4096 of 5000 records): recovery scans from the cursor and
// publishes the rest, every record exactly once.
TEST_F(KafkaSinkTest, AGateClosingMidPublishLeavesAnEpochRecoveryCompletes) {
  const int n = 5000;
  for (const std::string step : {"(from record 0 of", "(from record 4096 of"}) {
    SCOPED_TRACE(step);
    const std::string task =
        "sink-" + std::to_string(step.find("4096") == std::string::npos ? 0 : 1);
    const int index = task == "sink-0" ? 0 : 1;
    MemoryCursorStore cursors;
    test::SwitchGate gate;
    std::string bytes;
    {
      auto sink = make_sink(args());
      Context c = ctx(&cursors, index);
      c.generation = Generation{1};
      c.side_effects = &gate;
      ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
      ASSERT_TRUE(sink->open(c).ok());
      NullCollector null;
      feed(*sink, 0, n);
      ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
      bytes = snapshot(*sink);
      gate.close_when(step);
      Status s = sink->on_checkpoint_committed(CheckpointId{1});
      EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
      EXPECT_EQ(gate.refused(), 1);
      auto cur = PublishCursor::decode(cursors.cells.at(task));
      ASSERT_TRUE(cur.ok()) << cur.status().to_string();
      EXPECT_EQ(cur->epoch, 1);
      EXPECT_FALSE(cur->published);
      sink->close();
    }
    gate.open();
    auto sink = make_sink(args());
    ASSERT_TRUE(restore(*sink, bytes).ok());
    Context c = ctx(&cursors, index);
    c.generation = Generation{2};
    c.side_effects = &gate;
    ASSERT_TRUE(sink->on_recover(CheckpointId{1}, c).ok());
    auto e1 = copies(consume_all(boot_, topic_), task, 1);
    ASSERT_EQ(e1.size(), static_cast<size_t>(n));
    for (auto [seq, k] : e1) ASSERT_EQ(k, 1) << "seq " << seq;
    EXPECT_TRUE(PublishCursor::decode(cursors.cells.at(task))->published);
    sink->close();
  }
}

// The epoch figures the worker's metrics read (core/sink_metrics.hpp): pending = closed at a
// barrier and not yet published; published = every record delivered and the cursor marked.
TEST_F(KafkaSinkTest, EpochCountersFollowPendingAndPublished) {
  MemoryCursorStore cursors;
  auto sink = make_sink(args());
  std::map<std::string, Counter> counters;
  auto get = [&](const char* n) { return counters.count(n) ? counters[n].get() : -1; };
  Context c = ctx(&cursors, 1);
  c.counter = [&](const std::string& n) { return &counters[n]; };
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
  ASSERT_TRUE(sink->open(c).ok());
  NullCollector null;
  feed(*sink, 0, 10);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  feed(*sink, 10, 20);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{2}, null).ok());
  EXPECT_EQ(get(kSinkEpochsPending), 2);
  EXPECT_EQ(get(kSinkEpochsPublished), 0);
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(get(kSinkEpochsPending), 1);
  EXPECT_EQ(get(kSinkEpochsPublished), 1);
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());  // repeated: nothing more
  EXPECT_EQ(get(kSinkEpochsPending), 0);
  EXPECT_EQ(get(kSinkEpochsPublished), 2);
  EXPECT_EQ(consume_all(boot_, topic_).size(), 20u);
  sink->close();
}
