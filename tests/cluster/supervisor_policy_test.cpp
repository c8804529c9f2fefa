// The supervisor's restart decision (cluster/supervisor_policy.hpp) as a table: a pure
// function of the failure history and how the worker ended. Also the stall watchdog's decision
// (cluster/stall_watchdog.hpp), fed a fake clock and counters.
#include <gtest/gtest.h>

#include "cluster/stall_watchdog.hpp"
#include "cluster/supervisor_policy.hpp"

using namespace sleet;
using namespace sleet::cluster;
using namespace std::chrono_literals;
using Kind = Decision::Kind;

namespace {

WorkerEnd failed(const std::string& why, int64_t position = 0, bool transient = false) {
  WorkerEnd e;
  e.exit_status = 1;
  e.failure = why;
  e.position = position;
  e.transient = transient;
  e.ran = 2s;
  return e;
}

}  // namespace

TEST(SupervisorPolicy, ExitCodesThatEndTheRun) {
  for (int code : {0, 2, 3}) {
    FailureHistory h;
    WorkerEnd e;
    e.exit_status = code;
    Decision d = decide({}, h, e);
    EXPECT_EQ(d.kind, Kind::stop) << code;
    EXPECT_EQ(d.exit_code, code);
  }
}

// The poison loop of issue 10 item 11: every restart committed a fresh checkpoint, so a rule
// counting "failures without a new checkpoint" never gave up and the backoff stayed at 100 ms.
TEST(SupervisorPolicy, SameFailureAtSamePositionGivesUpWithExit3) {
  FailureHistory h;
  SupervisorPolicy p;
  std::vector<int64_t> backoffs;
  Decision d;
  for (int i = 0; i < 3; ++i) {
    d = decide(p, h, failed("bolt 'x' failed on [v=1]", 42));
    if (d.kind == Kind::restart) backoffs.push_back(d.backoff.count());
  }
  EXPECT_EQ(d.kind, Kind::give_up);
  EXPECT_EQ(d.exit_code, 3);
  EXPECT_NE(d.reason.find("same error at the same input position"), std::string::npos);
  EXPECT_NE(d.reason.find("bolt 'x' failed on [v=1]"), std::string::npos);
  EXPECT_EQ(backoffs, (std::vector<int64_t>{100, 200}));
}

TEST(SupervisorPolicy, SameFailureAtAnotherPositionIsNotARepeat) {
  FailureHistory h;
  SupervisorPolicy p;
  for (int64_t pos = 0; pos < 5; ++pos)
    EXPECT_EQ(decide(p, h, failed("boom", pos * 100)).kind, Kind::restart) << pos;
}

TEST(SupervisorPolicy, TransientFailuresBackOffExponentiallyUpToMaxFailures) {
  FailureHistory h;
  SupervisorPolicy p;
  p.max_failures = 8;
  std::vector<int64_t> backoffs;
  Decision d;
  for (int i = 0; i < 8; ++i) {
    d = decide(p, h, failed("ZooKeeper unavailable", 0, true));
    if (d.kind == Kind::restart) backoffs.push_back(d.backoff.count());
  }
  EXPECT_EQ(backoffs, (std::vector<int64_t>{100, 200, 400, 800, 1600, 3200, 6400}));
  EXPECT_EQ(d.kind, Kind::give_up);
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.reason.find("8 times in a row"), std::string::npos);
}

TEST(SupervisorPolicy, BackoffIsCapped) {
  FailureHistory h;
  SupervisorPolicy p;
  p.max_failures = 100;
  Decision d;
  for (int i = 0; i < 30; ++i) d = decide(p, h, failed("x" + std::to_string(i)));
  EXPECT_EQ(d.kind, Kind::restart);
  EXPECT_EQ(d.backoff, p.max_backoff);
}

TEST(SupervisorPolicy, MaxFailuresOneAllowsOneFailure) {
  FailureHistory h;
  SupervisorPolicy p;
  p.max_failures = 1;
  EXPECT_EQ(decide(p, h, failed("x")).kind, Kind::give_up);
}

TEST(SupervisorPolicy, ChaosKillsAreNotFailures) {
  FailureHistory h;
  SupervisorPolicy p;
  p.max_failures = 2;
  WorkerEnd k;
  k.exit_status = 137;
  k.chaos = true;
  for (int i = 0; i < 20; ++i) {
    Decision d = decide(p, h, k);
    EXPECT_EQ(d.kind, Kind::restart);
    EXPECT_EQ(d.backoff, 0ms);
  }
  EXPECT_EQ(h.failures, 0);
}

TEST(SupervisorPolicy, AStableRunResetsTheBackoffButNotTheRepeats) {
  FailureHistory h;
  SupervisorPolicy p;
  p.max_failures = 3;
  (void)decide(p, h, failed("a", 1));
  (void)decide(p, h, failed("b", 2));
  WorkerEnd later = failed("c", 3);
  later.ran = p.stable_after;
  Decision d = decide(p, h, later);
  EXPECT_EQ(d.kind, Kind::restart);  // the 3rd failure in a row, but after a healthy run
  EXPECT_EQ(d.backoff, 100ms);
  // A stall at the same position after minutes each time is still the same stall.
  later.failure = "stalled";
  (void)decide(p, h, later);
  (void)decide(p, h, later);
  d = decide(p, h, later);
  EXPECT_EQ(d.kind, Kind::give_up);
  EXPECT_EQ(d.exit_code, 3);
}

TEST(SupervisorPolicy, UnknownFailuresCountButNeverRepeat) {
  FailureHistory h;
  SupervisorPolicy p;
  WorkerEnd killed;
  killed.exit_status = 137;  // SIGKILL by someone else: no status of its own
  for (int i = 0; i < 9; ++i) EXPECT_EQ(decide(p, h, killed).kind, Kind::restart);
  EXPECT_EQ(decide(p, h, killed).kind, Kind::give_up);
}

TEST(SupervisorPolicy, DescribeErrorsNamesEveryComponentWithSkips) {
  std::map<std::string, WorkerProgress::ComponentErrors> e{
      {"a", {5, 0}}, {"b", {3, 3}}, {"c", {0, 0}}};
  EXPECT_EQ(
      describe_errors(e),
      (std::vector<std::string>{"a: 5 record(s) skipped by on_error",
                                "b: 3 record(s) skipped by on_error, 3 of them dead-lettered"}));
}

TEST(WorkerStatus, FailureFieldsRoundTrip) {
  WorkerProgress p;
  p.failure = "bolt 'x' failed on [v=\"q\\z\"]\n\ttab";
  p.last_abort_reason = "writing state: No space left on device";
  p.errors["split"] = {10, 4};
  p.errors["odd \"id\""] = {1, 0};
  std::string j = p.to_json();
  EXPECT_EQ(status_string(j, "failure"), p.failure);
  EXPECT_EQ(status_string(j, "last_abort_reason"), p.last_abort_reason);
  auto e = status_errors(j);
  ASSERT_EQ(e.size(), 2u) << j;
  EXPECT_EQ(e["split"].skipped, 10);
  EXPECT_EQ(e["split"].dead_lettered, 4);
  EXPECT_EQ(e["odd \"id\""].skipped, 1);
  EXPECT_EQ(status_number(j, "failure_transient"), 0);
  EXPECT_EQ(status_number(j, "pid"), getpid());
}

namespace {

TopologySpec chain_spec() {
  return TopologyBuilder("w")
      .spout("in", "SequenceSpout", 1, {{"count", int64_t{1}}})
      .bolt("mid", "FileSink", 1, {{"path", "/nonexistent"}})
      .bolt("end", "FileSink", 1, {{"path", "/nonexistent"}})
      .stream("in", "mid")
      .stream("mid", "end")
      .build();
}

}  // namespace

TEST(StallWatchdog, NamesTheStuckTaskNotTheOnesWaitingForIt) {
  TopologySpec spec = chain_spec();
  StallWatchdog w(spec, 1000ms);
  auto t0 = StallWatchdog::Clock::now();
  std::map<std::string, int64_t> c{{"in[0]", 5}, {"mid[0]", 3}, {"end[0]", 2}};
  std::vector<std::string> missing{"mid[0]", "end[0]"};
  EXPECT_TRUE(w.check(t0, t0, c, missing).empty());
  EXPECT_TRUE(w.check(t0 + 999ms, t0, c, missing).empty());
  EXPECT_EQ(w.check(t0 + 1000ms, t0, c, missing), (std::vector<std::string>{"mid[0]"}));
}

TEST(StallWatchdog, ATaskThatMovesIsNotStuck) {
  TopologySpec spec = chain_spec();
  StallWatchdog w(spec, 1000ms);
  auto t0 = StallWatchdog::Clock::now();
  std::map<std::string, int64_t> c{{"in[0]", 5}, {"mid[0]", 3}, {"end[0]", 2}};
  std::vector<std::string> missing{"mid[0]"};
  (void)w.check(t0, t0, c, missing);
  c["mid[0]"] = 4;  // slow, but working through a backlog
  EXPECT_TRUE(w.check(t0 + 900ms, t0, c, missing).empty());
  EXPECT_TRUE(w.check(t0 + 1500ms, t0, c, missing).empty());
  EXPECT_EQ(w.check(t0 + 1900ms, t0, c, missing), (std::vector<std::string>{"mid[0]"}));
}

TEST(StallWatchdog, RecentCommitOrNoMissingTaskMeansNoStall) {
  TopologySpec spec = chain_spec();
  StallWatchdog w(spec, 1000ms);
  auto t0 = StallWatchdog::Clock::now();
  std::map<std::string, int64_t> c{{"in[0]", 5}, {"mid[0]", 3}, {"end[0]", 2}};
  (void)w.check(t0, t0, c, {"mid[0]"});
  EXPECT_TRUE(w.check(t0 + 5s, t0 + 4500ms, c, {"mid[0]"}).empty());  // committed 0.5 s ago
  EXPECT_TRUE(w.check(t0 + 5s, t0, c, {}).empty());
}
