// Issue 12 (leases): the engine hands EngineOptions::side_effects to every task's Context, and a
// sink whose side effect the gate refuses fails the topology with the gate's status rather than
// skip the step. Here a FileSink under a real Engine: checkpoint 1 is taken, its commit arrives
// while the gate is closed, the engine fails with `unavailable` and nothing became visible; an
// engine recovering from checkpoint 1 with the gate open renames the epoch, every record once.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <sleet/registry.hpp>
#include <sleet/topology.hpp>

#include "runtime/engine.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/support.hpp"
#include "tests/support/switch_gate.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Notes the Context::side_effects every task was opened with.
std::mutex g_mu;
std::vector<const SideEffectGate*> g_seen_gates;
class GateNoter : public Bolt {
 public:
  explicit GateNoter(const Args&) {}
  Status open(Context& ctx) override {
    std::lock_guard lk(g_mu);
    g_seen_gates.push_back(ctx.side_effects);
    return Status::Ok();
  }
  void execute(const Tuple&, Collector&) override {}
};

Registry registry() {
  Registry r = test::builtin_registry();
  (void)r.add(describe<GateNoter>("GateNoter", ""));
  return r;
}

TopologySpec spec(const fs::path& out, int64_t count) {
  return TopologyBuilder("gated")
      .spout("s", "SequenceSpout", 1, {{"count", count}})
      .bolt("note", "GateNoter", 2)
      .bolt("out", "FileSink", 1, {{"path", out.string()}})
      .stream("s", "note", Grouping{GroupingType::shuffle, {}})
      .stream("s", "out", Grouping{GroupingType::global, {}})
      .build();
}

std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> v;
  if (!fs::exists(dir)) return v;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.')
      v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

TEST(SideEffectGate, EveryTaskGetsTheEnginesGate) {
  test::TempDir dir;
  test::SwitchGate gate;
  test::CollectingListener listener;
  auto reg = registry();
  EngineOptions o = test::collecting_options(listener);
  o.side_effects = &gate;
  {
    std::lock_guard lk(g_mu);
    g_seen_gates.clear();
  }
  auto e = Engine::create(spec(dir.path() / "out", 10), reg, o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_TRUE((*e)->start().ok());
  (*e)->request_stop();
  ASSERT_TRUE((*e)->wait().ok()) << (*e)->failure().to_string();
  std::lock_guard lk(g_mu);
  EXPECT_EQ(g_seen_gates, (std::vector<const SideEffectGate*>{&gate, &gate}));
}

TEST(SideEffectGate, ARefusedCommitFailsTheEngineAndRecoveryMakesTheEpochVisible) {
  test::TempDir dir;
  const fs::path out = dir.path() / "out";
  const int64_t count = 500;
  test::SwitchGate gate;
  auto reg = registry();
  {
    test::CollectingListener listener;
    EngineOptions o = test::collecting_options(listener);
    o.side_effects = &gate;
    o.generation = Generation{5};
    auto e = Engine::create(spec(out, count), reg, o);
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    Engine& engine = **e;
    ASSERT_TRUE(engine.start().ok());
    // Checkpoint 1 once the spout emitted everything, so epoch 1 holds every record.
    const size_t tasks = engine.task_count();
    ASSERT_TRUE(test::wait_until([&] { return engine.all_spouts_drained(); }, 20s));
    engine.trigger_checkpoint(CheckpointId{1});
    ASSERT_TRUE(test::wait_until([&] { return listener.of(1).size() == tasks; }, 20s));
    gate.close("ZooKeeper connection suspended for 1400 ms of a 2000 ms session");
    engine.checkpoint_committed(CheckpointId{1});
    ASSERT_TRUE(test::wait_until([&] { return !engine.failure().ok(); }, 20s))
        << "the refused rename did not fail the engine";
    Status s = engine.wait();
    EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
    EXPECT_NE(s.message().find("ZooKeeper connection suspended"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("making checkpoint 1 visible"), std::string::npos) << s.message();
    EXPECT_EQ(engine.visible_checkpoint(), CheckpointId{0});
    EXPECT_TRUE(names(out).empty()) << "an epoch became visible past a closed gate";
  }
  // The next generation restores checkpoint 1 (committed by generation 5) with its lease open.
  gate.open();
  test::CollectingListener listener;
  EngineOptions o = test::collecting_options(listener);
  o.side_effects = &gate;
  o.generation = Generation{6};
  o.restored_generation = Generation{5};
  auto e = Engine::create(spec(out, 0), reg, o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  RestorePlan plan;
  plan.id = CheckpointId{1};
  ASSERT_TRUE((*e)->start(plan).ok());
  (*e)->request_stop();
  ASSERT_TRUE((*e)->wait().ok()) << (*e)->failure().to_string();
  EXPECT_EQ(names(out), std::vector<std::string>{"part-out-0-1"});
  auto lines = test::part_file_lines(out);
  EXPECT_EQ(lines.size(), static_cast<size_t>(count));
  std::set<std::string> distinct(lines.begin(), lines.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(count)) << "a record twice";
}

}  // namespace
