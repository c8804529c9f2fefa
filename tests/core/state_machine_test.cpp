// core/state_machine.hpp: transition() follows the table exactly, refuses every other pair and
// leaves the state unchanged when it does.
#include <gtest/gtest.h>

#include "core/state_machine.hpp"

namespace {

enum class S { a, b, c };
const char* name(S s) {
  switch (s) {
    case S::a:
      return "a";
    case S::b:
      return "b";
    case S::c:
      return "c";
  }
  return "?";
}
constexpr sleet::Transition<S> kTable[] = {{S::a, S::b, "go"}, {S::b, S::c, "on"}, {S::c, S::a}};

}  // namespace

TEST(StateMachine, EveryPairIsAllowedExactlyWhenTheTableHasIt) {
  const S all[] = {S::a, S::b, S::c};
  for (S from : all)
    for (S to : all) {
      bool in_table = (from == S::a && to == S::b) || (from == S::b && to == S::c) ||
                      (from == S::c && to == S::a);
      sleet::StateMachine<S> sm("test", from, kTable, name);
      sleet::Status st = sm.transition(to, "probe");
      EXPECT_EQ(st.ok(), in_table) << name(from) << " -> " << name(to);
      EXPECT_EQ(sm.state(), in_table ? to : from);
      if (!in_table) {
        EXPECT_EQ(st.code(), sleet::Code::internal);
        EXPECT_EQ(st.message(), std::string("test: illegal transition ") + name(from) + " -> " +
                                    name(to) + " (probe)");
      }
    }
}

TEST(StateMachine, ACycleThroughTheTableEndsWhereItStarted) {
  sleet::StateMachine<S> sm("test", S::a, kTable, name);
  ASSERT_TRUE(sm.transition(S::b).ok());
  ASSERT_TRUE(sm.transition(S::c).ok());
  ASSERT_TRUE(sm.transition(S::a).ok());
  EXPECT_STREQ(sm.state_name(), "a");
  EXPECT_FALSE(sm.transition(S::c).ok());
}
