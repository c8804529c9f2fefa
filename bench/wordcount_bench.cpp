// Wordcount throughput, in one invocation on one topic of the embedded Kafka:
//   (a) a raw librdkafka consume loop (baseline: the cost of reading the input at all),
//   (b) kcat piped into awk counting words (baseline: a real Kafka client plus a classic tool),
//   (c) Sleet's wordcount with checkpointing off, (d) the same with checkpoints every 1 s,
//   (e) (d) with metrics.enabled: false, for the metrics on/off ratio (goal >= 0.97).
// Prints words/s for each, the ratios, and the worker's peak RSS. Every run's result is verified
// against word counts computed here from the input.
//
//   build/bench/wordcount_bench [--sentences N] [--partitions P] [--runs R] [--threads T]
//                               [--metrics-pair 1]   (only (d) and (e), alternating)
#include <librdkafka/rdkafka.h>

#include <cstring>
#include <memory>

#include "bench/bench_util.hpp"
#include "cluster/zk_server.hpp"
#include "kafka/kafka.hpp"

using namespace bench;

namespace {

struct Args {
  int64_t sentences = 300000;
  int partitions = 16;
  int runs = 3;
  int threads = 2;
  bool metrics_pair = false;
};

// `bounded`: the KafkaSpout's prefetch settings and its FetchWaker, so the baseline gets the same
// memory-friendly reading the spout does; otherwise librdkafka's defaults (the whole backlog
// prefetched at once).
double raw_consume(const std::string& bootstrap, const std::string& topic, int partitions,
                   int64_t expected, bool bounded) {
  std::map<std::string, std::string> conf = {{"bootstrap.servers", bootstrap},
                                             {"group.id", "bench-raw"},
                                             {"enable.auto.commit", "false"},
                                             {"enable.partition.eof", "false"}};
  if (bounded) conf.merge(sleet::kafka::bounded_prefetch());
  auto c = sleet::kafka::make_consumer(conf);
  if (!c.ok()) die(c.status().to_string());
  rd_kafka_t* rk = c->get();
  std::vector<int32_t> all;
  for (int p = 0; p < partitions; ++p) all.push_back(p);
  std::unique_ptr<sleet::kafka::FetchWaker> waker;
  auto t0 = Clock::now();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
  if (bounded) waker = std::make_unique<sleet::kafka::FetchWaker>(rk, q, topic, all, conf);
  std::vector<rd_kafka_message_t*> batch(1024);
  int64_t seen = 0, bytes = 0;
  // Timed from the first record on, like the Sleet runs (connection set-up excluded for both).
  bool started = false;
  while (seen < expected) {
    ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    if (n > 0 && !started) {
      started = true;
      t0 = Clock::now();
    }
    // The spout's rule, before the messages are destroyed (it reads their sizes).
    if (waker && n > 0) (void)waker->after_consume(batch.data(), static_cast<size_t>(n));
    for (ssize_t i = 0; i < n; ++i) {
      if (!batch[i]->err) {
        ++seen;
        bytes += static_cast<int64_t>(batch[i]->len);
      }
      rd_kafka_message_destroy(batch[i]);
    }
    if (Clock::now() - t0 > 120s) die("raw consumer saw only " + std::to_string(seen));
  }
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  waker.reset();
  rd_kafka_queue_destroy(q);
  (void)bytes;
  return s;
}

double kcat_awk(const std::string& bootstrap, const std::string& topic, int64_t words) {
  auto t0 = Clock::now();
  std::string out = sh("kcat -C -b " + bootstrap + " -t " + topic +
                       " -e -q -o beginning -f '%s\\n' | awk '{for(i=1;i<=NF;i++)c[$i]++} "
                       "END{n=0; for(w in c) n+=c[w]; print n}'");
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (std::stoll(out) != words)
    die("kcat|awk counted " + out + " words, expected " + std::to_string(words));
  return s;
}

// "k1=v1 k2=v2" from environment variable `var` as YAML map entries `k1: "v1"`, each preceded by
// `indent` and followed by `sep`. Experiments only:
//   SLEET_BENCH_SPOUT_CONFIG="queued.min.messages=20000"  librdkafka properties for the KafkaSpout
//   SLEET_BENCH_CONFIG="worker.batch.size=1024"          topology config
std::string yaml_entries_from_env(const char* var, const std::string& indent,
                                  const std::string& sep) {
  const char* env = std::getenv(var);
  std::istringstream is(env ? env : "");
  std::string out;
  for (std::string kv; is >> kv;) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) die(std::string(var) + ": expected key=value, got " + kv);
    out += indent + kv.substr(0, eq) + ": \"" + kv.substr(eq + 1) + "\"" + sep;
  }
  return out;
}

std::string spout_config() {
  std::string entries = yaml_entries_from_env("SLEET_BENCH_SPOUT_CONFIG", "", ", ");
  if (entries.empty()) return "";
  entries.resize(entries.size() - 2);  // the last ", "
  return ", config: {" + entries + "}";
}

struct SleetRun {
  double processing_s = 0, wall_s = 0, rss_mb = 0, cpu_s = 0;
  int64_t checkpoints = 0;
};

SleetRun sleet_run(const Paths& p, const fs::path& dir, const std::string& bootstrap,
                   const std::string& zk, const Input& in, bool checkpointing, int threads, int id,
                   bool metrics = true) {
  std::string name = std::string("bench") + (checkpointing ? "cp" : "nocp") +
                     (metrics ? "" : "nometrics") + std::to_string(id);
  fs::path out = dir / (name + "-out"), status = dir / (name + ".status"),
           yaml = dir / (name + ".yaml");
  std::ofstream(yaml)
      << "name: " << name << "\nconfig:\n"
      << "  kafka.bootstrap.servers: " << bootstrap << "\n"
      << "  zookeeper.connect: \"" << zk << "\"\n"
      << "  checkpoint.dir: " << (dir / "cp").string() << "\n"
      << "  checkpoint.interval.ms: 1000\n"
      << "  checkpoint.enabled: " << (checkpointing ? "true" : "false") << "\n"
      << "  metrics.enabled: " << (metrics ? "true" : "false") << "\n"
      << yaml_entries_from_env("SLEET_BENCH_CONFIG", "  ", "\n") << "plugins: ["
      << (p.plugins / "libsleet_wordcount.so").string() << "]\n"
      << "spouts:\n  - {id: in, class: KafkaSpout, parallelism: 2, args: {topic: sentences"
      << spout_config() << "}}\n"
      << "bolts:\n"
      << "  - {id: split, class: SplitSentence, parallelism: 2}\n"
      << "  - {id: count, class: WordCount, parallelism: 2}\n"
      << "  - {id: out, class: FileSink, parallelism: 2, args: {path: " << out.string() << "}}\n"
      << "streams:\n"
      << "  - {from: in, to: split, grouping: local_or_shuffle}\n"
      << "  - {from: split, to: count, grouping: {type: fields, fields: [word]}}\n"
      << "  - {from: count, to: out, grouping: local_or_shuffle}\n";
  sleet::Process::Options o;
  o.stderr_path = (dir / (name + ".log")).string();
  auto t0 = Clock::now();
  // SLEET_BENCH_WRAP="perf record -g -o /tmp/w.data --" runs the worker under a profiler.
  std::vector<std::string> argv;
  if (const char* wrap = std::getenv("SLEET_BENCH_WRAP")) {
    std::istringstream ws(wrap);
    for (std::string a; ws >> a;) argv.push_back(a);
  }
  for (std::string a :
       {p.cli.string(), std::string("worker"), yaml.string(), std::string("--until-drained"),
        std::string("--threads"), std::to_string(threads), std::string("--status-file"),
        status.string(), std::string("--status-interval-ms"), std::string("10")})
    argv.push_back(a);
  auto w = sleet::Process::spawn(argv, o);
  if (!w.ok()) die(w.status().to_string());
  SleetRun r;
  Clock::time_point first{}, done{};
  while (w->running()) {
    std::string s = read_file(status);
    auto now = Clock::now();
    if (first == Clock::time_point{} && json_number(s, "records_in") > 0) first = now;
    if (done == Clock::time_point{} &&
        json_number(s, "records_out") >= static_cast<double>(in.words))
      done = now;
    r.rss_mb = std::max(r.rss_mb, peak_rss_mb(w->pid()));
    r.cpu_s = std::max(r.cpu_s, cpu_seconds(w->pid()));
    if (now - t0 > 600s) die("worker did not drain in 600 s");
    std::this_thread::sleep_for(2ms);
  }
  r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (*w->exit_status() != 0)
    die("worker " + sleet::describe_exit(*w->exit_status()) + ", see " + o.stderr_path);
  std::string s = read_file(status);
  r.checkpoints = static_cast<int64_t>(json_number(s, "last_checkpoint"));
  if (done == Clock::time_point{}) done = Clock::now();
  r.processing_s = std::chrono::duration<double>(done - first).count();
  std::string why;
  if (!check_counts(out, in.counts, why)) die(name + ": wrong output: " + why);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--sentences")
      a.sentences = std::stoll(argv[i + 1]);
    else if (k == "--partitions")
      a.partitions = std::stoi(argv[i + 1]);
    else if (k == "--runs")
      a.runs = std::stoi(argv[i + 1]);
    else if (k == "--threads")
      a.threads = std::stoi(argv[i + 1]);
    else if (k == "--metrics-pair")
      a.metrics_pair = std::stoi(argv[i + 1]) != 0;
    else
      die("unknown option " + k);
  }
  std::printf("command: %s --sentences %lld --partitions %d --runs %d --threads %d\n", argv[0],
              static_cast<long long>(a.sentences), a.partitions, a.runs, a.threads);
  Paths p;
  TempDir tmp;
  const fs::path& dir = tmp.path;
  Kafka kafka(p, dir, "sentences", a.partitions);
  auto zk = sleet::EmbeddedZooKeeper::start(dir / "zk", 0);
  if (!zk.ok()) die(zk.status().to_string());
  Input in(p, dir, a.sentences, kafka.bootstrap, "sentences", a.partitions);
  std::printf("input: %lld sentences, %lld words, %d partitions (%.0f KiB per partition)\n",
              static_cast<long long>(in.sentences), static_cast<long long>(in.words), a.partitions,
              fs::file_size(in.file) / 1024.0 / a.partitions);

  std::vector<double> raw, rawb, awk, off, on, rss_off, rss_on, wall_off, wall_on, on_nometrics;
  auto nometrics = [&](int r) {
    auto s =
        sleet_run(p, dir, kafka.bootstrap, (*zk)->connect_string(), in, true, a.threads, r, false);
    on_nometrics.push_back(in.words / s.processing_s);
  };
  if (a.metrics_pair) {
    // Alternating, so a change in the machine's load hits both halves alike.
    // Alternating which goes first too: the first run of a pair may pay for the previous
    // worker's exit (page cache, the embedded Kafka's cleanup).
    for (int r = 0; r < a.runs; ++r) {
      if (r % 2) nometrics(r);
      auto s1 = sleet_run(p, dir, kafka.bootstrap, (*zk)->connect_string(), in, true, a.threads, r);
      on.push_back(in.words / s1.processing_s);
      if (r % 2 == 0) nometrics(r);
      std::printf("run %d: sleet(cp 1s, metrics on) %.2fM  (metrics off) %.2fM words/s\n", r + 1,
                  on.back() / 1e6, on_nometrics.back() / 1e6);
      std::fflush(stdout);
    }
    std::printf("\nmetrics on/off %.3f (goal >= 0.97): median %.2fM vs %.2fM words/s\n",
                median(on) / median(on_nometrics), median(on) / 1e6, median(on_nometrics) / 1e6);
    return 0;
  }
  for (int r = 0; r < a.runs; ++r) {
    raw.push_back(in.words /
                  raw_consume(kafka.bootstrap, "sentences", a.partitions, in.sentences, false));
    rawb.push_back(in.words /
                   raw_consume(kafka.bootstrap, "sentences", a.partitions, in.sentences, true));
    awk.push_back(in.words / kcat_awk(kafka.bootstrap, "sentences", in.words));
    auto s0 = sleet_run(p, dir, kafka.bootstrap, (*zk)->connect_string(), in, false, a.threads, r);
    off.push_back(in.words / s0.processing_s);
    rss_off.push_back(s0.rss_mb);
    wall_off.push_back(s0.wall_s);
    auto s1 = sleet_run(p, dir, kafka.bootstrap, (*zk)->connect_string(), in, true, a.threads, r);
    on.push_back(in.words / s1.processing_s);
    rss_on.push_back(s1.rss_mb);
    wall_on.push_back(s1.wall_s);
    nometrics(r);
    std::printf(
        "run %d: raw %.2fM  raw(bounded) %.2fM  kcat|awk %.2fM  sleet(cp off) %.2fM  sleet(cp 1s) "
        "%.2fM words/s  [%lld checkpoints; rss %.0f/%.0f MiB; worker cpu %.2fs in %.2fs wall, cp "
        "on]\n",
        r + 1, raw.back() / 1e6, rawb.back() / 1e6, awk.back() / 1e6, off.back() / 1e6,
        on.back() / 1e6, static_cast<long long>(s1.checkpoints), s0.rss_mb, s1.rss_mb, s1.cpu_s,
        s1.wall_s);
    std::fflush(stdout);
  }
  // The ratio is taken against the faster of the two raw loops.
  double mraw = std::max(median(raw), median(rawb)), mawk = median(awk), moff = median(off),
         mon = median(on);
  std::printf(
      "\nmedian words/s: raw consume %.2fM (defaults) %.2fM (bounded) | kcat|awk %.2fM | sleet cp "
      "off %.2fM | sleet cp 1s %.2fM\n",
      median(raw) / 1e6, median(rawb) / 1e6, mawk / 1e6, moff / 1e6, mon / 1e6);
  std::printf(
      "ratios: sleet(cp 1s)/raw(faster) %.2f (goal >= 0.7) | sleet(cp 1s)/kcat|awk %.2f (goal >= "
      "1.0) | cp on/off %.3f (goal >= 0.95) | metrics on/off %.3f (goal >= 0.97)\n",
      mon / mraw, mon / mawk, mon / moff, mon / median(on_nometrics));
  std::printf("worker peak RSS: %.0f MiB cp off, %.0f MiB cp on (goal < 150)\n", median(rss_off),
              median(rss_on));
  std::printf(
      "wall time to drained exit (start-up and final checkpoint included): %.2fs cp off, %.2fs cp "
      "on\n",
      median(wall_off), median(wall_on));
  // kcat|awk is timed from its start to its exit (connection and start-up included); this puts
  // Sleet on the same footing: process start to drained exit, final checkpoint included.
  const double wall_rate = in.words / median(wall_on);
  std::printf(
      "end to end, both timed from start to exit: sleet(cp 1s) %.2fM words/s = %.2fx kcat|awk\n",
      wall_rate / 1e6, wall_rate / mawk);
  return 0;
}
