// SnapshotStore, manifests and CheckpointStore against a real ZooKeeper server and a temp
// checkpoint directory: inline vs file blobs, detection of damaged and missing blobs, the commit
// multi and its fencing, retention, cursor cells. Also prints the time of one commit (4 KB
// manifest) for the record; nothing asserts on it.
#include <gtest/gtest.h>

#include <boost/fiber/all.hpp>

#include <algorithm>
#include <fstream>
#include <numeric>

#include "checkpointing/checkpoint_store.hpp"
#include "checkpointing/coordinator.hpp"
#include "checkpointing/manifest.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "core/crc32c.hpp"
#include "tests/support/assert_ok.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/switch_gate.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The generation test blobs are written by (SnapshotStore::put names blobs by it).
constexpr Generation kGen{1};

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = 2654435761u * static_cast<uint32_t>(seed + 1);
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

Manifest sample_manifest(const std::string& topology, int64_t id) {
  Manifest m;
  m.id = CheckpointId{id};
  m.topology = topology;
  m.fingerprint = "fp-1234";
  m.parallelism = {{"words", 2}, {"count", 3}};
  m.stateful = {"count"};
  // Two spout components on one topic, with different progress (issue 10 item 1).
  m.positions = {{"read", 0, {"sentences", PartitionId{0}, Offset{100 + id}, "cluster-A"}},
                 {"read", 1, {"sentences", PartitionId{1}, Offset{7}, "cluster-A"}},
                 {"replay", 0, {"sentences", PartitionId{0}, Offset{3}, "cluster-A"}},
                 {"replay", 0, {"sentences", PartitionId{1}, Offset{2}, "cluster-A"}}};
  for (int t = 0; t < 3; ++t) {
    TaskSnapshot ts;
    ts.component = "count";
    ts.task = t;
    ts.state_version = 2;
    ts.handle.kind = t == 2 ? BlobHandle::Kind::file : BlobHandle::Kind::inline_znode;
    ts.handle.location = "/x/" + std::to_string(t);
    ts.handle.size = 10 + t;
    ts.handle.checksum = 0xdeadbeef + t;
    m.tasks.push_back(ts);
  }
  m.created_unix_ms = 1700000000000 + id;
  m.total_bytes = 33;
  m.shapes["count"] = StatefulShape{
      "WordCount", {{"other", "fields", {"word"}}, {"words", "fields", {"word", "lang"}}}};
  return m;
}

// A position as formats 1 and 2 wrote it: (topic, partition, next), nothing else.
struct V2Position {
  std::string topic;
  PartitionId partition;
  Offset next;
  template <class A>
  void serialize(A& ar) {
    ar(topic, partition, next);
  }
};

std::vector<V2Position> v2_positions(const Manifest& m) {
  std::vector<V2Position> out;
  for (auto& p : m.positions)
    out.push_back({p.position.topic, p.position.partition, p.position.next});
  return out;
}

// The bytes a format-1 build wrote: the version-1 layout, no shapes.
std::string encode_v1(const Manifest& m) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    uint32_t v = 1;
    ar(v, m.id, m.topology, m.fingerprint, m.parallelism, m.stateful, v2_positions(m), m.tasks,
       m.created_unix_ms, m.total_bytes);
  }
  return std::move(os).str();
}

// The bytes a format-2 build wrote: the version-1 layout plus shapes.
std::string encode_v2(const Manifest& m) {
  std::ostringstream os(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    uint32_t v = 2;
    ar(v, m.id, m.topology, m.fingerprint, m.parallelism, m.stateful, v2_positions(m), m.tasks,
       m.created_unix_ms, m.total_bytes, m.shapes);
  }
  return std::move(os).str();
}

const char* const kFormat2Hex =
    "01020000002a0000000000000002000000000000007763070000000000000066"
    "702d3132333402000000000000000500000000000000636f756e740300000005"
    "00000000000000776f7264730200000001000000000000000500000000000000"
    "636f756e740400000000000000090000000000000073656e74656e6365730000"
    "00008e00000000000000090000000000000073656e74656e6365730100000007"
    "00000000000000090000000000000073656e74656e6365730000000003000000"
    "00000000090000000000000073656e74656e6365730100000002000000000000"
    "0003000000000000000500000000000000636f756e7400000000020000000004"
    "000000000000002f782f300a00000000000000efbeadde050000000000000063"
    "6f756e7401000000020000000004000000000000002f782f310b000000000000"
    "00f0beadde0500000000000000636f756e740200000002000000010400000000"
    "0000002f782f320c00000000000000f1beadde2a68e5cf8b0100002100000000"
    "00000001000000000000000500000000000000636f756e740900000000000000"
    "576f7264436f756e74020000000000000005000000000000006f746865720600"
    "0000000000006669656c647301000000000000000400000000000000776f7264"
    "0500000000000000776f72647306000000000000006669656c64730200000000"
    "0000000400000000000000776f726404000000000000006c616e67";

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// What a format-1/2 manifest's positions decode to: component and task not recorded, no cluster.
std::vector<TaskPosition> as_unrecorded(const std::vector<TaskPosition>& ps) {
  std::vector<TaskPosition> out;
  for (auto& p : ps)
    out.push_back({"", -1, {p.position.topic, p.position.partition, p.position.next, ""}});
  return out;
}

// ---------------------------------------------------------------------------------------------
// No server needed

TEST(Manifest, RoundTrips) {
  Manifest m = sample_manifest("wc", 42);
  auto bytes = encode_manifest(m);
  auto back = decode_manifest(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
  ASSERT_NE(back->find_task("count", 2), nullptr);
  EXPECT_EQ(back->find_task("count", 2)->handle.kind, BlobHandle::Kind::file);
  EXPECT_EQ(back->find_task("count", 3), nullptr);
  EXPECT_EQ(back->format_version, Manifest::kFormatVersion);
  EXPECT_EQ(back->shapes.at("count").class_name, "WordCount");
  EXPECT_EQ(back->shapes.at("count").describe_inputs(),
            "[other -> fields(word), words -> fields(word,lang)]");
}

TEST(Manifest, ReadsFormatVersion1WithShapesUnknown) {
  Manifest m = sample_manifest("wc", 42);
  auto back = decode_manifest(encode_v1(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->format_version, 1u);
  EXPECT_TRUE(back->shapes.empty()) << "version 1 recorded no shapes: unknown";
  m.shapes.clear();
  m.format_version = 1;
  m.positions = as_unrecorded(m.positions);
  EXPECT_EQ(*back, m);
  // Written again, it is a current-version manifest.
  auto again = decode_manifest(encode_manifest(*back));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->format_version, Manifest::kFormatVersion);
}

TEST(Manifest, Format3KeepsEachComponentsPositionsAndClusterIds) {
  Manifest m = sample_manifest("wc", 42);
  auto back = decode_manifest(encode_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->format_version, Manifest::kFormatVersion);  // 3 or later: what is written now
  ASSERT_EQ(back->positions, m.positions);
  auto plan = restore_positions(back->positions);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan.at("read").size(), 2u);
  EXPECT_EQ(plan.at("replay").size(), 2u);
  RestorePlan rp;
  rp.positions = plan;
  // Each spout gets its own positions of the shared topic, never the other's.
  for (auto& p : rp.positions_for("read")) EXPECT_NE(p.next.value, 3) << "replay's offset leaked";
  EXPECT_EQ(rp.positions_for("replay").at(0).next.value, 3);
  EXPECT_EQ(rp.positions_for("replay").at(0).cluster, "cluster-A");
  EXPECT_TRUE(rp.positions_for("other").empty());
}

TEST(Manifest, ReadsFormatVersion2PositionsAsUnrecordedForEverySpout) {
  Manifest m = sample_manifest("wc", 42);
  // sample_manifest("wc", 42) as the format-2 build (commit 2e07c87) encoded it, with its four
  // positions reduced to (topic, partition, next): real format-2 bytes, not our re-encoding.
  const std::string bytes = from_hex(kFormat2Hex);
  EXPECT_EQ(bytes, encode_v2(m)) << "the legacy encoder in this test no longer matches format 2";
  auto back = decode_manifest(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->format_version, 2u);
  EXPECT_EQ(back->shapes, m.shapes) << "format 2 recorded shapes";
  Manifest expect = m;
  expect.format_version = 2;
  expect.positions = as_unrecorded(m.positions);
  EXPECT_EQ(*back, expect);
  // Not recorded per component: every spout is handed them (the format-2 behaviour).
  RestorePlan rp;
  rp.positions = restore_positions(back->positions);
  EXPECT_EQ(rp.positions_for("read").size(), 4u);
  EXPECT_EQ(rp.positions_for("anything").size(), 4u);
  auto again = decode_manifest(encode_manifest(*back));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->format_version, Manifest::kFormatVersion);
  EXPECT_EQ(again->positions, expect.positions);
}

// Format 3 records the committing generation; a format-2 manifest reads it as 0 (unknown).
TEST(Manifest, RecordsTheCommittingGeneration) {
  Manifest m = sample_manifest("wc", 42);
  m.generation = 17;
  auto back = decode_manifest(encode_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->generation, 17);
  auto v2 = decode_manifest(encode_v2(m));
  ASSERT_TRUE(v2.ok()) << v2.status().to_string();
  EXPECT_EQ(v2->format_version, 2u);
  EXPECT_EQ(v2->generation, 0) << "format 2 recorded no generation: unknown";
  EXPECT_EQ(v2->shapes, m.shapes);
}

// Format 5 keeps the spouts' largest event time per partition beside their positions; an older
// manifest reads them as none (unknown: the watermark starts over, as it did then).
TEST(Manifest, Format5KeepsTheSpoutsEventTimesAndOlderOnesHaveNone) {
  Manifest m = sample_manifest("wc", 42);
  TaskSnapshotData d;
  d.component = "read";
  d.task = TaskIndex{1};
  d.source = true;
  d.event_times = {{"sentences", PartitionId{3}, 1'700'000'000'500},
                   {"sentences", PartitionId{1}, 1'700'000'000'900}};
  add_positions(m, d);
  sort_event_times(m.event_times);
  ASSERT_EQ(m.event_times.size(), 2u);
  EXPECT_EQ(m.event_times[0].event_time.partition.value, 1);
  auto back = decode_manifest(encode_manifest(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->format_version, 5u);
  EXPECT_EQ(back->event_times, m.event_times);
  EXPECT_EQ(*back, m);
  auto per = restore_event_times(back->event_times);
  RestorePlan rp;
  rp.event_times = per;
  EXPECT_EQ(rp.event_times_for("read"),
            (SourceEventTimes{{"sentences", PartitionId{1}, 1'700'000'000'900},
                              {"sentences", PartitionId{3}, 1'700'000'000'500}}));
  EXPECT_TRUE(rp.event_times_for("replay").empty());

  // The format-4 layout of the same manifest (what the previous build wrote).
  Manifest v4 = m;
  v4.format_version = 4;
  std::ostringstream os(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(v4);
  }
  auto old = decode_manifest(os.str());
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(old->format_version, 4u);
  EXPECT_TRUE(old->event_times.empty()) << "format 4 recorded no event times: unknown";
  Manifest expect = m;
  expect.format_version = 4;
  expect.event_times.clear();
  EXPECT_EQ(*old, expect);
}

TEST(Manifest, RefusesOtherFormatVersionsAndGarbage) {
  // A manifest written by a future build, and one older than any this build knows.
  for (uint32_t v : {Manifest::kFormatVersion + 1, 0u}) {
    std::ostringstream os(std::ios::binary);
    {
      cereal::PortableBinaryOutputArchive ar(os);
      ar(v, std::string("rest does not matter"));
    }
    auto r = decode_manifest(os.str());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::incompatible);
    EXPECT_NE(r.status().message().find("format version " + std::to_string(v)), std::string::npos)
        << r.status().message();
  }

  EXPECT_EQ(decode_manifest("").status().code(), Code::corruption);
  auto bytes = encode_manifest(sample_manifest("wc", 1));
  auto truncated = decode_manifest(std::string_view(bytes).substr(0, bytes.size() / 2));
  EXPECT_EQ(truncated.status().code(), Code::corruption) << truncated.status().to_string();
}

TEST(StatefulShape, ClassAndSortedInputsWithKeyFieldsInDeclaredOrder) {
  TopologySpec spec = TopologyBuilder("t")
                          .spout("b", "SequenceSpout", 1)
                          .spout("a", "SequenceSpout", 1)
                          .bolt("count", "WordCount", 2)
                          .bolt("sink", "FileSink", 1)
                          .stream("b", "count", Grouping{GroupingType::fields, {"y", "x"}})
                          .stream("a", "count", Grouping{GroupingType::shuffle, {"ignored"}})
                          .stream("count", "sink")
                          .build();
  StatefulShape s = stateful_shape(spec, "count");
  EXPECT_EQ(s.class_name, "WordCount");
  // Sorted by upstream; key fields only for a fields grouping, in declared (hash) order.
  EXPECT_EQ(s.describe_inputs(), "[a -> shuffle, b -> fields(y,x)]");
  EXPECT_EQ(stateful_shape(spec, "sink").describe_inputs(), "[count -> shuffle]");
  EXPECT_EQ(stateful_shape(spec, "nope"), StatefulShape{});

  Manifest base = manifest_base(spec, {"count"});
  ASSERT_EQ(base.shapes.size(), 1u) << "shapes only of stateful components";
  EXPECT_EQ(base.shapes.at("count"), s);
}

TEST(Manifest, CheckpointNamesSortNumerically) {
  EXPECT_EQ(checkpoint_name(CheckpointId{7}), "00000000000000000007");
  EXPECT_LT(checkpoint_name(CheckpointId{9}), checkpoint_name(CheckpointId{10}));
  EXPECT_LT(checkpoint_name(CheckpointId{99}), checkpoint_name(CheckpointId{100000}));
  EXPECT_EQ(parse_checkpoint_name(checkpoint_name(CheckpointId{123456})), CheckpointId{123456});
  EXPECT_FALSE(parse_checkpoint_name("12"));
  EXPECT_FALSE(parse_checkpoint_name("0000000000000000000x"));
}

TEST(Crc32c, KnownValuesAndIncremental) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  std::string data = pattern(100'003, 1);
  uint32_t whole = crc32c(data);
  uint32_t parts = crc32c(std::string_view(data).substr(37), crc32c(data.substr(0, 37)));
  EXPECT_EQ(whole, parts);
  data[5000] ^= 1;
  EXPECT_NE(crc32c(data), whole);
}

// ---------------------------------------------------------------------------------------------
// With ZooKeeper

class CheckpointStoreTest : public sleet::test::StoreTest {
 protected:
  CheckpointStoreTest() : StoreTest("sleet-cp", /*inline_limit=*/4096) {}
  CheckpointStore& store() { return *store_; }
  SnapshotStore& snaps() { return *snaps_; }

  // A manifest whose tasks have real blobs: one inline, one file.
  Manifest manifest_with_blobs(int64_t id) {
    Manifest m = sample_manifest(topology_, id);
    m.tasks.clear();
    for (int t = 0; t < 2; ++t) {
      auto h = snaps().put(CheckpointId{id}, kGen, "count-" + std::to_string(t),
                           pattern(t == 0 ? 100 : 10'000, static_cast<int>(id * 10 + t)));
      EXPECT_TRUE(h.ok()) << h.status().to_string();
      TaskSnapshot ts;
      ts.component = "count";
      ts.task = t;
      ts.handle = *h;
      m.tasks.push_back(ts);
    }
    return m;
  }
};

TEST_F(CheckpointStoreTest, LayoutAndInitIsIdempotent) {
  EXPECT_EQ(store().topology_path(), root() + "/topologies/" + topology_);
  EXPECT_EQ(store().blob_root(), store().topology_path() + "/blobs");
  ASSERT_OK(store().init());
  for (auto p : {"/checkpoints", "/blobs", "/publish", "/generation", "/latest"})
    EXPECT_TRUE(client().exists(store().topology_path() + p)->has_value()) << p;
  auto latest = store().latest_id();
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value());
  auto none = store().load_latest();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  CheckpointStore bad(client(), root(), "a/b");
  EXPECT_EQ(bad.init().code(), Code::invalid_argument);
}

TEST_F(CheckpointStoreTest, SnapshotStoreInlineAndFileBlobs) {
  std::string small = pattern(4096, 1), large = pattern(300'000, 2);
  auto hs = snaps().put(CheckpointId{5}, kGen, "count-0", small);
  ASSERT_TRUE(hs.ok()) << hs.status().to_string();
  EXPECT_EQ(hs->kind, BlobHandle::Kind::inline_znode);
  EXPECT_EQ(hs->location, store().blob_root() + "/00000000000000000005/g1/count-0");
  EXPECT_EQ(hs->size, small.size());
  EXPECT_EQ(hs->checksum, crc32c(small));

  auto hl = snaps().put(CheckpointId{5}, kGen, "count-1", large);
  ASSERT_TRUE(hl.ok()) << hl.status().to_string();
  EXPECT_EQ(hl->kind, BlobHandle::Kind::file);
  EXPECT_TRUE(fs::exists(snaps().file_path(*hl))) << snaps().file_path(*hl);
  EXPECT_EQ(fs::file_size(snaps().file_path(*hl)), large.size());
  // No temporary files left behind.
  size_t entries = std::distance(fs::directory_iterator(snaps().file_path(*hl).parent_path()),
                                 fs::directory_iterator());
  EXPECT_EQ(entries, 1u);

  auto empty = snaps().put(CheckpointId{5}, kGen, "empty", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*snaps().get(*empty), "");
  EXPECT_EQ(*snaps().get(*hs), small);
  EXPECT_EQ(*snaps().get(*hl), large);

  // Putting the same key again (a retried checkpoint id) overwrites, for both kinds.
  auto hs2 = snaps().put(CheckpointId{5}, kGen, "count-0", "v2");
  auto hl2 = snaps().put(CheckpointId{5}, kGen, "count-1", pattern(200'000, 3));
  ASSERT_TRUE(hs2.ok() && hl2.ok());
  EXPECT_EQ(*snaps().get(*hs2), "v2");
  EXPECT_EQ(*snaps().get(*hl2), pattern(200'000, 3));
  EXPECT_EQ(snaps().get(*hs).status().code(), Code::corruption);  // the old handle no longer fits

  auto ids = snaps().list_checkpoints();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<CheckpointId>{CheckpointId{5}});
  EXPECT_EQ(snaps().put(CheckpointId{5}, kGen, "a/b", "x").status().code(), Code::invalid_argument);
  EXPECT_EQ(snaps().put(CheckpointId{5}, kGen, ".hidden", "x").status().code(),
            Code::invalid_argument);

  ASSERT_OK(snaps().remove_checkpoint(CheckpointId{5}));
  ASSERT_OK(snaps().remove_checkpoint(CheckpointId{5}));  // idempotent
  EXPECT_FALSE(client().exists(hs->location)->has_value());
  EXPECT_FALSE(fs::exists(snaps().file_path(*hl)));
  EXPECT_TRUE(snaps().list_checkpoints()->empty());
}

TEST_F(CheckpointStoreTest, DamagedOrMissingBlobsAreCorruptionNamingTheBlob) {
  std::string large = pattern(50'000, 4), small = pattern(100, 5);
  auto hf = snaps().put(CheckpointId{1}, kGen, "count-0", large);
  auto hz = snaps().put(CheckpointId{1}, kGen, "count-1", small);
  ASSERT_TRUE(hf.ok() && hz.ok());
  fs::path file = snaps().file_path(*hf);

  {  // flip one byte in the middle of the file
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(25'000);
    char c;
    f.get(c);
    f.seekp(25'000);
    f.put(static_cast<char>(c ^ 0x40));
  }
  auto r = snaps().get(*hf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::corruption);
  EXPECT_NE(r.status().message().find(file.string()), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("CRC-32C"), std::string::npos) << r.status().message();

  fs::resize_file(file, 1000);  // truncated
  r = snaps().get(*hf);
  EXPECT_EQ(r.status().code(), Code::corruption);
  EXPECT_NE(r.status().message().find("1000 bytes"), std::string::npos) << r.status().message();

  fs::remove(file);  // missing
  r = snaps().get(*hf);
  EXPECT_EQ(r.status().code(), Code::corruption);
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status().message();

  ASSERT_TRUE(client().set(hz->location, "tampered").ok());
  r = snaps().get(*hz);
  EXPECT_EQ(r.status().code(), Code::corruption);
  EXPECT_NE(r.status().message().find(hz->location), std::string::npos) << r.status().message();
  ASSERT_OK(client().remove(hz->location));
  r = snaps().get(*hz);
  EXPECT_EQ(r.status().code(), Code::corruption);
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status().message();
}

TEST_F(CheckpointStoreTest, CommitThenLoadLatest) {
  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok()) << gen.status().to_string();
  auto cur = store().current_generation();
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(*cur, *gen);

  Manifest m1 = manifest_with_blobs(1);
  ASSERT_OK(store().commit(m1, *gen));
  Manifest m2 = manifest_with_blobs(2);
  ASSERT_OK(store().commit(m2, *gen));
  EXPECT_EQ(store().latest_id()->value(), CheckpointId{2});
  auto loaded = store().load_latest();
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status().to_string();
  EXPECT_EQ(**loaded, m2);
  // Restoring: every task's blob reads back.
  for (auto& t : (*loaded)->tasks) EXPECT_TRUE(snaps().get(t.handle).ok()) << t.handle.location;
  EXPECT_EQ(*store().load(CheckpointId{1}), m1);

  EXPECT_EQ(store().commit(m2, *gen).code(), Code::already_exists);
  Manifest other = m2;
  other.topology = "someone-else";
  EXPECT_EQ(store().commit(other, *gen).code(), Code::invalid_argument);
  EXPECT_EQ(store().latest_id()->value(), CheckpointId{2});
}

TEST_F(CheckpointStoreTest, StaleGenerationIsFencedAndWritesNothing) {
  auto old_gen = store().bump_generation();
  ASSERT_TRUE(old_gen.ok());
  ASSERT_OK(store().commit(manifest_with_blobs(1), *old_gen));

  // A new coordinator (another client, as after a failover) takes over.
  auto other_client = zk_server().client();
  CheckpointStore other(*other_client, root(), topology_);
  ASSERT_OK(other.init());
  auto new_gen = other.bump_generation();
  ASSERT_TRUE(new_gen.ok());
  EXPECT_GT(new_gen->value, old_gen->value);

  Status st = store().commit(manifest_with_blobs(2), *old_gen);
  EXPECT_EQ(st.code(), Code::fenced) << st.to_string();
  EXPECT_FALSE(client()
                   .exists(store().checkpoints_path() + "/" + checkpoint_name(CheckpointId{2}))
                   ->has_value());
  EXPECT_EQ(store().latest_id()->value(), CheckpointId{1});

  ASSERT_OK(other.commit(manifest_with_blobs(2), *new_gen));
  EXPECT_EQ(store().latest_id()->value(), CheckpointId{2});
}

// Cluster mode: the assignment is written with its generation in one multi, fenced on the
// generation the leader last saw; a stale leader writes nothing and its commits are fenced too.
TEST_F(CheckpointStoreTest, ClaimGenerationWritesTheAssignmentWithItOrNothing) {
  auto g0 = store().current_generation();
  ASSERT_TRUE(g0.ok());
  auto g1 = store().claim_generation(*g0, "generation=1\n");
  ASSERT_TRUE(g1.ok()) << g1.status().to_string();
  EXPECT_EQ(g1->value, g0->value + 1);
  EXPECT_EQ(store().current_generation()->value, g1->value);
  EXPECT_EQ(*client().get(store().assignment_path()), "generation=1\n");

  // A second leader that still believes in g0 is fenced, and the assignment is untouched.
  auto stale = store().claim_generation(*g0, "generation=1\nstale\n");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::fenced) << stale.status().to_string();
  EXPECT_NE(stale.status().message().find("another coordinator"), std::string::npos);
  EXPECT_EQ(*client().get(store().assignment_path()), "generation=1\n");
  EXPECT_EQ(store().current_generation()->value, g1->value);

  // Commits of the generation before the claim are fenced; of the claimed one they pass.
  EXPECT_EQ(store().commit(manifest_with_blobs(1), *g0).code(), Code::fenced);
  ASSERT_OK(store().commit(manifest_with_blobs(1), *g1));
}

// plan_recovery's rules on a committed manifest, without running a topology (WorkerTest runs
// them end to end).
TEST_F(CheckpointStoreTest, PlanRecoveryRefusesOnlyChangesStateCannotFollow) {
  auto topo = [](const std::string& count_class, int count_par, Grouping into_count,
                 const std::string& split_class, int split_par) {
    return TopologyBuilder("t")
        .spout("lines", "SequenceSpout", 1)
        .bolt("split", split_class, split_par)
        .bolt("count", count_class, count_par)
        .stream("lines", "split")
        .stream("split", "count", std::move(into_count))
        .build();
  };
  const Grouping by_word{GroupingType::fields, {"word"}};
  TopologySpec before = topo("WordCount", 2, by_word, "Split", 1);
  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok()) << gen.status().to_string();
  Manifest m = manifest_base(before, {"count"});
  m.id = CheckpointId{1};
  m.topology = topology_;
  ASSERT_OK(store().commit(m, *gen));
  auto latest = store().load_latest();
  ASSERT_TRUE(latest.ok()) << latest.status().to_string();
  ASSERT_TRUE(latest->has_value());
  const Manifest& committed = **latest;
  const std::string path = store().topology_path();

  auto plan = [&](const TopologySpec& now) {
    return plan_recovery(committed, now, snaps(), path).status();
  };
  auto expect_refused = [&](const TopologySpec& now, std::vector<std::string> mentions) {
    Status s = plan(now);
    ASSERT_EQ(s.code(), Code::incompatible) << s.to_string();
    mentions.push_back("'count'");
    mentions.push_back("new topology name");
    mentions.push_back(path);
    for (auto& w : mentions)
      EXPECT_NE(s.message().find(w), std::string::npos) << w << ": " << s.to_string();
  };

  ASSERT_OK(plan(before));
  // Stateless components may change class and parallelism.
  ASSERT_OK(plan(topo("WordCount", 2, by_word, "OtherSplit", 3)));
  expect_refused(topo("CountV2", 2, by_word, "Split", 1), {"'WordCount'", "'CountV2'"});
  expect_refused(topo("WordCount", 3, by_word, "Split", 1), {"parallelism 3"});
  expect_refused(topo("WordCount", 2, Grouping{}, "Split", 1),
                 {"[split -> fields(word)]", "[split -> shuffle]"});
  expect_refused(topo("WordCount", 2, Grouping{GroupingType::fields, {"lang"}}, "Split", 1),
                 {"[split -> fields(word)]", "[split -> fields(lang)]"});
  // Another stream into the stateful component changes where its keys go, too.
  TopologySpec extra = before;
  StreamSpec more;
  more.from = "lines";
  more.to = "count";
  extra.streams.push_back(more);
  expect_refused(extra, {"[lines -> shuffle, split -> fields(word)]"});
  expect_refused(TopologyBuilder("t").spout("lines", "SequenceSpout", 1).build(),
                 {"no longer has"});

  // A format-1 manifest recorded no shapes: class and inputs are unknown and not checked;
  // parallelism still is.
  Manifest v1 = committed;
  v1.shapes.clear();
  auto plan_v1 = [&](const TopologySpec& now) {
    return plan_recovery(v1, now, snaps(), path).status();
  };
  ASSERT_OK(plan_v1(topo("CountV2", 2, Grouping{}, "Split", 1)));
  EXPECT_EQ(plan_v1(topo("WordCount", 3, by_word, "Split", 1)).code(), Code::incompatible);
}

TEST_F(CheckpointStoreTest, OversizedManifestIsRefused) {
  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok());
  Manifest m = sample_manifest(topology_, 1);
  m.fingerprint = std::string(1'000'000, 'f');
  Status st = store().commit(m, *gen);
  EXPECT_EQ(st.code(), Code::invalid_argument) << st.to_string();
  EXPECT_TRUE(client().connected());
  EXPECT_FALSE(store().latest_id()->has_value());
}

TEST_F(CheckpointStoreTest, RetainKeepsExactlyLatestAndPrevious) {
  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok());
  for (int64_t id : {1, 2, 3, 5}) ASSERT_OK(store().commit(manifest_with_blobs(id), *gen));
  (void)manifest_with_blobs(4);  // an attempt that never committed
  (void)manifest_with_blobs(6);  // a checkpoint in flight: blobs written, not yet committed

  ASSERT_OK(store().retain(CheckpointId{5}, snaps()));
  auto left = store().list();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, (std::vector<CheckpointId>{CheckpointId{3}, CheckpointId{5}}));
  auto blobs = snaps().list_checkpoints();
  ASSERT_TRUE(blobs.ok());
  EXPECT_EQ(*blobs, (std::vector<CheckpointId>{CheckpointId{3}, CheckpointId{5}, CheckpointId{6}}));
  for (int64_t gone : {1, 2, 4}) {
    EXPECT_FALSE(fs::exists(snaps().dir() / checkpoint_name(CheckpointId{gone}))) << gone;
    EXPECT_FALSE(client()
                     .exists(store().blob_root() + "/" + checkpoint_name(CheckpointId{gone}))
                     ->has_value())
        << gone;
  }
  // Both kept checkpoints are fully restorable.
  for (int64_t kept : {3, 5}) {
    auto m = store().load(CheckpointId{kept});
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    for (auto& t : m->tasks) EXPECT_TRUE(snaps().get(t.handle).ok()) << t.handle.location;
  }
  ASSERT_OK(store().retain(CheckpointId{5}, snaps()));  // idempotent
  EXPECT_EQ(store().list()->size(), 2u);
}

TEST_F(CheckpointStoreTest, CursorStoreRoundTrip) {
  auto cursors = store().cursor_store();
  auto missing = cursors->load("sink-0");
  EXPECT_EQ(missing.status().code(), Code::not_found);
  ASSERT_OK(cursors->store("sink-0", "epoch=3 offsets=1,2"));
  EXPECT_EQ(*cursors->load("sink-0"), "epoch=3 offsets=1,2");
  ASSERT_OK(cursors->store("sink-0", std::string("bin\0ary", 7)));
  EXPECT_EQ(*cursors->load("sink-0"), std::string("bin\0ary", 7));
  EXPECT_EQ(cursors->load("sink-1").status().code(), Code::not_found);
  EXPECT_EQ(cursors->store("a/b", "x").code(), Code::invalid_argument);
  // Durable in ZooKeeper: a fresh store on another client sees it.
  auto other_client = zk_server().client();
  CheckpointStore other(*other_client, root(), topology_);
  EXPECT_EQ(*other.cursor_store()->load("sink-0"), std::string("bin\0ary", 7));
}

// Regression: blobs were named by (id, task key) only, so a stale coordinator's task (an older
// generation) reusing a checkpoint id overwrote the live checkpoint's committed blob; the
// checksum turned that into corruption at recovery. Now the name carries the generation.
TEST_F(CheckpointStoreTest, TwoGenerationsWritingOneCheckpointIdLeaveDistinctBlobs) {
  auto stale = store().bump_generation();
  auto live = store().bump_generation();
  ASSERT_TRUE(stale.ok() && live.ok());
  ASSERT_LT(stale->value, live->value);
  // Inline (small) and file (large) blobs alike.
  for (size_t size : {size_t{100}, size_t{20'000}}) {
    SCOPED_TRACE(size);
    const CheckpointId id{static_cast<int64_t>(size)};
    const std::string mine = pattern(size, 1), zombie = pattern(size, 2);
    auto h = snaps().put(id, *live, "count-0", mine);
    ASSERT_TRUE(h.ok()) << h.status().to_string();
    Manifest m = sample_manifest(topology_, id.value);
    m.tasks = {TaskSnapshot{"count", 0, 1, *h}};
    ASSERT_OK(store().commit(m, *live));
    // The zombie writes the same id and task key afterwards, then aborts that attempt.
    auto z = snaps().put(id, *stale, "count-0", zombie);
    ASSERT_TRUE(z.ok()) << z.status().to_string();
    EXPECT_NE(z->location, h->location);
    EXPECT_EQ(*snaps().get(*z), zombie);
    auto committed = store().load(id);
    ASSERT_TRUE(committed.ok());
    auto bytes = snaps().get(committed->tasks.at(0).handle);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    EXPECT_EQ(*bytes, mine);
    ASSERT_OK(snaps().remove_attempt(id, *stale));
    EXPECT_EQ(snaps().get(*z).status().code(), Code::corruption);  // gone
    bytes = snaps().get(committed->tasks.at(0).handle);
    ASSERT_TRUE(bytes.ok()) << "the zombie's abort removed the live blob: "
                            << bytes.status().to_string();
    EXPECT_EQ(*bytes, mine);
    // Retention still finds every generation's blobs of an id and deletes them.
    (void)snaps().put(id, *stale, "count-1", zombie);
    ASSERT_OK(snaps().remove_checkpoint(id));
    EXPECT_EQ(snaps().get(*h).status().code(), Code::corruption);
    EXPECT_FALSE(client().exists(store().blob_root() + "/" + checkpoint_name(id))->has_value());
    EXPECT_FALSE(fs::exists(snaps().dir() / checkpoint_name(id)));
  }
}

// Manifests store each blob's location, so blobs named before generations were in the name
// (<id>/<task_key>, <id>/<task_key>.snap) still read, and retention still deletes them.
TEST_F(CheckpointStoreTest, BlobsWithoutGenerationInTheirNameStillReadAndAreRetained) {
  const std::string small = pattern(100, 7), large = pattern(20'000, 8);
  BlobHandle z{BlobHandle::Kind::inline_znode,
               store().blob_root() + "/" + checkpoint_name(CheckpointId{1}) + "/count-0",
               small.size(), crc32c(small)};
  ASSERT_OK(client().ensure_path(store().blob_root() + "/" + checkpoint_name(CheckpointId{1})));
  ASSERT_OK(client().create(z.location, small));
  BlobHandle f{BlobHandle::Kind::file, checkpoint_name(CheckpointId{1}) + "/count-1.snap",
               large.size(), crc32c(large)};
  fs::create_directories(snaps().file_path(f).parent_path());
  sleet::test::write_file(snaps().file_path(f), large);
  EXPECT_EQ(*snaps().get(z), small);
  EXPECT_EQ(*snaps().get(f), large);
  EXPECT_EQ(*snaps().list_checkpoints(), std::vector<CheckpointId>{CheckpointId{1}});

  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok());
  for (int64_t id : {1, 2, 3}) ASSERT_OK(store().commit(sample_manifest(topology_, id), *gen));
  ASSERT_OK(store().retain(CheckpointId{3}, snaps()));
  EXPECT_TRUE(snaps().list_checkpoints()->empty());
  EXPECT_FALSE(client().exists(z.location)->has_value());
  EXPECT_FALSE(fs::exists(snaps().file_path(f)));
}

// Regression: trigger_now() while a checkpoint was in flight only moved next_trigger_, which
// the commit then reset to a full interval later, so a drained worker still waited it out.
TEST_F(CheckpointStoreTest, TriggerNowDuringACheckpointStartsTheNextRightAfterIt) {
  // One stateless task; the test acks each checkpoint itself.
  struct Target : CheckpointTarget {
    std::mutex mu;
    std::vector<int64_t> triggered;
    void trigger_checkpoint(CheckpointId id) override {
      std::lock_guard lk(mu);
      triggered.push_back(id.value);
    }
    void checkpoint_committed(CheckpointId) override {}
    size_t task_count() const override { return 1; }
    size_t count() {
      std::lock_guard lk(mu);
      return triggered.size();
    }
  } target;
  CoordinatorOptions o;
  o.interval = std::chrono::milliseconds(60'000);  // no second checkpoint unless asked for
  Coordinator c(store(), snaps(), o);
  auto gen = store().bump_generation();
  ASSERT_OK(gen.status());
  Manifest base;
  base.topology = topology_;
  c.start(target, *gen, CheckpointId{0}, base);
  // The first checkpoint starts at once; ask for the next one while it is still collecting.
  ASSERT_TRUE(test::wait_until([&] { return target.count() == 1; }, 10s));
  c.trigger_now();
  TaskSnapshotData ack;
  ack.component = "t";
  ack.id = CheckpointId{1};
  c.on_task_snapshot(std::move(ack));
  ASSERT_TRUE(test::wait_until([&] { return c.stats().last_committed.value == 1; }, 10s));
  EXPECT_TRUE(test::wait_until([&] { return target.count() == 2; }, 10s))
      << "checkpoint 2 waits for the 60 s interval";
  c.stop();
}

// Tasks write their blobs on their own fibers (through GenerationSnapshotWriter, as the engine
// does): the write (a file with fsync, or a znode) must suspend only the writing fiber, so the
// other tasks of that OS thread keep running meanwhile. A blocking write would let the other
// fiber run only before or after it, never while it is in flight.
TEST_F(CheckpointStoreTest, ATaskBlobWriteSuspendsOnlyItsFiber) {
  GenerationSnapshotWriter writer(snaps(), kGen);
  for (size_t size : {size_t{20'000}, size_t{100}}) {  // file, inline
    SCOPED_TRACE(size);
    bool in_write = false, done = false, ran_meanwhile = false;
    Status result;
    std::thread runner([&] {
      boost::fibers::fiber task([&] {
        in_write = true;
        auto h =
            writer.write(CheckpointId{static_cast<int64_t>(size)}, "count-0", pattern(size, 3));
        in_write = false;
        done = true;
        result = h.ok() ? Status::Ok() : h.status();
      });
      boost::fibers::fiber other([&] {
        while (!done) {
          if (in_write) ran_meanwhile = true;
          boost::this_fiber::yield();
        }
      });
      task.join();
      other.join();
    });
    runner.join();
    EXPECT_TRUE(result.ok()) << result.to_string();
    EXPECT_TRUE(ran_meanwhile) << "the write blocked its OS thread";
  }
}

TEST_F(CheckpointStoreTest, WorksFromFibers) {
  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok());
  std::vector<Status> results(4);
  std::thread runner([&] {
    std::vector<boost::fibers::fiber> fibers;
    for (int t = 0; t < 4; ++t)
      fibers.emplace_back([&, t] {
        // Two inline and two file blobs, written concurrently from fibers of one thread.
        auto h = snaps().put(CheckpointId{1}, kGen, "task-" + std::to_string(t),
                             pattern(t % 2 ? 100 : 20'000, t));
        results[t] =
            h.ok() ? (snaps().get(*h).ok() ? Status::Ok() : snaps().get(*h).status()) : h.status();
      });
    for (auto& f : fibers) f.join();
  });
  runner.join();
  for (auto& st : results) EXPECT_TRUE(st.ok()) << st.to_string();
}

// Not a test of speed: prints what one commit costs, for the record.
TEST_F(CheckpointStoreTest, MeasureCommitOf4KbManifest) {
  auto gen = store().bump_generation();
  ASSERT_TRUE(gen.ok());
  Manifest m = sample_manifest(topology_, 1);
  m.fingerprint.clear();
  m.fingerprint = pattern(4096 - encode_manifest(m).size(), 9);
  ASSERT_EQ(encode_manifest(m).size(), 4096u);
  constexpr int kCommits = 200;
  std::vector<double> ms;
  for (int i = 1; i <= kCommits; ++i) {
    m.id = CheckpointId{i};
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_OK(store().commit(m, *gen));
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / ms.size();
  std::printf(
      "commit multi (check + create 4 KB manifest + set latest), %d commits: median %.2f ms, "
      "mean %.2f ms, p90 %.2f ms, max %.2f ms\n",
      kCommits, ms[ms.size() / 2], mean, ms[ms.size() * 9 / 10], ms.back());
  EXPECT_EQ(store().latest_id()->value(), CheckpointId{kCommits});
}

}  // namespace

// Issue 12 (leases): a task's blob write asks the worker's SideEffectGate first. Refused (the
// lease closed: this worker may be a zombie), nothing is written, file or znode, and the write
// fails with the gate's status, so the task's ack carries the error and the checkpoint aborts.
TEST_F(CheckpointStoreTest, ABlobWriteRefusedByTheGateWritesNothing) {
  test::SwitchGate gate;
  GenerationSnapshotWriter writer(snaps(), kGen, &gate);
  gate.close("ZooKeeper connection suspended");
  for (size_t size : {size_t{20'000}, size_t{100}}) {  // file, inline
    SCOPED_TRACE(size);
    const CheckpointId id{static_cast<int64_t>(size)};
    auto h = writer.write(id, "count-0", pattern(size, 3));
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), Code::unavailable) << h.status().to_string();
    EXPECT_NE(h.status().message().find("ZooKeeper connection suspended"), std::string::npos)
        << h.status().message();
    EXPECT_NE(h.status().message().find("count-0"), std::string::npos) << h.status().message();
    EXPECT_NE(h.status().message().find("checkpoint " + std::to_string(id.value)),
              std::string::npos)
        << h.status().message();
    auto ids = snaps().list_checkpoints();
    ASSERT_TRUE(ids.ok()) << ids.status().to_string();
    EXPECT_EQ(std::count(ids->begin(), ids->end(), id), 0) << "a blob was written anyway";
  }
  gate.open();
  auto h = writer.write(CheckpointId{3}, "count-0", pattern(100, 1));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_TRUE(snaps().get(*h).ok());
  // No gate: allowed, as before.
  GenerationSnapshotWriter ungated(snaps(), kGen);
  EXPECT_TRUE(ungated.write(CheckpointId{4}, "count-0", pattern(100, 2)).ok());
}
