// cluster_plan: the engine's plan as placement sees it (chains), and an assignment as the
// engine's Placement. Pure tables.
#include <gtest/gtest.h>

#include "cluster/cluster_plan.hpp"

using namespace sleet;
using namespace sleet::cluster;

namespace {

TopologySpec spec_of(std::vector<std::pair<std::string, int>> comps,
                     std::vector<std::tuple<std::string, std::string, GroupingType>> streams) {
  TopologySpec s;
  s.name = "t";
  bool first = true;
  for (auto& [id, p] : comps) {
    ComponentSpec c;
    c.id = id;
    c.class_name = "X";
    c.parallelism = p;
    c.kind = first ? ComponentKind::spout : ComponentKind::bolt;
    first = false;
    s.components.push_back(c);
  }
  for (auto& [from, to, g] : streams) {
    StreamSpec st;
    st.from = from;
    st.to = to;
    st.grouping.type = g;
    if (g == GroupingType::fields) st.grouping.fields = {"word"};
    s.streams.push_back(st);
  }
  return s;
}

TEST(ClusterPlan, ChainsFollowThePlan) {
  auto s = spec_of({{"spout", 2}, {"split", 2}, {"count", 3}, {"sink", 3}},
                   {{"spout", "split", GroupingType::local_or_shuffle},
                    {"split", "count", GroupingType::fields},
                    {"count", "sink", GroupingType::local_or_shuffle}});
  auto plan = plan_physical(s, PlanOptions{true, 1, {}});
  ASSERT_TRUE(plan.ok());
  auto t = placement_topology(s, *plan);
  ASSERT_EQ(t.components.size(), 4u);
  EXPECT_EQ(t.chains,
            (std::vector<std::vector<std::string>>{{"spout", "split"}, {"count", "sink"}}));
  auto unchained = plan_physical(s, PlanOptions{false, 1, {}});
  ASSERT_TRUE(unchained.ok());
  EXPECT_TRUE(placement_topology(s, *unchained).chains.empty());
  auto units = placement_units(t);
  ASSERT_TRUE(units.ok());
  EXPECT_EQ(units->size(), 5u);  // 2 spout+split units, 3 count+sink units
}

TEST(ClusterPlan, WorkerOfTasksAndRefusals) {
  auto s = spec_of({{"spout", 1}, {"count", 2}}, {{"spout", "count", GroupingType::fields}});
  auto plan = plan_physical(s, PlanOptions{true, 1, {}});
  ASSERT_TRUE(plan.ok());
  ClusterAssignment a;
  a.generation = 3;
  a.workers = {{"a", "h:1", 1}, {"b", "h:2", 1}};
  a.tasks = {{TaskRef{"spout", 0}, "b"}, {TaskRef{"count", 0}, "a"}, {TaskRef{"count", 1}, "b"}};
  auto w = worker_of_tasks(s, *plan, a);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(*w, (std::vector<int>{1, 0, 1}));
  a.tasks.erase(TaskRef{"count", 1});
  auto missing = worker_of_tasks(s, *plan, a);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::corruption);
  EXPECT_NE(missing.status().message().find("count[1]"), std::string::npos);
}

TEST(ClusterPlan, TaskNamesIncludeDeadLetterSinks) {
  auto s = spec_of({{"spout", 1}, {"parse", 2}}, {{"spout", "parse", GroupingType::shuffle}});
  s.components[1].on_error = ErrorPolicy::dead_letter;
  auto plan = plan_physical(s, PlanOptions{true, 1, {}});
  ASSERT_TRUE(plan.ok());
  auto names = cluster_task_names(s, *plan);
  EXPECT_EQ(names, (std::vector<std::string>{"spout[0]", "parse[0]", "parse[1]",
                                             dead_letter_component_id("parse") + "[0]",
                                             dead_letter_component_id("parse") + "[1]"}));
}

}  // namespace
