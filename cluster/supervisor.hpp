// The supervisor behind `sleet run`: runs N worker child processes (N = 1: the single-process
// worker; N > 1: cluster-mode workers of one topology, `sleet run --workers N`), restarts each
// independently when it dies (cluster/supervisor_policy.hpp decides, with a failure history per
// worker), restarts the embedded ZooKeeper when it dies,
// watches the input loader and the embedded Kafka's retention, stops the worker once the input
// is drained (--until-drained) or on a signal, and reports what happens through
// SupervisorEvents. It never prints and never exits: cli/cmd_run.cpp prints the events and maps
// the outcome to an exit code.
//
// Every collaborator is injected (the worker child, the embedded ZooKeeper, the input feed, the
// worker's status file, the clock, the pending signal), so tests/cluster/supervisor_test.cpp
// drives it with fakes: a fake clock that advances on sleep, a fake child that "exits" with given
// codes. The real ones are in cluster/supervisor_io.hpp.
//
// Its life is an explicit state machine (core/state_machine.hpp, kSupervisorTransitions below;
// the table is printed in cluster/README.md):
//   starting -> running -> (backing_off -> restarting -> running)* -> [draining] -> stopping ->
//   done | interrupted, or running/draining -> done | failed | gave_up.
// backing_off means at least one worker waits for its restart; with N > 1 the others keep
// running and are supervised meanwhile (another death, a drop, ZooKeeper), so backing_off may
// also end the run (failed, gave_up). Each worker has a small machine of its own
// (kWorkerChildTransitions: starting -> up -> backing_off -> up ..., up -> ended).
//
// N > 1 (cluster mode): the run is drained when the leader's status (the worker whose status
// says "leader": true) is drained as for one worker and every worker's own status has "visible"
// at or above the leader's last checkpoint. Status fields read beyond the single worker's:
// "leader" (bool; absent: not the leader), "worker_id", "generation".
//
// Threading: one thread (the command's) constructs it and calls run(); the collaborators are
// called on that thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sleet/status.hpp>

#include "cluster/drain_check.hpp"
#include "cluster/supervisor_policy.hpp"
#include "core/state_machine.hpp"

namespace sleet::cluster {

enum class SupervisorState {
  starting,     // before the first worker runs
  running,      // a worker runs (input may still be loading)
  draining,     // --until-drained and all input is loaded: waiting for a checkpoint covering it
  backing_off,  // the worker ended and the policy restarts it: waiting the backoff
  restarting,   // starting the replacement worker
  stopping,     // stopping the worker: a signal, or drained
  done,         // ended as asked: drained, or stopped by a signal or on its own (no drain asked)
  interrupted,  // a signal before the input was drained (--until-drained): the output is partial
  gave_up,      // the policy gave up (failures in a row, or the same failure repeating)
  failed,       // the worker cannot be restarted, or a child or the input failed
};

const char* supervisor_state_name(SupervisorState s);

inline constexpr Transition<SupervisorState> kSupervisorTransitions[] = {
    {SupervisorState::starting, SupervisorState::running, "first worker started"},
    {SupervisorState::starting, SupervisorState::failed, "the worker cannot be started"},
    {SupervisorState::running, SupervisorState::draining, "--until-drained, all input loaded"},
    {SupervisorState::running, SupervisorState::backing_off, "worker ended, policy: restart"},
    {SupervisorState::running, SupervisorState::stopping, "signal"},
    {SupervisorState::running, SupervisorState::done, "worker stopped on its own (exit 0)"},
    {SupervisorState::running, SupervisorState::gave_up, "worker ended, policy: give up"},
    {SupervisorState::running, SupervisorState::failed,
     "worker ended, policy: stop (exit 2/3); input or ZooKeeper failed"},
    {SupervisorState::draining, SupervisorState::backing_off, "worker ended, policy: restart"},
    {SupervisorState::draining, SupervisorState::stopping, "drained, or a signal"},
    {SupervisorState::draining, SupervisorState::gave_up, "worker ended, policy: give up"},
    {SupervisorState::draining, SupervisorState::failed,
     "worker ended before drained or cannot be restarted; ZooKeeper failed"},
    {SupervisorState::backing_off, SupervisorState::restarting, "backoff over (or a signal)"},
    {SupervisorState::backing_off, SupervisorState::gave_up,
     "another worker ended, policy: give up (N > 1)"},
    {SupervisorState::backing_off, SupervisorState::failed,
     "another worker ended, policy: stop; input or ZooKeeper failed (N > 1)"},
    {SupervisorState::restarting, SupervisorState::running, "replacement worker started"},
    {SupervisorState::restarting, SupervisorState::backing_off,
     "replacement started, another worker still backing off (N > 1)"},
    {SupervisorState::restarting, SupervisorState::failed, "the worker cannot be started"},
    {SupervisorState::stopping, SupervisorState::done, "worker stopped"},
    {SupervisorState::stopping, SupervisorState::interrupted, "worker stopped, input not drained"},
};

// Per worker: what one worker index is doing (debug-logged; one machine per worker).
enum class WorkerChildState {
  starting,     // not started yet
  up,           // its process runs
  backing_off,  // it ended and the policy restarts it after the backoff
  ended,        // it ended and is not restarted (exit 0, or the run ends)
};
const char* worker_child_state_name(WorkerChildState s);

inline constexpr Transition<WorkerChildState> kWorkerChildTransitions[] = {
    {WorkerChildState::starting, WorkerChildState::up, "started"},
    {WorkerChildState::up, WorkerChildState::backing_off, "ended, policy: restart"},
    {WorkerChildState::backing_off, WorkerChildState::up, "replacement started"},
    {WorkerChildState::up, WorkerChildState::ended, "ended, not restarted; or stopped"},
};

// One worker index's child process: at most one process at a time per index.
class WorkerLauncher {
 public:
  virtual ~WorkerLauncher() = default;
  // Starts a new worker (the previous one has ended); its pid.
  virtual Result<pid_t> start() = 0;
  virtual bool running() = 0;
  // Its exit status (exit code, or 128 + signal) once running() returned false.
  virtual int exit_status() = 0;
  virtual void kill() = 0;  // SIGKILL now (--chaos-kill-every)
  // SIGTERM now, without waiting: N workers are asked first, then stop() waits for each.
  virtual void terminate() {}
  // SIGTERM, up to `grace`, then SIGKILL; the exit status.
  virtual int stop(std::chrono::milliseconds grace) = 0;
  // The last `lines` lines of the worker's log, for the console.
  virtual std::string log_tail(size_t lines) = 0;
  // A restart of this worker index happened for `reason`: the next start() tells the worker
  // (SLEET_RESTARTS, read by cluster/metrics.hpp restarts_from_env) so its status shows it.
  virtual void restarted(const std::string& /*reason*/) {}
};

// The embedded ZooKeeper server, a child like the worker; absent with an external ensemble.
class ZooKeeperChild {
 public:
  virtual ~ZooKeeperChild() = default;
  virtual bool running() = 0;
  virtual pid_t pid() = 0;
  virtual int port() = 0;
  virtual std::string dir() = 0;
  virtual std::string log_path() = 0;
  // On the same data dir and port, so the worker reconnects and resumes.
  virtual Status restart() = 0;
};

// The input loader and, on the embedded Kafka, its retention watch.
class InputFeed {
 public:
  virtual ~InputFeed() = default;
  virtual bool done() = 0;  // every record loaded (or loading failed)
  virtual Status status() = 0;
  virtual int64_t loaded() = 0;
  virtual std::map<std::string, int64_t> final_ends() = 0;  // "topic:partition" -> end offset
  // "topic:partition" -> log start offset; empty when nothing is watched (external Kafka).
  virtual std::map<std::string, int64_t> log_starts() = 0;
};

// The worker's status file (WorkerProgress::to_json), as last written; "" if none.
class StatusSource {
 public:
  virtual ~StatusSource() = default;
  virtual std::string read() = 0;
};

class SupervisorClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~SupervisorClock() = default;
  virtual time_point now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

// One worker as the live line and the summary show it.
struct WorkerView {
  std::string id;  // "w0", ...
  pid_t pid = 0;
  WorkerChildState state = WorkerChildState::starting;
  int restarts = 0;     // of this worker index
  bool leader = false;  // its own status says "leader": true (N = 1: always)
  std::string status;   // its status json if its own (same pid), else ""
};

// What the live line shows, every SupervisorOptions::live_interval.
struct LiveStatus {
  double elapsed_s = 0;
  std::string status;  // the worker's status json (N > 1: the leader's, else the first one's)
  std::vector<WorkerView> workers;
  int64_t loaded = 0;
  int64_t aborts_seen = 0;  // by the current worker
  int restarts = 0;
  int zk_restarts = 0;
  int64_t lost_total = 0;
};

// How a worker that will not be restarted ended (SupervisorEvents::worker_ended).
struct WorkerEndReport {
  pid_t pid = 0;
  int exit_status = 0;
  std::string failure;        // its error from its own status ("" if unknown)
  std::string log_tail;       // its last log lines
  bool before_drain = false;  // exit 0, but --until-drained and the input is not drained
};

// Everything the console shows, at the moment it happens. Called on run()'s thread; the
// defaults ignore the event.
class SupervisorEvents {
 public:
  virtual ~SupervisorEvents() = default;
  virtual void state_changed(SupervisorState /*from*/, SupervisorState /*to*/) {}
  virtual void worker_started(pid_t /*pid*/) {}  // the first one
  virtual void live(const LiveStatus&) {}
  virtual void checkpoint_aborted(int64_t /*count*/, const std::string& /*reason*/) {}
  virtual void worker_resumed(pid_t /*pid*/, int64_t /*checkpoint*/) {}
  virtual void chaos_kill(pid_t /*pid*/) {}
  virtual void restarting(pid_t /*pid*/, const std::string& /*why*/,
                          std::chrono::milliseconds /*backoff*/, int64_t /*last_checkpoint*/) {}
  virtual void worker_ended(const WorkerEndReport&) {}  // not restarted
  virtual void giving_up(const std::string& /*reason*/, const std::string& /*log_tail*/) {}
  virtual void zookeeper_died(pid_t /*pid*/, const std::string& /*dir*/, int /*port*/) {}
  virtual void zookeeper_restarted(pid_t /*pid*/, int /*restarts*/) {}
  virtual void dropped(const Drop&) {}  // once per new loss
  virtual void drained(int64_t /*checkpoint*/, int64_t /*loaded*/) {}
  virtual void stopping_on_signal(int /*signal*/) {}
  // The worker's exit status after a stop (signal, or drained).
  virtual void worker_stopped(int /*exit_status*/, bool /*drained*/) {}
};

struct SupervisorOptions {
  bool until_drained = false;
  SupervisorPolicy policy;
  // The time to the next chaos SIGKILL, asked after each; empty: no chaos.
  std::function<std::chrono::milliseconds()> chaos_delay;
  std::chrono::milliseconds live_interval{5000};
  std::chrono::milliseconds abort_check_interval{250};
  // The same abort reason again is reported at most this often.
  std::chrono::milliseconds abort_repeat_interval{10000};
  std::chrono::milliseconds tick{20};
  std::chrono::milliseconds stop_grace{10000};
  std::vector<std::string> spout_topics;  // topics a KafkaSpout reads (for losses())
  // Which of the `n` running workers a chaos kill hits (N > 1); empty: each in turn.
  std::function<size_t(size_t n)> chaos_pick;
};

// One worker index: its launcher, its own status file, its id for the console.
struct WorkerSlot {
  WorkerLauncher* launcher = nullptr;
  StatusSource* status = nullptr;
  std::string id;
};

struct SupervisorOutcome {
  SupervisorState end = SupervisorState::done;  // done, interrupted, gave_up or failed
  // Not OK when a child or the input failed (not the worker's own end): the error to show and
  // nothing else (no summary), as before any output was trusted.
  Status status;
  std::string hint;
  // gave_up, or failed because of how the worker ended: the exit code the policy chose for it
  // (supervisor_policy.hpp); nullopt otherwise.
  std::optional<int> policy_exit_code;
  int signal = 0;  // the signal that ended the run (0: none)
};

class Supervisor {
 public:
  // All references must outlive the supervisor; `zookeeper` is null with an external ensemble.
  // `pending_signal` returns the signal received so far (0: none).
  Supervisor(SupervisorOptions options, WorkerLauncher& workers, ZooKeeperChild* zookeeper,
             InputFeed& input, StatusSource& status, SupervisorClock& clock,
             std::function<int()> pending_signal, SupervisorEvents& events);
  // N workers (at least one), each started, restarted and stopped on its own.
  Supervisor(SupervisorOptions options, std::vector<WorkerSlot> workers, ZooKeeperChild* zookeeper,
             InputFeed& input, SupervisorClock& clock, std::function<int()> pending_signal,
             SupervisorEvents& events);

  // Starts the first worker and supervises until the run ends.
  SupervisorOutcome run();
  // Reports losses of the embedded Kafka not reported yet (SupervisorEvents::dropped); run()
  // calls it every tick, the command once more for its summary.
  void check_drops();

  SupervisorState state() const { return sm_.state(); }
  int restarts() const { return restarts_; }
  int chaos_kills() const { return chaos_kills_; }
  int zookeeper_restarts() const { return zk_restarts_; }
  int64_t lost_total() const { return lost_total_; }
  double elapsed_s() const;
  // Every worker as now (ids, states, restarts, their own statuses), for the summary.
  std::vector<WorkerView> workers();
  // The id of the worker index that runs (or last ran) `pid`; "" if none.
  std::string worker_id_of(pid_t pid) const;

 private:
  // One worker index. Only run()'s thread touches it.
  struct Child {
    Child(WorkerSlot s)
        : slot(std::move(s)),
          sm("worker " + slot.id, WorkerChildState::starting, kWorkerChildTransitions,
             worker_child_state_name) {}
    WorkerSlot slot;
    StateMachine<WorkerChildState> sm;
    pid_t pid = 0;
    SupervisorClock::time_point started{}, restart_at{};
    FailureHistory history;
    int restarts = 0;
    bool chaos_killed = false;     // its current death is our own SIGKILL
    int64_t aborts_seen = 0;       // of its current process
    bool announce_resume = false;  // restarted and not yet said where it resumed
  };

  [[nodiscard]] Status go(SupervisorState to, const std::string& why);
  SupervisorOutcome end(SupervisorState to, const std::string& why, SupervisorOutcome out);
  SupervisorOutcome broke(Status why, std::string hint = "");
  Status start_worker(Child& c);
  void report_aborts(Child& c, const std::string& status);
  SupervisorClock::time_point next_chaos();
  // The child's status if it is its current process's (same pid), else "".
  std::string own_status(Child& c);
  // The leader's own status (N = 1: the only worker's), "" if none is known.
  std::string leader_status();
  bool all_up() const;
  bool drained(int64_t* checkpoint);
  // SIGTERM to every running worker, then waits for each (stop_grace); worker_stopped per
  // worker.
  void stop_all(bool drained);
  // A worker ended: stop / restart / give up. Returns an outcome when the run ends.
  std::optional<SupervisorOutcome> worker_ended(Child& c);

  SupervisorOptions o_;
  std::vector<Child> children_;
  ZooKeeperChild* zk_;
  InputFeed& input_;
  SupervisorClock& clock_;
  std::function<int()> pending_signal_;
  SupervisorEvents& events_;
  StateMachine<SupervisorState> sm_;

  SupervisorClock::time_point t0_{}, chaos_at_{};
  SupervisorClock::time_point abort_shown_at_{}, last_abort_check_{}, last_live_{};
  int restarts_ = 0, chaos_kills_ = 0, zk_restarts_ = 0;
  size_t chaos_next_ = 0;  // without chaos_pick: the next index in turn
  int64_t last_cp_seen_ = 0;
  std::string abort_reason_shown_;
  std::map<std::string, int64_t> reported_lost_;  // "topic:partition" -> records lost, reported
  int64_t lost_total_ = 0;
};

}  // namespace sleet::cluster
