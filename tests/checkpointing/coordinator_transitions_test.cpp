// The checkpoint coordinator's transition table as data: every (from, to) pair is allowed exactly
// when the protocol (written out again below, and as a table in checkpointing/README.md) has it,
// and an illegal transition is refused and leaves the state. No ZooKeeper, no threads, no sleeps.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "checkpointing/coordinator.hpp"

using namespace sleet;
using S = CoordinatorState;

namespace {

const std::map<std::string, S> kStates = {
    {"idle", S::idle},           {"collecting", S::collecting}, {"committing", S::committing},
    {"resolving", S::resolving}, {"failed", S::failed},         {"stopped", S::stopped}};

// The protocol, independently of the code's table.
const std::set<std::pair<S, S>> kExpected = {
    {S::idle, S::collecting},    {S::collecting, S::committing}, {S::collecting, S::idle},
    {S::committing, S::idle},    {S::committing, S::resolving},  {S::committing, S::failed},
    {S::resolving, S::idle},     {S::resolving, S::committing},  {S::idle, S::failed},
    {S::collecting, S::failed},  {S::resolving, S::failed},      {S::idle, S::stopped},
    {S::collecting, S::stopped}, {S::committing, S::stopped},    {S::resolving, S::stopped},
};

bool allowed(S from, S to) {
  return StateMachine<S>::allowed(kCoordinatorTransitions, from, to);
}

// "| `from` | `to` | event |" rows of checkpointing/README.md's coordinator table.
std::set<std::pair<S, S>> readme_rows() {
  std::ifstream f(std::string(SLEET_SOURCE_DIR) + "/checkpointing/README.md");
  std::set<std::pair<S, S>> rows;
  std::string line;
  bool in_table = false;
  while (std::getline(f, line)) {
    if (line.rfind("| from | to | event |", 0) == 0) in_table = true;
    if (!in_table) continue;
    if (line.empty()) break;
    if (line.rfind("| `", 0) != 0) continue;
    std::istringstream is(line);
    std::string cell[3];
    std::getline(is, cell[0], '|');  // before the first bar
    for (auto& c : cell) std::getline(is, c, '|');
    auto name = [](std::string c) {
      auto a = c.find('`'), b = c.rfind('`');
      return a == std::string::npos || a == b ? std::string() : c.substr(a + 1, b - a - 1);
    };
    auto from = kStates.find(name(cell[0])), to = kStates.find(name(cell[1]));
    EXPECT_TRUE(from != kStates.end() && to != kStates.end()) << "unreadable row: " << line;
    if (from != kStates.end() && to != kStates.end()) rows.insert({from->second, to->second});
  }
  return rows;
}

TEST(CoordinatorTransitions, EveryPairIsAllowedExactlyWhenInTheTable) {
  for (auto& [fname, from] : kStates)
    for (auto& [tname, to] : kStates)
      EXPECT_EQ(allowed(from, to), kExpected.count({from, to}) == 1) << fname << " -> " << tname;
  EXPECT_EQ(std::size(kCoordinatorTransitions), kExpected.size()) << "a pair listed twice";
}

TEST(CoordinatorTransitions, EveryEdgeNamesItsEvent) {
  for (auto& t : kCoordinatorTransitions)
    EXPECT_NE(std::string(t.on), "")
        << coordinator_state_name(t.from) << " -> " << coordinator_state_name(t.to);
}

TEST(CoordinatorTransitions, FailedAndStoppedAreTerminalAndEveryLiveStateCanReachThem) {
  for (auto& [name, s] : kStates) {
    bool terminal = s == S::failed || s == S::stopped;
    for (auto& [tname, to] : kStates)
      if (terminal) EXPECT_FALSE(allowed(s, to)) << name << " -> " << tname;
    if (!terminal) {
      // stop() from anywhere; an illegal transition becomes the failure from anywhere.
      EXPECT_TRUE(allowed(s, S::stopped)) << name;
      EXPECT_TRUE(allowed(s, S::failed)) << name;
    }
  }
}

TEST(CoordinatorTransitions, ReadmeTableIsTheCodesTable) {
  EXPECT_EQ(readme_rows(), kExpected);
}

TEST(CoordinatorTransitions, AnIllegalTransitionIsRefusedAndKeepsTheState) {
  StateMachine<S> sm("checkpoint coordinator", S::idle, kCoordinatorTransitions,
                     coordinator_state_name);
  Status st = sm.transition(S::committing, "checkpoint 3: every task acked");
  EXPECT_EQ(st.code(), Code::internal);
  EXPECT_NE(st.message().find("idle -> committing"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("checkpoint 3"), std::string::npos) << st.message();
  EXPECT_EQ(sm.state(), S::idle);
  // A whole cycle through the unknown-outcome path is legal.
  for (S to : {S::collecting, S::committing, S::resolving, S::committing, S::idle})
    ASSERT_TRUE(sm.transition(to).ok()) << coordinator_state_name(to);
  EXPECT_TRUE(sm.transition(S::stopped).ok());
  EXPECT_FALSE(sm.transition(S::idle).ok());
}

}  // namespace
