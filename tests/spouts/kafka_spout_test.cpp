// KafkaSpout against librdkafka's mock cluster, driven by hand (open / next_batch in a loop with a
// vector-backed Collector; no runtime, no fibers).
#include <gtest/gtest.h>

#include <sleet/registry.hpp>
#include <sleet/this_task.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "spouts/kafka_spout.hpp"
#include "tests/support/components.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/kafka_topic_test.hpp"
#include "topology_dsl/loader.hpp"

using namespace sleet;
using namespace sleet::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Spout> make_spout(Args args) {
  return create_component<Spout>("KafkaSpout", args);
}

// Calls next_batch until `done()` or the deadline; returns whether done() became true.
bool drive(Spout& s, VectorCollector& out, const std::function<bool()>& done,
           std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    auto n = s.next_batch(out);
    if (!n.ok()) throw std::runtime_error(n.status().to_string());
    if (*n == 0) this_task::sleep_for(1ms);
  }
  return true;
}

struct Key {
  int64_t partition, offset;
  auto operator<=>(const Key&) const = default;
};

// (partition, offset) -> value of every emitted tuple; fails on a duplicate.
void collect(const std::vector<Values>& tuples, std::map<Key, std::string>& seen) {
  for (const auto& v : tuples) {
    ASSERT_EQ(v.size(), 8u) << "key value partition offset timestamp headers key_null value_null";
    EXPECT_EQ(std::get<Bytes>(v[5]).data, "") << "these records have no headers";
    EXPECT_EQ(std::get<bool>(v[6]), std::get<std::string>(v[0]).empty())
        << "these records have a non-empty key or none (null)";
    EXPECT_FALSE(std::get<bool>(v[7])) << "and values";
    Key k{std::get<int64_t>(v[2]), std::get<int64_t>(v[3])};
    ASSERT_TRUE(seen.emplace(k, std::get<std::string>(v[1])).second)
        << "record emitted twice: partition " << k.partition << " offset " << k.offset;
  }
}

std::map<int32_t, int64_t> as_map(const SourcePositions& ps, const std::string& topic) {
  std::map<int32_t, int64_t> m;
  for (const auto& p : ps) {
    EXPECT_EQ(p.topic, topic);
    EXPECT_TRUE(m.emplace(p.partition.value, p.next.value).second) << "partition listed twice";
  }
  return m;
}

// N records spread unevenly over partitions 0..3 of a 5-partition topic (partition 4 stays empty).
std::vector<ProduceRecord> uneven_records(int n) {
  std::vector<ProduceRecord> rs;
  for (int i = 0; i < n; ++i) {
    int p = i % 7 < 3 ? 0 : i % 7 < 5 ? 1 : i % 7 < 6 ? 2 : 3;
    rs.push_back({"k" + std::to_string(i), "value-" + std::to_string(i), p, {}});
  }
  return rs;
}

// Each test gets its own 5-partition topic named after the test.
class KafkaSpoutTest : public KafkaTopicTest {
 protected:
  KafkaSpoutTest() : KafkaTopicTest(5) {}
};

TEST_F(KafkaSpoutTest, TwoTasksEmitEveryRecordExactlyOnce) {
  const int n = 3000;
  produce(boot_, topic_, uneven_records(n));

  std::map<Key, std::string> seen;
  std::map<int32_t, int64_t> positions;
  for (int task = 0; task < 2; ++task) {
    auto spout = make_spout({{"topic", topic_}, {"max.batch", int64_t{100}}});
    EXPECT_EQ(spout->output_fields(), (Fields{"key", "value", "partition", "offset", "timestamp",
                                              "headers", "key_null", "value_null"}));
    // bootstrap.servers comes from the topology config when the arg is absent.
    Context ctx = make_context("reader", task, 2, {{"kafka.bootstrap.servers", boot_}});
    ASSERT_TRUE(spout->open(ctx).ok());
    VectorCollector out;
    ASSERT_TRUE(drive(*spout, out, [&] { return spout->drained(); }));
    // Nothing more arrives once drained.
    for (int i = 0; i < 20; ++i) ASSERT_EQ(*spout->next_batch(out), 0u);
    for (const auto& v : out.tuples) {
      EXPECT_EQ(std::get<int64_t>(v[2]) % 2, task) << "partition p belongs to task p % 2";
      EXPECT_EQ(std::get<std::string>(v[0]).substr(1), std::get<std::string>(v[1]).substr(6));
      EXPECT_GT(std::get<int64_t>(v[4]), 0) << "timestamp";
    }
    collect(out.tuples, seen);
    for (auto [p, next] : as_map(spout->positions(), topic_)) {
      EXPECT_EQ(p % 2, task);
      positions[p] = next;
    }
    spout->close();
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));
  std::set<std::string> values;
  for (auto& [k, v] : seen) values.insert(v);
  EXPECT_EQ(values.size(), static_cast<size_t>(n));
  // positions are next offsets: the count of records per partition here (all start at 0),
  // and the empty partition 4 is listed at 0.
  std::map<int32_t, int64_t> expect = {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}};
  for (auto& [k, v] : seen) expect[static_cast<int32_t>(k.partition)]++;
  EXPECT_EQ(positions, expect);
}

TEST_F(KafkaSpoutTest, SeekResumesExactlyAtStoredPositions) {
  const int n = 2000;
  produce(boot_, topic_, uneven_records(n));
  Context ctx = make_context("reader", 0, 1);

  // First life: read a part of the input, then "checkpoint" the positions.
  std::map<Key, std::string> seen;
  SourcePositions stored;
  {
    auto spout =
        make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}, {"max.batch", int64_t{37}}});
    ASSERT_TRUE(spout->open(ctx).ok());
    VectorCollector out;
    ASSERT_TRUE(drive(*spout, out, [&] { return out.tuples.size() >= 700; }));
    collect(out.tuples, seen);
    stored = spout->positions();
    ASSERT_EQ(stored.size(), 5u) << "every owned partition, idle and empty ones included";
    // The stored position of a partition is one past the last offset emitted from it.
    std::map<int32_t, int64_t> last;
    for (auto& [k, v] : seen) last[static_cast<int32_t>(k.partition)] = k.offset;
    for (auto [p, next] : as_map(stored, topic_)) {
      if (last.count(p)) {
        EXPECT_EQ(next, last[p] + 1) << "partition " << p;
      } else {
        EXPECT_EQ(next, 0) << "partition " << p;
      }
    }
  }
  // Second life: seek to the stored positions and read the rest.
  auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}});
  SourcePositions with_noise = stored;
  with_noise.push_back({"other-topic", PartitionId{0}, Offset{5}});  // not ours: ignored
  ASSERT_TRUE(spout->seek(with_noise).ok());
  ASSERT_TRUE(spout->open(ctx).ok());
  EXPECT_EQ(spout->positions(), stored) << "before reading, positions are the seeked ones";
  VectorCollector out;
  ASSERT_TRUE(drive(*spout, out, [&] { return spout->drained(); }));
  std::map<int32_t, int64_t> first;  // first offset emitted per partition after the seek
  for (const auto& v : out.tuples) first.emplace(std::get<int64_t>(v[2]), std::get<int64_t>(v[3]));
  for (auto [p, next] : as_map(stored, topic_))
    if (first.count(p)) {
      EXPECT_EQ(first[p], next) << "partition " << p << " resumed elsewhere";
    }
  collect(out.tuples, seen);  // fails on any record counted twice
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
}

TEST_F(KafkaSpoutTest, IdlePartitionsKeepTheirPositionsAndDrainedFollowsNewData) {
  produce(boot_, topic_, uneven_records(100));
  auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}});
  Context ctx = make_context("reader", 0, 1);
  ASSERT_TRUE(spout->open(ctx).ok());
  VectorCollector out;
  ASSERT_TRUE(drive(*spout, out, [&] { return spout->drained(); }));
  auto before = as_map(spout->positions(), topic_);
  ASSERT_EQ(before.size(), 5u);

  // New data in partition 2 only: the task is no longer drained once the consumer sees it, and
  // only partition 2's position moves.
  produce(boot_, topic_, {{std::nullopt, "late-1", 2, {}}, {std::nullopt, "late-2", 2, {}}});
  out.tuples.clear();
  ASSERT_TRUE(drive(*spout, out, [&] { return out.tuples.size() == 2; }));
  EXPECT_EQ(std::get<std::string>(out.tuples[0][0]), "") << "null key -> empty string";
  EXPECT_EQ(std::get<std::string>(out.tuples[1][1]), "late-2");
  ASSERT_TRUE(drive(*spout, out, [&] { return spout->drained(); }));
  auto after = as_map(spout->positions(), topic_);
  for (auto [p, next] : before) EXPECT_EQ(after[p], p == 2 ? next + 2 : next) << "partition " << p;
}

TEST_F(KafkaSpoutTest, LatestStartsAtTheEnd) {
  produce(boot_, topic_, uneven_records(50));
  auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}, {"start", "latest"}});
  Context ctx = make_context("reader", 0, 1);
  ASSERT_TRUE(spout->open(ctx).ok());
  auto start = as_map(spout->positions(), topic_);
  std::map<int32_t, int64_t> expect = {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}};
  for (const auto& r : uneven_records(50)) expect[r.partition]++;
  EXPECT_EQ(start, expect) << "never-read partitions report the resolved start offset";
  VectorCollector out;
  ASSERT_TRUE(drive(*spout, out, [&] { return spout->drained(); }));
  EXPECT_TRUE(out.tuples.empty());
  produce(boot_, topic_, {{"a", "new", 1, {}}});
  ASSERT_TRUE(drive(*spout, out, [&] { return out.tuples.size() == 1; }));
  EXPECT_EQ(std::get<std::string>(out.tuples[0][1]), "new");
  EXPECT_EQ(std::get<int64_t>(out.tuples[0][3]), expect[1]);
}

// The `offsets` argument: named partitions start there on a fresh start, the others at `start`;
// a checkpoint's positions (or merely having a checkpoint) override it.
TEST_F(KafkaSpoutTest, GivenOffsetsApplyOnAFreshStartOnly) {
  produce(boot_, topic_, uneven_records(70));  // 30 / 20 / 10 / 10 / 0
  const std::map<std::string, Arg> given = {{"0", int64_t{25}}, {"3", int64_t{10}}};
  auto offsets_spout = [&](std::string start) {
    return make_spout(
        {{"topic", topic_}, {"bootstrap.servers", boot_}, {"start", start}, {"offsets", given}});
  };
  Context ctx = make_context("reader", 0, 1);
  {
    auto spout = offsets_spout("earliest");
    ASSERT_TRUE(spout->seek({}).ok()) << "the engine's fresh start: no positions";
    ASSERT_TRUE(spout->on_recover(CheckpointId{0}, ctx).ok());
    ASSERT_TRUE(spout->open(ctx).ok());
    std::map<int32_t, int64_t> expect = {{0, 25}, {1, 0}, {2, 0}, {3, 10}, {4, 0}};
    EXPECT_EQ(as_map(spout->positions(), topic_), expect);
    VectorCollector out;
    ASSERT_TRUE(drive(*spout, out, [&] { return spout->drained(); }));
    std::map<Key, std::string> seen;
    collect(out.tuples, seen);
    std::map<int32_t, std::set<int64_t>> offsets;
    for (auto& [k, v] : seen) offsets[static_cast<int32_t>(k.partition)].insert(k.offset);
    EXPECT_EQ(offsets[0], (std::set<int64_t>{25, 26, 27, 28, 29})) << "from the given offset on";
    EXPECT_EQ(offsets[1].size(), 20u) << "not named: start (earliest)";
    EXPECT_EQ(offsets[2].size(), 10u);
    EXPECT_TRUE(offsets[3].empty()) << "given offset 10 is partition 3's end";
  }
  {
    auto spout = offsets_spout("latest");
    ASSERT_TRUE(spout->open(ctx).ok());
    std::map<int32_t, int64_t> expect = {{0, 25}, {1, 20}, {2, 10}, {3, 10}, {4, 0}};
    EXPECT_EQ(as_map(spout->positions(), topic_), expect) << "not named: start (latest)";
  }
  {
    // Recovery: the stored position of partition 0 wins over the given one.
    auto spout = offsets_spout("earliest");
    ASSERT_TRUE(spout->seek({{topic_, PartitionId{0}, Offset{3}}}).ok());
    ASSERT_TRUE(spout->on_recover(CheckpointId{4}, ctx).ok());
    ASSERT_TRUE(spout->open(ctx).ok());
    std::map<int32_t, int64_t> expect = {{0, 3}, {1, 0}, {2, 0}, {3, 0}, {4, 0}};
    EXPECT_EQ(as_map(spout->positions(), topic_), expect)
        << "with a checkpoint, partitions it does not name use start, not offsets";
  }
  {
    // A checkpoint without positions of this topic is still a recovery.
    auto spout = offsets_spout("earliest");
    ASSERT_TRUE(spout->seek({}).ok());
    ASSERT_TRUE(spout->on_recover(CheckpointId{4}, ctx).ok());
    ASSERT_TRUE(spout->open(ctx).ok());
    EXPECT_EQ(as_map(spout->positions(), topic_)[0], 0);
  }
  {
    // Two tasks: each applies only the given offsets of the partitions it owns (p % 2).
    for (int task = 0; task < 2; ++task) {
      auto spout = offsets_spout("earliest");
      Context c2 = make_context("reader", task, 2);
      ASSERT_TRUE(spout->open(c2).ok());
      std::map<int32_t, int64_t> expect = task == 0
                                              ? std::map<int32_t, int64_t>{{0, 25}, {2, 0}, {4, 0}}
                                              : std::map<int32_t, int64_t>{{1, 0}, {3, 10}};
      EXPECT_EQ(as_map(spout->positions(), topic_), expect) << "task " << task;
    }
  }
}

TEST_F(KafkaSpoutTest, MistypedOrImpossibleOffsetsAreClearErrors) {
  produce(boot_, topic_, uneven_records(70));  // 30 / 20 / 10 / 10 / 0
  auto create = [&](Arg offsets) {
    return Registry::global().create(
        "KafkaSpout", {{"topic", topic_}, {"bootstrap.servers", boot_}, {"offsets", offsets}});
  };
  auto message_of = [](const auto& r) { return r.ok() ? std::string("ok") : r.status().message(); };
  {
    auto r = create(Arg("0=120"));
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(message_of(r).find("argument 'offsets' must be map, got string"), std::string::npos)
        << message_of(r);
  }
  {
    auto r = create(std::map<std::string, Arg>{{"zero", int64_t{1}}});
    EXPECT_NE(message_of(r).find("offsets: key 'zero' is not a partition number"),
              std::string::npos)
        << message_of(r);
  }
  {
    auto r = create(std::map<std::string, Arg>{{"0", Arg("120")}});
    EXPECT_NE(message_of(r).find("offsets: offset of partition 0 must be a non-negative integer, "
                                 "got string '120'"),
              std::string::npos)
        << message_of(r);
  }
  {
    auto r = create(std::map<std::string, Arg>{{"1", int64_t{-2}}});
    EXPECT_NE(message_of(r).find("offset of partition 1 must be a non-negative integer"),
              std::string::npos)
        << message_of(r);
  }
  {
    auto r = create(std::map<std::string, Arg>{{"-1", int64_t{0}}});
    EXPECT_NE(message_of(r).find("key '-1' is not a partition number"), std::string::npos)
        << message_of(r);
  }
  Context ctx = make_context("reader", 1, 2);  // owns partitions 1 and 3, not 0 or 9
  {
    auto spout = make_spout({{"topic", topic_},
                             {"bootstrap.servers", boot_},
                             {"offsets", std::map<std::string, Arg>{{"9", int64_t{0}}}}});
    Status s = spout->open(ctx);
    EXPECT_EQ(s.code(), Code::invalid_argument);
    EXPECT_NE(s.message().find("offsets names partition 9, but topic " + topic_ + " has 5"),
              std::string::npos)
        << s.to_string();
  }
  {
    auto spout = make_spout({{"topic", topic_},
                             {"bootstrap.servers", boot_},
                             {"offsets", std::map<std::string, Arg>{{"1", int64_t{21}}}}});
    Status s = spout->open(ctx);
    EXPECT_EQ(s.code(), Code::invalid_argument);
    EXPECT_NE(s.message().find("offset 21 of partition 1 is outside the log [0, 20]"),
              std::string::npos)
        << s.to_string();
  }
  // Declared, so `sleet list-components` shows it and validate types it.
  const ComponentDescriptor* d = Registry::global().find("KafkaSpout");
  ASSERT_NE(d, nullptr);
  auto spec = std::find_if(d->args.begin(), d->args.end(),
                           [](const ArgSpec& a) { return a.name == "offsets"; });
  ASSERT_NE(spec, d->args.end());
  EXPECT_EQ(spec->kind, ArgKind::map);
  EXPECT_FALSE(spec->required);

  // In a topology file the error points at the offsets line.
  std::vector<Diagnostic> diags;
  LoadOptions opts;
  opts.load_plugins = false;
  auto loaded = load_topology_text(R"(name: t
spouts:
  - id: reader
    class: KafkaSpout
    args:
      topic: words
      offsets: {0: 120, 3: soon}
bolts:
  - id: out
    class: StdoutSink
streams:
  - {from: reader, to: out}
)",
                                   "t.yaml", opts, diags);
  EXPECT_FALSE(loaded.ok());
  bool found = false;
  for (const auto& dg : diags)
    if (dg.loc.line == 7 &&
        dg.message.find(
            "offset of partition 3 must be a non-negative integer, got string 'soon'") !=
            std::string::npos)
      found = true;
  std::string all;
  for (const auto& dg : diags) all += dg.to_string() + "\n";
  EXPECT_TRUE(found) << all;
}

// A backlog many times the consumer's queue is read whole and in order. Every fetch here crosses
// queued.min.messages, after which librdkafka 2.0.2 would not fetch again for up to 1 s
// (librdkafka#2879): without the FetchWaker this backlog takes over a minute to read (measured: 39
// s for 60000 records), far past the deadline; with it, well under a second. The deadline bounds a
// liveness property with a margin no scheduling noise bridges; speed itself is measured in bench/.
TEST_F(KafkaSpoutTest, ABacklogFarLargerThanTheQueueIsReadWhole) {
  const int n = 100000;
  std::vector<ProduceRecord> rs;
  for (int i = 0; i < n; ++i) rs.push_back({std::nullopt, "v" + std::to_string(i), i % 5, {}});
  produce(boot_, topic_, rs);
  auto spout =
      make_spout({{"topic", topic_},
                  {"config", std::map<std::string, Arg>{{"queued.min.messages", "100"},
                                                        {"fetch.max.bytes", "10240"},
                                                        {"message.max.bytes", "10240"},
                                                        {"max.partition.fetch.bytes", "2048"}}}});
  Context ctx = make_context("reader", 0, 1, {{"kafka.bootstrap.servers", boot_}});
  Counter wakes;
  // The other counters a spout keeps: the partitions' metrics gauges (sleet.partition/...) and
  // records without event time.
  std::map<std::string, Counter> others;
  ctx.counter = [&](const std::string& name) {
    if (name.rfind("sleet.partition/", 0) == 0 || name == "no_timestamp") return &others[name];
    EXPECT_EQ(name, "fetch_wakes");
    return &wakes;
  };
  Status opened = spout->open(ctx);
  ASSERT_TRUE(opened.ok()) << opened.to_string();
  VectorCollector out;
  EXPECT_TRUE(drive(
      *spout, out, [&] { return spout->drained(); }, 40s))
      << out.tuples.size() << " of " << n << " records read, " << wakes.get() << " wakes";
  std::map<Key, std::string> seen;
  collect(out.tuples, seen);
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
  std::map<int64_t, int64_t> next;  // partition -> expected offset: in order, no gap
  for (const auto& v : out.tuples) {
    int64_t p = std::get<int64_t>(v[2]), o = std::get<int64_t>(v[3]);
    EXPECT_EQ(o, next[p]++) << "partition " << p;
  }
  EXPECT_GT(wakes.get(), 10) << "the queue filled and drained on many fetch rounds";
  spout->close();
}

TEST_F(KafkaSpoutTest, TaskWithoutPartitionsIsDrainedAndEmitsNothing) {
  auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}});
  Context ctx = make_context("reader", 6, 7);  // 5 partitions, 7 tasks: task 6 owns none
  EXPECT_FALSE(spout->drained()) << "not opened yet";
  ASSERT_TRUE(spout->open(ctx).ok());
  EXPECT_TRUE(spout->positions().empty());
  EXPECT_TRUE(spout->drained());
  VectorCollector out;
  EXPECT_EQ(*spout->next_batch(out), 0u);
}

TEST_F(KafkaSpoutTest, ClearErrors) {
  {
    auto spout = make_spout({{"topic", topic_}});
    Context ctx = make_context("reader", 0, 1);
    Status s = spout->open(ctx);
    EXPECT_EQ(s.code(), Code::invalid_argument);
    EXPECT_NE(s.message().find("kafka.bootstrap.servers"), std::string::npos) << s.to_string();
  }
  EXPECT_FALSE(
      Registry::global().create("KafkaSpout", {{"topic", topic_}, {"start", "middle"}}).ok());
  EXPECT_FALSE(Registry::global().create("KafkaSpout", {}).ok()) << "topic is required";
  {
    auto spout =
        make_spout({{"topic", topic_},
                    {"bootstrap.servers", boot_},
                    {"config", std::map<std::string, Arg>{{"fetch.wait.max.ms", "soon"}}}});
    Context ctx = make_context("reader", 0, 1);
    Status s = spout->open(ctx);
    EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  }
}

TEST_F(KafkaSpoutTest, QueryHelpersSeeTheProducedRecords) {
  auto recs = uneven_records(70);  // 30 / 20 / 10 / 10 / 0
  produce(boot_, topic_, recs);
  auto rk = kafka::make_consumer({{"bootstrap.servers", boot_}});
  ASSERT_TRUE(rk.ok()) << rk.status().to_string();
  auto parts = kafka::partitions_of(rk->get(), topic_, 5s);
  ASSERT_TRUE(parts.ok()) << parts.status().to_string();
  EXPECT_EQ(*parts, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  auto ends = kafka::end_offsets(rk->get(), topic_, 5s);
  ASSERT_TRUE(ends.ok()) << ends.status().to_string();
  std::map<int32_t, int64_t> expect = {{0, 30}, {1, 20}, {2, 10}, {3, 10}, {4, 0}};
  EXPECT_EQ(*ends, expect);
  for (auto [p, n] : expect) {
    auto wm = kafka::query_watermarks(rk->get(), topic_, p, 5s);
    ASSERT_TRUE(wm.ok()) << wm.status().to_string();
    EXPECT_EQ(*wm, std::make_pair(int64_t{0}, n)) << "partition " << p;
  }
  EXPECT_EQ(kafka_->create_topic(topic_, 3).code(), Code::already_exists);
  EXPECT_EQ(kafka_->create_topic("zero", 0).code(), Code::invalid_argument);
}

// Throughput measurement, not a test: run with --gtest_also_run_disabled_tests.
// A context whose counters the test can read.
struct CountingContext {
  Context ctx;
  std::map<std::string, std::unique_ptr<Counter>> counters;
  explicit CountingContext(Context c) : ctx(std::move(c)) {
    ctx.counter = [this](const std::string& n) {
      auto& slot = counters[n];
      if (!slot) slot = std::make_unique<Counter>();
      return slot.get();
    };
  }
  int64_t get(const std::string& n) { return counters.count(n) ? counters[n]->get() : 0; }
};

// Moves the log start of `partition` past its first records: the mock cluster keeps about 5 MiB
// per partition and drops whole batches from the head beyond that (as retention would).
std::pair<int64_t, int64_t> push_log_start(const std::string& boot, const std::string& topic,
                                           int32_t partition) {
  std::vector<ProduceRecord> big;
  for (int i = 0; i < 40; ++i)
    big.push_back({std::nullopt, std::string(200'000, 'x'), partition, {}});
  produce(boot, topic, big);
  auto rk = kafka::make_consumer({{"bootstrap.servers", boot}});
  if (!rk.ok()) throw std::runtime_error(rk.status().to_string());
  auto wm = kafka::query_watermarks(rk->get(), topic, partition, 10s);
  if (!wm.ok()) throw std::runtime_error(wm.status().to_string());
  return *wm;
}

TEST_F(KafkaSpoutTest, CheckpointedOffsetOutsideTheLogIsRefusedUnlessOptedIn) {
  produce(boot_, topic_, uneven_records(70));  // partition 0 holds offsets 0..29
  const auto [lo, hi] = push_log_start(boot_, topic_, 0);
  ASSERT_GT(lo, 5) << "the mock cluster kept everything; this test needs its retention";
  const SourcePositions checkpoint = {{topic_, PartitionId{0}, Offset{5}, kafka_->cluster_id()}};
  {
    auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}});
    CountingContext c(make_context("reader", 0, 1));
    ASSERT_TRUE(spout->seek(checkpoint).ok());
    Status s = spout->open(c.ctx);
    ASSERT_EQ(s.code(), Code::incompatible) << s.to_string();
    for (const std::string& part :
         {std::string("component 'reader'"), "topic " + topic_, std::string("partition 0"),
          std::string("checkpointed offset 5"),
          "[" + std::to_string(lo) + ", " + std::to_string(hi) + ")",
          std::string("on_offset_out_of_range")})
      EXPECT_NE(s.message().find(part), std::string::npos) << part << " in " << s.message();
  }
  // Above the end: refused too.
  {
    auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", boot_}});
    CountingContext c(make_context("reader", 0, 1));
    ASSERT_TRUE(
        spout->seek({{topic_, PartitionId{1}, Offset{hi + 1000}, kafka_->cluster_id()}}).ok());
    Status s = spout->open(c.ctx);
    EXPECT_EQ(s.code(), Code::incompatible) << s.to_string();
    EXPECT_NE(s.message().find("checkpointed offset " + std::to_string(hi + 1000)),
              std::string::npos)
        << s.message();
  }
  // Opted in: reset to the log start (earliest) or end (latest), counted.
  for (std::string policy : {"earliest", "latest"}) {
    auto spout = make_spout(
        {{"topic", topic_}, {"bootstrap.servers", boot_}, {"on_offset_out_of_range", policy}});
    CountingContext c(make_context("reader", 0, 1));
    ASSERT_TRUE(spout->seek(checkpoint).ok());
    Status s = spout->open(c.ctx);
    ASSERT_TRUE(s.ok()) << policy << ": " << s.to_string();
    EXPECT_EQ(c.get("offsets_reset"), 1) << policy;
    EXPECT_EQ(as_map(spout->positions(), topic_)[0], policy == "earliest" ? lo : hi) << policy;
    if (policy == "earliest") {
      VectorCollector out;
      ASSERT_TRUE(drive(*spout, out, [&] { return !out.tuples.empty(); }));
      int64_t first = -1;
      for (auto& v : out.tuples)
        if (std::get<int64_t>(v[2]) == 0) {
          first = std::get<int64_t>(v[3]);
          break;
        }
      if (first >= 0) EXPECT_EQ(first, lo);
    }
  }
  EXPECT_THROW(make_spout({{"topic", topic_}, {"on_offset_out_of_range", "skip"}}),
               std::runtime_error);
}

TEST_F(KafkaSpoutTest, MockClusterIdsAreWhatClientsSeeAndNeverRepeat) {
  auto rk = kafka::make_consumer({{"bootstrap.servers", boot_}});
  ASSERT_TRUE(rk.ok());
  EXPECT_EQ(kafka::cluster_id(rk->get(), 10s), kafka_->cluster_id());
  EXPECT_EQ(kafka_->cluster_id().rfind("mockCluster", 0), 0u) << kafka_->cluster_id();
  std::set<std::string> ids = {kafka_->cluster_id()};
  // One after another: librdkafka would often reuse the freed cluster's address, hence its id.
  for (int i = 0; i < 3; ++i) {
    auto c = kafka::MockCluster::start();
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(ids.insert((*c)->cluster_id()).second) << "id repeated: " << (*c)->cluster_id();
  }
}

TEST_F(KafkaSpoutTest, CheckpointOfAnotherKafkaClusterIsRefused) {
  auto other = start_kafka({{topic_, 5}});
  produce(other->bootstrap(), topic_, uneven_records(70));
  auto spout = make_spout({{"topic", topic_}, {"bootstrap.servers", other->bootstrap()}});
  CountingContext c(make_context("reader", 0, 1));
  ASSERT_TRUE(spout->seek({{topic_, PartitionId{0}, Offset{3}, kafka_->cluster_id()}}).ok());
  Status s = spout->open(c.ctx);
  ASSERT_EQ(s.code(), Code::incompatible) << s.to_string();
  EXPECT_NE(s.message().find(kafka_->cluster_id()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(other->cluster_id()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("same Kafka cluster"), std::string::npos) << s.message();
  // The same offsets without a recorded cluster (a format-2 checkpoint) cannot be checked.
  auto old = make_spout({{"topic", topic_}, {"bootstrap.servers", other->bootstrap()}});
  ASSERT_TRUE(old->seek({{topic_, PartitionId{0}, Offset{3}, ""}}).ok());
  EXPECT_TRUE(old->open(c.ctx).ok());
  EXPECT_EQ(old->positions().at(0).cluster, other->cluster_id());
}

TEST(KafkaSpoutBench, DISABLED_ConsumeRate) {
  const int partitions = 16, per_partition = 62'500;  // 1M records, ~1 MB per partition
  auto kafka = start_kafka({{"bench", partitions}});
  std::vector<ProduceRecord> rs;
  rs.reserve(partitions * per_partition);
  for (int i = 0; i < partitions * per_partition; ++i)
    rs.push_back({std::nullopt, "w" + std::to_string(i % 100000), i % partitions, {}});
  auto t0 = std::chrono::steady_clock::now();
  produce(kafka->bootstrap(), "bench", rs, 120s);
  auto t1 = std::chrono::steady_clock::now();
  rs.clear();
  rs.shrink_to_fit();

  struct Count : Collector {
    size_t n = 0;
    size_t bytes = 0;
    void emit(Values&& v) override {
      ++n;
      bytes += std::get<std::string>(v[1]).size();
    }
  } count;
  auto spout = make_spout({{"topic", "bench"}, {"bootstrap.servers", kafka->bootstrap()}});
  Context ctx = make_context("bench", 0, 1);
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(spout->open(ctx).ok());
  auto deadline = t2 + 120s;
  while (count.n < static_cast<size_t>(partitions * per_partition) &&
         std::chrono::steady_clock::now() < deadline) {
    auto n = spout->next_batch(count);
    ASSERT_TRUE(n.ok());
    if (*n == 0) this_task::sleep_for(std::chrono::microseconds(200));
  }
  auto t3 = std::chrono::steady_clock::now();
  ASSERT_EQ(count.n, static_cast<size_t>(partitions * per_partition));
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  printf("produce: %.0f records/s; KafkaSpout consume (incl. open): %.0f records/s (%.2f s)\n",
         count.n / secs(t0, t1), count.n / secs(t2, t3), secs(t2, t3));
}

}  // namespace
