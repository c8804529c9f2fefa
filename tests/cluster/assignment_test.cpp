// cluster::assign, the pure placement function of cluster mode: literal tables for the common
// cases, then every rule checked as an invariant over generated cases (small topologies x 1..4
// workers x every sequence of up to three worker losses, joins and slot changes).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <set>

#include "cluster/assignment.hpp"

using namespace sleet;
using namespace sleet::cluster;

namespace {

using Table = std::map<std::string, std::string>;  // "comp/i" -> worker

Table table(const Assignment& a) {
  Table t;
  for (const auto& [task, w] : a) t[task.component + "/" + std::to_string(task.index)] = w;
  return t;
}

PlacementTopology wordcount() {
  return {"wc", {{"spout", 2}, {"split", 3}, {"count", 2}}, {}};
}

TEST(Assignment, FreshIsRoundRobinPerComponent) {
  auto r = assign(wordcount(), {{"a", 4}, {"b", 4}, {"c", 4}}, {});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(table(*r), (Table{{"spout/0", "a"},
                              {"spout/1", "b"},
                              {"split/0", "c"},
                              {"split/1", "a"},
                              {"split/2", "b"},
                              {"count/0", "c"},
                              {"count/1", "a"}}));
}

TEST(Assignment, OnlyTheLostWorkersTasksMoveAndAJoinMovesNothing) {
  auto first = assign(wordcount(), {{"a", 4}, {"b", 4}, {"c", 4}}, {});
  ASSERT_TRUE(first.ok());
  auto after_loss = assign(wordcount(), {{"a", 4}, {"c", 4}}, *first);
  ASSERT_TRUE(after_loss.ok());
  EXPECT_EQ(table(*after_loss), (Table{{"spout/0", "a"},
                                       {"spout/1", "c"},  // was b
                                       {"split/0", "c"},
                                       {"split/1", "a"},
                                       {"split/2", "a"},  // was b
                                       {"count/0", "c"},
                                       {"count/1", "a"}}));
  auto after_join = assign(wordcount(), {{"a", 4}, {"c", 4}, {"d", 4}}, *after_loss);
  ASSERT_TRUE(after_join.ok());
  EXPECT_EQ(*after_join, *after_loss);
}

TEST(Assignment, ChainsStayTogetherAndTakeOneSlot) {
  PlacementTopology t{"chained", {{"a", 2}, {"b", 2}, {"c", 1}}, {{"a", "b"}}};
  auto r = assign(t, {{"y", 1}, {"x", 2}}, {});  // order of the workers does not matter
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(table(*r),
            (Table{{"a/0", "x"}, {"b/0", "x"}, {"a/1", "y"}, {"b/1", "y"}, {"c/0", "x"}}));
}

TEST(Assignment, TooFewSlotsIsRefusedNamingTheNumbers) {
  auto r = assign(wordcount(), {{"a", 3}, {"b", 3}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  const std::string m = r.status().message();
  EXPECT_NE(m.find("'wc' needs 7 slots"), std::string::npos) << m;
  EXPECT_NE(m.find("2 live workers offer 6 (a: 3, b: 3)"), std::string::npos) << m;
  EXPECT_NE(m.find("--slots"), std::string::npos) << m;
  auto none = assign(wordcount(), {}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("0 live workers offer 0"), std::string::npos);
}

TEST(Assignment, AWorkerBackWithFewerSlotsKeepsItsFirstUnits) {
  auto first = assign(wordcount(), {{"a", 4}, {"b", 4}}, {});
  ASSERT_TRUE(first.ok());
  // a had spout/0, split/0, split/2, count/1; with 2 slots it keeps the first two.
  auto r = assign(wordcount(), {{"a", 2}, {"b", 5}}, *first);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  auto t = table(*r);
  EXPECT_EQ(t["spout/0"], "a");
  EXPECT_EQ(t["split/0"], "a");
  EXPECT_EQ(t["split/2"], "b");
  EXPECT_EQ(t["count/1"], "b");
}

TEST(Assignment, RefusesMalformedInput) {
  auto bad = [](PlacementTopology t, std::vector<WorkerSlots> w, const std::string& needle) {
    auto r = assign(t, w, {});
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  bad({"t", {{"a", 0}}, {}}, {{"w", 1}}, "parallelism 0");
  bad({"t", {{"a", 1}, {"a", 1}}, {}}, {{"w", 2}}, "appears twice");
  bad({"t", {{"a", 1}, {"b", 2}}, {{"a", "b"}}}, {{"w", 3}}, "differ in parallelism");
  bad({"t", {{"a", 1}}, {{"a", "zz"}}}, {{"w", 3}}, "unknown component 'zz'");
  bad({"t", {{"a", 1}, {"b", 1}, {"c", 1}}, {{"a", "b"}, {"b", "c"}}}, {{"w", 3}}, "two chains");
  bad({"t", {{"a", 1}}, {}}, {{"w", 1}, {"w", 2}}, "live twice");
  bad({"t", {{"a", 1}}, {}}, {{"w", -1}, {"v", 2}}, "-1 slots");
}

// ----------------------------------------------------------------------------------------------
// Invariants over generated cases.

std::vector<PlacementTopology> topologies() {
  return {
      {"single", {{"only", 3}}, {}},
      wordcount(),
      {"chain2", {{"a", 2}, {"b", 2}, {"c", 3}}, {{"a", "b"}}},
      {"chain3", {{"x", 2}, {"w", 1}, {"y", 2}, {"z", 2}}, {{"x", "y", "z"}}},
      // A chain listed against topology order: its units are placed at 'b', the first met.
      {"backwards", {{"s", 1}, {"b", 3}, {"c", 3}, {"d", 1}}, {{"c", "b"}}},
  };
}

using Workers = std::vector<WorkerSlots>;

int slots_of(const Workers& ws, const std::string& id) {
  for (const auto& w : ws)
    if (w.id == id) return w.slots;
  return -1;
}

// Checks every rule for one step; returns a description of the first violation ("" if none).
std::string violation(const PlacementTopology& t, const Workers& ws, const Assignment& prev,
                      const Result<Assignment>& r) {
  auto units = *placement_units(t);
  int64_t total = 0;
  for (const auto& w : ws) total += w.slots;
  if (static_cast<int64_t>(units.size()) > total) {
    if (r.ok()) return "assigned although slots are too few";
    if (r.status().message().find("needs " + std::to_string(units.size()) + " slots") ==
        std::string::npos)
      return "refusal does not name the needed slots: " + r.status().message();
    if (r.status().message().find("offer " + std::to_string(total)) == std::string::npos)
      return "refusal does not name the offered slots: " + r.status().message();
    return "";
  }
  if (!r.ok()) return "refused although slots suffice: " + r.status().to_string();
  const Assignment& a = *r;
  // Every task exactly once, on a live worker.
  size_t tasks = 0;
  for (const auto& c : t.components) tasks += static_cast<size_t>(c.parallelism);
  if (a.size() != tasks) return "not every task is assigned";
  for (const auto& [task, w] : a)
    if (slots_of(ws, w) < 0) return task.component + " on a worker that is not live: " + w;
  // Chains never split; per-worker units within slots.
  std::map<std::string, int> load;
  for (const auto& u : units) {
    const std::string& w = a.at(u.front());
    for (const auto& task : u)
      if (a.at(task) != w) return "chain split at " + task.component;
    ++load[w];
  }
  for (const auto& [w, n] : load)
    if (n > slots_of(ws, w)) return "worker " + w + " over its slots";
  // Stickiness: a unit whose previous worker is live stays, up to that worker's slots (first units
  // in placement order); everything else is an orphan.
  std::map<std::string, int> kept_so_far;
  std::vector<bool> orphan(units.size(), true);
  for (size_t u = 0; u < units.size(); ++u) {
    auto p = prev.find(units[u].front());
    if (p == prev.end() || slots_of(ws, p->second) < 0) continue;
    if (kept_so_far[p->second] >= slots_of(ws, p->second)) continue;
    ++kept_so_far[p->second];
    orphan[u] = false;
    if (a.at(units[u].front()) != p->second)
      return units[u].front().component + " moved off live worker " + p->second;
  }
  // Spread: for the last orphan of component c placed on w1, every worker w2 that still has a
  // free slot holds at least count(c, w1) - 1 units of c.
  std::map<std::string, std::map<std::string, int>> count;
  std::map<std::string, std::set<std::string>> got_orphan;
  for (size_t u = 0; u < units.size(); ++u) {
    const auto& c = units[u].front().component;
    const auto& w = a.at(units[u].front());
    ++count[c][w];
    if (orphan[u]) got_orphan[c].insert(w);
  }
  for (const auto& [c, targets] : got_orphan)
    for (const auto& w1 : targets)
      for (const auto& w2 : ws)
        if (load[w2.id] < w2.slots && count[c][w2.id] < count[c][w1] - 1)
          return "component " + c + " piles onto " + w1 + " while " + w2.id + " has room";
  // Deterministic and independent of the workers' order; recomputing moves nothing.
  Workers rev(ws.rbegin(), ws.rend());
  auto again = assign(t, rev, prev);
  if (!again.ok() || *again != a) return "depends on the order of the workers";
  auto stable = assign(t, ws, a);
  if (!stable.ok() || *stable != a) return "recomputing from the result moves tasks";
  return "";
}

// Events between steps: a worker leaves, a new worker joins, the lost one comes back, or a
// worker's slots change.
using Event = std::function<Workers(const Workers&)>;

std::vector<std::pair<std::string, Event>> events() {
  std::vector<std::pair<std::string, Event>> e;
  for (int i = 0; i < 4; ++i)
    e.push_back({"lose#" + std::to_string(i), [i](const Workers& ws) {
                   Workers out = ws;
                   if (static_cast<size_t>(i) < out.size()) out.erase(out.begin() + i);
                   return out;
                 }});
  for (int s : {1, 3})
    e.push_back({"join(slots " + std::to_string(s) + ")", [s](const Workers& ws) {
                   Workers out = ws;
                   int k = 0;  // the first free id: deterministic and unique
                   while (slots_of(out, "j" + std::to_string(k)) >= 0) ++k;
                   out.push_back({"j" + std::to_string(k), s});
                   return out;
                 }});
  e.push_back({"back(w0, 2 slots)", [](const Workers& ws) {
                 Workers out = ws;
                 if (slots_of(out, "w0") < 0) out.push_back({"w0", 2});
                 return out;
               }});
  e.push_back({"shrink(first to 1)", [](const Workers& ws) {
                 Workers out = ws;
                 if (!out.empty()) out.front().slots = 1;
                 return out;
               }});
  return e;
}

TEST(Assignment, EveryRuleHoldsOverGeneratedSequences) {
  auto evs = events();
  size_t cases = 0, refusals = 0, moved_cases = 0;
  for (const auto& t : topologies()) {
    for (int n = 1; n <= 4; ++n) {
      for (int slots : {1, 2, 3, 5}) {
        // Uneven slots too: worker i gets slots + (i % 2).
        Workers start;
        for (int i = 0; i < n; ++i) start.push_back({"w" + std::to_string(i), slots + (i % 2)});
        // Every sequence of up to three events.
        std::function<void(const Workers&, const Assignment&, std::string, int)> walk =
            [&](const Workers& ws, const Assignment& prev, std::string path, int depth) {
              auto r = assign(t, ws, prev);
              ++cases;
              std::string v = violation(t, ws, prev, r);
              ASSERT_EQ(v, "") << t.name << " " << path;
              if (!r.ok()) ++refusals;
              if (r.ok() && !prev.empty() && *r != prev) ++moved_cases;
              if (depth == 3) return;
              const Assignment& next = r.ok() ? *r : prev;  // a refusal keeps the old one
              for (const auto& [name, ev] : evs) walk(ev(ws), next, path + " " + name, depth + 1);
            };
        walk(start, {}, "start(" + std::to_string(n) + "x" + std::to_string(slots) + ")", 0);
        if (HasFatalFailure()) return;
      }
    }
  }
  // The generator reaches refusals and moves, not only trivial cases.
  EXPECT_GT(cases, 10000u);
  EXPECT_GT(refusals, 100u);
  EXPECT_GT(moved_cases, 100u);
  std::printf("checked %zu cases (%zu refusals, %zu with moves)\n", cases, refusals, moved_cases);
}

// The checker itself catches broken assignments (so the invariant test cannot pass vacuously).
TEST(Assignment, CheckerRejectsBrokenAssignments) {
  auto t = topologies()[2];  // chain2
  Workers ws{{"a", 3}, {"b", 3}};
  auto good = assign(t, ws, {});
  ASSERT_TRUE(good.ok());
  ASSERT_EQ(violation(t, ws, {}, good), "");
  Assignment split = *good;
  split[TaskRef{"b", 0}] = split[TaskRef{"a", 0}] == "a" ? "b" : "a";
  EXPECT_NE(violation(t, ws, {}, Result<Assignment>(split)), "");
  Assignment piled = *good;
  for (auto& [task, w] : piled) w = "a";
  EXPECT_NE(violation(t, {{"a", 9}, {"b", 9}}, {}, Result<Assignment>(piled)), "");
  // Moving a survivor's task is caught.
  auto moved = assign(t, ws, {});
  Assignment prev = *moved;
  for (auto& [task, w] : prev) w = (w == "a" ? "b" : "a");
  EXPECT_NE(violation(t, ws, prev, moved), "");
}

}  // namespace

// --- rebalanced: a worker that joins takes over the overloaded workers' highest units ---

TEST(AssignmentRebalance, JoinerTakesTheFairShare) {
  auto two = assign(wordcount(), {{"a", 8}, {"b", 8}}, {});
  ASSERT_TRUE(two.ok());
  std::vector<WorkerSlots> three{{"a", 8}, {"b", 8}, {"c", 8}};
  auto r = assign(wordcount(), three, rebalanced(wordcount(), three, *two));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  std::map<std::string, std::map<std::string, int>> per;  // component -> worker -> tasks
  for (const auto& [task, w] : *r) ++per[task.component][w];
  EXPECT_EQ(per["split"], (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
  EXPECT_GE(per["spout"].size(), 2u);
  // Only moved units changed worker; units within the fair share stayed.
  int moved = 0;
  for (const auto& [task, w] : *r) moved += (two->at(task) != w);
  EXPECT_GT(moved, 0);
  for (const auto& [task, w] : *r)
    if (two->at(task) != w) EXPECT_EQ(w, "c") << task.component << task.index;
}

TEST(AssignmentRebalance, BalancedIsUnchanged) {
  std::vector<WorkerSlots> ws{{"a", 8}, {"b", 8}, {"c", 8}};
  auto r = assign(wordcount(), ws, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(rebalanced(wordcount(), ws, *r), *r);
  auto again = assign(wordcount(), ws, rebalanced(wordcount(), ws, *r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *r);
}

TEST(AssignmentRebalance, ChainsMoveWhole) {
  PlacementTopology t{"wc", {{"spout", 2}, {"split", 2}, {"count", 4}}, {{"spout", "split"}}};
  auto one = assign(t, {{"a", 8}}, {});
  ASSERT_TRUE(one.ok());
  std::vector<WorkerSlots> two{{"a", 8}, {"b", 8}};
  auto r = assign(t, two, rebalanced(t, two, *one));
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(r->at(TaskRef{"spout", i}), r->at(TaskRef{"split", i})) << i;
  int on_b = 0;
  for (const auto& [task, w] : *r) on_b += w == "b";
  EXPECT_EQ(on_b, 2 + 2);  // one chain unit (2 tasks) and 2 of the 4 count tasks
}

// --- the assignment's text in ZooKeeper ---

TEST(AssignmentCodec, RoundTrip) {
  ClusterAssignment a;
  a.generation = 7;
  a.coordinator = "w1";
  a.workers = {{"w0", "127.0.0.10:4000", 4}, {"w1", "127.0.0.11:4001", 2}};
  a.tasks = {{TaskRef{"count", 0}, "w0"}, {TaskRef{"count", 1}, "w1"}, {TaskRef{"spout", 0}, "w1"}};
  auto text = encode_assignment(a);
  EXPECT_EQ(text,
            "generation=7\ncoordinator=w1\nworker=w0 127.0.0.10:4000 4\nworker=w1 "
            "127.0.0.11:4001 2\ntask=count 0 w0\ntask=count 1 w1\ntask=spout 0 w1\n");
  auto back = decode_assignment(text);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, a);
  EXPECT_EQ(back->index_of("w1"), 1);
  EXPECT_EQ(back->index_of("w9"), -1);
}

TEST(AssignmentCodec, RefusesMalformed) {
  struct Case {
    const char* text;
    Code code;
    const char* needle;
  } cases[] = {
      {"", Code::not_found, "no assignment"},
      {"coordinator=w0\n", Code::corruption, "without a generation"},
      {"generation=x\n", Code::corruption, "not a generation"},
      {"generation=1\nworker=w0\n", Code::corruption, "host:port slots"},
      {"generation=1\nworker=w1 a:1 1\nworker=w0 a:2 1\n", Code::corruption, "not sorted"},
      {"generation=1\nworker=w0 a:1 1\ntask=c 0 w9\n", Code::corruption, "'w9', not listed"},
      {"generation=1\nworker=w0 a:1 1\ntask=c 0 w0\ntask=c 0 w0\n", Code::corruption, "twice"},
      {"generation=1\ncoordinator=w3\n", Code::corruption, "not a worker"},
      {"generation=1\nbogus\n", Code::corruption, "no '='"},
      {"generation=1\nfoo=1\n", Code::corruption, "unknown key"},
  };
  for (const auto& c : cases) {
    auto r = decode_assignment(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), c.code) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
}

// Three workers hold one task of each 3-task component: no component is over its fair share on
// any worker, but a fourth worker must still get work (the total rule).
TEST(AssignmentRebalance, JoinerGetsWorkWhenComponentsAreSpreadThin) {
  PlacementTopology t{"wc", {{"spout", 3}, {"count", 3}, {"sink", 3}}, {}};
  std::vector<WorkerSlots> three{{"a", 9}, {"b", 9}, {"c", 9}};
  auto before = assign(t, three, {});
  ASSERT_TRUE(before.ok());
  std::vector<WorkerSlots> four{{"a", 9}, {"b", 9}, {"c", 9}, {"d", 9}};
  auto r = assign(t, four, rebalanced(t, four, *before));
  ASSERT_TRUE(r.ok());
  std::map<std::string, int> load;
  for (const auto& [task, w] : *r) ++load[w];
  EXPECT_GE(load["d"], 1) << "the joiner got nothing";
  for (const auto& [w, n] : load) EXPECT_LE(n, 3) << w;  // ceil(9 / 4)
  // Each moved unit left a worker over its share (a, b, c held 3 each: at most 2 moves).
  int moved = 0;
  for (const auto& [task, w] : *r) moved += before->at(task) != w;
  EXPECT_LE(moved, 2);
}
