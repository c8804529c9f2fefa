// BarrierAligner as a table: each case is a sequence of (event, input, checkpoint) with the
// decision each must produce and the aligner's state after it. No fibers, channels or sleeps.
// The rows are the decision table in runtime/README.md.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/barrier_aligner.hpp"

using namespace sleet;

namespace {

using A = BarrierAligner::Action;
using S = BarrierAligner::State;

enum class Ev { barrier, end };

struct Step {
  Ev ev;
  size_t input;
  int64_t id;  // barrier only
  A action;
  int64_t checkpoint = 0;
  int64_t abandoned = 0;
  std::vector<size_t> unblock = {};
  S state_after = S::idle;
};

struct Case {
  const char* name;
  size_t inputs;
  int64_t restored;
  std::vector<Step> steps;
};

Step barrier(size_t input, int64_t id, A a, int64_t cp, S after, std::vector<size_t> unblock = {},
             int64_t abandoned = 0) {
  return {Ev::barrier, input, id, a, cp, abandoned, std::move(unblock), after};
}
Step end(size_t input, A a, int64_t cp, S after, std::vector<size_t> unblock = {},
         int64_t abandoned = 0) {
  return {Ev::end, input, 0, a, cp, abandoned, std::move(unblock), after};
}

std::string describe(const BarrierAligner::Decision& d) {
  std::string s = std::string(BarrierAligner::name(d.action)) + " cp " +
                  std::to_string(d.checkpoint.value) + " abandoned " +
                  std::to_string(d.abandoned.value) + " unblock [";
  for (size_t i : d.unblock) s += std::to_string(i) + " ";
  return s + "]";
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"single input: every barrier completes at once, a repeated one is stale",
       1,
       0,
       {barrier(0, 1, A::complete, 1, S::idle), barrier(0, 1, A::none, 0, S::idle),
        barrier(0, 3, A::complete, 3, S::idle)}},
      {"three inputs: block each until the last, then complete and unblock the blocked ones",
       3,
       0,
       {barrier(1, 1, A::block, 1, S::aligning), barrier(0, 1, A::block, 1, S::aligning),
        barrier(2, 1, A::complete, 1, S::idle, {0, 1}), barrier(2, 2, A::block, 2, S::aligning)}},
      {"barriers up to the restored checkpoint are stale",
       2,
       5,
       {barrier(0, 4, A::none, 0, S::idle), barrier(0, 5, A::none, 0, S::idle),
        barrier(0, 6, A::block, 6, S::aligning), barrier(1, 6, A::complete, 6, S::idle, {0})}},
      {"the same barrier twice on one input counts once",
       2,
       0,
       {barrier(0, 1, A::block, 1, S::aligning), barrier(0, 1, A::block, 1, S::aligning),
        barrier(1, 1, A::complete, 1, S::idle, {0})}},
      {"a newer barrier overtakes: the older checkpoint is abandoned and its inputs unblocked",
       3,
       0,
       {barrier(0, 1, A::block, 1, S::aligning), barrier(1, 1, A::block, 1, S::aligning),
        barrier(2, 2, A::block, 2, S::aligning, {0, 1}, 1), barrier(0, 2, A::block, 2, S::aligning),
        barrier(1, 2, A::complete, 2, S::idle, {0, 2})}},
      {"a barrier older than the one aligning is stale, it does not count for the newer one",
       2,
       0,
       {barrier(1, 2, A::block, 2, S::aligning), barrier(0, 1, A::none, 0, S::aligning),
        barrier(0, 2, A::complete, 2, S::idle, {1})}},
      {"an end mid-alignment completes when every remaining input has the barrier",
       3,
       0,
       {barrier(0, 1, A::block, 1, S::aligning), barrier(2, 1, A::block, 1, S::aligning),
        end(1, A::complete, 1, S::idle, {0, 2}), barrier(0, 2, A::block, 2, S::aligning),
        barrier(2, 2, A::complete, 2, S::idle, {0})}},
      {"an end mid-alignment that leaves inputs without the barrier changes nothing",
       3,
       0,
       {barrier(0, 1, A::block, 1, S::aligning), end(1, A::none, 0, S::aligning),
        barrier(2, 1, A::complete, 1, S::idle, {0})}},
      {"an end of an input that had the barrier takes it out of the alignment",
       2,
       0,
       {barrier(0, 1, A::block, 1, S::aligning), end(0, A::none, 0, S::aligning),
        barrier(1, 1, A::complete, 1, S::idle)}},
      {"every input ends mid-alignment: the checkpoint is abandoned",
       3,
       0,
       {barrier(0, 1, A::block, 1, S::aligning), end(0, A::none, 0, S::aligning),
        end(1, A::none, 0, S::aligning), end(2, A::none, 0, S::idle, {}, 1)}},
      {"ends while idle, a repeated end, and a barrier on an ended input do nothing",
       2,
       0,
       {end(0, A::none, 0, S::idle), end(0, A::none, 0, S::idle),
        barrier(0, 1, A::none, 0, S::idle), barrier(1, 1, A::complete, 1, S::idle)}},
  };
  return c;
}

class Table : public ::testing::TestWithParam<size_t> {};

TEST_P(Table, EachStepDecidesAsTheTableSays) {
  const Case& c = cases()[GetParam()];
  SCOPED_TRACE(c.name);
  BarrierAligner al(c.inputs, CheckpointId{c.restored});
  int64_t completed = c.restored;
  std::vector<bool> blocked(c.inputs, false);
  for (size_t k = 0; k < c.steps.size(); ++k) {
    const Step& s = c.steps[k];
    SCOPED_TRACE("step " + std::to_string(k));
    BarrierAligner::Decision want;
    want.action = s.action;
    want.checkpoint = CheckpointId{s.checkpoint};
    want.abandoned = CheckpointId{s.abandoned};
    want.unblock = s.unblock;
    auto got =
        s.ev == Ev::barrier ? al.on_barrier(s.input, CheckpointId{s.id}) : al.on_end(s.input);
    EXPECT_EQ(got, want) << "got " << describe(got) << ", want " << describe(want);
    EXPECT_EQ(al.state(), s.state_after) << BarrierAligner::name(al.state());
    // What the task does with the decision, tracked to check that a blocked input is always
    // released by a later decision and never released while it is not blocked.
    for (size_t i : got.unblock) {
      EXPECT_TRUE(blocked[i]) << "unblocks input " << i << ", which is not blocked";
      blocked[i] = false;
    }
    if (got.action == A::block) blocked[s.input] = true;
    if (got.action == A::complete) completed = got.checkpoint.value;
    for (size_t i = 0; i < c.inputs; ++i) {
      if (!al.ended(i)) {
        EXPECT_EQ(al.blocked(i), blocked[i]) << "input " << i;
      }
    }
    EXPECT_EQ(al.last_completed().value, completed);
    EXPECT_EQ(al.aligning().value, al.state() == S::aligning ? al.aligning().value : 0);
  }
  size_t ends = 0;
  for (const Step& s : c.steps) ends += s.ev == Ev::end;
  EXPECT_LE(c.inputs - al.live(), ends);
}

INSTANTIATE_TEST_SUITE_P(BarrierAligner, Table, ::testing::Range<size_t>(0, cases().size()));

TEST(BarrierAligner, LiveCountsInputsUntilTheirEnd) {
  BarrierAligner al(3);
  EXPECT_EQ(al.live(), 3u);
  (void)al.on_end(1);
  (void)al.on_end(1);
  EXPECT_EQ(al.live(), 2u);
  EXPECT_TRUE(al.ended(1));
  (void)al.on_end(0);
  (void)al.on_end(2);
  EXPECT_EQ(al.live(), 0u);
}

// Every state change the aligner makes is in its table (StateMachine refuses others); the table
// has no edge the aligner cannot take.
TEST(BarrierAligner, TransitionTableHasExactlyTheEdgesUsed) {
  auto t = BarrierAligner::transitions();
  EXPECT_TRUE(StateMachine<S>::allowed(t, S::idle, S::aligning));
  EXPECT_TRUE(StateMachine<S>::allowed(t, S::aligning, S::idle));
  EXPECT_TRUE(StateMachine<S>::allowed(t, S::aligning, S::aligning));
  EXPECT_FALSE(StateMachine<S>::allowed(t, S::idle, S::idle));
}

}  // namespace
