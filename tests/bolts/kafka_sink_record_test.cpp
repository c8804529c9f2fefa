// KafkaSink `format: record` (what the engine's dead-letter sinks use): field `key` is the key,
// field `value` the value bytes as is, every other field a header; the records survive a
// snapshot/restore (state version 2), and version 1 state (records without headers) still restores.
#include <gtest/gtest.h>

#include <sleet/registry.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <sstream>

#include "bolts/kafka_sink.hpp"
#include "tests/support/components.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Bolt> make_sink(const std::string& topic) {
  return create_component<Bolt>("KafkaSink", Args{{"topic", topic}, {"format", "record"}});
}

struct NullCollector : Collector {
  void emit(Values&&) override {}
};

// KafkaSink state version 1, as an older build wrote it.
struct RecordV1 {
  bool has_key = false;
  std::string key, value;
  template <class A>
  void serialize(A& ar) {
    ar(has_key, key, value);
  }
};
struct EpochV1 {
  int64_t id = 0;
  std::vector<RecordV1> records;
  template <class A>
  void serialize(A& ar) {
    ar(id, records);
  }
};

}  // namespace

TEST(KafkaSinkRecord, KeyValueAndHeadersAsIsThroughASnapshot) {
  auto kafka = start_kafka({{"rec", 2}});
  MemoryCursorStore cursors;
  Context ctx =
      make_context("dl", 0, 1, {{"kafka.bootstrap.servers", kafka->bootstrap()}}, &cursors);
  auto a = make_sink("rec");
  EXPECT_EQ(a->state_version(), 2u);
  ASSERT_TRUE(a->on_recover(CheckpointId{0}, ctx).ok());
  ASSERT_TRUE(a->open(ctx).ok());
  const Fields with_key{"key", "value", "sleet.dlq.offset", "sleet.dlq.error"};
  const Fields without_key{"value", "note"};
  NullCollector null;
  a->execute(Tuple(&with_key, {std::string("k1"), Bytes{std::string("v\0\t1", 4)}, int64_t{42},
                               std::string("boom")}),
             null);
  a->execute(Tuple(&with_key, {std::string(""), std::string("v2"), int64_t{7}, std::string("x")}),
             null);
  a->execute(Tuple(&without_key, {std::string("{\"n\":3}"), std::string("n")}), null);
  const Fields no_value{"key"};
  EXPECT_THROW(a->execute(Tuple(&no_value, {std::string("k")}), null), std::invalid_argument);
  ASSERT_TRUE(a->on_barrier(CheckpointId{1}, null).ok());
  std::ostringstream os(std::ios::binary);
  {
    StateWriter w(os);
    a->snapshot_state(w);
  }
  a->close();

  // A restarted sink restores checkpoint 1 and publishes it at recovery.
  auto b = make_sink("rec");
  std::istringstream is(os.str(), std::ios::binary);
  {
    StateReader r(is);
    ASSERT_TRUE(b->restore_state(r, 2).ok());
  }
  ASSERT_TRUE(b->on_recover(CheckpointId{1}, ctx).ok());
  auto got = consume_all(kafka->bootstrap(), "rec");
  ASSERT_EQ(got.size(), 3u);
  std::map<std::string, ConsumedRecord> by_value;
  for (auto& r : got) by_value[r.value] = r;
  ASSERT_TRUE(by_value.count(std::string("v\0\t1", 4)));
  auto& r1 = by_value[std::string("v\0\t1", 4)];
  EXPECT_EQ(r1.key.value_or("<none>"), "k1");
  EXPECT_EQ(r1.headers["sleet.dlq.offset"], "42");
  EXPECT_EQ(r1.headers["sleet.dlq.error"], "boom");
  EXPECT_EQ(r1.headers["sleet.task"], "dl-0");
  EXPECT_EQ(r1.headers["sleet.epoch"], "1");
  EXPECT_FALSE(by_value["v2"].key.has_value()) << "an empty key is no key";
  EXPECT_EQ(by_value["{\"n\":3}"].headers["note"], "n");
  b->close();
}

TEST(KafkaSinkRecord, Version1StateStillRestores) {
  auto kafka = start_kafka({{"old", 1}});
  MemoryCursorStore cursors;
  Context ctx =
      make_context("sink", 0, 1, {{"kafka.bootstrap.servers", kafka->bootstrap()}}, &cursors);
  std::vector<EpochV1> v1 = {{3, {{true, "a", "1"}, {false, "", "2"}}}};
  std::ostringstream os(std::ios::binary);
  {
    StateWriter w(os);
    w(v1);
  }
  auto c = Registry::global().create("KafkaSink", Args{{"topic", "old"}});
  ASSERT_TRUE(c.ok());
  std::istringstream is(os.str(), std::ios::binary);
  {
    StateReader r(is);
    ASSERT_TRUE((*c)->restore_state(r, 1).ok());
  }
  ASSERT_TRUE((*c)->on_recover(CheckpointId{3}, ctx).ok());
  auto got = consume_all(kafka->bootstrap(), "old");
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> values;
  for (auto& r : got) values.insert(r.value);
  EXPECT_EQ(values, (std::set<std::string>{"1", "2"}));
  std::istringstream is3(os.str(), std::ios::binary);
  {
    StateReader r(is3);
    EXPECT_EQ((*c)->restore_state(r, 3).code(), Code::incompatible);
  }
  (*c)->close();
}
