// The worker's lifecycle table (cluster/worker_lifecycle.hpp): every (from, to) pair is allowed
// exactly when the expected table below has it, a refused pair leaves the state where it was, and
// the table's shape holds (both ends terminal, every state reachable, every state can end).
// Pure data: no ZooKeeper, no engine, no sleeps.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

#include "cluster/worker_lifecycle.hpp"

using namespace sleet;
using W = WorkerState;

namespace {

const W kAll[] = {W::created,  W::joining,      W::restoring, W::running,
                  W::stopping, W::rolling_back, W::stopped,   W::failed};

// Written out again by hand (not derived from kWorkerTransitions), so a changed edge must change
// both and the README's table.
const std::set<std::pair<W, W>> kExpected = {
    {W::created, W::joining},   {W::created, W::restoring}, {W::created, W::failed},
    {W::joining, W::restoring}, {W::joining, W::failed},    {W::restoring, W::running},
    {W::restoring, W::failed},  {W::running, W::stopping},  {W::running, W::rolling_back},
    {W::stopping, W::stopped},  {W::stopping, W::failed},   {W::rolling_back, W::failed},
};

}  // namespace

TEST(WorkerLifecycle, EveryPairIsAllowedExactlyWhenTheTableHasIt) {
  for (W from : kAll)
    for (W to : kAll) {
      const bool expected = kExpected.count({from, to}) > 0;
      StateMachine<W> sm("worker", from, kWorkerTransitions, worker_state_name);
      Status st = sm.transition(to, "probe");
      EXPECT_EQ(st.ok(), expected) << worker_state_name(from) << " -> " << worker_state_name(to);
      EXPECT_EQ(sm.state(), expected ? to : from);
      if (!expected) {
        EXPECT_EQ(st.code(), Code::internal);
        EXPECT_NE(st.message().find(std::string("worker: illegal transition ") +
                                    worker_state_name(from) + " -> " + worker_state_name(to)),
                  std::string::npos)
            << st.message();
      }
    }
  EXPECT_EQ(std::size(kWorkerTransitions), kExpected.size()) << "a duplicate row";
}

TEST(WorkerLifecycle, EndsAreTerminalAndEveryStateIsReachableAndCanEnd) {
  std::map<W, std::set<W>> next;
  for (auto& t : kWorkerTransitions) {
    next[t.from].insert(t.to);
    EXPECT_STRNE(t.on, "") << "every edge names its event";
  }
  EXPECT_TRUE(next[W::stopped].empty());
  EXPECT_TRUE(next[W::failed].empty());
  std::set<W> seen = {W::created};
  for (bool grew = true; grew;) {
    grew = false;
    for (W s : std::set<W>(seen))
      for (W n : next[s]) grew |= seen.insert(n).second;
  }
  EXPECT_EQ(seen.size(), std::size(kAll)) << "a state run() can never be in";
  for (W s : kAll) {
    std::set<W> r = {s};
    for (bool grew = true; grew;) {
      grew = false;
      for (W x : std::set<W>(r))
        for (W n : next[x]) grew |= r.insert(n).second;
    }
    EXPECT_TRUE(r.count(W::stopped) || r.count(W::failed)) << worker_state_name(s);
  }
}

TEST(WorkerLifecycle, ACleanRunAndAFailedRunFollowTheTable) {
  StateMachine<W> ok("worker", W::created, kWorkerTransitions, worker_state_name);
  for (W to : {W::joining, W::restoring, W::running, W::stopping, W::stopped})
    ASSERT_TRUE(ok.transition(to).ok()) << worker_state_name(to);
  StateMachine<W> bad("worker", W::created, kWorkerTransitions, worker_state_name);
  for (W to : {W::restoring, W::running, W::rolling_back, W::failed})
    ASSERT_TRUE(bad.transition(to).ok()) << worker_state_name(to);
  // A failure while running must roll back first: no shortcut to failed or stopped.
  StateMachine<W> run("worker", W::running, kWorkerTransitions, worker_state_name);
  EXPECT_FALSE(run.transition(W::failed).ok());
  EXPECT_FALSE(run.transition(W::stopped).ok());
  EXPECT_EQ(run.state(), W::running);
}
