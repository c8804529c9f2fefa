// KafkaSpout's event time against librdkafka's mock cluster, driven by hand (no runtime): tuple
// timestamps from the Kafka record timestamp or a field, per-partition watermarks with the
// out-of-orderness bound, idle partitions.
#include <gtest/gtest.h>

#include <sleet/registry.hpp>
#include <sleet/this_task.hpp>

#include "core/checkpoint_contract.hpp"
#include "tests/support/components.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/kafka_topic_test.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

// Keeps what emit_at was given.
struct Stamped : Collector {
  std::vector<std::pair<std::string, int64_t>> got;  // (key, timestamp)
  using Collector::emit;
  void emit(Values&& v) override { emit_at(kNoTimestamp, std::move(v)); }
  void emit_at(int64_t ts, Values&& v) override {
    got.emplace_back(std::get<std::string>(v[0]), ts);
  }
};

std::unique_ptr<Spout> make_spout(Args args) {
  return create_component<Spout>("KafkaSpout", args);
}

bool read_until(Spout& s, Stamped& out, size_t n) {
  return wait_until(
      [&] {
        auto r = s.next_batch(out);
        if (!r.ok()) throw std::runtime_error(r.status().to_string());
        return out.got.size() >= n;
      },
      20s, 1ms);
}

ProduceRecord rec(std::string key, int32_t partition, int64_t ts) {
  ProduceRecord r;
  r.key = std::move(key);
  r.value = "v";
  r.partition = partition;
  r.timestamp = ts;
  return r;
}

class KafkaEventTime : public KafkaTopicTest {
 protected:
  KafkaEventTime() : KafkaTopicTest(2) {}
  std::unique_ptr<Spout> open(Args args, Context& ctx) {
    args.set("topic", Arg(topic_));
    auto s = make_spout(std::move(args));
    ctx = make_context("events", 0, 1, {{"kafka.bootstrap.servers", boot_}});
    ctx.counter = [this](const std::string& name) { return &counters_[name]; };
    EXPECT_TRUE(s->open(ctx).ok());
    return s;
  }
  std::map<std::string, Counter> counters_;
};

}  // namespace

TEST_F(KafkaEventTime, RecordTimestampsAndTheMinimumOverPartitionsMinusTheBound) {
  Context ctx;
  auto s = open({{"max_out_of_orderness_ms", int64_t{100}}}, ctx);
  EXPECT_EQ(s->watermark(), kNoTimestamp) << "nothing read yet";
  produce(boot_, topic_, {rec("a", 0, 1000), rec("b", 0, 3000), rec("c", 0, 2000)});
  Stamped out;
  ASSERT_TRUE(read_until(*s, out, 3));
  EXPECT_EQ(s->watermark(), kNoTimestamp) << "partition 1 has not been read: it holds it back";
  produce(boot_, topic_, {rec("d", 1, 1500)});
  ASSERT_TRUE(read_until(*s, out, 4));
  std::map<std::string, int64_t> ts(out.got.begin(), out.got.end());
  EXPECT_EQ(ts,
            (std::map<std::string, int64_t>{{"a", 1000}, {"b", 3000}, {"c", 2000}, {"d", 1500}}));
  EXPECT_EQ(s->watermark(), 1500 - 100 - 1);
  produce(boot_, topic_, {rec("e", 1, 5000)});
  ASSERT_TRUE(read_until(*s, out, 5));
  EXPECT_EQ(s->watermark(), 3000 - 100 - 1) << "partition 0 now the slower";
  s->close();
}

TEST_F(KafkaEventTime, AnIdlePartitionStopsHoldingTheWatermarkBack) {
  Context ctx;
  auto s = open({{"idle_timeout_ms", int64_t{300}}}, ctx);
  produce(boot_, topic_, {rec("a", 0, 1000)});
  Stamped out;
  ASSERT_TRUE(read_until(*s, out, 1));
  // Partition 1 never had a record: idle 300 ms after open, then partition 0 alone counts.
  EXPECT_TRUE(wait_until([&] { return s->watermark() == 999; }, 10s)) << s->watermark();
  produce(boot_, topic_, {rec("b", 1, 500)});
  ASSERT_TRUE(read_until(*s, out, 2));
  // Partition 1 is active again, behind: the spout reports the lower value (the runtime never
  // forwards a drop); then both go idle.
  const int64_t w = s->watermark();
  EXPECT_TRUE(w == 499 || w == kIdleWatermark) << w;
  EXPECT_TRUE(wait_until([&] { return s->watermark() == kIdleWatermark; }, 10s)) << s->watermark();
  s->close();
}

TEST_F(KafkaEventTime, TimestampFromTheKeyOrNone) {
  {
    Context ctx;
    auto s = open({{"timestamp_field", "key"}}, ctx);
    produce(boot_, topic_, {rec("12345", 0, 1), rec("x", 0, 2), rec("700", 1, 3)});
    Stamped out;
    ASSERT_TRUE(read_until(*s, out, 3));
    std::map<std::string, int64_t> ts(out.got.begin(), out.got.end());
    EXPECT_EQ(
        ts, (std::map<std::string, int64_t>{{"12345", 12345}, {"x", kNoTimestamp}, {"700", 700}}));
    EXPECT_EQ(counters_["no_timestamp"].get(), 1);
    EXPECT_EQ(s->watermark(), 699);
    s->close();
  }
  {
    Context ctx;
    auto s = open({{"timestamp_field", "none"}}, ctx);
    Stamped out;
    ASSERT_TRUE(read_until(*s, out, 3));
    for (auto& [k, t] : out.got) EXPECT_EQ(t, kNoTimestamp) << k;
    EXPECT_EQ(s->watermark(), kNoTimestamp);
    s->close();
  }
  auto bad =
      Registry::global().create("KafkaSpout", {{"topic", "t"}, {"timestamp_field", "value"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("timestamp_field must be"), std::string::npos)
      << bad.status().message();
}

// The largest event time per partition is checkpointed with the positions
// (EventTimeCheckpointed): a spout restored from another's positions and event times reports the
// same watermark before it reads anything, also when partitions move to other tasks. With the
// positions alone (a checkpoint older than manifest format 5) it is unknown until read, as before.
TEST_F(KafkaEventTime, ARestoredSpoutResumesTheWatermarkOfTheCheckpoint) {
  Context ctx;
  auto s = open({{"max_out_of_orderness_ms", int64_t{100}}}, ctx);
  produce(boot_, topic_,
          {rec("a", 0, 1000), rec("b", 0, 3000), rec("c", 1, 2500), rec("d", 1, 2000)});
  Stamped out;
  ASSERT_TRUE(read_until(*s, out, 4));
  const int64_t before = s->watermark();
  ASSERT_EQ(before, 2500 - 100 - 1);
  auto* et = dynamic_cast<EventTimeCheckpointed*>(s.get());
  ASSERT_NE(et, nullptr);
  const SourcePositions positions = s->positions();
  const SourceEventTimes times = et->event_times();
  EXPECT_EQ(times,
            (SourceEventTimes{{topic_, PartitionId{0}, 3000}, {topic_, PartitionId{1}, 2500}}));
  s->close();

  auto restored = [&](int task, int parallelism, bool with_times) {
    auto r = make_spout({{"topic", topic_}, {"max_out_of_orderness_ms", int64_t{100}}});
    EXPECT_TRUE(r->seek(positions).ok());
    EXPECT_TRUE(r->on_recover(CheckpointId{3}, ctx).ok());
    if (with_times) dynamic_cast<EventTimeCheckpointed&>(*r).restore_event_times(times);
    Context c = make_context("events", task, parallelism, {{"kafka.bootstrap.servers", boot_}});
    EXPECT_TRUE(r->open(c).ok());
    return r;
  };
  {
    auto r = restored(0, 1, true);
    EXPECT_EQ(r->watermark(), before) << "the first watermark after the restore";
    // An older record read after the restore does not lower it; a newer one raises it.
    produce(boot_, topic_, {rec("e", 1, 1500)});
    Stamped more;
    ASSERT_TRUE(read_until(*r, more, 1));
    EXPECT_EQ(r->watermark(), before);
    produce(boot_, topic_, {rec("f", 1, 2800)});
    ASSERT_TRUE(read_until(*r, more, 2));
    EXPECT_EQ(r->watermark(), 2800 - 100 - 1);
    r->close();
  }
  {
    // Two tasks now: each takes the event time of the partition it owns.
    auto r0 = restored(0, 2, true), r1 = restored(1, 2, true);
    EXPECT_EQ(r0->watermark(), 3000 - 100 - 1);
    EXPECT_EQ(dynamic_cast<EventTimeCheckpointed&>(*r1).event_times(),
              (SourceEventTimes{{topic_, PartitionId{1}, 2500}}));
    r0->close();
    r1->close();
  }
  auto r = restored(0, 1, false);
  EXPECT_EQ(r->watermark(), kNoTimestamp) << "no event times recorded: unknown until read";
  r->close();
}
