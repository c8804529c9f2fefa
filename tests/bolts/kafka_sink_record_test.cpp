// KafkaSink `format: record` (what the engine's dead-letter sinks use): field `key` is the key,
// field `value` the value bytes as is, every other field a header; the records survive a
// snapshot/restore (state version 3: null values and null header values too), and version 1 and 2
// state still restores.
#include <gtest/gtest.h>

#include <sleet/kafka_headers.hpp>
#include <sleet/registry.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
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
// Version 2: headers (never null), no null values.
struct RecordV2 {
  bool has_key = false;
  std::string key, value;
  std::vector<std::pair<std::string, std::string>> headers;
  template <class A>
  void serialize(A& ar) {
    ar(has_key, key, value, headers);
  }
};
struct EpochV2 {
  int64_t id = 0;
  std::vector<RecordV2> records;
  template <class A>
  void serialize(A& ar) {
    ar(id, records);
  }
};

// Reads `n` records of `topic` back through KafkaSpout: its 8 fields per record.
std::vector<Values> read_back(const std::string& boot, const std::string& topic, size_t n) {
  auto c = Registry::global().create("KafkaSpout", Args{{"topic", topic}});
  if (!c.ok()) throw std::runtime_error(c.status().to_string());
  auto* s = dynamic_cast<Spout*>(c->get());
  struct Keep : Collector {
    std::vector<Values> got;
    void emit(Values&& v) override { got.push_back(std::move(v)); }
  } keep;
  Context ctx = make_context("back", 0, 1, {{"kafka.bootstrap.servers", boot}});
  EXPECT_TRUE(s->open(ctx).ok());
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = s->next_batch(keep);
        return r.ok() && keep.got.size() >= n;
      },
      20s, 1ms));
  s->close();
  return keep.got;
}

}  // namespace

TEST(KafkaSinkRecord, KeyValueAndHeadersAsIsThroughASnapshot) {
  auto kafka = start_kafka({{"rec", 2}});
  MemoryCursorStore cursors;
  Context ctx =
      make_context("dl", 0, 1, {{"kafka.bootstrap.servers", kafka->bootstrap()}}, &cursors);
  auto a = make_sink("rec");
  EXPECT_EQ(a->state_version(), 3u);
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
    ASSERT_TRUE(b->restore_state(r, b->state_version()).ok());
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
    EXPECT_EQ((*c)->restore_state(r, 4).code(), Code::incompatible);
  }
  (*c)->close();
}

// A KafkaSpout tuple whose value is null (value_null true) goes out with a null value, not an
// empty one, and a null header value stays null, through the sink's state (version 3): read back
// by KafkaSpout (value_null, the headers' encoding; kcat -Z cannot tell, it prints NULL for an
// empty value too).
TEST(KafkaSinkRecord, NullValuesAndNullHeaderValuesStayNull) {
  auto kafka = start_kafka({{"nulls", 1}});
  MemoryCursorStore cursors;
  Context ctx =
      make_context("copy", 0, 1, {{"kafka.bootstrap.servers", kafka->bootstrap()}}, &cursors);
  auto a = make_sink("nulls");
  ASSERT_TRUE(a->on_recover(CheckpointId{0}, ctx).ok());
  ASSERT_TRUE(a->open(ctx).ok());
  const Fields spout{"key",       "value",   "partition", "offset",
                     "timestamp", "headers", "key_null",  "value_null"};
  KafkaHeaders h;
  h.add("gone", std::nullopt);
  h.add("empty", std::string());
  h.add("full", std::string("x"));
  NullCollector null;
  auto tuple = [&](std::string key, bool value_null) {
    return Tuple(&spout, {std::move(key), std::string(), int64_t{0}, int64_t{0}, int64_t{-1},
                          h.encode(), false, value_null});
  };
  a->execute(tuple("null-value", true), null);
  a->execute(tuple("empty-value", false), null);
  ASSERT_TRUE(a->on_barrier(CheckpointId{1}, null).ok());
  std::ostringstream os(std::ios::binary);
  {
    StateWriter w(os);
    a->snapshot_state(w);
  }
  a->close();
  auto b = make_sink("nulls");
  std::istringstream is(os.str(), std::ios::binary);
  {
    StateReader r(is);
    ASSERT_TRUE(b->restore_state(r, b->state_version()).ok());
  }
  ASSERT_TRUE(b->on_recover(CheckpointId{1}, ctx).ok());
  b->close();

  auto got = read_back(kafka->bootstrap(), "nulls", 2);
  ASSERT_EQ(got.size(), 2u);
  std::map<std::string, Values> by_key;
  for (auto& v : got) by_key[std::get<std::string>(v[0])] = v;
  ASSERT_EQ(by_key.size(), 2u);
  EXPECT_TRUE(std::get<bool>(by_key["null-value"][7])) << "value_null";
  EXPECT_FALSE(std::get<bool>(by_key["empty-value"][7])) << "an empty value is not null";
  for (auto& [k, v] : by_key) {
    auto back = KafkaHeaders::decode(std::get<Bytes>(v[5]));
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    ASSERT_NE(back->find("gone"), nullptr) << k;
    EXPECT_FALSE(back->find("gone")->value.has_value()) << k << ": a null header value";
    ASSERT_NE(back->find("empty"), nullptr) << k;
    EXPECT_EQ(back->find("empty")->value, std::optional<std::string>("")) << k;
    EXPECT_EQ(back->find("full")->value, std::optional<std::string>("x")) << k;
  }
}

// State version 2 (headers, no null values) still restores: every record as it was.
TEST(KafkaSinkRecord, Version2StateStillRestores) {
  auto kafka = start_kafka({{"old2", 1}});
  MemoryCursorStore cursors;
  Context ctx =
      make_context("sink", 0, 1, {{"kafka.bootstrap.servers", kafka->bootstrap()}}, &cursors);
  std::vector<EpochV2> v2 = {{4, {{true, "a", "1", {{"h", "x"}, {"e", ""}}}, {false, "", "", {}}}}};
  std::ostringstream os(std::ios::binary);
  {
    StateWriter w(os);
    w(v2);
  }
  auto b = make_sink("old2");
  std::istringstream is(os.str(), std::ios::binary);
  {
    StateReader r(is);
    ASSERT_TRUE(b->restore_state(r, 2).ok());
  }
  ASSERT_TRUE(b->on_recover(CheckpointId{4}, ctx).ok());
  auto got = consume_all(kafka->bootstrap(), "old2");
  ASSERT_EQ(got.size(), 2u);
  std::map<std::string, ConsumedRecord> by_value;
  for (auto& r : got) by_value[r.value] = r;
  EXPECT_EQ(by_value["1"].key.value_or("<none>"), "a");
  EXPECT_EQ(by_value["1"].headers["h"], "x");
  EXPECT_EQ(by_value["1"].headers["e"], "");
  EXPECT_TRUE(by_value.count(""));
  EXPECT_FALSE(by_value[""].key.has_value());
  b->close();
}
