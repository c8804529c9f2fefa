// `sleet run FILE`: the local cluster. Starts what the topology does not name (a ZooKeeper server
// from the Debian package, the embedded Kafka hosted in this process so it outlives worker
// crashes), creates topics and loads input files, then runs and supervises a worker process:
// restarts it when it dies, shows progress, and with --until-drained exits 0 once all input is
// processed and visible. Every child it starts is stopped by PID when it exits, for any reason.
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "checkpointing/zk_server.hpp"
#include "runtime/cli/cli_util.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/process.hpp"
#include "runtime/worker.hpp"
#include "spouts/kafka.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct RunOptions {
  TopologyArgs topology;
  std::vector<std::string> inputs;  // TOPIC=FILE
  bool until_drained = false;
  double chaos_every_s = 0;
  std::string state_dir;
  int zookeeper_port = 0;
  int threads = 0;
  int top = 0;
  int max_failures = 10;  // consecutive crashes without a new checkpoint before giving up
  double input_rate = 0;  // records/s for loading inputs while running; 0: all before starting
};

[[noreturn]] void fail(int code, const std::string& cause, const std::string& hint = "") {
  spdlog::error("{}", cause);
  if (!hint.empty()) spdlog::info("hint: {}", hint);
  throw CLI::RuntimeError(code);
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string last_lines(const fs::path& p, size_t n) {
  std::string all = read_all(p);
  size_t pos = all.size();
  while (n-- > 0 && pos > 0) {
    pos = all.rfind('\n', pos - 2 < all.size() ? pos - 2 : 0);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return all.substr(pos == 0 ? 0 : pos + 1);
}

// Produces every line of `file` into `topic` (key before a tab, optional). Keyed lines go to the
// partitioner; keyless ones round robin over `partitions`, the ids the cluster reported for the
// topic (never a declared count: an external topic may have fewer). Every delivery report is
// checked, so a record the broker refused is an error, not a silent gap. Returns the number of
// records.
Result<int64_t> load_file(const std::string& bootstrap, const std::string& topic,
                          const std::vector<int32_t>& partitions, const fs::path& file, double rate,
                          std::atomic<int64_t>& loaded, const std::atomic<bool>& cancel) {
  const auto t0 = Clock::now();
  std::ifstream in(file);
  if (!in) return Status::NotFound("cannot read input file " + file.string());
  if (partitions.empty()) return Status::NotFound("topic " + topic + " has no partitions");
  kafka::DeliveryTracker tracker;
  auto producer = kafka::make_producer({{"bootstrap.servers", bootstrap},
                                        {"linger.ms", "5"},
                                        {"batch.num.messages", "10000"},
                                        {"broker.address.family", "v4"}},
                                       true, &tracker);
  if (!producer.ok()) return producer.status();
  rd_kafka_t* rk = producer->get();
  // The topic exists (run() checked): knowing it up front keeps librdkafka 2.0.2 from holding the
  // first records until its 1 s metadata timer fires.
  if (auto known = kafka::partitions_of(rk, topic, std::chrono::seconds(10)); !known.ok())
    return known.status();
  std::string line;
  int64_t n = 0;
  while (!cancel.load() && std::getline(in, line)) {
    std::string key;
    auto tab = line.find('\t');
    if (tab != std::string::npos) {
      key = line.substr(0, tab);
      line = line.substr(tab + 1);
    }
    int32_t part = key.empty() ? partitions[static_cast<size_t>(n) % partitions.size()]
                               : RD_KAFKA_PARTITION_UA;
    while (true) {
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(part),
                            RD_KAFKA_V_VALUE(line.data(), line.size()),
                            RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err) return Status::Unavailable("producing to " + topic + ": " + rd_kafka_err2str(err));
      break;
    }
    ++tracker.sent;
    ++n;
    loaded.fetch_add(1);
    rd_kafka_poll(rk, 0);
    if (tracker.failed > 0) break;
    if (rate > 0 && n % 50 == 0) {
      // Pace to `rate` records/s: a demo and test aid that makes a small input last.
      auto due = t0 + std::chrono::microseconds(static_cast<int64_t>(n * 1e6 / rate));
      rd_kafka_flush(rk, 100);
      std::this_thread::sleep_until(due);
    }
  }
  Status delivered = kafka::wait_for_deliveries(rk, tracker, std::chrono::seconds(60));
  if (!delivered.ok())
    return delivered.with_context("loading " + file.string() + " into topic " + topic);
  return n;
}

// A topic the topology touches: the partitions `sleet run` creates it with on the embedded Kafka,
// the files to load into it, and who names it (for the log line).
struct TopicNeed {
  int partitions = 0;     // 0 until decided
  bool declared = false;  // under `topics:`: its partitions are the user's choice
  int max_parallelism = 0;
  std::vector<fs::path> inputs;
  std::vector<std::string> users;  // component ids
};

// Every topic the topology needs: `topics:`, --input TOPIC=FILE, the `topic` argument of each
// KafkaSpout and KafkaSink, and each dead-letter topic. Partitions: as declared under `topics:`,
// else the largest parallelism of the components naming the topic (so each spout or sink task
// has a partition of its own), else 1. A Kafka component with its own `bootstrap.servers`
// argument reads or writes another cluster; its topic is not ours to create. Called by run().
std::map<std::string, TopicNeed> topics_needed(const TopologySpec& spec,
                                               const std::vector<std::string>& inputs) {
  std::map<std::string, TopicNeed> topics;
  for (auto& t : spec.topics) {
    auto& e = topics[t.name];
    e.declared = true;
    e.partitions = t.partitions;
    // The loader already resolved `input:` against the topology file's directory.
    if (!t.input_file.empty()) e.inputs.push_back(t.input_file);
  }
  for (auto& in : inputs) {
    auto eq = in.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == in.size())
      fail(kExitUsage, "--input takes TOPIC=FILE, got '" + in + "'");
    topics[in.substr(0, eq)].inputs.push_back(in.substr(eq + 1));
  }
  auto touch = [&](const std::string& topic, const ComponentSpec& c) {
    auto& e = topics[topic];
    e.max_parallelism = std::max(e.max_parallelism, c.parallelism);
    e.users.push_back(c.id);
  };
  for (auto& c : spec.components) {
    if ((c.class_name == "KafkaSpout" || c.class_name == "KafkaSink") &&
        c.args.string_or("bootstrap.servers", "").empty()) {
      std::string topic = c.args.string_or("topic", "");
      if (!topic.empty()) touch(topic, c);
    }
    // One dead-letter sink per task of the component (runtime/engine.cpp), on the topology's
    // cluster.
    if (c.on_error == ErrorPolicy::dead_letter && !c.dead_letter_topic.empty())
      touch(c.dead_letter_topic, c);
  }
  for (auto& [name, e] : topics)
    if (!e.declared) e.partitions = std::max(1, e.max_parallelism);
  return topics;
}

// The partition ids `topic` has on the cluster at `bootstrap` (metadata, bounded wait). For an
// external cluster this is the truth `sleet run` loads against; not_found if it does not exist.
Result<std::vector<int32_t>> real_partitions(const std::string& bootstrap, const std::string& topic,
                                             bool embedded) {
  // A consumer handle: on an external cluster its metadata requests never auto-create the topic.
  // The embedded cluster has created every topic already, and its old protocol version would only
  // make librdkafka warn that it cannot honour the setting.
  auto rk = kafka::make_consumer({{"bootstrap.servers", bootstrap},
                                  {"broker.address.family", "v4"},
                                  {"allow.auto.create.topics", embedded ? "true" : "false"}});
  if (!rk.ok()) return rk.status();
  return kafka::partitions_of(rk->get(), topic, std::chrono::seconds(10));
}

// For --top: sums up FileSink tsv output whose last column is a running count per first column.
void print_top(const TopologySpec& spec, int n) {
  for (auto& c : spec.components) {
    if (c.class_name != "FileSink" || c.args.string_or("format", "tsv") != "tsv") continue;
    std::map<std::string, int64_t> best;
    std::error_code ec;
    fs::path dir = c.args.string_or("path", "");
    for (auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("part-", 0) != 0) continue;
      std::ifstream f(e.path());
      std::string line;
      while (std::getline(f, line)) {
        auto first = line.find('\t'), last = line.rfind('\t');
        if (first == std::string::npos) continue;
        int64_t v = std::strtoll(line.c_str() + last + 1, nullptr, 10);
        auto& b = best[line.substr(0, first)];
        b = std::max(b, v);
      }
    }
    std::vector<std::pair<int64_t, std::string>> top;
    for (auto& [k, v] : best) top.emplace_back(v, k);
    std::sort(top.begin(), top.end(), [](auto& a, auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::printf("top %d of %zu keys in %s (%s):\n", n, top.size(), c.id.c_str(), dir.c_str());
    for (int i = 0; i < n && i < static_cast<int>(top.size()); ++i)
      std::printf("%10lld  %s\n", static_cast<long long>(top[i].first), top[i].second.c_str());
  }
  std::fflush(stdout);
}

int run(const RunOptions& o, SignalWatcher& signals) {
  TopologySpec spec = load_or_exit(o.topology);
  // A directory or /dev/zero would "load 0 records" and run: refuse it before starting anything.
  for (auto& in : o.inputs)
    if (auto eq = in.find('='); eq != std::string::npos)
      if (Status s = check_input_file(in.substr(eq + 1)); !s.ok())
        fail(kExitUsage, "--input " + in + ": " + s.message());
  for (auto& t : spec.topics)
    if (Status s = t.input_file.empty() ? Status::Ok() : check_input_file(t.input_file); !s.ok())
      fail(kExitUsage, o.topology.file + ": topic " + t.name + ": " + s.message());
  const fs::path state =
      o.state_dir.empty() ? fs::path("sleet-state") / spec.name : fs::path(o.state_dir);
  std::string bootstrap = spec.config_or("kafka.bootstrap.servers", "");
  std::string zk_connect = spec.config_or("zookeeper.connect", "");
  const bool embedded_kafka = bootstrap.empty();
  const bool embedded_zk = zk_connect.empty();
  std::error_code ec;
  if (embedded_kafka) {
    // A fresh embedded Kafka has none of the old offsets: old checkpoints would point nowhere.
    fs::remove_all(state, ec);
  }
  fs::create_directories(state, ec);
  if (ec)
    fail(kExitFailure, "cannot create state directory " + state.string() + ": " + ec.message());
  const fs::path worker_log = state / "worker.log", status_file = state / "status.json";

  std::unique_ptr<EmbeddedZooKeeper> zk;
  if (embedded_zk) {
    // Java and the server jar come from SLEET_JAVA / SLEET_ZOOKEEPER_JAR when set (README).
    auto z = EmbeddedZooKeeper::start(state / "zookeeper", o.zookeeper_port);
    if (!z.ok())
      fail(kExitFailure, "cannot start ZooKeeper: " + z.status().message(),
           "scripts/sleet installs the zookeeper and default-jre-headless packages; "
           "SLEET_ZOOKEEPER_JAR and SLEET_JAVA point at other installs; or set zookeeper.connect "
           "to an existing ensemble");
    zk = std::move(z).value();
    zk_connect = zk->connect_string();
    spdlog::info("ZooKeeper at {} (pid {}, data in {})", zk_connect, zk->pid(),
                 (state / "zookeeper").string());
  }
  std::unique_ptr<kafka::MockCluster> cluster;
  if (embedded_kafka) {
    auto c = kafka::MockCluster::start(1);
    if (!c.ok()) fail(kExitFailure, "cannot start the embedded Kafka: " + c.status().message());
    cluster = std::move(c).value();
    bootstrap = cluster->bootstrap();
    spdlog::info("embedded Kafka at {} (kcat -b {} -L)", bootstrap, bootstrap);
  }

  // Topics: on the embedded Kafka, create every one the topology needs; on an external cluster
  // create nothing (its topics are the operator's), but load inputs only into topics that exist,
  // over the partitions they really have.
  std::map<std::string, TopicNeed> topics = topics_needed(spec, o.inputs);
  if (cluster) {
    for (auto& [name, e] : topics) {
      if (Status s = cluster->create_topic(name, e.partitions); !s.ok())
        fail(kExitFailure, "creating topic " + name + ": " + s.message());
      std::string why = e.declared ? "declared under topics:" : "";
      if (!e.declared) {
        for (auto& u : e.users) why += (why.empty() ? "named by " : ", ") + u;
        if (e.users.empty()) why = "named by --input";
      }
      spdlog::info("created topic {} with {} partition(s) ({})", name, e.partitions, why);
    }
  }
  std::map<std::string, std::vector<int32_t>> load_partitions;
  for (auto& [name, e] : topics) {
    if (e.inputs.empty()) continue;
    auto parts = real_partitions(bootstrap, name, cluster != nullptr);
    if (!parts.ok()) {
      if (parts.status().code() == Code::not_found && !cluster)
        fail(kExitFailure,
             "cannot load " + e.inputs.front().string() + ": topic " + name +
                 " does not exist on the Kafka cluster at " + bootstrap,
             "sleet run creates no topics on an external cluster (kafka.bootstrap.servers set); "
             "create " +
                 name + " there first");
      fail(kExitFailure, "cannot load into topic " + name + ": " + parts.status().message());
    }
    if (static_cast<int>(parts->size()) < e.partitions)
      spdlog::warn(
          "topic {} has {} partition(s) on {}, fewer than the {} declared; loading into "
          "the {} it has",
          name, parts->size(), bootstrap, e.partitions, parts->size());
    load_partitions[name] = std::move(parts).value();
  }
  // Inputs load before the worker starts, or alongside it when paced by --input-rate.
  std::atomic<int64_t> loaded{0};
  std::atomic<bool> loading_done{false}, cancel_loading{false};
  Status load_status;
  auto load_all = [&] {
    for (auto& [name, e] : topics) {
      for (auto& f : e.inputs) {
        int64_t before = loaded.load();
        auto n = load_file(bootstrap, name, load_partitions.at(name), f, o.input_rate, loaded,
                           cancel_loading);
        if (!n.ok()) {
          load_status = n.status();
          break;
        }
        spdlog::info("loaded {} records from {} into topic {}", loaded.load() - before, f.string(),
                     name);
      }
    }
    loading_done = true;
  };
  std::thread loader;
  if (o.input_rate > 0) {
    loader = std::thread(load_all);
  } else {
    load_all();
    if (!load_status.ok()) fail(kExitFailure, load_status.message());
  }
  struct Joiner {
    std::thread& t;
    std::atomic<bool>& cancel;
    ~Joiner() {
      cancel = true;
      if (t.joinable()) t.join();
    }
  } join_loader{loader, cancel_loading};

  std::vector<std::string> argv = {"/proc/self/exe", "worker", o.topology.file};
  for (auto& s : o.topology.sets) argv.insert(argv.end(), {"--set", s});
  argv.insert(argv.end(), {"--set", "kafka.bootstrap.servers=" + bootstrap, "--set",
                           "zookeeper.connect=" + zk_connect, "--set",
                           "checkpoint.dir=" + (state / "checkpoints").string(), "--status-file",
                           status_file.string()});
  if (o.threads > 0) argv.insert(argv.end(), {"--threads", std::to_string(o.threads)});
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len > 0) argv[0] = std::string(self, static_cast<size_t>(len));

  Process::Options po;
  po.stderr_path = worker_log.string();
  po.stdout_path = worker_log.string();
  auto start_worker = [&]() -> Process {
    auto p = Process::spawn(argv, po);
    if (!p.ok()) fail(kExitFailure, "cannot start a worker: " + p.status().message());
    return std::move(p).value();
  };

  const bool tty = isatty(2);
  const auto t0 = Clock::now();
  std::mt19937_64 rng(std::random_device{}());
  auto next_chaos = [&] {
    std::uniform_real_distribution<double> d(0.5, 1.5);
    return Clock::now() +
           std::chrono::milliseconds(static_cast<int64_t>(o.chaos_every_s * 1000 * d(rng)));
  };
  auto chaos_at = next_chaos();
  int restarts = 0, chaos_kills = 0, failures_without_progress = 0;
  int64_t last_cp_seen = 0;
  bool announce_resume = false;  // a restarted worker has not yet said where it resumed
  std::string status;
  Process worker = start_worker();
  spdlog::info("worker started (pid {}), log in {}", worker.pid(), worker_log.string());
  auto last_print = Clock::now() - 1h;
  int exit_code = kExitOk;

  while (true) {
    if (signals.last_signal() != 0) {
      if (tty) std::fputc('\n', stderr);
      spdlog::info("stopping (signal {}): asking the worker to finish cleanly",
                   signals.last_signal());
      int st = worker.stop(10s);
      spdlog::info("worker {}", describe_exit(st));
      exit_code = kExitOk;
      break;
    }
    if (loading_done && !load_status.ok()) fail(kExitFailure, load_status.message());
    if (o.until_drained && loading_done) {
      // Done when the last committed checkpoint has every spout at the end of its input, covers
      // everything we loaded, and its sink output is visible.
      status = read_all(status_file);
      int64_t cp = static_cast<int64_t>(status_number(status, "last_checkpoint"));
      if (status_number(status, "drained") > 0 && cp > 0 &&
          static_cast<int64_t>(status_number(status, "visible")) >= cp &&
          (!embedded_kafka ||
           static_cast<int64_t>(status_number(status, "committed_offsets")) >= loaded.load())) {
        if (tty) std::fputc('\n', stderr);
        spdlog::info("drained: checkpoint {} covers all {} input records and is visible", cp,
                     loaded.load());
        int st = worker.stop(10s);
        if (st != 0) spdlog::warn("worker {} while stopping", describe_exit(st));
        exit_code = kExitOk;
        break;
      }
    }
    if (!worker.running()) {
      int st = *worker.exit_status();
      if (st == kExitOk) {
        if (tty) std::fputc('\n', stderr);
        spdlog::info("worker stopped on its own");
        exit_code = kExitOk;
        break;
      }
      if (st == kExitUsage || st == kExitUnrecoverable) {
        if (tty) std::fputc('\n', stderr);
        spdlog::error("worker {} and cannot be restarted:\n{}", describe_exit(st),
                      last_lines(worker_log, 5));
        exit_code = st;
        break;
      }
      status = read_all(status_file);
      int64_t cp = static_cast<int64_t>(status_number(status, "last_checkpoint"));
      if (cp > last_cp_seen) {
        last_cp_seen = cp;
        failures_without_progress = 0;
      }
      if (++failures_without_progress > o.max_failures) {
        spdlog::error(
            "worker failed {} times without committing a new checkpoint; giving up. Last log:\n{}",
            failures_without_progress - 1, last_lines(worker_log, 5));
        exit_code = kExitFailure;
        break;
      }
      auto backoff = std::chrono::milliseconds(
          std::min(5000, 100 << std::min(failures_without_progress - 1, 6)));
      std::string why = describe_exit(st);
      if (st != 128 + SIGKILL) why += ": " + last_lines(worker_log, 1);
      if (tty) std::fputc('\n', stderr);
      // The checkpoint it resumes from is ZooKeeper's latest, which can be newer than the last
      // one the dead worker's status file showed: the new worker's status says which.
      spdlog::warn(
          "worker (pid {}) {}; restarting in {} ms from the latest committed checkpoint "
          "(last seen: {})",
          worker.pid(), why, backoff.count(), last_cp_seen);
      std::this_thread::sleep_for(backoff);
      worker = start_worker();
      announce_resume = true;
      ++restarts;
      if (o.chaos_every_s > 0) chaos_at = next_chaos();
      continue;
    }
    if (announce_resume) {
      status = read_all(status_file);
      if (static_cast<pid_t>(status_number(status, "pid")) == worker.pid()) {
        announce_resume = false;
        if (tty) std::fputc('\n', stderr);
        spdlog::info("worker (pid {}) resumed from checkpoint {}", worker.pid(),
                     static_cast<int64_t>(status_number(status, "restored_from")));
      }
    }
    if (o.chaos_every_s > 0 && Clock::now() >= chaos_at) {
      if (tty) std::fputc('\n', stderr);
      spdlog::warn("chaos: SIGKILL worker pid {}", worker.pid());
      worker.signal(SIGKILL);
      ++chaos_kills;
      chaos_at = next_chaos();
      continue;
    }
    auto now = Clock::now();
    if (now - last_print >= (tty ? 250ms : 5s)) {
      last_print = now;
      status = read_all(status_file);
      if (!status.empty()) {
        int64_t cp = static_cast<int64_t>(status_number(status, "last_checkpoint"));
        if (cp > last_cp_seen) {
          last_cp_seen = cp;
          failures_without_progress = 0;
        }
        char line[400];
        snprintf(line, sizeof line,
                 "%s | %5.1fs | in %s/s out %s/s | lag %lld of %lld | checkpoint %lld (%lld ms, "
                 "age %.1fs) | restarts %d",
                 spec.name.c_str(), std::chrono::duration<double>(now - t0).count(),
                 format_rate(status_number(status, "in_rate")).c_str(),
                 format_rate(status_number(status, "out_rate")).c_str(),
                 // Lag: loaded records the last committed checkpoint does not cover yet.
                 static_cast<long long>(
                     std::max<double>(0, static_cast<double>(loaded.load()) -
                                             status_number(status, "committed_offsets"))),
                 static_cast<long long>(loaded.load()), static_cast<long long>(cp),
                 static_cast<long long>(status_number(status, "last_checkpoint_ms")),
                 status_number(status, "last_checkpoint_age_s"), restarts);
        if (tty)
          std::fprintf(stderr, "\r\033[K%s", line);
        else
          spdlog::info("{}", line);
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  status = read_all(status_file);
  spdlog::info("{} in {:.1f}s: {} records loaded, last checkpoint {}, {} restarts ({} by chaos)",
               exit_code == 0 ? "finished" : "stopped",
               std::chrono::duration<double>(Clock::now() - t0).count(), loaded.load(),
               static_cast<int64_t>(status_number(status, "last_checkpoint")), restarts,
               chaos_kills);
  if (exit_code == kExitOk && o.until_drained && o.top > 0) print_top(spec, o.top);
  return exit_code;
}

}  // namespace

void register_run(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run", "Run a topology on a local cluster (embedded Kafka and ZooKeeper unless configured)");
  auto o = std::make_shared<RunOptions>();
  add_topology_args(cmd, o->topology);
  cmd->add_option("--input", o->inputs,
                  "Load FILE into TOPIC before starting (TOPIC=FILE; one record a line, optional "
                  "key before a tab)");
  cmd->add_flag("--until-drained", o->until_drained,
                "Exit 0 once all input is processed, checkpointed and visible");
  cmd->add_option("--chaos-kill-every", o->chaos_every_s,
                  "SIGKILL the worker at random around every SECONDS, to watch recovery");
  cmd->add_option("--state-dir", o->state_dir,
                  "Where ZooKeeper data, checkpoints and logs go (default sleet-state/<name>)");
  cmd->add_option("--zookeeper-port", o->zookeeper_port,
                  "Port for the embedded ZooKeeper (default: a free one)");
  cmd->add_option("--threads", o->threads, "Worker threads (default: one per core)");
  cmd->add_option(
      "--input-rate", o->input_rate,
      "Load inputs at this many records/s while the topology runs (default: all first)");
  cmd->add_option("--max-failures", o->max_failures,
                  "Give up after this many worker failures in a row without a new checkpoint");
  cmd->add_option(
      "--top", o->top,
      "After --until-drained, print the N largest keys of tsv FileSink output (key ... count)");
  cmd->callback([o] {
    SignalWatcher signals;
    setup_logging("run");
    int code = run(*o, signals);
    throw CLI::RuntimeError(code);
  });
}

}  // namespace sleet::cli
