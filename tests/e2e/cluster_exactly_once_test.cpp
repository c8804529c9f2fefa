// Cluster-mode end-to-end tests (issue 12, "What it must show"): the real `sleet run FILE
// --workers N --until-drained` (it starts the embedded ZooKeeper and N workers on 127.0.0.10+i),
// each test in a network namespace of its own (tests/support/netns), under one fault each:
//   KillRandomWorkers         a random worker SIGKILLed at least 20 times, the leader included
//   PausedWorkerPastSession   a worker SIGSTOPped past zookeeper.session.timeout.ms, then SIGCONTed
//   CutWorkerLink             the TCP link between two workers cut with iptables, then healed
//   ZooKeeperRestart          the ZooKeeper server killed mid-run (the supervisor restarts it)
//   AddWorker                 a `sleet worker --id extra` joins the running topology
// Kafka is `sleet kafka` (the same mock cluster `sleet run` would embed), started by the test so
// the KafkaSink's output can be read with kcat after the run has exited.
//
// Wordcount-shaped topology: KafkaSpout -> SplitSentence (chained) -> fields(word) -> WordCount ->
// FileSink (chained) and -> shuffle -> KafkaSink. WordCount emits (word, count) after every update,
// so an exact sink holds, for every word w of the input, the lines "w\t1" .. "w\tc(w)" once each,
// where c(w) is counted by the test from the input text (and cross-checked with awk); every output
// record of both sinks is compared with that.
//
// The cluster variants run kWorkers = 3 workers (`sleet run --workers 3`). The single-worker
// variants (`...OneWorker`) run the same harness on the local-mode worker (the paused one really
// sees its session expire: its first ZooKeeper call fails, `sleet run` restarts it).
// SLEET_CLUSTER_KEEP=DIR keeps each test's directory (topology, logs, state, output).
//
// Status files: status.json (one worker) and workers/w<i>.status.json (--workers N) under the
// run's state dir, any `status*.json` or `*.status.json` below it; fields read: "pid", "worker_id",
// "leader" (bool), "generation", "local_tasks" (tasks running on that worker), "last_checkpoint". A
// pid is signalled only after checking it is alive and a child of our `sleet run`.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "cluster/worker.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

#define CLUSTER_TEST(name) name

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int kWorkers = 3;
constexpr int kInputPartitions = 4;
constexpr int kOutputPartitions = 16;  // keeps each well under the mock's ~5 MiB retention
constexpr int kSessionTimeoutMs = 4000;
const bool kSoak = getenv("SLEET_SOAK") != nullptr;

using Clock = std::chrono::steady_clock;

std::string tail_of(const fs::path& p, size_t n = 3000) {
  std::string s = test::read_file(p);
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

// /proc/<pid>/stat's ppid, or -1 when gone.
pid_t parent_of(pid_t pid) {
  std::string stat = test::read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream is(stat.substr(close + 2));
  char state;
  pid_t ppid = -1;
  is >> state >> ppid;
  return state == 'Z' ? -1 : ppid;
}

std::vector<std::string> cmdline_of(pid_t pid) {
  std::string raw = test::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  std::string cur;
  for (char c : raw) {
    if (c == '\0') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// Live children of `parent` whose command line satisfies `pred`.
std::vector<pid_t> children_of(pid_t parent,
                               const std::function<bool(const std::vector<std::string>&)>& pred) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string n = e.path().filename().string();
    if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
    pid_t pid = std::atoi(n.c_str());
    if (parent_of(pid) == parent && pred(cmdline_of(pid))) out.push_back(pid);
  }
  return out;
}

// A worker's status file: status.json (one worker), workers/w<i>.status.json (--workers N).
bool is_status_file(const fs::path& p) {
  const std::string n = p.filename().string();
  auto ends = [&](const std::string& suffix) {
    return n.size() >= suffix.size() &&
           n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".status.json") || (n.rfind("status", 0) == 0 && ends(".json"));
}

struct WorkerView {
  fs::path file;
  pid_t pid = 0;
  std::string id;
  bool leader = false;
  int64_t generation = -1, tasks = -1, last_checkpoint = -1;
};

WorkerView read_view(const fs::path& f) {
  std::string s = test::read_file(f);
  WorkerView v;
  v.file = f;
  v.pid = static_cast<pid_t>(status_number(s, "pid"));
  v.id = status_string(s, "worker_id");
  v.leader = status_number(s, "leader") > 0;
  v.generation = static_cast<int64_t>(status_number(s, "generation", -1));
  v.tasks = static_cast<int64_t>(status_number(s, "local_tasks", -1));
  v.last_checkpoint = static_cast<int64_t>(status_number(s, "last_checkpoint", -1));
  return v;
}

class ClusterExactlyOnce : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (!kSoak &&
        (test_name == "KillRandomWorkersOneWorker" || test_name == "ZooKeeperRestartOneWorker")) {
      GTEST_SKIP() << "one-worker variant of a cluster scenario: runs under SLEET_SOAK=1";
    }
    // First, before anything starts a thread or a child: every process of the test inherits it.
    Status s = test::enter_fresh_netns();
    ASSERT_TRUE(s.ok()) << s.to_string();
    signal(SIGPIPE, SIG_IGN);
    dir_ = std::make_unique<test::TempDir>("sleet-cluster");
    work_ = dir_->path();
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : name_)
      if (!isalnum(static_cast<unsigned char>(c))) c = '_';
    fs::create_directories(work_ / "state");
    kafka_ = test::Child::spawn(
        {SLEET_CLI_PATH, "kafka", "--topic", "in:" + std::to_string(kInputPartitions), "--topic",
         "out:" + std::to_string(kOutputPartitions)},
        {}, (work_ / "kafka.out").string(), (work_ / "kafka.log").string());
    ASSERT_TRUE(test::wait_until(
        [&] {
          auto l = test::split_lines(test::read_file(work_ / "kafka.out"));
          if (l.empty()) return false;
          bootstrap_ = l.front();
          return true;
        },
        30s))
        << "sleet kafka printed no bootstrap address: " << tail_of(work_ / "kafka.log");
    zk_port_ = test::free_port();
  }

  void TearDown() override {
    for (auto& w : extra_) w.stop(5s);
    if (run_) run_->stop(15s);
    kafka_.stop(5s);
    // SLEET_CLUSTER_KEEP=DIR keeps each test's directory (topology, logs, state, output) there.
    if (const char* keep = getenv("SLEET_CLUSTER_KEEP"); keep && *keep && dir_) {
      std::error_code ec;
      fs::copy(work_, fs::path(keep) / name_, fs::copy_options::recursive, ec);
    }
  }

  // Deterministic sentences of 8 words over ~300 words, mildly skewed, so fields hops spread
  // over every count task and no KafkaSink partition grows large.
  void make_input(int sentences, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string text;
    for (int i = 0; i < sentences; ++i) {
      std::string s;
      for (int k = 0; k < 8; ++k) {
        uint64_t r = rng() % 600;
        s += (k ? " w" : "w") + std::to_string(r < 300 ? r : (r - 300) / 3);
      }
      input_.push_back(s);
      text += s + "\n";
    }
    test::write_file(work_ / "input.txt", text);
    expected_ = test::word_counts(input_);
    // The same expectation from awk, which shares nothing with Sleet or this file's parsing.
    ASSERT_EQ(test::awk_word_counts(work_ / "input.txt"), expected_);
  }

  fs::path topology() {
    fs::path f = work_ / "topology.yaml";
    std::ofstream o(f);
    o << "name: " << name_ << "\n"
      << "config:\n"
      << "  checkpoint.interval.ms: 200\n"
      << "  kafka.bootstrap.servers: " << bootstrap_ << "\n"
      << "  checkpoint.dir: " << (work_ / "checkpoints").string() << "\n"
      << "  zookeeper.session.timeout.ms: " << kSessionTimeoutMs << "\n"
      << "plugins: [" << SLEET_BINARY_DIR << "/plugins/libsleet_wordcount.so]\n"
      << "spouts:\n"
      << "  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: in}}\n"
      << "bolts:\n"
      << "  - {id: split, class: SplitSentence, parallelism: 2}\n"
      << "  - {id: count, class: WordCount, parallelism: 3}\n"
      << "  - {id: files, class: FileSink, parallelism: 3, args: {path: "
      << (work_ / "out").string() << "}}\n"
      << "  - {id: kafka, class: KafkaSink, parallelism: 2, args: {topic: out, key.field: word}}\n"
      << "streams:\n"
      << "  - {from: in, to: split, grouping: local_or_shuffle}\n"
      << "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
      << "  - {from: count, to: files, grouping: local_or_shuffle}\n"
      << "  - {from: count, to: kafka, grouping: shuffle}\n";
    return f;
  }

  // `sleet run` with the input paced at `rate` records/s (so faults land mid-input).
  void start_run(int workers, double rate, std::vector<std::string> extra = {}) {
    workers_ = workers;
    std::vector<std::string> argv = {SLEET_CLI_PATH,
                                     "run",
                                     topology().string(),
                                     "--input",
                                     "in=" + (work_ / "input.txt").string(),
                                     "--input-rate",
                                     std::to_string(rate),
                                     "--until-drained",
                                     "--state-dir",
                                     (work_ / "state").string(),
                                     "--zookeeper-port",
                                     std::to_string(zk_port_),
                                     "--max-failures",
                                     "1000"};
    // Without the flag `sleet run` runs one worker, as before cluster mode.
    if (workers != 1) argv.insert(argv.end(), {"--workers", std::to_string(workers)});
    argv.insert(argv.end(), extra.begin(), extra.end());
    started_ = Clock::now();
    run_ = std::make_unique<test::Child>(
        test::Child::spawn(argv, {}, (work_ / "run.log").string(), (work_ / "run.log").string()));
  }

  // What the run and its workers said, for failure messages.
  std::string logs() {
    std::string out = "--- sleet run:\n" + tail_of(work_ / "run.log");
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(work_ / "state", ec))
      if (e.path().extension() == ".log" && e.path().filename() != "zookeeper.log")
        out += "\n--- " + e.path().filename().string() + ":\n" + tail_of(e.path(), 2000);
    for (size_t i = 0; i < extra_.size(); ++i)
      out += "\n--- extra worker:\n" + tail_of(work_ / ("extra" + std::to_string(i) + ".log"));
    return out;
  }

  // The workers of the run as their status files say, only those whose pid is a live child of
  // our `sleet run` (a dead worker's file stays until its successor overwrites it).
  std::vector<WorkerView> live_workers() {
    std::vector<WorkerView> out;
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(work_ / "state", ec)) {
      if (!is_status_file(e.path())) continue;
      WorkerView v = read_view(e.path());
      if (v.pid > 0 && parent_of(v.pid) == run_->pid()) out.push_back(v);
    }
    // One worker and no "leader" field (before cluster mode): it leads.
    if (out.size() == 1 && workers_ == 1) out[0].leader = true;
    return out;
  }

  int64_t last_checkpoint() {
    int64_t best = -1;
    for (auto& v : live_workers()) best = std::max(best, v.last_checkpoint);
    return best;
  }

  // The highest checkpoint any status file reports, a dead worker's last one included: a worker
  // whose ZooKeeper write timed out exits (and is restarted), and what it committed before still
  // counts.
  int64_t reported_checkpoint() {
    int64_t best = -1;
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(work_ / "state", ec))
      if (is_status_file(e.path())) best = std::max(best, read_view(e.path()).last_checkpoint);
    return best;
  }

  int64_t generation() {
    int64_t best = -1;
    for (auto& v : live_workers()) best = std::max(best, v.generation);
    return best;
  }

  // Waits until all `workers_` workers run and report a checkpoint above `after`.
  ::testing::AssertionResult wait_running(int64_t after, std::chrono::milliseconds timeout) {
    if (test::wait_until(
            [&] {
              if (!run_->running()) return true;  // reported below
              auto w = live_workers();
              if (static_cast<int>(w.size()) < workers_) return false;
              for (auto& v : w)
                if (v.last_checkpoint <= after) return false;
              return true;
            },
            timeout) &&
        run_->running())
      return ::testing::AssertionSuccess();
    if (!run_->running())
      return ::testing::AssertionFailure()
             << "sleet run exited (" << describe_exit(run_->wait(0ms).value_or(-1))
             << ") before its workers ran\n"
             << logs();
    return ::testing::AssertionFailure()
           << "not all " << workers_ << " workers reported a checkpoint above " << after
           << " within " << timeout.count() << " ms\n"
           << logs();
  }

  // The ZooKeeper server `sleet run` started (a child running ZooKeeperServerMain).
  pid_t zookeeper_pid() {
    auto z = children_of(run_->pid(), [](const std::vector<std::string>& argv) {
      for (auto& a : argv)
        if (a.find("ZooKeeperServerMain") != std::string::npos) return true;
      return false;
    });
    return z.size() == 1 ? z[0] : -1;
  }

  void signal_pid(pid_t pid, int sig) {
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, sig), 0) << "kill(" << pid << ", " << sig << "): " << strerror(errno);
  }

  // Waits for `sleet run` to exit 0 (drained) by `deadline`, then compares both sinks' every
  // record with the expectation.
  void expect_drained_and_exact(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto st = run_->wait(std::max(left, 1ms));
    ASSERT_TRUE(st.has_value()) << "sleet run did not drain within its deadline\n" << logs();
    ASSERT_EQ(*st, 0) << "sleet run failed\n" << logs();
    std::cout
        << "[ drained  ] in "
        << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count()
        << " ms" << std::endl;
    // A worker the test added outlives the run: stop it (cleanly) before reading, so nothing it
    // might still do lands after the read.
    for (auto& w : extra_) {
      int st = w.stop(30s);  // its ZooKeeper is gone with `sleet run`: calls give up after 10 s
      EXPECT_TRUE(st == 0 || st == 128 + SIGTERM) << "extra worker " << describe_exit(st) << "\n"
                                                  << logs();
    }
    std::string files =
        test::running_count_mismatches(test::part_file_lines(work_ / "out"), expected_);
    EXPECT_EQ(files, "") << "FileSink output is not exact";
    auto k = test::run_command({"kcat", "-C", "-b", bootstrap_, "-t", "out", "-e", "-q", "-o",
                                "beginning", "-f", "%s\\n", "-X", "broker.address.family=v4"},
                               60s);
    ASSERT_EQ(k.status, 0) << k.err;
    std::string kafka = test::running_count_mismatches(test::split_lines(k.out), expected_);
    EXPECT_EQ(kafka, "") << "KafkaSink output (read with kcat) is not exact";
  }

  // (a) SIGKILLs of a random worker at least 20 times (100 under SLEET_SOAK): a few by the test
  // (every third one the leader's), each once the cluster committed a checkpoint since the
  // previous kill, and the rest by `sleet run --chaos-kill-every` (a random worker each time),
  // whose kills are restarted at once (the test's are restarted after a growing backoff).
  void kill_scenario(int workers) {
    const int kills = kSoak ? 100 : 20;
    // The test's own kills are few: `sleet run` restarts a worker it did not kill itself after a
    // backoff that doubles with each (0.1 s, 0.2 s, ...), and chaos waits meanwhile.
    const int own_kills = kSoak ? 8 : 4;
    // Soak: 150 s of input for 100 kills at about one a second (120 s drained after 98).
    make_input(kSoak ? 7500 : 2400, 11);  // loads in 34 s (soak: 150 s)
    const auto deadline = Clock::now() + (kSoak ? 600s : 85s);
    // Chaos about every second, so that the kills add up to `kills` before the input is drained.
    start_run(workers, kSoak ? 50 : 70, {"--chaos-kill-every", "1"});
    ASSERT_TRUE(wait_running(0, 30s));
    auto chaos_kills = [&] {
      std::string log = test::read_file(work_ / "run.log");
      int n = 0;
      for (auto p = log.find("chaos: SIGKILL"); p != std::string::npos;
           p = log.find("chaos: SIGKILL", p + 1))
        ++n;
      return n;
    };
    std::mt19937_64 rng(2024);
    int own = 0, leader_kills = 0;
    int64_t cp = last_checkpoint();
    while (own < own_kills && Clock::now() < deadline - 20s && run_->running()) {
      // Progress since the last kill, then a random moment.
      if (!test::wait_until([&] { return last_checkpoint() > cp || !run_->running(); }, 20s)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 800));
      auto live = live_workers();
      if (live.empty()) continue;  // between a chaos kill and the restart, or drained
      WorkerView victim = live[rng() % live.size()];
      if (own % 3 == 0)
        for (auto& v : live)
          if (v.leader) victim = v;
      if (parent_of(victim.pid) != run_->pid()) continue;  // died meanwhile
      cp = std::max(cp, last_checkpoint());
      signal_pid(victim.pid, SIGKILL);
      ++own;
      leader_kills += victim.leader;
    }
    expect_drained_and_exact(deadline);
    const int chaos = chaos_kills();
    std::cout << "[ kills    ] " << own << " by the test (" << leader_kills << " of the leader), "
              << chaos << " by sleet run's chaos" << std::endl;
    EXPECT_GE(leader_kills, 1) << "the leader was never killed";
    EXPECT_GE(own + chaos, kills) << "too few kills before the input drained";
  }

  // (b) The leading worker SIGSTOPped for 1.5 session timeouts, then SIGCONTed. With several
  // workers the others take over (a new generation, checkpoints go on meanwhile); the zombie must
  // publish, rename and commit nothing when it wakes: exactness shows any double publish or rename.
  void pause_scenario(int workers) {
    make_input(1500, 12);
    const auto deadline = Clock::now() + 85s;
    start_run(workers, 100);
    ASSERT_TRUE(wait_running(1, 30s));
    // The leader: it also runs the coordinator, so a zombie could commit as well as publish.
    auto live = live_workers();
    ASSERT_FALSE(live.empty());
    WorkerView victim = live.back();
    for (auto& v : live)
      if (v.leader) victim = v;
    const int64_t gen_before = generation();
    signal_pid(victim.pid, SIGSTOP);
    const auto stopped_at = Clock::now();
    int64_t cp_stopped = last_checkpoint();
    if (workers > 1) {
      // The survivors notice the expired session, take over and commit without it.
      EXPECT_TRUE(test::wait_until(
          [&] {
            for (auto& v : live_workers())
              if (v.pid != victim.pid && v.generation > gen_before &&
                  v.last_checkpoint > cp_stopped + 1)
                return true;
            return false;
          },
          std::chrono::milliseconds(kSessionTimeoutMs) + 15s))
          << "no new generation committed while worker " << victim.id << " was stopped\n"
          << logs();
    }
    std::this_thread::sleep_until(stopped_at +
                                  std::chrono::milliseconds(kSessionTimeoutMs * 3 / 2));
    signal_pid(victim.pid, SIGCONT);
    if (workers > 1) {
      // Awake, it learns its session expired: it rejoins as a follower of the new generation, or
      // exits and `sleet run` starts another process in its place.
      EXPECT_TRUE(test::wait_until(
          [&] {
            WorkerView v = read_view(victim.file);
            return v.pid != victim.pid || (v.generation > gen_before && !v.leader);
          },
          20s))
          << "the woken worker " << victim.id << " still claims generation " << gen_before
          << " or the lead: " << test::read_file(victim.file) << "\n"
          << logs();
    }
    expect_drained_and_exact(deadline);
  }

  // (c) The link between workers 0 and 1 (127.0.0.10 <-> 127.0.0.11) cut for 5 s: the lost
  // connection or missed heartbeats make the leader roll back to a new generation; healed, the
  // run resumes and drains exactly.
  void cut_scenario(int workers) {
    make_input(1500, 13);
    const auto deadline = Clock::now() + 85s;
    start_run(workers, 100);
    ASSERT_TRUE(wait_running(1, 30s));
    const int64_t gen_before = generation();
    {
      test::LinkCut cut("127.0.0.10", "127.0.0.11");
      std::this_thread::sleep_for(5s);
      // The rules match addresses: they catch the workers' traffic only if each worker binds its
      // outgoing connections to its --advertise address (else the source is 127.0.0.1).
      EXPECT_GT(cut.dropped_packets(), 0)
          << "the cut dropped nothing: do the workers connect from their advertise address?";
      Status healed = cut.heal();
      ASSERT_TRUE(healed.ok()) << healed.to_string();
    }
    const int64_t cp_healed = last_checkpoint();
    EXPECT_TRUE(test::wait_until(
        [&] { return generation() > gen_before && last_checkpoint() > cp_healed + 1; }, 30s))
        << "no rollback to a new generation and commit after the cut (generation " << gen_before
        << " -> " << generation() << ")\n"
        << logs();
    expect_drained_and_exact(deadline);
  }

  // (d) The ZooKeeper server paused (checkpoints must stop: nothing commits without it), then
  // killed; `sleet run` restarts it on the same port and data, and the run resumes.
  void zookeeper_scenario(int workers) {
    make_input(1500, 14);
    const auto deadline = Clock::now() + 85s;
    start_run(workers, 100);
    ASSERT_TRUE(wait_running(1, 30s));
    const pid_t zk = zookeeper_pid();
    ASSERT_GT(zk, 0) << "no ZooKeeper child of sleet run\n" << logs();
    signal_pid(zk, SIGSTOP);
    // A status is written every 500 ms: after 1 s it shows every commit made before the pause.
    std::this_thread::sleep_for(1200ms);
    // Read from every status file, not only the live workers': with checkpoints every 100 ms a
    // sink's publish-cursor write is in flight when ZooKeeper stops, times out after 2/3 of the
    // session timeout, and its worker exits to be restarted (a live-only read then saw no worker).
    const int64_t paused_cp = reported_checkpoint();
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(reported_checkpoint(), paused_cp) << "committed while ZooKeeper was not answering";
    signal_pid(zk, SIGKILL);
    pid_t again = -1;
    ASSERT_TRUE(test::wait_until(
        [&] {
          again = zookeeper_pid();
          return again > 0 && again != zk;
        },
        30s))
        << "sleet run did not restart ZooKeeper\n"
        << logs();
    EXPECT_TRUE(test::wait_until([&] { return last_checkpoint() > paused_cp + 1; }, 30s))
        << "no checkpoint after ZooKeeper came back\n"
        << logs();
    expect_drained_and_exact(deadline);
  }

  // (e) `sleet worker --id extra` joins mid-run: a new generation gives it tasks; output exact.
  void add_worker_scenario(int workers) {
    make_input(1500, 15);
    const auto deadline = Clock::now() + 85s;
    start_run(workers, 80);
    ASSERT_TRUE(wait_running(1, 30s));
    const int64_t gen_before = generation();
    const fs::path status = work_ / "extra-status.json";
    extra_.push_back(
        test::Child::spawn({SLEET_CLI_PATH, "worker", topology().string(), "--zookeeper",
                            "127.0.0.1:" + std::to_string(zk_port_), "--advertise",
                            "127.0.0.20:" + std::to_string(test::free_port()), "--id", "extra",
                            "--status-file", status.string()},
                           {}, (work_ / "extra0.log").string(), (work_ / "extra0.log").string()));
    EXPECT_TRUE(test::wait_until(
        [&] {
          WorkerView v = read_view(status);
          return v.pid == extra_.back().pid() && v.tasks > 0 && v.generation > gen_before &&
                 v.last_checkpoint > 0;
        },
        30s))
        << "the extra worker did not take over tasks in a new generation; its status: "
        << test::read_file(status) << "\n"
        << logs();
    expect_drained_and_exact(deadline);
  }

  std::unique_ptr<test::TempDir> dir_;
  fs::path work_;
  std::string name_, bootstrap_;
  int zk_port_ = 0, workers_ = 1;
  test::Child kafka_;
  std::unique_ptr<test::Child> run_;
  std::vector<test::Child> extra_;
  std::vector<std::string> input_;
  std::map<std::string, int64_t> expected_;
  Clock::time_point started_;
};

}  // namespace

// Three workers: the scenarios.
TEST_F(ClusterExactlyOnce, CLUSTER_TEST(KillRandomWorkers)) {
  kill_scenario(kWorkers);
}
TEST_F(ClusterExactlyOnce, CLUSTER_TEST(PausedWorkerPastSession)) {
  pause_scenario(kWorkers);
}
TEST_F(ClusterExactlyOnce, CLUSTER_TEST(CutWorkerLink)) {
  cut_scenario(kWorkers);
}
TEST_F(ClusterExactlyOnce, CLUSTER_TEST(ZooKeeperRestart)) {
  zookeeper_scenario(kWorkers);
}
TEST_F(ClusterExactlyOnce, CLUSTER_TEST(AddWorker)) {
  add_worker_scenario(kWorkers);
}

// One worker (today's `sleet run`): the same harness, faults and checks where one worker allows.
// The kill and ZooKeeper-restart variants run under SLEET_SOAK=1 only (SetUp skips them): local
// mode has its own chaos and ZooKeeper-restart tests in the default suite
// (ExactlyOnce.ChaosRandomKills, ExactlyOnce.ZooKeeperRestartPausesAndResumes), and the two cost 60
// s of the suite's budget. The paused variant has no local-mode twin end to end, so it always runs.
TEST_F(ClusterExactlyOnce, KillRandomWorkersOneWorker) {
  kill_scenario(1);
}
TEST_F(ClusterExactlyOnce, PausedWorkerPastSessionOneWorker) {
  pause_scenario(1);
}
TEST_F(ClusterExactlyOnce, ZooKeeperRestartOneWorker) {
  zookeeper_scenario(1);
}
