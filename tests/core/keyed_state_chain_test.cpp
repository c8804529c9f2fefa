// Managed KeyedState checkpoints without fibers, sockets or sleeps: the copy-on-write views a
// task freezes at a barrier, the base/delta blobs a writer serializes from them (while the task
// keeps changing the table), replaying a chain, the planning of base vs delta, chain checks.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>

#include <sleet/keyed_state.hpp>

#include "core/state_chain.hpp"
#include "runtime/async_snapshot.hpp"

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

// --- A task's chain across commit notices it misses or gets late (issue 15 edge) ---
//
// The real task-side pieces (ManagedStates, KeyedState views, AsyncSnapshotWriter with one
// thread, drained after each write so the order is the script's) driven by a script of events:
//   bN  barrier N at the task: it first catches up on the committed checkpoint it can see (as
//       Task::take_snapshot does with Engine::committed_checkpoint()), then freezes
//   wN  the writer writes N's blobs and acks
//   cN  the coordinator commits N (the task is not told)
//   aN  the coordinator aborts N (its ack, even one still to come, is dropped)
//   nN  the notice "N committed" reaches the task (Task::check_committed)
// Before every barrier the test changes the state (updates, inserts, erases) and records it. It
// checks that every delta is relative to a checkpoint that committed (never an aborted one, never
// one the task was not told of) and, after every commit, that the chain the committed manifest
// would name replays to exactly the state at that barrier.
namespace {

class ChainBolt : public Bolt {
 public:
  void execute(const Tuple&, Collector&) override {}
  bool stateful() const override { return true; }
  std::vector<KeyedStateRef> keyed_states() override { return {{"counts", &counts}}; }
  KeyedState<int64_t> counts;
};

// Blobs in memory, named like the snapshot store's: "<id>/<key>".
class MemWriter : public SnapshotWriter {
 public:
  Result<BlobHandle> write(CheckpointId id, const std::string& key,
                           std::string_view bytes) override {
    BlobHandle h;
    h.kind = BlobHandle::Kind::file;
    h.location = std::to_string(id.value) + "/" + key;
    h.size = bytes.size();
    blobs[h.location] = std::string(bytes);
    return h;
  }
  std::map<std::string, std::string> blobs;
};

struct AckLog : SnapshotListener {
  std::map<int64_t, TaskSnapshotData> acks;
  void on_task_snapshot(TaskSnapshotData&& d) override { acks[d.id.value] = std::move(d); }
};

struct ChainRun {
  ChainBolt bolt;
  std::shared_ptr<ManagedStates> managed = std::move(ManagedStates::bind(bolt, "count[0]")).value();
  MemWriter writer;
  AckLog acks;
  std::mt19937_64 rng{11};
  std::map<std::string, int64_t> model;
  std::map<int64_t, std::map<std::string, int64_t>> at_barrier;
  std::map<int64_t, SnapshotJob> frozen;  // barrier taken, not written yet
  std::set<int64_t> committed, aborted;
  int64_t notice = 0;  // the latest commit the task was told of

  // A few percent of the keys per epoch, so deltas stay below the base (the size ratio would
  // turn them into bases, and the script's deltas are the point).
  void change() {
    if (model.empty())
      for (int i = 0; i < 2000; ++i) {
        bolt.counts["k" + std::to_string(i)] = 1;
        model["k" + std::to_string(i)] = 1;
      }
    for (int i = 0; i < 40; ++i) {
      const std::string k = "k" + std::to_string(rng() % 2100);
      if (rng() % 6 == 0) {
        bolt.counts.erase(k);
        model.erase(k);
      } else {
        bolt.counts[k] += 1;
        model[k] += 1;
      }
    }
  }

  // Replays the chain checkpoint n's ack names into a fresh state.
  std::map<std::string, int64_t> replay(int64_t n) {
    ChainBolt fresh;
    auto m = std::move(ManagedStates::bind(fresh, "count[0]")).value();
    RestorePlan plan;
    plan.read_blob = [&](const BlobHandle& h, const std::function<Status(std::string_view)>& f) {
      auto it = writer.blobs.find(h.location);
      if (it == writer.blobs.end()) return Status::Corruption(h.location + " is missing");
      return f(it->second);
    };
    Status st = m->restore(CheckpointId{n}, acks.acks.at(n).links, plan, "count[0]");
    EXPECT_TRUE(st.ok()) << st.to_string();
    return contents(fresh.counts);
  }
};

struct ScriptCase {
  const char* name;
  const char* script;
  // barrier id -> the checkpoint its delta must be relative to (0: a base)
  std::map<int64_t, int64_t> since;
};

}  // namespace

TEST(ManagedChain, DeltasChainFromTheLastCommitTheTaskSawAcrossMissedNotices) {
  const ScriptCase cases[] = {
      {"two notices missed: the next delta still chains from the commit it saw",
       "b1 w1 c1 n1 b2 w2 c2 b3 w3 c3 b4 w4 c4 n4 b5 w5 c5 n5",
       {{1, 0}, {2, 1}, {3, 1}, {4, 1}, {5, 4}}},
      {"two notices missed, then only the later one arrives",
       "b1 w1 c1 n1 b2 w2 c2 b3 w3 c3 n3 b4 w4 c4 n4 b5",
       {{2, 1}, {3, 1}, {4, 3}, {5, 4}}},
      {"a late notice of the older commit, after the next barrier",
       "b1 w1 c1 n1 b2 w2 c2 b3 n2 w3 c3 b4 w4 c4 n4 b5",
       {{2, 1}, {3, 1}, {4, 2}, {5, 4}}},
      {"a late notice, then the checkpoint frozen before it aborts",
       "b1 w1 c1 n1 b2 w2 c2 b3 n2 w3 a3 b4 w4 c4 n4 b5 w5 c5",
       {{3, 1}, {4, 2}, {5, 4}}},
      {"an aborted checkpoint is never a base for a delta",
       "b1 w1 c1 n1 b2 w2 a2 b3 w3 c3 n3 b4 w4 a4 b5 w5 c5 n5 b6",
       {{2, 1}, {3, 1}, {4, 3}, {5, 3}, {6, 5}}},
      {"an aborted write that lands after a later commit does not move the tip back",
       "b1 w1 c1 n1 b2 a2 b3 w3 c3 n3 w2 b4 w4 c4 n4 b5",
       {{2, 1}, {3, 1}, {4, 3}, {5, 4}}},
      {"notices missed across aborts: the delta spans every uncommitted epoch",
       "b1 w1 c1 n1 b2 w2 c2 b3 w3 a3 b4 w4 c4 b5 w5 a5 b6 w6 c6 n6 b7",
       {{4, 1}, {5, 1}, {6, 1}, {7, 6}}},
  };
  for (const ScriptCase& c : cases) {
    SCOPED_TRACE(c.name);
    ChainRun r;
    std::istringstream script(c.script);
    for (std::string ev; script >> ev;) {
      const int64_t n = std::stoll(ev.substr(1));
      SCOPED_TRACE(ev);
      switch (ev[0]) {
        case 'b': {
          r.change();
          r.at_barrier[n] = r.model;
          r.managed->on_committed(CheckpointId{r.notice});  // Task::take_snapshot's catch-up
          SnapshotJob job;
          job.ack.component = "count";
          job.ack.id = CheckpointId{n};
          job.ack.stateful = true;
          job.task_key = "count-0";
          r.managed->freeze_into(job, CheckpointId{n});
          job.owner = r.managed;
          ASSERT_EQ(job.parts.size(), 1u);
          const KeyedPart& p = job.parts[0];
          const int64_t since = p.view->base() || p.chain.empty() ? 0 : p.chain.back().id.value;
          if (since != 0) {
            EXPECT_TRUE(r.committed.count(since)) << "delta " << n << " since " << since;
            EXPECT_FALSE(r.aborted.count(since)) << "delta " << n << " since " << since;
            EXPECT_LE(since, r.notice) << "delta " << n << " since a commit it was not told of";
          }
          if (auto it = c.since.find(n); it != c.since.end())
            EXPECT_EQ(since, it->second) << "barrier " << n;
          r.frozen[n] = std::move(job);
          break;
        }
        case 'w': {
          AsyncSnapshotWriter w(r.writer, r.acks, 1);
          w.submit(std::move(r.frozen.at(n)));
          r.frozen.erase(n);
          w.drain();
          ASSERT_TRUE(r.acks.acks.count(n));
          ASSERT_TRUE(r.acks.acks[n].error.ok()) << r.acks.acks[n].error.to_string();
          break;
        }
        case 'c': {
          ASSERT_TRUE(r.acks.acks.count(n)) << "commit without an ack";
          r.committed.insert(n);
          const auto& links = r.acks.acks[n].links;
          EXPECT_TRUE(check_chain(links, "checkpoint " + std::to_string(n)).ok());
          for (const StateLink& l : links)
            EXPECT_TRUE(r.committed.count(l.id.value))
                << "checkpoint " << n << " names the blob of " << l.id.value
                << ", which never committed";
          EXPECT_EQ(r.replay(n), r.at_barrier[n]) << "the chain of checkpoint " << n;
          break;
        }
        case 'a':
          r.aborted.insert(n);
          break;
        case 'n':
          ASSERT_TRUE(r.committed.count(n));
          r.notice = std::max(r.notice, n);
          r.managed->on_committed(CheckpointId{n});  // Task::check_committed
          break;
        default:
          FAIL() << "bad event " << ev;
      }
    }
  }
}
