// plan_physical with named streams, as tables: every subscription (component, stream) is its own
// set of channels, so a bolt reading two streams of one upstream has one input FIFO per stream
// and upstream task (barriers align per channel); chaining looks at subscriptions, not streams.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "runtime/physical_plan.hpp"

using namespace sleet;

namespace {

const Grouping kLocal{GroupingType::local_or_shuffle, {}};

PhysicalPlan plan(const TopologySpec& spec, bool chaining = true) {
  auto p = plan_physical(spec, PlanOptions{chaining, 2, {}});
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return p.ok() ? std::move(p).value() : PhysicalPlan{};
}

// "from[task] -stream-> to[task] #input" for every channel into component `to`.
std::vector<std::string> channels_into(const TopologySpec& spec, const PhysicalPlan& p,
                                       const std::string& to) {
  std::vector<std::string> out;
  for (const PlannedChannel& c : p.channels) {
    const PlannedTask &f = p.tasks[c.from], &t = p.tasks[c.to];
    if (spec.components[t.component].id != to) continue;
    out.push_back(spec.components[f.component].id + "[" + std::to_string(f.index.value) + "] -" +
                  spec.streams[c.stream].stream + "-> " + to + "[" + std::to_string(t.index.value) +
                  "] #" + std::to_string(c.input));
  }
  return out;
}

}  // namespace

TEST(StreamPlan, EachSubscriptionIsItsOwnChannels) {
  auto spec = TopologyBuilder("t")
                  .spout("s", "S", 1)
                  .spout("other", "S", 1)
                  .bolt("split", "Split", 2)
                  .bolt("join", "J", 1)
                  .stream("s", "split")
                  .named_stream("split", "ok", "join")
                  .named_stream("split", "errors", "join")
                  .stream("other", "join")
                  .build();
  PhysicalPlan p = plan(spec);
  EXPECT_EQ(p.tasks[p.task_of(3, TaskIndex{0})].inputs, 5u);
  EXPECT_EQ(channels_into(spec, p, "join"), (std::vector<std::string>{
                                                "split[0] -ok-> join[0] #0",
                                                "split[1] -ok-> join[0] #1",
                                                "split[0] -errors-> join[0] #2",
                                                "split[1] -errors-> join[0] #3",
                                                "other[0] -default-> join[0] #4",
                                            }));
  // Edges: one per (subscription, upstream task), each naming its subscription.
  std::multiset<std::string> edges;
  for (const PlannedEdge& e : p.edges)
    edges.insert(spec.components[p.tasks[e.from].component].id + "[" +
                 std::to_string(p.tasks[e.from].index.value) + "]/" +
                 spec.streams[e.stream].stream);
  EXPECT_EQ(edges,
            (std::multiset<std::string>{"s[0]/default", "split[0]/ok", "split[1]/ok",
                                        "split[0]/errors", "split[1]/errors", "other[0]/default"}));
}

TEST(StreamPlan, ChainingByRulesOfSubscriptions) {
  struct Row {
    const char* name;
    TopologySpec spec;
    bool chained;  // is "x" chained into "split"?
  };
  const std::vector<Row> rows = {
      {"a named stream's only subscriber chains",
       TopologyBuilder("t")
           .spout("s", "S", 2)
           .bolt("split", "Split", 2)
           .bolt("x", "X", 2)
           .stream("s", "split")
           .named_stream("split", "ok", "x", kLocal)
           .build(),
       true},
      {"two streams of one upstream are two inputs: no chain",
       TopologyBuilder("t")
           .spout("s", "S", 2)
           .bolt("split", "Split", 2)
           .bolt("x", "X", 2)
           .stream("s", "split")
           .named_stream("split", "ok", "x", kLocal)
           .named_stream("split", "errors", "x", kLocal)
           .build(),
       false},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    PhysicalPlan p = plan(r.spec);
    const PlannedTask& x0 = p.tasks[p.task_of(2, TaskIndex{0})];
    EXPECT_EQ(x0.chained_from.has_value(), r.chained);
    if (r.chained) {
      EXPECT_EQ(*x0.chained_from, p.task_of(1, TaskIndex{0}));
      EXPECT_EQ(x0.inputs, 0u);
    } else {
      EXPECT_EQ(x0.inputs, 4u);
    }
  }
}
