// bolts/kafka_sink.hpp: the KafkaSink publish protocol's transition table. Every (from, to) pair of
// PublishState is allowed exactly when the protocol (bolts/README.md) has that step, written out
// here by hand; every state is reachable from idle, every in-flight state can fail, be fenced, and
// find its way back to idle, and fenced is terminal. No Kafka, no ZooKeeper, no fibers.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include "bolts/kafka_sink.hpp"

namespace {

using sleet::StateMachine;
using sleet::kafka::kPublishTransitions;
using sleet::kafka::publish_state_name;
using S = sleet::kafka::PublishState;

constexpr S kAll[] = {S::idle,      S::checking, S::storing_cursor, S::scanning,
                      S::producing, S::marking,  S::failed,         S::fenced};
constexpr S kInFlight[] = {S::checking, S::storing_cursor, S::scanning, S::producing, S::marking};

std::set<std::pair<S, S>> expected_pairs() {
  std::set<std::pair<S, S>> p = {
      {S::idle, S::checking},             // a commit (or recovery) covers the oldest epoch
      {S::failed, S::checking},           // a retry starts over from the stored cursor
      {S::checking, S::idle},             // the cursor says the epoch is out: drop it
      {S::checking, S::storing_cursor},   // no cursor of this epoch: write ahead
      {S::checking, S::scanning},         // this epoch's cursor, unpublished: an attempt died
      {S::storing_cursor, S::producing},  // the cursor is stored before any record goes out
      {S::scanning, S::producing},        // only the missing records go out
      {S::producing, S::marking},         // every record delivered
      {S::marking, S::idle},              // marked published, epoch dropped
  };
  for (S s : kInFlight) {
    p.insert({s, S::failed});
    p.insert({s, S::fenced});
  }
  return p;
}

TEST(KafkaSinkPublishStates, EveryPairIsAllowedExactlyWhenTheProtocolHasIt) {
  const auto want = expected_pairs();
  for (S from : kAll)
    for (S to : kAll) {
      const bool allowed = want.count({from, to}) > 0;
      EXPECT_EQ(StateMachine<S>::allowed(kPublishTransitions, from, to), allowed)
          << publish_state_name(from) << " -> " << publish_state_name(to);
      StateMachine<S> sm("sink publish", from, kPublishTransitions, publish_state_name);
      sleet::Status st = sm.transition(to, "probe");
      EXPECT_EQ(st.ok(), allowed) << publish_state_name(from) << " -> " << publish_state_name(to);
      EXPECT_EQ(sm.state(), allowed ? to : from);
      if (!allowed) {
        EXPECT_EQ(st.code(), sleet::Code::internal);
        EXPECT_NE(st.message().find(std::string("illegal transition ") + publish_state_name(from) +
                                    " -> " + publish_state_name(to)),
                  std::string::npos)
            << st.message();
      }
    }
}

TEST(KafkaSinkPublishStates, TheTableHasNoDuplicatesAndNamesEveryEdge) {
  std::set<std::pair<S, S>> seen;
  for (const auto& t : kPublishTransitions) {
    EXPECT_TRUE(seen.insert({t.from, t.to}).second)
        << publish_state_name(t.from) << " -> " << publish_state_name(t.to) << " twice";
    EXPECT_NE(std::string(t.on), "")
        << publish_state_name(t.from) << " -> " << publish_state_name(t.to);
  }
  std::set<std::string> names;
  for (S s : kAll) EXPECT_TRUE(names.insert(publish_state_name(s)).second);
}

// The protocol's invariants, derived from the table: the cursor is stored (or the epoch scanned)
// before anything is produced; every state is reachable from idle; every state but fenced gets
// back to idle; nothing leaves fenced.
TEST(KafkaSinkPublishStates, ReachabilityAndOrdering) {
  auto reach = [](S start) {
    std::set<S> seen{start};
    std::vector<S> todo{start};
    while (!todo.empty()) {
      S s = todo.back();
      todo.pop_back();
      for (const auto& t : kPublishTransitions)
        if (t.from == s && seen.insert(t.to).second) todo.push_back(t.to);
    }
    return seen;
  };
  EXPECT_EQ(reach(S::idle).size(), std::size(kAll));
  for (S s : kAll) {
    if (s == S::fenced) continue;
    EXPECT_TRUE(reach(s).count(S::idle)) << publish_state_name(s) << " cannot get back to idle";
  }
  EXPECT_EQ(reach(S::fenced), std::set<S>{S::fenced}) << "fenced is terminal";
  for (const auto& t : kPublishTransitions) {
    if (t.to == S::producing) {
      EXPECT_TRUE(t.from == S::storing_cursor || t.from == S::scanning)
          << "records go out only after the cursor is stored or the epoch scanned, not from "
          << publish_state_name(t.from);
    }
    if (t.to == S::marking) {
      EXPECT_EQ(t.from, S::producing) << "marked only after delivery";
    }
  }
}

// One full round and one resumed round, as KafkaSink::publish_epoch walks them.
TEST(KafkaSinkPublishStates, ThePathsPublishEpochTakes) {
  const std::vector<std::vector<S>> paths = {
      {S::idle, S::checking, S::storing_cursor, S::producing, S::marking, S::idle},
      {S::idle, S::checking, S::scanning, S::producing, S::marking, S::idle},
      {S::idle, S::checking, S::idle},
      {S::idle, S::checking, S::storing_cursor, S::producing, S::failed, S::checking, S::scanning,
       S::producing, S::marking, S::idle},
      {S::idle, S::checking, S::fenced},
  };
  for (const auto& path : paths) {
    StateMachine<S> sm("sink publish", path.front(), kPublishTransitions, publish_state_name);
    for (size_t i = 1; i < path.size(); ++i)
      ASSERT_TRUE(sm.transition(path[i]).ok())
          << publish_state_name(path[i - 1]) << " -> " << publish_state_name(path[i]);
  }
}

// Typed epoch ids changed no byte of the sink's state: an Epoch with a CheckpointId serializes
// exactly as the int64 it used to hold, so snapshots of older builds still restore. The record is
// written here in the current layout (state version 3: nullable header values, value_null).
struct PlainRecord {
  bool has_key = false;
  std::string key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool value_null = false;
  template <class A>
  void serialize(A& ar) {
    ar(has_key, key, value, headers, value_null);
  }
};
struct PlainEpoch {
  int64_t id = 0;
  std::vector<PlainRecord> records;
  template <class A>
  void serialize(A& ar) {
    ar(id, records);
  }
};

template <class T>
std::string bytes_of(const T& v) {
  std::ostringstream out;
  {
    sleet::StateWriter w(out);
    w(v);
  }
  return out.str();
}

TEST(KafkaSinkState, TypedEpochIdsKeepTheStateBytes) {
  using Sink = sleet::kafka::KafkaSink;
  std::vector<Sink::Epoch> typed = {
      {sleet::CheckpointId{7}, {{true, "k", "v", {{"h", "1"}}}, {false, "", "w", {}}}},
      {sleet::CheckpointId{(int64_t{1} << 40) + 3}, {}}};
  std::vector<PlainEpoch> plain = {{7, {{true, "k", "v", {{"h", "1"}}}, {false, "", "w", {}}}},
                                   {(int64_t{1} << 40) + 3, {}}};
  EXPECT_EQ(bytes_of(typed), bytes_of(plain));
}

}  // namespace
