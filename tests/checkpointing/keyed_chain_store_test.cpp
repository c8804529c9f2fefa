// Keyed-state blob chains against a real ZooKeeper and checkpoint directory: a base and deltas
// written through the SnapshotStore, named by committed manifests, kept by retention while a kept
// manifest needs them and deleted after; recovery replays base plus deltas into the state; a
// missing or corrupt link refuses recovery naming checkpoint, component, task, state and blob.
// Also the pure retention plan, by table.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "checkpointing/checkpoint_store.hpp"
#include "checkpointing/coordinator.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "core/state_chain.hpp"
#include "runtime/async_snapshot.hpp"
#include "tests/support/assert_ok.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
namespace fs = std::filesystem;

namespace {

constexpr Generation kGen{1};

// A stateful bolt whose only state is one managed KeyedState.
class Counting : public Bolt {
 public:
  void execute(const Tuple&, Collector&) override {}
  bool stateful() const override { return true; }
  std::vector<KeyedStateRef> keyed_states() override { return {{"counts", &counts}}; }
  KeyedState<int64_t> counts;
};

std::map<std::string, int64_t> contents(const KeyedState<int64_t>& s) {
  std::map<std::string, int64_t> m;
  s.for_each([&](const std::string& k, int64_t v) { m[k] = v; });
  return m;
}

TopologySpec topo() {
  return TopologyBuilder("t")
      .spout("lines", "SequenceSpout", 1)
      .bolt("count", "WordCount", 1)
      .stream("lines", "count", Grouping{GroupingType::fields, {"word"}})
      .build();
}

}  // namespace

TEST(BlobRetention, KeepsEveryLinkAKeptManifestNamesByTable) {
  auto manifest = [](int64_t id, std::vector<std::pair<int64_t, std::string>> links) {
    Manifest m;
    m.id = CheckpointId{id};
    TaskSnapshot t;
    t.component = "count";
    for (auto& [lid, loc] : links) {
      StateLink l;
      l.state = "counts";
      l.id = CheckpointId{lid};
      l.base = lid == links.front().first;
      l.handle.location = loc;
      t.links.push_back(l);
    }
    m.tasks.push_back(t);
    return m;
  };
  auto ids = [](std::vector<int64_t> v) {
    std::vector<CheckpointId> out;
    for (auto i : v) out.push_back(CheckpointId{i});
    return out;
  };
  struct Case {
    const char* name;
    std::vector<Manifest> kept;
    std::vector<int64_t> with_blobs;
    int64_t latest, previous;
    BlobRetention want;
  };
  const Case cases[] = {
      {"no chains: everything below previous goes",
       {manifest(4, {}), manifest(5, {})},
       {1, 2, 3, 4, 5, 6},
       5,
       4,
       {ids({1, 2, 3}), {}}},
      {"a base and deltas of older checkpoints are pruned to the links",
       {manifest(4, {{1, "b1"}, {2, "d2"}, {4, "d4"}}),
        manifest(5, {{1, "b1"}, {2, "d2"}, {4, "d4"}, {5, "d5"}})},
       {1, 2, 3, 4, 5},
       5,
       4,
       {ids({3}), {{CheckpointId{1}, {"b1"}}, {CheckpointId{2}, {"d2"}}}}},
      {"a new base frees the old chain once both kept manifests moved on",
       {manifest(7, {{6, "b6"}, {7, "d7"}}), manifest(8, {{8, "b8"}})},
       {1, 2, 6, 7, 8, 9},
       8,
       7,
       {ids({1, 2}), {{CheckpointId{6}, {"b6"}}}}},
  };
  for (const Case& c : cases) {
    auto keep = [&](CheckpointId id) { return id.value >= c.latest || id.value == c.previous; };
    EXPECT_EQ(plan_blob_retention(c.kept, ids(c.with_blobs), keep), c.want) << c.name;
  }
}

class KeyedChainStoreTest : public sleet::test::StoreTest {
 protected:
  KeyedChainStoreTest() : StoreTest("sleet-chain", /*inline_limit=*/64) {}
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_NO_FATAL_FAILURE(claim_generation());
  }

  // Checkpoint `id` of task count[0]: its keyed blob (base or delta since `since`) and an empty
  // cereal blob, committed with the chain; returns the chain.
  std::vector<StateLink> checkpoint(KeyedState<int64_t>& s, int64_t id, int64_t since, bool base,
                                    std::vector<StateLink> chain) {
    auto v = s.freeze(static_cast<uint64_t>(id), static_cast<uint64_t>(since), base);
    std::string blob;
    v->serialize(blob);
    auto h = snaps_->put(CheckpointId{id}, kGen, keyed_state_blob_key("count-0", "counts"), blob);
    EXPECT_TRUE(h.ok()) << h.status().to_string();
    auto cereal = snaps_->put(CheckpointId{id}, kGen, "count-0", std::string(100, 'c'));
    EXPECT_TRUE(cereal.ok());
    chain = extend_chain(chain, StateLink{"counts", CheckpointId{id}, base, v->entries(), *h});
    Manifest m = manifest_base(topo(), {"count"});
    m.id = CheckpointId{id};
    m.topology = topology_;
    TaskSnapshot t{"count", 0, 2, *cereal, chain};
    m.tasks.push_back(t);
    EXPECT_TRUE(store_->commit(m, gen_).ok());
    EXPECT_TRUE(store_->retain(CheckpointId{id}, *snaps_).ok());
    s.committed(static_cast<uint64_t>(id));
    return chain;
  }

  Status recover(Counting& into) {
    auto m = store_->load_latest();
    if (!m.ok()) return m.status();
    auto plan = plan_recovery(**m, topo(), *snaps_, store_->topology_path());
    if (!plan.ok()) return plan.status();
    auto managed = ManagedStates::bind(into, "count[0]");
    if (!managed.ok()) return managed.status();
    return (*managed)->restore(plan->id, plan->links[{"count", 0}], *plan, "count[0]");
  }
};

TEST_F(KeyedChainStoreTest, RetentionKeepsTheChainAndRecoveryReplaysIt) {
  KeyedState<int64_t> s;
  for (int i = 0; i < 5000; ++i) s["w" + std::to_string(i)] = i;
  auto chain = checkpoint(s, 1, 0, true, {});
  s["w1"] += 10;
  s.erase("w2");
  chain = checkpoint(s, 2, 1, false, chain);
  s["new"] = 7;
  chain = checkpoint(s, 3, 2, false, chain);
  s["w3"] += 1;
  chain = checkpoint(s, 4, 3, false, chain);
  ASSERT_EQ(chain.size(), 4u);
  // Manifests 1 and 2 are gone, but the base and delta they wrote are still needed by 3 and 4;
  // their cereal blobs are not.
  auto left = store_->list();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, (std::vector<CheckpointId>{CheckpointId{3}, CheckpointId{4}}));
  EXPECT_TRUE(snaps_->check_present(chain[0].handle).ok());
  EXPECT_TRUE(snaps_->check_present(chain[1].handle).ok());
  const fs::path cereal1 = snaps_->dir() / attempt_name(CheckpointId{1}, kGen) / "count-0.snap";
  EXPECT_FALSE(fs::exists(cereal1));
  Counting restored;
  ASSERT_OK(recover(restored));
  EXPECT_EQ(contents(restored.counts), contents(s));

  // A new base: once neither kept manifest names the old chain, its blobs go.
  chain = checkpoint(s, 5, 0, true, chain);
  s["w4"] += 1;
  chain = checkpoint(s, 6, 5, false, chain);
  auto blobs = snaps_->list_checkpoints();
  ASSERT_TRUE(blobs.ok());
  EXPECT_EQ(*blobs, (std::vector<CheckpointId>{CheckpointId{5}, CheckpointId{6}}));
  Counting again;
  ASSERT_OK(recover(again));
  EXPECT_EQ(contents(again.counts), contents(s));
}

TEST_F(KeyedChainStoreTest, AMissingOrCorruptDeltaRefusesRecoveryNamingIt) {
  KeyedState<int64_t> s;
  for (int i = 0; i < 3000; ++i) s["w" + std::to_string(i)] = i;
  auto chain = checkpoint(s, 1, 0, true, {});
  for (int i = 0; i < 100; ++i) s["w" + std::to_string(i)] += 1;
  chain = checkpoint(s, 2, 1, false, chain);
  for (int i = 0; i < 100; ++i) s["x" + std::to_string(i)] += 1;
  chain = checkpoint(s, 3, 2, false, chain);
  const fs::path delta = snaps_->file_path(chain[1].handle);
  ASSERT_TRUE(fs::exists(delta));

  // Corrupt: one flipped byte, same size.
  {
    std::fstream f(delta, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('\x7f');
  }
  Counting a;
  Status st = recover(a);
  EXPECT_EQ(st.code(), Code::corruption) << st.to_string();
  for (const std::string& want :
       {std::string("checkpoint 3"), std::string("count[0]"), std::string("'counts'"),
        chain[1].handle.location, std::string("delta of checkpoint 2"), std::string("CRC-32C")})
    EXPECT_NE(st.message().find(want), std::string::npos) << want << " in: " << st.message();

  // Missing: refused by plan_recovery already, before any task starts.
  fs::remove(delta);
  Counting b;
  st = recover(b);
  EXPECT_EQ(st.code(), Code::corruption) << st.to_string();
  for (const std::string& want :
       {std::string("checkpoint 3"), std::string("count[0]"), std::string("'counts'"),
        std::string("is missing"), std::string("delta blob of checkpoint 2"), delta.string()})
    EXPECT_NE(st.message().find(want), std::string::npos) << want << " in: " << st.message();
}

// Every blob the snapshot store holds: files (their location, relative to its directory) and
// inline znodes (their path).
std::set<std::string> stored_blobs(zk::Client& zk, SnapshotStore& snaps) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(snaps.dir(), ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file()) out.insert(fs::relative(it->path(), snaps.dir()).string());
  auto ids = zk.children(snaps.blob_root());
  if (!ids.ok()) return out;
  for (const std::string& id : *ids) {
    auto gens = zk.children(snaps.blob_root() + "/" + id);
    if (!gens.ok()) continue;
    for (const std::string& g : *gens) {
      const std::string gdir = snaps.blob_root() + "/" + id + "/" + g;
      auto keys = zk.children(gdir);
      if (keys.ok())
        for (const std::string& k : *keys) out.insert(gdir + "/" + k);
    }
  }
  return out;
}

// A long run of small deltas (one key changed per checkpoint: the size ratio never fires) is
// capped by the length limit: the chain never exceeds kMaxChainLinks, the checkpoint after a
// full chain is a base, so the manifest (which names the whole chain) stops growing; and after
// every commit the store holds exactly the blobs the two kept manifests need (their cereal blobs
// and every link of their chains, inline znodes and files alike), nothing more. A run of large
// deltas is capped by the size ratio long before.
TEST_F(KeyedChainStoreTest, LongChainsAreCappedByABaseAndRetentionKeepsExactlyTheirBlobs) {
  struct Case {
    const char* name;
    int changed_per_checkpoint;
    size_t want_longest;  // links
    int checkpoints;
  };
  // 700 of 2000 entries: a delta is about 0.35 of the base, so the fourth delta tips the ratio.
  const Case cases[] = {
      {"small deltas: the length limit", 1, kMaxChainLinks, 2 * kMaxChainLinks + 3},
      {"large deltas: the size ratio", 700, 4, 12}};
  int64_t id = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    KeyedState<int64_t> s;
    for (int i = 0; i < 2000; ++i) s["w" + std::to_string(i)] = i;
    std::vector<StateLink> chain;
    size_t longest = 0, manifest_at_full = 0, manifest_max = 0;
    int bases = 0;
    for (int k = 0; k < c.checkpoints; ++k) {
      ++id;
      for (int j = 0; j < c.changed_per_checkpoint; ++j)
        s["w" + std::to_string((k * 7 + j) % 2000)] += 1;
      const LinkPlan plan = plan_next_link(chain);
      if (c.changed_per_checkpoint == 1)
        EXPECT_EQ(plan.base, chain.empty() || chain.size() == kMaxChainLinks)
            << "checkpoint " << id << " after " << chain.size() << " links: " << plan.why;
      bases += plan.base ? 1 : 0;
      chain = checkpoint(s, id, plan.since.value, plan.base, chain);
      ASSERT_LE(chain.size(), kMaxChainLinks) << "checkpoint " << id;
      longest = std::max(longest, chain.size());

      auto latest = store_->load_latest();
      ASSERT_TRUE(latest.ok() && latest->has_value());
      const size_t bytes = encode_manifest(**latest).size();
      manifest_max = std::max(manifest_max, bytes);
      if (chain.size() == kMaxChainLinks && manifest_at_full == 0) manifest_at_full = bytes;

      // Exactly the blobs of the kept manifests (this one and the one before).
      std::set<std::string> want;
      for (int64_t kept : {id - 1, id}) {
        if (kept < 1) continue;
        auto m = store_->load(CheckpointId{kept});
        ASSERT_TRUE(m.ok()) << "kept manifest " << kept << ": " << m.status().to_string();
        for (const TaskSnapshot& t : m->tasks) {
          want.insert(t.handle.location);
          for (const StateLink& l : t.links) want.insert(l.handle.location);
        }
      }
      EXPECT_EQ(stored_blobs(client(), *snaps_), want) << "after checkpoint " << id;
    }
    EXPECT_EQ(longest, c.want_longest);
    if (c.changed_per_checkpoint == 1) {
      EXPECT_EQ(bases, 3) << "a base every " << kMaxChainLinks << " checkpoints";
      EXPECT_GT(manifest_at_full, 0u);
      EXPECT_EQ(manifest_max, manifest_at_full) << "the manifest outgrew a full chain's";
    }
    Counting restored;
    ASSERT_OK(recover(restored));
    EXPECT_EQ(contents(restored.counts), contents(s));
  }
}
