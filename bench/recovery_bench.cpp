// Recovery time: SIGKILL a wordcount worker repeatedly and measure, for each kill, the time from
// the SIGKILL to the first checkpoint committed by the restarted worker (process start, ZooKeeper
// session, recovery of state and offsets, first barrier round, commit). Each kill comes a random
// 0.1-0.9 s after the running worker committed its first checkpoint since it started. Ends with
// a run to drained and checks the output is still exact (every word's counts 1..N once).
//
// The whole input (kills * sentences-per-kill sentences) is produced before the first worker
// starts; nothing makes or checks a backlog at a kill. With the default sizes the worker has
// usually caught up with its input by the time of each kill (bench/RESULTS.md), so the figures
// are recovery with little backlog in flight; a larger --sentences-per-kill can leave more unread.
//
//   build/bench/recovery_bench [--kills K] [--sentences-per-kill N] [--partitions P]
//
// --state-keys N (issue 15): the same measurement over large managed keyed state. A SequenceSpout
// (keys: N, so it creates N keys and then keeps updating them round robin) feeds the example's
// WordCount (managed KeyedState, --tasks tasks, fields grouping) in a `sleet worker` process,
// no Kafka and no sink (the chaos e2e tests check exactness with large state; here the output
// of 10 M updates a second would be the benchmark). The first kill waits until all N keys are in
// the state and a checkpoint after that committed; each kill comes 0.1-1.9 s after a commit
// (so it hits asynchronous base and delta writes too). Per kill it prints the time from the
// SIGKILL to the restarted worker's ZooKeeper session and recovery plan (its log line "resuming
// from checkpoint"), to the end of the restore (its first status file), and to its first commit.
//
//   build/bench/recovery_bench --state-keys 10000000 [--kills 5] [--tasks 2]
#include <ctime>
#include <functional>
#include <optional>
#include <random>

#include "bench/bench_util.hpp"
#include "cluster/zk_server.hpp"

using namespace bench;

namespace {

// Milliseconds since local midnight of a log line's "%H:%M:%S.%e" stamp (cli_util.cpp); -1 if
// the line has none.
double log_ms_of_day(const std::string& line) {
  int h, m, sec, ms;
  if (std::sscanf(line.c_str(), "%2d:%2d:%2d.%3d", &h, &m, &sec, &ms) != 4) return -1;
  return ((h * 60.0 + m) * 60.0 + sec) * 1000.0 + ms;
}

double ms_of_day(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()) %
                  std::chrono::milliseconds(1000);
  return ((tm.tm_hour * 60.0 + tm.tm_min) * 60.0 + tm.tm_sec) * 1000.0 +
         static_cast<double>(ms.count());
}

// The stamp of the first line of `log` containing `what`, in ms since local midnight; -1 if none.
double log_stamp(const fs::path& log, const std::string& what) {
  std::ifstream f(log);
  std::string line;
  while (std::getline(f, line))
    if (line.find(what) != std::string::npos) return log_ms_of_day(line);
  return -1;
}

// Size of the files under dir, in bytes.
double dir_bytes(const fs::path& dir) {
  double b = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file(ec)) b += static_cast<double>(it->file_size(ec));
  return b;
}

int state_mode(const Paths& p, int64_t keys, int kills, int tasks) {
  std::printf("command: recovery_bench --state-keys %lld --kills %d --tasks %d\n",
              static_cast<long long>(keys), kills, tasks);
  TempDir tmp;
  const fs::path& dir = tmp.path;
  auto zk = sleet::EmbeddedZooKeeper::start(dir / "zk", 0);
  if (!zk.ok()) die(zk.status().to_string());
  fs::path status = dir / "status.json", yaml = dir / "recovery_state.yaml";
  std::ofstream(yaml) << "name: recovery_state\nconfig:\n"
                      << "  zookeeper.connect: \"" << (*zk)->connect_string() << "\"\n"
                      << "  checkpoint.dir: " << (dir / "cp").string() << "\n"
                      << "  checkpoint.interval.ms: 1000\n"
                      << "plugins: [" << (p.plugins / "libsleet_wordcount.so").string() << "]\n"
                      << "spouts:\n  - {id: in, class: SequenceSpout, parallelism: " << tasks
                      << ", args: {count: 1000000000000000, keys: " << keys << "}}\n"
                      << "bolts:\n"
                      << "  - {id: count, class: WordCount, parallelism: " << tasks
                      << ", args: {field: text}}\n"
                      << "streams:\n"
                      << "  - {from: in, to: count, grouping: {type: fields, fields: [text]}}\n";
  int run = 0;
  fs::path log;
  auto start = [&] {
    sleet::Process::Options o;
    log = dir / ("worker-" + std::to_string(run++) + ".log");
    o.stderr_path = log.string();
    auto w = sleet::Process::spawn({p.cli.string(), "worker", yaml.string(), "--status-file",
                                    status.string(), "--status-interval-ms", "5"},
                                   o);
    if (!w.ok()) die(w.status().to_string());
    return std::move(w).value();
  };
  auto doc = [&] { return read_file(status); };
  auto wait_for = [&](sleet::Process& w, const char* what, std::chrono::seconds limit,
                      const std::function<bool(const std::string&)>& ok) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      if (std::string s = doc(); !s.empty() && ok(s)) return;
      if (Clock::now() > deadline)
        die(std::string("timed out waiting for ") + what + "; see " + log.string());
      if (!w.running())
        die(std::string("worker died waiting for ") + what + "; see " + log.string());
      std::this_thread::sleep_for(1ms);
    }
  };
  auto committed_since_start = [](const std::string& s) {
    double last = json_number(s, "last_checkpoint"), from = json_number(s, "restored_from");
    return last > 0 && last > from;
  };
  sleet::Process w = start();
  const auto t_build = Clock::now();
  wait_for(w, "all keys in the state", 600s,
           [&](const std::string& s) { return json_number(s, "records_in") >= keys; });
  const double cp0 = json_number(doc(), "last_checkpoint");
  wait_for(w, "a checkpoint holding every key", 120s,
           [&](const std::string& s) { return json_number(s, "last_checkpoint") > cp0 + 1; });
  std::printf("state of %lld keys built and checkpointed in %.1f s; checkpoint dir %.0f MiB\n",
              static_cast<long long>(keys),
              std::chrono::duration<double>(Clock::now() - t_build).count(),
              dir_bytes(dir / "cp") / 1048576.0);
  std::fflush(stdout);
  std::mt19937_64 rng(7);
  std::vector<double> total, to_plan, to_restored, rss, cpus;
  for (int k = 0; k < kills; ++k) {
    wait_for(w, "a commit of the running worker", 120s, committed_since_start);
    const double c0 = json_number(doc(), "last_checkpoint");
    wait_for(w, "the next commit", 60s,
             [&](const std::string& s) { return json_number(s, "last_checkpoint") > c0; });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1900)(rng)));
    rss.push_back(peak_rss_mb(w.pid()));
    const double in_before = json_number(doc(), "records_in");
    w.signal(SIGKILL);
    const auto t_kill = Clock::now();
    const double kill_ms = ms_of_day(std::chrono::system_clock::now());
    (void)w.wait(10s);
    fs::remove(status);
    w = start();
    std::optional<double> restored;
    const auto deadline = t_kill + 120s;
    for (;;) {
      const std::string s = doc();
      if (!restored && !s.empty())
        restored = std::chrono::duration<double>(Clock::now() - t_kill).count();
      if (!s.empty() && committed_since_start(s)) break;
      if (Clock::now() > deadline) die("restarted worker made no checkpoint; see " + log.string());
      if (!w.running()) die("restarted worker died; see " + log.string());
      std::this_thread::sleep_for(1ms);
    }
    const double t = std::chrono::duration<double>(Clock::now() - t_kill).count();
    const double cpu = cpu_seconds(w.pid());
    const std::string s = doc();
    double plan_ms = log_stamp(log, "resuming from checkpoint");
    const double plan_s = plan_ms < 0 ? -1 : (plan_ms - kill_ms) / 1000.0;
    total.push_back(t);
    to_plan.push_back(plan_s);
    to_restored.push_back(*restored);
    std::printf(
        "kill %d (%.0f M updates in by then, peak RSS %.0f MiB): restored from %lld; SIGKILL -> "
        "session + plan %.3f s -> restored %.3f s -> committed %lld at %.3f s (that checkpoint "
        "took %.0f ms; the new worker used %.2f CPU s by then)\n",
        k + 1, in_before / 1e6, rss.back(), static_cast<long long>(json_number(s, "restored_from")),
        plan_s, *restored, static_cast<long long>(json_number(s, "last_checkpoint")), t,
        json_number(s, "last_checkpoint_ms"), cpu);
    cpus.push_back(cpu);
    std::fflush(stdout);
  }
  rss.push_back(peak_rss_mb(w.pid()));
  w.stop(30s);
  std::printf(
      "\nrecovery (SIGKILL -> next committed checkpoint) with %lld keys, %d kills: median %.3f "
      "s, max %.3f s (goal: median < 2 s)\n  median SIGKILL -> recovery plan %.3f s, -> state "
      "restored %.3f s; worker peak RSS median %.0f MiB; CPU of the new worker to its first "
      "commit: median %.2f s\n",
      static_cast<long long>(keys), kills, median(total),
      *std::max_element(total.begin(), total.end()), median(to_plan), median(to_restored),
      median(rss), median(cpus));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int kills = 7, partitions = 8, tasks = 2;
  int64_t per_kill = 40000, state_keys = 0;
  bool kills_given = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--kills") {
      kills = std::stoi(argv[i + 1]);
      kills_given = true;
    } else if (k == "--sentences-per-kill") {
      per_kill = std::stoll(argv[i + 1]);
    } else if (k == "--partitions") {
      partitions = std::stoi(argv[i + 1]);
    } else if (k == "--state-keys") {
      state_keys = std::stoll(argv[i + 1]);
    } else if (k == "--tasks") {
      tasks = std::stoi(argv[i + 1]);
    } else {
      die("unknown option " + k);
    }
  }
  if (state_keys > 0) return state_mode(Paths{}, state_keys, kills_given ? kills : 5, tasks);
  std::printf("command: %s --kills %d --sentences-per-kill %lld --partitions %d\n", argv[0], kills,
              static_cast<long long>(per_kill), partitions);
  Paths p;
  TempDir tmp;
  const fs::path& dir = tmp.path;
  Kafka kafka(p, dir, "sentences", partitions);
  auto zk = sleet::EmbeddedZooKeeper::start(dir / "zk", 0);
  if (!zk.ok()) die(zk.status().to_string());
  // All input up front (kills * per_kill sentences), before any worker runs; whether some of it
  // is still unread at a kill depends on how fast the worker reads (see the header comment).
  Input in(p, dir, per_kill * kills, kafka.bootstrap, "sentences", partitions);
  fs::path out = dir / "out", status = dir / "status.json", yaml = dir / "recovery.yaml";
  std::ofstream(yaml) << "name: recovery\nconfig:\n"
                      << "  kafka.bootstrap.servers: " << kafka.bootstrap << "\n"
                      << "  zookeeper.connect: \"" << (*zk)->connect_string() << "\"\n"
                      << "  checkpoint.dir: " << (dir / "cp").string() << "\n"
                      << "  checkpoint.interval.ms: 1000\n"
                      << "plugins: [" << (p.plugins / "libsleet_wordcount.so").string() << "]\n"
                      << "spouts:\n  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: "
                         "sentences, max.batch: 64}}\n"
                      << "bolts:\n"
                      << "  - {id: split, class: SplitSentence, parallelism: 2}\n"
                      << "  - {id: count, class: WordCount, parallelism: 2}\n"
                      << "  - {id: out, class: FileSink, parallelism: 2, args: {path: "
                      << out.string() << "}}\n"
                      << "streams:\n"
                      << "  - {from: in, to: split}\n"
                      << "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
                      << "  - {from: count, to: out}\n";
  sleet::Process::Options o;
  o.stderr_path = (dir / "worker.log").string();
  auto start = [&](bool drained) {
    std::vector<std::string> argv = {
        p.cli.string(),         "worker", yaml.string(), "--status-file", status.string(),
        "--status-interval-ms", "5"};
    if (drained) argv.push_back("--until-drained");
    auto w = sleet::Process::spawn(argv, o);
    if (!w.ok()) die(w.status().to_string());
    return std::move(w).value();
  };
  auto committed_since_start = [&] {
    std::string s = read_file(status);
    double last = json_number(s, "last_checkpoint"), from = json_number(s, "restored_from");
    return last > 0 && last > from;
  };
  std::mt19937_64 rng(7);
  std::vector<double> times;
  sleet::Process w = start(false);
  for (int k = 0; k < kills; ++k) {
    auto deadline = Clock::now() + 60s;
    while (!committed_since_start()) {
      if (Clock::now() > deadline || !w.running()) die("worker made no checkpoint; see worker.log");
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 900)(rng)));
    w.signal(SIGKILL);
    auto t_kill = Clock::now();
    (void)w.wait(10s);
    fs::remove(status);
    w = start(false);
    while (!committed_since_start()) {
      if (Clock::now() - t_kill > 60s || !w.running()) die("restarted worker made no checkpoint");
      std::this_thread::sleep_for(1ms);
    }
    double s = std::chrono::duration<double>(Clock::now() - t_kill).count();
    times.push_back(s);
    std::printf("kill %d: next checkpoint committed %.3f s after SIGKILL (restored from %lld)\n",
                k + 1, s, static_cast<long long>(json_number(read_file(status), "restored_from")));
    std::fflush(stdout);
  }
  w.stop(10s);
  auto last = start(true);
  if (!last.wait(300s) || *last.exit_status() != 0) die("final run did not drain");
  std::string why;
  bool exact = check_counts(out, in.counts, why);
  std::printf(
      "\nrecovery (SIGKILL -> next committed checkpoint), %d kills: median %.3f s, max %.3f s "
      "(goal: median < 2 s)\noutput after all kills: %s\n",
      kills, median(times), *std::max_element(times.begin(), times.end()),
      exact ? "exact (every word's counts 1..N once)" : ("WRONG: " + why).c_str());
  return exact ? 0 : 1;
}
