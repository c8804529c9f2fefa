// Cluster mode, in one invocation against baselines run in it (DESIGN.md "Cluster mode"):
//  1. throughput: wordcount to drained with 1 worker x 2 threads (local mode, no transport)
//     against 2 workers x 1 thread (cluster mode, the fields hop split -> count crossing the two
//     over TCP), alternating, --runs times; prints words/s and the ratio (goal >= 0.75x), and the
//     transport's bytes per tuple sent (goal <= 16).
//  2. recovery: 3 workers; SIGKILL a random one (the coordinator's included) --kills times, each
//     restarted at once as `sleet run` would; time from the SIGKILL to the next checkpoint
//     committed by a generation after the kill (goal: median < 1 s).
//  3. checkpoint duration across the 3 workers at a 1 s interval: p50/p99 of the committed
//     checkpoints' trigger-to-commit time (goal: p99 < 200 ms).
// Every run ends with the output checked exact against counts computed here from the input.
//
//   build/bench/cluster_bench [--sentences N] [--runs R] [--kills K]
#include <random>

#include "bench/bench_util.hpp"
#include "cluster/zk_server.hpp"

using namespace bench;

namespace {

struct Setup {
  Paths p;
  fs::path dir;
  std::string bootstrap, zk;
};

std::string yaml_for(const Setup& s, const std::string& name, const fs::path& out) {
  std::ostringstream y;
  y << "name: " << name << "\nconfig:\n"
    << "  kafka.bootstrap.servers: " << s.bootstrap << "\n"
    << "  zookeeper.connect: \"" << s.zk << "\"\n"
    << "  zookeeper.session.timeout.ms: 6000\n"
    << "  checkpoint.dir: " << (s.dir / ("cp-" + name)).string() << "\n"
    << "  checkpoint.interval.ms: 1000\n"
    << "plugins: [" << (s.p.plugins / "libsleet_wordcount.so").string() << "]\n"
    << "spouts:\n  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: sentences}}\n"
    << "bolts:\n"
    << "  - {id: split, class: SplitSentence, parallelism: 2}\n"
    << "  - {id: count, class: WordCount, parallelism: 2}\n"
    << "  - {id: out, class: FileSink, parallelism: 2, args: {path: " << out.string() << "}}\n"
    << "streams:\n"
    << "  - {from: in, to: split, grouping: local_or_shuffle}\n"
    << "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
    << "  - {from: count, to: out, grouping: local_or_shuffle}\n";
  fs::path f = s.dir / (name + ".yaml");
  std::ofstream(f) << y.str();
  return f.string();
}

struct ClusterWorkerProc {
  std::string id;
  fs::path status;
  sleet::Process proc;
};

ClusterWorkerProc spawn_worker(const Setup& s, const std::string& yaml, int i, int threads) {
  ClusterWorkerProc w;
  w.id = "w" + std::to_string(i);
  w.status = s.dir / (fs::path(yaml).stem().string() + "-" + w.id + ".json");
  fs::remove(w.status);
  sleet::Process::Options o;
  o.stderr_path = (s.dir / (fs::path(yaml).stem().string() + "-" + w.id + ".log")).string();
  auto r = sleet::Process::spawn(
      {s.p.cli.string(), "worker", yaml, "--zookeeper", s.zk, "--advertise",
       "127.0.0." + std::to_string(10 + i) + ":0", "--id", w.id, "--threads",
       std::to_string(threads), "--status-file", w.status.string(), "--status-interval-ms", "5"},
      o);
  if (!r.ok()) die(r.status().to_string());
  w.proc = std::move(r).value();
  return w;
}

// The status of the worker that runs the coordinator ("" if none says so).
std::string leader_status(const std::vector<ClusterWorkerProc>& ws) {
  for (auto& w : ws) {
    std::string st = read_file(w.status);
    if (json_number(st, "leader", 0) == 1) return st;
  }
  return "";
}

bool cluster_drained(const std::vector<ClusterWorkerProc>& ws) {
  std::string st = leader_status(ws);
  double last = json_number(st, "last_checkpoint", 0);
  return !st.empty() && json_number(st, "drained", 0) == 1 && last > 0 &&
         json_number(st, "cluster_visible", -1) >= last;
}

double run_local(const Setup& s, const Input& in, int r) {
  fs::path out = s.dir / ("out-local" + std::to_string(r));
  std::string yaml = yaml_for(s, "local" + std::to_string(r), out);
  sleet::Process::Options o;
  o.stderr_path = (s.dir / "local.log").string();
  auto t0 = Clock::now();
  auto w = sleet::Process::spawn(
      {s.p.cli.string(), "worker", yaml, "--threads", "2", "--until-drained"}, o);
  if (!w.ok()) die(w.status().to_string());
  if (!w->wait(600s) || *w->exit_status() != 0) die("local worker did not drain; see local.log");
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::string why;
  if (!check_counts(out, in.counts, why)) die("local output WRONG: " + why);
  return secs;
}

double run_cluster(const Setup& s, const Input& in, int r, double* bytes_per_tuple) {
  fs::path out = s.dir / ("out-cluster" + std::to_string(r));
  std::string yaml = yaml_for(s, "cluster" + std::to_string(r), out);
  auto t0 = Clock::now();
  std::vector<ClusterWorkerProc> ws;
  for (int i = 0; i < 2; ++i) ws.push_back(spawn_worker(s, yaml, i, 1));
  auto deadline = Clock::now() + 600s;
  while (!cluster_drained(ws)) {
    if (Clock::now() > deadline) die("cluster did not drain; see cluster*-w*.log");
    for (auto& w : ws)
      if (!w.proc.running()) die(w.id + " exited; see its log");
    std::this_thread::sleep_for(2ms);
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double bytes = 0, tuples = 0;
  for (auto& w : ws) {
    std::string st = read_file(w.status);
    bytes += json_number(st, "transport_bytes_sent", 0);
    tuples += json_number(st, "transport_tuples_sent", 0);
  }
  *bytes_per_tuple = tuples > 0 ? bytes / tuples : -1;
  for (auto& w : ws) w.proc.stop(10s);
  std::string why;
  if (!check_counts(out, in.counts, why)) die("cluster output WRONG: " + why);
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t sentences = 400000;
  int runs = 3, kills = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--sentences")
      sentences = std::stoll(argv[i + 1]);
    else if (k == "--runs")
      runs = std::stoi(argv[i + 1]);
    else if (k == "--kills")
      kills = std::stoi(argv[i + 1]);
    else
      die("unknown option " + k);
  }
  std::printf("command: %s --sentences %lld --runs %d --kills %d\n", argv[0],
              static_cast<long long>(sentences), runs, kills);
  Setup s;
  TempDir tmp;
  s.dir = tmp.path;
  const int partitions = 8;
  Kafka kafka(s.p, s.dir, "sentences", partitions);
  s.bootstrap = kafka.bootstrap;
  auto zk = sleet::EmbeddedZooKeeper::start(s.dir / "zk", 0);
  if (!zk.ok()) die(zk.status().to_string());
  s.zk = (*zk)->connect_string();
  Input in(s.p, s.dir, sentences, s.bootstrap, "sentences", partitions);

  // 1. throughput, alternating so drift on a shared machine hits both alike.
  std::vector<double> ratios;
  double bpt = -1;
  for (int r = 0; r < runs; ++r) {
    double local = run_local(s, in, r);
    double cluster = run_cluster(s, in, r, &bpt);
    ratios.push_back(local / cluster);
    std::printf(
        "run %d: 1 worker x 2 threads %.2f M words/s, 2 workers x 1 thread %.2f M words/s"
        " -> %.2fx; %.1f bytes on the wire per tuple\n",
        r + 1, in.words / local / 1e6, in.words / cluster / 1e6, local / cluster, bpt);
    std::fflush(stdout);
  }
  std::printf("throughput: 2x1 / 1x2 median %.2fx (goal >= 0.75x, stretch 0.85x)\n",
              median(ratios));

  // 2 and 3: three workers, kills, then checkpoint durations.
  fs::path out = s.dir / "out-recovery";
  std::string yaml = yaml_for(s, "recovery", out);
  std::vector<ClusterWorkerProc> ws;
  for (int i = 0; i < 3; ++i) ws.push_back(spawn_worker(s, yaml, i, 1));
  std::mt19937_64 rng(11);
  std::vector<double> times;
  auto committed = [&](double above, double gen_above) {
    std::string st = leader_status(ws);
    return json_number(st, "last_checkpoint", 0) > above &&
           json_number(st, "generation", 0) > gen_above;
  };
  for (int k = 0; k < kills; ++k) {
    auto deadline = Clock::now() + 60s;
    while (!committed(0, 0)) {
      if (Clock::now() > deadline) die("no checkpoint before kill; see recovery-w*.log");
      std::this_thread::sleep_for(1ms);
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 900)(rng)));
    std::string st = leader_status(ws);
    double last = json_number(st, "last_checkpoint", 0), gen = json_number(st, "generation", 0);
    int victim = std::uniform_int_distribution<int>(0, 2)(rng);
    bool was_leader = json_number(read_file(ws[victim].status), "leader", 0) == 1;
    ws[victim].proc.signal(SIGKILL);
    auto t_kill = Clock::now();
    (void)ws[victim].proc.wait(10s);
    ws[victim] = spawn_worker(s, yaml, victim, 1);
    while (!committed(last, gen)) {
      if (Clock::now() - t_kill > 60s) die("no checkpoint after kill; see recovery-w*.log");
      std::this_thread::sleep_for(1ms);
    }
    double secs = std::chrono::duration<double>(Clock::now() - t_kill).count();
    times.push_back(secs);
    std::printf("kill %d (%s%s): next checkpoint committed %.3f s after SIGKILL\n", k + 1,
                ws[victim].id.c_str(), was_leader ? ", the coordinator's" : "", secs);
    std::fflush(stdout);
  }
  // Checkpoint durations: sample each committed checkpoint's duration for ~10 s.
  std::map<double, double> durations;  // checkpoint id -> ms
  auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    std::string st = leader_status(ws);
    double id = json_number(st, "last_checkpoint", 0);
    if (id > 0) durations[id] = json_number(st, "last_checkpoint_ms", 0);
    std::this_thread::sleep_for(5ms);
  }
  std::vector<double> ms;
  for (auto& [id, d] : durations) ms.push_back(d);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) {
    return ms.empty() ? -1.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  auto deadline = Clock::now() + 300s;
  while (!cluster_drained(ws)) {
    if (Clock::now() > deadline) die("recovery cluster did not drain");
    std::this_thread::sleep_for(5ms);
  }
  for (auto& w : ws) w.proc.stop(10s);
  std::string why;
  bool exact = check_counts(out, in.counts, why);
  std::printf(
      "recovery (SIGKILL of 1 of 3 workers -> next committed checkpoint), %d kills: median %.3f "
      "s, max %.3f s (goal: median < 1 s)\n"
      "checkpoint duration across 3 workers, %zu checkpoints: p50 %.0f ms, p99 %.0f ms (goal: "
      "p99 < 200 ms)\noutput after all kills: %s\n",
      kills, median(times), times.empty() ? 0 : *std::max_element(times.begin(), times.end()),
      ms.size(), pct(0.5), pct(0.99),
      exact ? "exact (every word's counts 1..N once)" : ("WRONG: " + why).c_str());
  return exact ? 0 : 1;
}
