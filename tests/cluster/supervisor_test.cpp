// The supervisor behind `sleet run` (cluster/supervisor.hpp): its transition table checked pair
// by pair, and whole runs driven with fake collaborators: a fake clock that advances only when
// the supervisor sleeps, fake worker children that "exit" with scripted codes after scripted
// times and write a fake status, a fake input feed and a fake ZooKeeper. No processes, no
// sockets, no real sleeps.
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

#include "cluster/supervisor.hpp"

using namespace sleet;
using namespace sleet::cluster;
using namespace std::chrono_literals;
using S = SupervisorState;

namespace {

const S kAll[] = {S::starting, S::running, S::draining,    S::backing_off, S::restarting,
                  S::stopping, S::done,    S::interrupted, S::gave_up,     S::failed};

// Written out again by hand (not derived from kSupervisorTransitions).
const std::set<std::pair<S, S>> kExpected = {
    {S::starting, S::running},
    {S::starting, S::failed},
    {S::running, S::draining},
    {S::running, S::backing_off},
    {S::running, S::stopping},
    {S::running, S::done},
    {S::running, S::gave_up},
    {S::running, S::failed},
    {S::draining, S::backing_off},
    {S::draining, S::stopping},
    {S::draining, S::gave_up},
    {S::draining, S::failed},
    {S::backing_off, S::restarting},
    {S::restarting, S::running},
    {S::restarting, S::failed},
    {S::stopping, S::done},
    {S::stopping, S::interrupted},
    // N > 1 workers: the others are supervised while one backs off.
    {S::backing_off, S::gave_up},
    {S::backing_off, S::failed},
    {S::restarting, S::backing_off},
};

using C = WorkerChildState;
const C kAllChild[] = {C::starting, C::up, C::backing_off, C::ended};
const std::set<std::pair<C, C>> kExpectedChild = {
    {C::starting, C::up}, {C::up, C::backing_off}, {C::backing_off, C::up}, {C::up, C::ended}};

struct FakeClock : SupervisorClock {
  time_point t{};
  time_point now() override { return t; }
  void sleep_for(std::chrono::milliseconds d) override { t += d; }
};

// One scripted worker: runs for `runs_for` (forever if zero), then exits with `exit_code`.
struct Script {
  int exit_code = 1;
  std::chrono::milliseconds runs_for{0};
  std::string failure;
  bool transient = false;
  int64_t position = 0;
  std::chrono::milliseconds drains_after{0};  // its status says drained from then (0: never)
};

struct FakeWorkers : WorkerLauncher {
  explicit FakeWorkers(FakeClock& c, std::vector<Script> s) : clock(c), script(std::move(s)) {}
  Result<pid_t> start() override {
    if (next >= script.size()) return Status::IoError("no more scripted workers");
    current = script[next++];
    pid = static_cast<pid_t>(pid_base + next);
    started = clock.now();
    forced.reset();
    ++starts;
    return pid;
  }
  bool running() override {
    if (forced) return false;
    return current.runs_for.count() == 0 || clock.now() - started < current.runs_for;
  }
  int exit_status() override { return forced ? *forced : current.exit_code; }
  void kill() override { forced = 128 + 9; }
  int stop(std::chrono::milliseconds) override {
    ++stops;
    if (running()) forced = 0;  // SIGTERM: a clean stop
    return exit_status();
  }
  std::string log_tail(size_t n) override {
    return "last " + std::to_string(n) + " line(s) of pid " + std::to_string(pid);
  }
  bool drained() const {
    return current.drains_after.count() > 0 && clock.now() - started >= current.drains_after;
  }

  FakeClock& clock;
  std::vector<Script> script;
  size_t next = 0;
  Script current;
  pid_t pid = 0;
  FakeClock::time_point started{};
  std::optional<int> forced;
  int starts = 0, stops = 0;
  int pid_base = 100;  // worker i of N: 100 * (i + 1)
};

// The status file as the current fake worker would write it.
struct FakeStatus : StatusSource {
  explicit FakeStatus(FakeWorkers& w) : workers(w) {}
  std::string read() override {
    if (workers.pid == 0) return "";
    const bool drained = workers.drained();
    std::string s =
        "{\"pid\":" + std::to_string(workers.pid) +
        ",\"restored_from\":" + std::to_string(workers.starts - 1) +
        ",\"last_checkpoint\":" + (drained ? "7" : "0") + ",\"visible\":" + (drained ? "7" : "0") +
        ",\"drained\":" + (drained ? "true" : "false") + ",\"aborted\":" + std::to_string(aborted) +
        ",\"last_abort_reason\":\"" + abort_reason + "\"" +
        ",\"committed_offsets\":" + std::to_string(workers.current.position);
    if (!workers.running() && !workers.current.failure.empty())
      s += ",\"failure\":\"" + workers.current.failure +
           "\",\"failure_transient\":" + (workers.current.transient ? "true" : "false");
    if (leader) s += ",\"leader\":true";
    s += std::string(",\"positions\":\"in:0=") + (drained ? "10" : "0") + "\"}";
    return s;
  }
  FakeWorkers& workers;
  bool leader = false;  // cluster mode: this worker's status says "leader": true
  int aborted = 0;
  std::string abort_reason;
};

struct FakeInput : InputFeed {
  bool done() override { return true; }
  Status status() override { return status_; }
  int64_t loaded() override { return 10; }
  std::map<std::string, int64_t> final_ends() override { return {{"in:0", 10}}; }
  std::map<std::string, int64_t> log_starts() override { return starts; }
  Status status_;
  std::map<std::string, int64_t> starts;
};

struct FakeZooKeeper : ZooKeeperChild {
  bool running() override { return up; }
  pid_t pid() override { return 50; }
  int port() override { return 2181; }
  std::string dir() override { return "/state/zookeeper"; }
  std::string log_path() override { return "/state/zookeeper/zookeeper.log"; }
  Status restart() override {
    ++restarts;
    if (!restart_ok) return Status::IoError("java is gone");
    up = true;
    return Status::Ok();
  }
  bool up = true, restart_ok = true;
  int restarts = 0;
};

struct Recorder : SupervisorEvents {
  void state_changed(S, S to) override { states.push_back(to); }
  void restarting(pid_t, const std::string& why, std::chrono::milliseconds backoff,
                  int64_t) override {
    backoffs.push_back(backoff.count());
    whys.push_back(why);
  }
  void worker_ended(const WorkerEndReport& r) override { ended.push_back(r); }
  void giving_up(const std::string& reason, const std::string&) override { gave_up = reason; }
  void chaos_kill(pid_t) override { ++chaos; }
  void worker_resumed(pid_t, int64_t cp) override { resumed.push_back(cp); }
  void drained(int64_t cp, int64_t) override { drained_at = cp; }
  void zookeeper_restarted(pid_t, int n) override { zk_restarts = n; }
  void checkpoint_aborted(int64_t n, const std::string& why) override {
    aborts.emplace_back(n, why);
  }
  void dropped(const Drop& d) override { drops.push_back(d.lost); }
  void live(const LiveStatus& l) override { lives.push_back(l); }
  void worker_stopped(int st, bool) override { stopped.push_back(st); }
  std::vector<LiveStatus> lives;
  std::vector<int> stopped;
  std::vector<S> states;
  std::vector<int64_t> backoffs;
  std::vector<std::string> whys;
  std::vector<WorkerEndReport> ended;
  std::string gave_up;
  int chaos = 0, zk_restarts = 0;
  std::vector<int64_t> resumed;
  int64_t drained_at = -1;
  std::vector<std::pair<int64_t, std::string>> aborts;
  std::vector<int64_t> drops;
};

// One supervised run over the fakes.
struct FakeRun {
  explicit FakeRun(std::vector<Script> script, bool until_drained = true)
      : workers(clock, std::move(script)), status(workers) {
    options.until_drained = until_drained;
  }
  SupervisorOutcome go() {
    Supervisor sup(
        options, workers, zk ? &*zk : nullptr, input, status, clock,
        [this] { return clock.now() >= signal_at ? signal : 0; }, events);
    SupervisorOutcome out = sup.run();
    restarts = sup.restarts();
    chaos_kills = sup.chaos_kills();
    end_state = sup.state();
    return out;
  }
  FakeClock clock;
  FakeWorkers workers;
  FakeStatus status;
  FakeInput input;
  std::optional<FakeZooKeeper> zk;
  Recorder events;
  SupervisorOptions options;
  int signal = 0;
  FakeClock::time_point signal_at = FakeClock::time_point::max();
  int restarts = 0, chaos_kills = 0;
  S end_state = S::starting;
};

Script fails(const std::string& why, int64_t position = 0, bool transient = false) {
  Script s;
  s.exit_code = 1;
  s.runs_for = 1s;
  s.failure = why;
  s.position = position;
  s.transient = transient;
  return s;
}

Script drains_after(std::chrono::milliseconds d) {
  Script s;
  s.drains_after = d;
  return s;
}

}  // namespace

TEST(SupervisorTable, EveryPairIsAllowedExactlyWhenTheTableHasIt) {
  for (S from : kAll)
    for (S to : kAll) {
      const bool expected = kExpected.count({from, to}) > 0;
      StateMachine<S> sm("supervisor", from, kSupervisorTransitions, supervisor_state_name);
      Status st = sm.transition(to, "probe");
      EXPECT_EQ(st.ok(), expected)
          << supervisor_state_name(from) << " -> " << supervisor_state_name(to);
      EXPECT_EQ(sm.state(), expected ? to : from);
      if (!expected) {
        EXPECT_EQ(st.code(), Code::internal);
      }
    }
  EXPECT_EQ(std::size(kSupervisorTransitions), kExpected.size()) << "a duplicate row";
  for (auto& t : kSupervisorTransitions) EXPECT_STRNE(t.on, "") << "every edge names its event";
  for (S end : {S::done, S::interrupted, S::gave_up, S::failed})
    for (auto& t : kSupervisorTransitions)
      EXPECT_NE(t.from, end) << supervisor_state_name(end) << " must be terminal";
}

TEST(Supervisor, RestartsAfterTransientFailuresThenDrainsAndStops) {
  FakeRun r({fails("ZooKeeper unavailable", 0, true), fails("ZooKeeper unavailable", 0, true),
             drains_after(2s)});
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_TRUE(out.status.ok()) << out.status.to_string();
  EXPECT_EQ(r.restarts, 2);
  EXPECT_EQ(r.events.backoffs, (std::vector<int64_t>{100, 200}));
  EXPECT_EQ(r.events.whys.front(), "exited with status 1: ZooKeeper unavailable");
  EXPECT_EQ(r.events.resumed, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.events.drained_at, 7);
  EXPECT_EQ(r.workers.stops, 1) << "the drained worker is stopped once";
  EXPECT_EQ(r.events.states, (std::vector<S>{S::running, S::draining, S::backing_off, S::restarting,
                                             S::running, S::draining, S::backing_off, S::restarting,
                                             S::running, S::draining, S::stopping, S::done}));
}

TEST(Supervisor, SameFailureAtTheSamePositionGivesUpWithExit3) {
  FakeRun r({fails("bolt 'x' failed", 42), fails("bolt 'x' failed", 42),
             fails("bolt 'x' failed", 42), drains_after(1s)});
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::gave_up);
  EXPECT_EQ(out.policy_exit_code, 3);
  EXPECT_EQ(r.restarts, 2);
  EXPECT_NE(r.events.gave_up.find("same error at the same input position"), std::string::npos)
      << r.events.gave_up;
  EXPECT_EQ(r.workers.starts, 3) << "the fourth worker is never started";
}

TEST(Supervisor, AWorkerThatCannotBeRestartedEndsTheRunWithItsCode) {
  Script s = fails("incompatible: checkpoint does not fit");
  s.exit_code = 3;
  FakeRun r({s, drains_after(1s)});
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::failed);
  EXPECT_EQ(out.policy_exit_code, 3);
  EXPECT_TRUE(out.status.ok());
  EXPECT_EQ(r.restarts, 0);
  ASSERT_EQ(r.events.ended.size(), 1u);
  EXPECT_EQ(r.events.ended[0].exit_status, 3);
  EXPECT_EQ(r.events.ended[0].failure, "incompatible: checkpoint does not fit");
  EXPECT_EQ(r.events.ended[0].log_tail, "last 5 line(s) of pid 101");
}

TEST(Supervisor, StoppingOnItsOwnBeforeTheDrainIsAFailureWithoutAPolicyCode) {
  Script s;
  s.exit_code = 0;
  s.runs_for = 1s;
  FakeRun r({s});
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::failed);
  EXPECT_FALSE(out.policy_exit_code.has_value());
  ASSERT_EQ(r.events.ended.size(), 1u);
  EXPECT_TRUE(r.events.ended[0].before_drain);

  FakeRun plain({s}, /*until_drained=*/false);
  EXPECT_EQ(plain.go().end, S::done);
}

TEST(Supervisor, ASignalInterruptsADrainButEndsAPlainRun) {
  for (bool until_drained : {true, false}) {
    FakeRun r({drains_after(0ms)}, until_drained);  // never drains
    r.signal = 15;
    r.signal_at = FakeClock::time_point{} + 3s;
    SupervisorOutcome out = r.go();
    EXPECT_EQ(out.end, until_drained ? S::interrupted : S::done);
    EXPECT_EQ(out.signal, 15);
    EXPECT_EQ(r.workers.stops, 1);
    EXPECT_EQ(r.events.states.back(), until_drained ? S::interrupted : S::done);
    EXPECT_EQ(r.events.states[r.events.states.size() - 2], S::stopping);
  }
}

TEST(Supervisor, ChaosKillsRestartAtOnceAndAreNotFailures) {
  // max_failures 1: a single counted failure would give up.
  FakeRun r({Script{}, Script{}, Script{}, Script{}}, /*until_drained=*/false);
  r.options.policy.max_failures = 1;
  r.options.chaos_delay = [] { return std::chrono::milliseconds(1000); };
  r.signal = 2;
  r.signal_at = FakeClock::time_point{} + 3500ms;
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_EQ(r.chaos_kills, 3);
  EXPECT_EQ(r.restarts, 3);
  EXPECT_EQ(r.events.backoffs, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(r.events.whys.front(), "killed by SIGKILL");
}

TEST(Supervisor, FailedInputLoadingBreaksTheRunWithItsStatus) {
  FakeRun r({drains_after(1s)});
  r.input.status_ = Status::Invalid("input in.txt line 3: longer than 1000000 bytes");
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::failed);
  EXPECT_EQ(out.status.code(), Code::invalid_argument);
  EXPECT_EQ(r.restarts, 0);
}

TEST(Supervisor, ADeadZooKeeperIsRestartedAndAFailedRestartBreaksTheRun) {
  FakeRun r({drains_after(1s)});
  r.zk.emplace();
  r.zk->up = false;
  EXPECT_EQ(r.go().end, S::done);
  EXPECT_EQ(r.zk->restarts, 1);
  EXPECT_EQ(r.events.zk_restarts, 1);

  FakeRun bad({drains_after(1s)});
  bad.zk.emplace();
  bad.zk->up = false;
  bad.zk->restart_ok = false;
  SupervisorOutcome out = bad.go();
  EXPECT_EQ(out.end, S::failed);
  EXPECT_NE(out.status.message().find("cannot restart ZooKeeper: java is gone"), std::string::npos)
      << out.status.to_string();
  EXPECT_EQ(out.hint, "see /state/zookeeper/zookeeper.log");
}

TEST(Supervisor, AbortsAndDropsAreReportedOnceEach) {
  FakeRun r({drains_after(2s)});
  r.status.aborted = 2;
  r.status.abort_reason = "no ack from bad[0]";
  r.input.starts = {{"in:0", 4}};  // 4 records gone that no checkpoint read
  r.options.spout_topics = {"in"};
  EXPECT_EQ(r.go().end, S::done);
  ASSERT_EQ(r.events.aborts.size(), 1u);
  EXPECT_EQ(r.events.aborts[0], (std::pair<int64_t, std::string>{2, "no ack from bad[0]"}));
  EXPECT_EQ(r.events.drops, (std::vector<int64_t>{4}));
}

namespace {

// N supervised workers over the fakes: worker i runs scripts[i] and writes its own status.
struct FakeCluster {
  explicit FakeCluster(std::vector<std::vector<Script>> scripts, bool until_drained = true) {
    for (size_t i = 0; i < scripts.size(); ++i) {
      workers.push_back(std::make_unique<FakeWorkers>(clock, scripts[i]));
      workers.back()->pid_base = 100 * static_cast<int>(i + 1);
      statuses.push_back(std::make_unique<FakeStatus>(*workers.back()));
    }
    options.until_drained = until_drained;
  }
  SupervisorOutcome go() {
    std::vector<WorkerSlot> slots;
    for (size_t i = 0; i < workers.size(); ++i)
      slots.push_back({workers[i].get(), statuses[i].get(), "w" + std::to_string(i)});
    Supervisor sup(
        options, std::move(slots), nullptr, input, clock,
        [this] { return clock.now() >= signal_at ? signal : 0; }, events);
    SupervisorOutcome out = sup.run();
    restarts = sup.restarts();
    chaos_kills = sup.chaos_kills();
    views = sup.workers();
    ended_at = clock.now();
    return out;
  }
  FakeClock clock;
  std::vector<std::unique_ptr<FakeWorkers>> workers;
  std::vector<std::unique_ptr<FakeStatus>> statuses;
  FakeInput input;
  Recorder events;
  SupervisorOptions options;
  int signal = 0;
  FakeClock::time_point signal_at = FakeClock::time_point::max();
  int restarts = 0, chaos_kills = 0;
  std::vector<WorkerView> views;
  FakeClock::time_point ended_at{};
};

Script forever() {
  return Script{};
}

Script exits(int code, std::chrono::milliseconds after) {
  Script s;
  s.exit_code = code;
  s.runs_for = after;
  return s;
}

}  // namespace

TEST(SupervisorChildTable, EveryPairIsAllowedExactlyWhenTheTableHasIt) {
  for (C from : kAllChild)
    for (C to : kAllChild) {
      const bool expected = kExpectedChild.count({from, to}) > 0;
      StateMachine<C> sm("worker w0", from, kWorkerChildTransitions, worker_child_state_name);
      EXPECT_EQ(sm.transition(to, "probe").ok(), expected)
          << worker_child_state_name(from) << " -> " << worker_child_state_name(to);
    }
  EXPECT_EQ(std::size(kWorkerChildTransitions), kExpectedChild.size());
  for (auto& t : kWorkerChildTransitions) EXPECT_NE(t.from, C::ended) << "ended is terminal";
}

TEST(SupervisorN, DrainedWhenTheLeaderIsAndEveryWorkerHasItsCheckpointVisible) {
  // w2's sinks make checkpoint 7 visible two seconds after the leader's.
  FakeCluster r({{drains_after(2s)}, {drains_after(2s)}, {drains_after(4s)}});
  r.statuses[0]->leader = true;
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_EQ(r.events.drained_at, 7);
  EXPECT_GE(r.ended_at - FakeClock::time_point{}, 4s) << "not before every worker shows it";
  EXPECT_LT(r.ended_at - FakeClock::time_point{}, 4100ms);
  for (auto& w : r.workers) EXPECT_EQ(w->stops, 1) << "every worker is stopped once";
  EXPECT_EQ(r.events.stopped.size(), 3u);
  EXPECT_EQ(r.events.states, (std::vector<S>{S::running, S::draining, S::stopping, S::done}));
}

TEST(SupervisorN, WithoutALeaderInTheStatusTheRunIsNeverDrained) {
  FakeCluster r({{drains_after(1s)}, {drains_after(1s)}});  // no "leader" field: not the leader
  r.signal = 15;
  r.signal_at = FakeClock::time_point{} + 5s;
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::interrupted);
  EXPECT_EQ(r.events.drained_at, -1);
  for (auto& w : r.workers) EXPECT_EQ(w->stops, 1);
}

TEST(SupervisorN, OneWorkerRestartsWhileTheOthersKeepRunning) {
  FakeCluster r({{drains_after(3s)},
                 {fails("ZooKeeper unavailable", 0, true), drains_after(1s)},
                 {drains_after(3s)}});
  r.statuses[0]->leader = true;
  r.options.live_interval = 100ms;
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_EQ(r.restarts, 1);
  EXPECT_EQ(r.events.backoffs, (std::vector<int64_t>{100}));
  EXPECT_EQ(r.workers[0]->starts, 1);
  EXPECT_EQ(r.workers[1]->starts, 2);
  EXPECT_EQ(r.workers[2]->starts, 1);
  EXPECT_EQ(r.events.resumed, (std::vector<int64_t>{1}));
  EXPECT_EQ(r.events.states, (std::vector<S>{S::running, S::draining, S::backing_off, S::restarting,
                                             S::running, S::draining, S::stopping, S::done}));
  // The live line saw w1 backing off beside the running leader.
  bool seen = false;
  for (auto& l : r.events.lives) {
    ASSERT_EQ(l.workers.size(), 3u);
    EXPECT_EQ(l.workers[2].id, "w2");
    if (l.workers[1].state == C::backing_off) {
      seen = true;
      EXPECT_EQ(l.workers[0].state, C::up);
      EXPECT_TRUE(l.workers[0].leader);
      EXPECT_FALSE(l.workers[2].leader);
      EXPECT_NE(l.status.find("\"leader\":true"), std::string::npos) << "the leader's status";
    }
  }
  EXPECT_TRUE(seen);
  ASSERT_EQ(r.views.size(), 3u);
  EXPECT_EQ(r.views[1].restarts, 1);
  EXPECT_EQ(r.views[0].restarts, 0);
}

TEST(SupervisorN, TwoWorkersBackingOffAtOnceRestartEachAfterItsOwnBackoff) {
  Script late = fails("x", 0, true);
  late.runs_for = 1040ms;
  FakeCluster r(
      {{drains_after(3s)}, {fails("x", 0, true), drains_after(1s)}, {late, drains_after(1s)}});
  r.statuses[0]->leader = true;
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_EQ(r.restarts, 2);
  EXPECT_EQ(r.events.states,
            (std::vector<S>{S::running, S::draining, S::backing_off, S::restarting, S::backing_off,
                            S::restarting, S::running, S::draining, S::stopping, S::done}));
}

TEST(SupervisorN, AWorkerThatCannotBeRestartedStopsTheOthersAndEndsWithItsCode) {
  FakeCluster r({{forever()}, {exits(3, 1s)}, {forever()}});
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::failed);
  EXPECT_EQ(out.policy_exit_code, 3);
  EXPECT_EQ(r.workers[0]->stops, 1);
  EXPECT_EQ(r.workers[2]->stops, 1);
  ASSERT_EQ(r.events.ended.size(), 1u);
  EXPECT_EQ(r.events.ended[0].pid, 201);
}

TEST(SupervisorN, GivingUpOnOneWorkerStopsTheOthers) {
  FakeCluster r({{forever()}, {fails("boom", 5), fails("boom", 5), fails("boom", 5)}});
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::gave_up);
  EXPECT_EQ(out.policy_exit_code, 3);
  EXPECT_EQ(r.workers[0]->stops, 1);
  EXPECT_EQ(r.workers[0]->starts, 1);
}

TEST(SupervisorN, WorkersStoppingOnTheirOwnEndTheRunWhenTheLastOneHas) {
  FakeCluster r({{exits(0, 1s)}, {exits(0, 2s)}}, /*until_drained=*/false);
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_EQ(r.events.ended.size(), 2u);
  EXPECT_EQ(r.restarts, 0);
  EXPECT_GE(r.ended_at - FakeClock::time_point{}, 2s) << "the second one is waited for";
}

TEST(SupervisorN, ChaosKillsTheWorkerItPicks) {
  FakeCluster r({{forever(), forever()}, {forever()}, {forever(), forever(), forever()}},
                /*until_drained=*/false);
  r.options.chaos_delay = [] { return std::chrono::milliseconds(1000); };
  r.options.chaos_pick = [](size_t n) { return n - 1; };
  r.signal = 2;
  r.signal_at = FakeClock::time_point{} + 2500ms;
  SupervisorOutcome out = r.go();
  EXPECT_EQ(out.end, S::done);
  EXPECT_EQ(r.chaos_kills, 2);
  EXPECT_EQ(r.workers[0]->starts, 1);
  EXPECT_EQ(r.workers[1]->starts, 1);
  EXPECT_EQ(r.workers[2]->starts, 3);
}
