// Managed KeyedState checkpoints without fibers, sockets or sleeps: the copy-on-write views a
// task freezes at a barrier, the base/delta blobs a writer serializes from them (while the task
// keeps changing the table), replaying a chain, the planning of base vs delta, chain checks.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <unordered_map>

#include <sleet/keyed_state.hpp>

#include "core/state_chain.hpp"

using namespace sleet;

namespace {

std::string blob_of(KeyedStateView& v) {
  std::string out;
  v.serialize(out);
  return out;
}

std::map<std::string, int64_t> contents(const KeyedState<int64_t>& s) {
  std::map<std::string, int64_t> m;
  s.for_each([&](const std::string& k, int64_t v) { m[k] = v; });
  return m;
}

StateLink link(CheckpointId id, bool base, uint64_t size, std::string state = "counts") {
  StateLink l;
  l.state = std::move(state);
  l.id = id;
  l.base = base;
  l.handle.location = "0000/g1/t@" + std::to_string(id.value);
  l.handle.size = size;
  return l;
}

}  // namespace

// The core property: a view frozen at barrier n serializes exactly the state at barrier n, even
// though the table keeps changing (updates, inserts that grow it, erases that shift entries)
// before the writer gets to it; and a base plus the deltas after it replays to that state.
TEST(ManagedKeyedState, ViewsAreTheStateAtTheBarrierAndChainsReplayToIt) {
  std::mt19937_64 rng(7);
  KeyedState<int64_t> live;
  std::unordered_map<std::string, int64_t> model;
  std::vector<std::string> chain;  // committed blobs: base first
  uint64_t tip = 0;
  for (uint64_t n = 1; n <= 40; ++n) {
    const int ops = 200 + static_cast<int>(rng() % 3000);
    const uint64_t range = 50 + n * 40;  // the key space grows: the table grows across views
    for (int i = 0; i < ops; ++i) {
      const std::string k = "k" + std::to_string(rng() % range);
      if (rng() % 7 == 0) {
        EXPECT_EQ(live.erase(k), model.erase(k) == 1);
      } else {
        const int64_t d = static_cast<int64_t>(rng() % 5) + 1;
        live[k] += d;
        model[k] += d;
      }
    }
    const std::map<std::string, int64_t> at_barrier(model.begin(), model.end());
    const bool base = chain.empty() || n % 9 == 0;
    auto view = live.freeze(n, base ? 0 : tip, base);
    ASSERT_EQ(view->base(), base);
    // The task goes on before the writer serializes: these changes belong to epoch n+1.
    for (int i = 0; i < 2000; ++i) {
      const std::string k = "k" + std::to_string(rng() % (range * 2));
      if (rng() % 5 == 0) {
        live.erase(k);
        model.erase(k);
      } else {
        live[k] += 100;
        model[k] += 100;
      }
    }
    const std::string blob = blob_of(*view);
    view.reset();
    std::vector<std::string> next = base ? std::vector<std::string>{} : chain;
    next.push_back(blob);
    KeyedState<int64_t> restored;
    for (const std::string& b : next) ASSERT_TRUE(restored.apply_blob(b).ok()) << "n=" << n;
    EXPECT_EQ(contents(restored), at_barrier)
        << "checkpoint " << n << ", " << next.size() << " blobs";
    // Every third checkpoint "aborts": it is not committed, so the next delta must also carry
    // its changes (since stays at the committed tip, the committed chain stays).
    if (n % 3 != 0) {
      chain = std::move(next);
      tip = n;
      live.committed(n);
    }
  }
  const std::map<std::string, int64_t> final_model(model.begin(), model.end());
  EXPECT_EQ(contents(live), final_model);
}

// A delta holds only what changed since the chain's tip: untouched entries cost nothing.
TEST(ManagedKeyedState, ADeltaHoldsOnlyChangedAndErasedKeys) {
  KeyedState<int64_t> s;
  for (int i = 0; i < 100000; ++i) s["key" + std::to_string(i)] = i;
  auto base = s.freeze(1, 0, true);
  const std::string b = blob_of(*base);
  EXPECT_EQ(base->entries(), 100000u);
  s.committed(1);
  s["key5"] += 1;
  s["new"] = 1;
  s.erase("key7");
  auto delta = s.freeze(2, 1, false);
  const std::string d = blob_of(*delta);
  EXPECT_EQ(delta->entries(), 3u);  // two upserts, one erase
  EXPECT_LT(d.size(), 200u);
  KeyedState<int64_t> r;
  ASSERT_TRUE(r.apply_blob(b).ok());
  ASSERT_TRUE(r.apply_blob(d).ok());
  EXPECT_EQ(contents(r), contents(s));
  EXPECT_EQ(*r.find("key5"), 6);
  EXPECT_FALSE(r.contains("key7"));
}

TEST(ManagedKeyedState, RestoredEntriesAreNotInTheNextDeltaAndClearForcesABase) {
  KeyedState<int64_t> s;
  for (int i = 0; i < 1000; ++i) s[std::to_string(i)] = i;
  auto v = s.freeze(1, 0, true);
  const std::string b = blob_of(*v);
  KeyedState<int64_t> r;
  ASSERT_TRUE(r.apply_blob(b).ok());
  r.restored(1);
  r["1"] += 1;
  auto d = r.freeze(2, 1, false);
  (void)blob_of(*d);
  EXPECT_EQ(d->entries(), 1u);
  r.clear();
  r["x"] = 1;
  auto after_clear = r.freeze(3, 2, false);  // asked for a delta: a clear cannot be one
  EXPECT_TRUE(after_clear->base());
}

TEST(ManagedKeyedState, DamagedBlobsAreRefusedNotMisread) {
  KeyedState<int64_t> s;
  s["a"] = 1;
  s["bb"] = 2;
  auto v = s.freeze(1, 0, true);
  const std::string b = blob_of(*v);
  KeyedState<int64_t> r;
  EXPECT_EQ(r.apply_blob(b.substr(0, b.size() - 3)).code(), Code::corruption);
  EXPECT_EQ(r.apply_blob("not a blob at all, clearly").code(), Code::corruption);
  EXPECT_EQ(r.apply_blob(b + "x").code(), Code::corruption);
  std::string other = b;
  other[4] = 9;  // format version
  EXPECT_EQ(r.apply_blob(other).code(), Code::incompatible);
  EXPECT_TRUE(r.apply_blob(b).ok());
}

TEST(ManagedKeyedState, StringValuesRoundTrip) {
  KeyedState<std::string> s;
  s["k"] = "value";
  s["empty"] = "";
  auto v = s.freeze(1, 0, true);
  KeyedState<std::string> r;
  ASSERT_TRUE(r.apply_blob(blob_of(*v)).ok());
  EXPECT_EQ(*r.find("k"), "value");
  EXPECT_EQ(*r.find("empty"), "");
}

// plan_next_link: base vs delta by the size ratio, the length limit and malformed chains.
TEST(StateChain, PlansBaseOrDeltaByTable) {
  struct Case {
    const char* name;
    std::vector<StateLink> chain;
    bool base;
    int64_t since;
  };
  std::vector<StateLink> long_chain = {link(CheckpointId{1}, true, 1000000)};
  for (int i = 2; i <= static_cast<int>(kMaxChainLinks); ++i)
    long_chain.push_back(link(CheckpointId{i}, false, 1));
  const Case cases[] = {
      {"no chain yet", {}, true, 0},
      {"base only", {link(CheckpointId{4}, true, 100)}, false, 4},
      {"deltas below the base",
       {link(CheckpointId{4}, true, 100), link(CheckpointId{5}, false, 40),
        link(CheckpointId{7}, false, 60)},
       false,
       7},
      {"deltas just over the base",
       {link(CheckpointId{4}, true, 100), link(CheckpointId{5}, false, 40),
        link(CheckpointId{7}, false, 61)},
       true,
       0},
      {"empty base, then a delta",
       {link(CheckpointId{1}, true, 0), link(CheckpointId{2}, false, 1)},
       true,
       0},
      {"no base first", {link(CheckpointId{5}, false, 10)}, true, 0},
      {"at the length limit", long_chain, true, 0},
  };
  for (const Case& c : cases) {
    const LinkPlan p = plan_next_link(c.chain);
    EXPECT_EQ(p.base, c.base) << c.name << " (" << p.why << ")";
    EXPECT_EQ(p.since.value, c.since) << c.name;
  }
  long_chain.pop_back();
  EXPECT_FALSE(plan_next_link(long_chain).base) << "one below the limit";
}

TEST(StateChain, ExtendReplacesOnABaseAndAppendsADelta) {
  std::vector<StateLink> c = {link(CheckpointId{1}, true, 10), link(CheckpointId{2}, false, 1)};
  auto d = extend_chain(c, link(CheckpointId{3}, false, 1));
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.back().id, CheckpointId{3});
  auto b = extend_chain(c, link(CheckpointId{3}, true, 12));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].base);
}

TEST(StateChain, RefusesChainsRecoveryCannotReplay) {
  struct Case {
    const char* name;
    std::vector<StateLink> chain;
    const char* says;
  };
  const Case cases[] = {
      {"empty", {}, "empty"},
      {"delta first", {link(CheckpointId{2}, false, 1)}, "not with a base"},
      {"two bases",
       {link(CheckpointId{1}, true, 1), link(CheckpointId{2}, true, 1)},
       "second base"},
      {"out of order",
       {link(CheckpointId{3}, true, 1), link(CheckpointId{2}, false, 1)},
       "out of order"},
      {"mixed states",
       {link(CheckpointId{1}, true, 1), link(CheckpointId{2}, false, 1, "other")},
       "mixes states"},
  };
  for (const Case& c : cases) {
    Status st = check_chain(c.chain, "checkpoint 9, count[1], keyed state 'counts'");
    EXPECT_EQ(st.code(), Code::corruption) << c.name;
    EXPECT_NE(st.message().find(c.says), std::string::npos) << c.name << ": " << st.message();
    EXPECT_NE(st.message().find("checkpoint 9, count[1]"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(
      check_chain({link(CheckpointId{1}, true, 1), link(CheckpointId{2}, false, 1)}, "x").ok());
  EXPECT_TRUE(check_keyed_state_name("counts_v2.a-b").ok());
  EXPECT_FALSE(check_keyed_state_name("a/b").ok());
  EXPECT_FALSE(check_keyed_state_name("").ok());
  EXPECT_FALSE(check_keyed_state_name(".hidden").ok());
}
