// plan_physical as tables: chaining rules, thread assignment and channel lists, from topology
// specs alone (no registry, no fibers). A task is written "component[index]".
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "runtime/physical_plan.hpp"

using namespace sleet;

namespace {

const Grouping kLocal{GroupingType::local_or_shuffle, {}};
const Grouping kShuffle{GroupingType::shuffle, {}};
const Grouping kWord{GroupingType::fields, {"word"}};

std::string task_name(const TopologySpec& spec, const PhysicalPlan& p, size_t t) {
  return spec.components[p.tasks[t].component].id + "[" + std::to_string(p.tasks[t].index.value) +
         "]";
}

// Which component each component is chained into ("" when it has its own fibers), checked to
// be the same for all its tasks, each chained to the source task of the same index.
std::map<std::string, std::string> chained(const TopologySpec& spec, const PhysicalPlan& p) {
  std::map<std::string, std::string> out;
  for (size_t t = 0; t < p.tasks.size(); ++t) {
    const PlannedTask& pt = p.tasks[t];
    std::string from;
    if (pt.chained_from) {
      const PlannedTask& src = p.tasks[*pt.chained_from];
      EXPECT_EQ(src.index, pt.index) << task_name(spec, p, t);
      EXPECT_EQ(src.thread, pt.thread) << task_name(spec, p, t);
      EXPECT_EQ(pt.inputs, 0u) << task_name(spec, p, t);
      from = spec.components[src.component].id;
    }
    const std::string& id = spec.components[pt.component].id;
    if (pt.index.value == 0)
      out[id] = from;
    else
      EXPECT_EQ(out[id], from) << task_name(spec, p, t);
  }
  return out;
}

PhysicalPlan plan(const TopologySpec& spec, bool chaining = true, int threads = 2) {
  auto p = plan_physical(spec, PlanOptions{chaining, threads, {}});
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(p).value() : PhysicalPlan{};
}

struct ChainCase {
  const char* name;
  TopologySpec spec;
  bool chaining;
  std::map<std::string, std::string> chained_into;
};

TEST(PhysicalPlan, ChainingRules) {
  const std::vector<ChainCase> cases = {
      {"local_or_shuffle into the same parallelism, only input: chained",
       TopologyBuilder("t").spout("s", "S", 2).bolt("b", "B", 2).stream("s", "b", kLocal).build(),
       true,
       {{"s", ""}, {"b", "s"}}},
      {"chaining off: nothing chained",
       TopologyBuilder("t").spout("s", "S", 2).bolt("b", "B", 2).stream("s", "b", kLocal).build(),
       false,
       {{"s", ""}, {"b", ""}}},
      {"another parallelism: not chained",
       TopologyBuilder("t").spout("s", "S", 2).bolt("b", "B", 3).stream("s", "b", kLocal).build(),
       true,
       {{"s", ""}, {"b", ""}}},
      {"shuffle: not chained",
       TopologyBuilder("t").spout("s", "S", 2).bolt("b", "B", 2).stream("s", "b", kShuffle).build(),
       true,
       {{"s", ""}, {"b", ""}}},
      {"fields: not chained",
       TopologyBuilder("t").spout("s", "S", 2).bolt("b", "B", 2).stream("s", "b", kWord).build(),
       true,
       {{"s", ""}, {"b", ""}}},
      {"a second input stream: not chained",
       TopologyBuilder("t")
           .spout("s", "S", 2)
           .spout("u", "S", 2)
           .bolt("b", "B", 2)
           .stream("s", "b", kLocal)
           .stream("u", "b", kShuffle)
           .build(),
       true,
       {{"s", ""}, {"u", ""}, {"b", ""}}},
      {"a chain of chains: every member chained to its producer",
       TopologyBuilder("t")
           .spout("s", "S", 2)
           .bolt("a", "B", 2)
           .bolt("b", "B", 2)
           .stream("s", "a", kLocal)
           .stream("a", "b", kLocal)
           .build(),
       true,
       {{"s", ""}, {"a", "s"}, {"b", "a"}}},
      {"a cycle has no head: its members stay unchained",
       TopologyBuilder("t")
           .bolt("a", "B", 2)
           .bolt("b", "B", 2)
           .stream("a", "b", kLocal)
           .stream("b", "a", kLocal)
           .build(),
       true,
       {{"a", ""}, {"b", ""}}},
      {"a self loop: not chained",
       TopologyBuilder("t").bolt("a", "B", 2).stream("a", "a", kLocal).build(),
       true,
       {{"a", ""}}},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    PhysicalPlan p = plan(c.spec, c.chaining);
    EXPECT_EQ(chained(c.spec, p), c.chained_into);
    // A chained stream has no channels; every other one has one per (upstream, downstream) task.
    size_t expected_channels = 0;
    for (auto& st : c.spec.streams)
      if (c.chained_into.at(st.to).empty())
        expected_channels += static_cast<size_t>(c.spec.find(st.from)->parallelism *
                                                 c.spec.find(st.to)->parallelism);
    EXPECT_EQ(p.channels.size(), expected_channels);
  }
}

// The wordcount shape: in -local-> split -fields-> count -local-> out, parallelism 2 each.
TopologySpec wordcount() {
  return TopologyBuilder("wc")
      .spout("in", "S", 2)
      .bolt("split", "B", 2)
      .bolt("count", "B", 2)
      .bolt("out", "B", 2)
      .stream("in", "split", kLocal)
      .stream("split", "count", kWord)
      .stream("count", "out", kLocal)
      .build();
}

TEST(PhysicalPlan, ThreadsRoundRobinOverUnchainedTasksChainedOnesOnTheirHeads) {
  struct Row {
    bool chaining;
    int threads;
    std::vector<int> thread;  // per task in plan order
  };
  const std::vector<Row> rows = {
      // in[0] in[1] split[0] split[1] count[0] count[1] out[0] out[1]
      {true, 2, {0, 1, 0, 1, 0, 1, 0, 1}}, {true, 3, {0, 1, 0, 1, 2, 0, 2, 0}},
      {true, 1, {0, 0, 0, 0, 0, 0, 0, 0}}, {false, 3, {0, 1, 2, 0, 1, 2, 0, 1}},
      {true, 0, {0, 0, 0, 0, 0, 0, 0, 0}},  // below 1: one thread
  };
  const TopologySpec spec = wordcount();
  for (auto& r : rows) {
    SCOPED_TRACE("chaining " + std::to_string(r.chaining) + " threads " +
                 std::to_string(r.threads));
    PhysicalPlan p = plan(spec, r.chaining, r.threads);
    std::vector<int> got;
    for (auto& t : p.tasks) got.push_back(t.thread);
    EXPECT_EQ(got, r.thread);
    for (auto& t : p.tasks) EXPECT_EQ(t.worker, 0);
  }
}

TEST(PhysicalPlan, TasksInComponentOrderWithTheirFirstTask) {
  const TopologySpec spec = TopologyBuilder("t")
                                .spout("s", "S", 3)
                                .bolt("b", "B", 1)
                                .bolt("c", "B", 2)
                                .stream("s", "b", kShuffle)
                                .stream("b", "c", kShuffle)
                                .build();
  PhysicalPlan p = plan(spec);
  ASSERT_EQ(p.tasks.size(), 6u);
  EXPECT_EQ(p.first_task, (std::vector<size_t>{0, 3, 4}));
  for (size_t k = 0; k < 3; ++k)
    for (int i = 0; i < spec.components[k].parallelism; ++i) {
      const PlannedTask& t = p.tasks[p.task_of(k, TaskIndex{i})];
      EXPECT_EQ(t.component, k);
      EXPECT_EQ(t.index, TaskIndex{i});
    }
  EXPECT_EQ(p.tasks[p.task_of(0, TaskIndex{0})].inputs, 0u);  // a spout
  EXPECT_EQ(p.tasks[p.task_of(1, TaskIndex{0})].inputs, 3u);  // one per upstream task
  EXPECT_EQ(p.tasks[p.task_of(2, TaskIndex{1})].inputs, 1u);
}

// Channels as "stream: from -> to #input", per edge in plan order, with the edge's local ones.
struct EdgeRow {
  std::string from;
  GroupingType grouping;
  std::vector<std::string> channels;
  std::vector<size_t> local;
  std::string chain = "";
};

std::vector<EdgeRow> edges(const TopologySpec& spec, const PhysicalPlan& p) {
  std::vector<EdgeRow> out;
  for (auto& e : p.edges) {
    EdgeRow r{task_name(spec, p, e.from), e.grouping, {}, e.local};
    if (e.chain) r.chain = task_name(spec, p, *e.chain);
    for (size_t c : e.channels) {
      const PlannedChannel& ch = p.channels[c];
      EXPECT_EQ(ch.from, e.from);
      EXPECT_EQ(ch.stream, e.stream);
      r.channels.push_back(task_name(spec, p, ch.to) + "#" + std::to_string(ch.input));
    }
    out.push_back(std::move(r));
  }
  return out;
}

void expect_edges(const std::vector<EdgeRow>& got, const std::vector<EdgeRow>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("edge " + std::to_string(i) + " from " + want[i].from);
    EXPECT_EQ(got[i].from, want[i].from);
    EXPECT_EQ(got[i].grouping, want[i].grouping);
    EXPECT_EQ(got[i].channels, want[i].channels);
    EXPECT_EQ(got[i].local, want[i].local);
    EXPECT_EQ(got[i].chain, want[i].chain);
  }
}

TEST(PhysicalPlan, WordcountChannels) {
  const TopologySpec spec = wordcount();
  expect_edges(edges(spec, plan(spec, true, 2)),
               {
                   {"in[0]", GroupingType::local_or_shuffle, {}, {}, "split[0]"},
                   {"in[1]", GroupingType::local_or_shuffle, {}, {}, "split[1]"},
                   // split[0] on thread 0 with count[0]; split[1] on 1 with count[1].
                   {"split[0]", GroupingType::fields, {"count[0]#0", "count[1]#0"}, {0}},
                   {"split[1]", GroupingType::fields, {"count[0]#1", "count[1]#1"}, {1}},
                   {"count[0]", GroupingType::local_or_shuffle, {}, {}, "out[0]"},
                   {"count[1]", GroupingType::local_or_shuffle, {}, {}, "out[1]"},
               });
}

TEST(PhysicalPlan, ChannelListsPerGroupingAndInputOrder) {
  // Two streams into m: its inputs count the first stream's upstream tasks, then the second's.
  const TopologySpec spec = TopologyBuilder("t")
                                .spout("a", "S", 2)
                                .spout("b", "S", 1)
                                .bolt("m", "B", 2)
                                .bolt("g", "B", 1)
                                .bolt("l", "B", 3)
                                .stream("a", "m", kWord)
                                .stream("b", "m", Grouping{GroupingType::all, {}})
                                .stream("m", "g", Grouping{GroupingType::global, {}})
                                .stream("a", "l", kLocal)
                                .build();
  // Threads (2): a[0] 0, a[1] 1, b[0] 0, m[0] 1, m[1] 0, g[0] 1, l[0] 0, l[1] 1, l[2] 0.
  PhysicalPlan p = plan(spec, true, 2);
  expect_edges(edges(spec, p),
               {
                   {"a[0]", GroupingType::fields, {"m[0]#0", "m[1]#0"}, {1}},
                   {"a[1]", GroupingType::fields, {"m[0]#1", "m[1]#1"}, {0}},
                   {"b[0]", GroupingType::all, {"m[0]#2", "m[1]#2"}, {1}},
                   {"m[0]", GroupingType::global, {"g[0]#0"}, {0}},
                   {"m[1]", GroupingType::global, {"g[0]#1"}, {}},
                   {"a[0]", GroupingType::local_or_shuffle, {"l[0]#0", "l[1]#0", "l[2]#0"}, {0, 2}},
                   {"a[1]", GroupingType::local_or_shuffle, {"l[0]#1", "l[1]#1", "l[2]#1"}, {1}},
               });
  EXPECT_EQ(p.tasks[p.task_of(2, TaskIndex{0})].inputs, 3u);
  EXPECT_EQ(p.tasks[p.task_of(3, TaskIndex{0})].inputs, 2u);
  EXPECT_EQ(p.tasks[p.task_of(4, TaskIndex{2})].inputs, 2u);
  // Every (downstream task, input) pair is used exactly once and covers 0 .. inputs-1.
  std::map<size_t, std::vector<bool>> used;
  for (size_t t = 0; t < p.tasks.size(); ++t) used[t].assign(p.tasks[t].inputs, false);
  for (auto& ch : p.channels) {
    ASSERT_LT(ch.input, used[ch.to].size());
    EXPECT_FALSE(used[ch.to][ch.input]);
    used[ch.to][ch.input] = true;
  }
  for (auto& [t, u] : used)
    for (bool b : u) EXPECT_TRUE(b) << task_name(spec, p, t);
}

// Cluster mode placement (PlanOptions::worker_of): each task gets its worker; threads round robin
// over each worker's own unchained tasks; local_or_shuffle prefers targets on the sender's worker
// and thread.
TEST(PhysicalPlan, PlacementWorkersAndThreadsPerWorker) {
  struct Row {
    const char* name;
    int threads;
    std::vector<int> worker_of;
    std::vector<int> thread;  // per task in plan order
  };
  const std::vector<Row> rows = {
      // in[0] in[1] split[0] split[1] count[0] count[1] out[0] out[1]
      {"no placement: the single-process plan", 2, {}, {0, 1, 0, 1, 0, 1, 0, 1}},
      {"all on worker 0: the same", 2, {0, 0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 1, 0, 1, 0, 1}},
      // Unchained: in[0], in[1], count[0], count[1]. Worker 0 has in[0], count[0]; worker 1
      // in[1], count[1]: each worker counts its own from 0.
      {"task i on worker i, 1 thread", 1, {0, 1, 0, 1, 0, 1, 0, 1}, {0, 0, 0, 0, 0, 0, 0, 0}},
      {"task i on worker i, 2 threads", 2, {0, 1, 0, 1, 0, 1, 0, 1}, {0, 0, 0, 0, 1, 1, 1, 1}},
      {"spouts on 0, counts on 1", 2, {0, 0, 0, 0, 1, 1, 1, 1}, {0, 1, 0, 1, 0, 1, 0, 1}},
      {"three workers", 2, {2, 0, 2, 0, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 1, 0, 1}},
  };
  const TopologySpec spec = wordcount();
  for (auto& r : rows) {
    SCOPED_TRACE(r.name);
    auto p = plan_physical(spec, PlanOptions{true, r.threads, r.worker_of});
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    std::vector<int> workers, threads;
    for (auto& t : p->tasks) {
      workers.push_back(t.worker);
      threads.push_back(t.thread);
    }
    EXPECT_EQ(workers, r.worker_of.empty() ? std::vector<int>(8, 0) : r.worker_of);
    EXPECT_EQ(threads, r.thread);
  }
}

TEST(PhysicalPlan, LocalOrShufflePrefersSameWorkerAndSameThread) {
  // s (1 task) -local_or_shuffle-> l (4 tasks), 2 threads per worker.
  const TopologySpec spec =
      TopologyBuilder("t").spout("s", "S", 1).bolt("l", "B", 4).stream("s", "l", kLocal).build();
  struct Row {
    const char* name;
    std::vector<int> worker_of;  // s[0] l[0] l[1] l[2] l[3]
    std::vector<size_t> local;
  };
  const std::vector<Row> rows = {
      // One worker: s[0] t0, l[0] t1, l[1] t0, l[2] t1, l[3] t0.
      {"one worker: same thread", {}, {1, 3}},
      // Worker 0: s[0] t0, l[1] t1, l[3] t0. Worker 1: l[0] t0, l[2] t1.
      {"l[0], l[2] elsewhere: l[0] shares thread 0 but not the worker", {0, 1, 0, 1, 0}, {3}},
      // Worker 0: s[0] t0, l[2] t1. Worker 1: l[0] t0, l[1] t1, l[3] t0.
      {"thread 0 of worker 0 has only s: none local (all targets)", {0, 1, 1, 0, 1}, {}},
      // Worker 1: s[0] t0, l[3] t1; worker 0: l[0] t0, l[1] t1, l[2] t0.
      {"s on worker 1 with l[3] on another thread", {1, 0, 0, 0, 1}, {}},
      // Worker 1: s[0] t0, l[2] t1, l[3] t0; worker 0: l[0] t0, l[1] t1.
      {"s, l[2], l[3] on worker 1: l[3] on s's thread", {1, 0, 0, 1, 1}, {3}},
  };
  for (auto& r : rows) {
    SCOPED_TRACE(r.name);
    auto p = plan_physical(spec, PlanOptions{true, 2, r.worker_of});
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    ASSERT_EQ(p->edges.size(), 1u);
    EXPECT_EQ(p->edges[0].channels.size(), 4u);
    EXPECT_EQ(p->edges[0].local, r.local);
  }
}

TEST(PhysicalPlan, PlacementRefusals) {
  const TopologySpec spec = wordcount();
  struct Row {
    std::vector<int> worker_of;
    std::string message;
  };
  const std::vector<Row> rows = {
      {{0, 1, 0, 1, 0, 1, 0}, "placement lists 7 task(s), the topology has 8"},
      {{0, 1, 0, 1, 0, 1, 0, -1}, "placement puts task out[1] on worker -1"},
      // split[1] is chained to in[1] (local_or_shuffle, same parallelism).
      {{0, 1, 0, 0, 0, 1, 0, 1},
       "placement splits a chain: task split[1] is chained to in[1] (local_or_shuffle, same "
       "parallelism, only input) but placed on worker 0, not on in[1]'s worker 1"},
      {{0, 0, 0, 0, 0, 1, 0, 0},
       "placement splits a chain: task out[1] is chained to count[1] (local_or_shuffle, same "
       "parallelism, only input) but placed on worker 0, not on count[1]'s worker 1"},
  };
  for (auto& r : rows) {
    auto p = plan_physical(spec, PlanOptions{true, 2, r.worker_of});
    ASSERT_FALSE(p.ok()) << r.message;
    EXPECT_EQ(p.status().code(), Code::invalid_argument) << p.status().to_string();
    EXPECT_NE(p.status().message().find(r.message), std::string::npos) << p.status().to_string();
  }
  // Chaining off: nothing is chained, so any placement goes.
  EXPECT_TRUE(plan_physical(spec, PlanOptions{false, 2, {0, 1, 0, 0, 0, 1, 0, 0}}).ok());
}

TEST(PhysicalPlan, Refusals) {
  struct Row {
    TopologySpec spec;
    std::string message;
  };
  const std::vector<Row> rows = {
      {TopologyBuilder("t").spout("s", "S", 0).build(),
       "component 's' has parallelism 0 (must be at least 1)"},
      {TopologyBuilder("t").spout("s", "S", 1).stream("s", "nope", kShuffle).build(),
       "stream s -> nope names an unknown component"},
      {TopologyBuilder("t")
           .spout("s", "S", 1)
           .bolt("b", "B", 1)
           .stream("s", "b", Grouping{GroupingType::direct, {}})
           .build(),
       "stream s -> b: direct grouping is not supported yet"},
  };
  for (auto& r : rows) {
    auto p = plan_physical(r.spec, PlanOptions{});
    ASSERT_FALSE(p.ok()) << r.message;
    EXPECT_EQ(p.status().code(), Code::invalid_argument) << p.status().to_string();
    EXPECT_NE(p.status().message().find(r.message), std::string::npos) << p.status().to_string();
  }
}

}  // namespace
