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
#include <random>

#include "bench/bench_util.hpp"
#include "cluster/zk_server.hpp"

using namespace bench;

int main(int argc, char** argv) {
  int kills = 7, partitions = 8;
  int64_t per_kill = 40000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--kills")
      kills = std::stoi(argv[i + 1]);
    else if (k == "--sentences-per-kill")
      per_kill = std::stoll(argv[i + 1]);
    else if (k == "--partitions")
      partitions = std::stoi(argv[i + 1]);
    else
      die("unknown option " + k);
  }
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
