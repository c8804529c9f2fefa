// `sleet run FILE`: the local cluster. Starts what the topology does not name (a ZooKeeper server
// from the Debian package, the embedded Kafka hosted in this process so it outlives worker
// crashes), creates topics and loads input files, then hands the worker process to the Supervisor
// (cluster/supervisor.hpp), which restarts it when it dies and with --until-drained stops it once
// all input is processed and visible. This file prints the supervisor's events (the live line,
// restarts, the summary) and maps its outcome to the exit status. Every child it starts is
// stopped by PID when it exits, for any reason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <thread>

#include "cli/cli_util.hpp"
#include "cli/commands.hpp"
#include "cli/live_console.hpp"
#include "cluster/drain_check.hpp"
#include "cluster/input_loader.hpp"
#include "cluster/live_line.hpp"
#include "cluster/process.hpp"
#include "cluster/run_checks.hpp"
#include "cluster/state_dir.hpp"
#include "cluster/status_view.hpp"
#include "cluster/supervisor.hpp"
#include "cluster/supervisor_io.hpp"
#include "cluster/supervisor_policy.hpp"
#include "cluster/worker.hpp"
#include "cluster/zk_server.hpp"
#include "core/config.hpp"
#include "kafka/kafka.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cli {

// The process layer this command drives (cluster/).
using namespace ::sleet::cluster;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

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
  int max_failures = 10;  // consecutive failures before giving up (supervisor_policy.hpp)
  int workers = 1;        // N > 1: cluster-mode workers (sleet worker --zookeeper ...)
  double input_rate = 0;  // records/s for loading inputs while running; 0: all before starting
};

[[noreturn]] void fail(int code, const std::string& cause, const std::string& hint = "") {
  spdlog::error("{}", cause);
  if (!hint.empty()) spdlog::info("hint: {}", hint);
  throw CLI::RuntimeError(code);
}

// A topic the topology touches: the partitions `sleet run` creates it with on the embedded Kafka,
// the files to load into it, and who names it (for the log line).
struct TopicNeed {
  int partitions = 0;     // 0 until decided
  bool declared = false;  // under `topics:`: its partitions are the user's choice
  int max_parallelism = 0;
  std::vector<fs::path> inputs;
  std::vector<std::string> users;  // component ids
  bool read_by_spout = false;      // a KafkaSpout of the topology reads it
};

// Every topic the topology needs: `topics:`, --input TOPIC=FILE, the `topic` argument of each
// KafkaSpout and KafkaSink, and each dead-letter topic. Partitions: as declared under `topics:`,
// else the largest parallelism of the components naming the topic (so each spout or sink task
// has a partition of its own), else 1. A Kafka component with its own `bootstrap.servers`
// argument reads or writes another cluster; its topic is not ours to create. Called by run().
std::map<std::string, TopicNeed> topics_needed(const LoadedTopology& file,
                                               const std::vector<std::string>& inputs) {
  const TopologySpec& spec = file.spec;
  std::map<std::string, TopicNeed> topics;
  for (auto& t : file.topics) {
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
      if (!topic.empty() && c.class_name == "KafkaSpout") topics[topic].read_by_spout = true;
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
void print_top(const TopologySpec& spec, int n, const std::string& label = "") {
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
    std::printf("top %d of %zu keys in %s (%s)%s:\n", n, top.size(), c.id.c_str(), dir.c_str(),
                label.c_str());
    for (int i = 0; i < n && i < static_cast<int>(top.size()); ++i)
      std::printf("%10lld  %s\n", static_cast<long long>(top[i].first), top[i].second.c_str());
  }
  std::fflush(stdout);
}

// Refusals (exit 2) for runs that would wait forever (run_checks.hpp).
void refuse_waits_forever(const TopologySpec& spec, const std::map<std::string, TopicNeed>& topics,
                          bool until_drained) {
  std::map<std::string, std::vector<std::string>> inputs;
  for (auto& [name, e] : topics)
    for (auto& f : e.inputs) inputs[name].push_back(f.string());
  for (const std::string& why :
       {refuse_unread_inputs(spec, inputs), refuse_drain_without_checkpoints(spec, until_drained)})
    if (!why.empty()) fail(kExitUsage, why);
}

// "w0 running leader | w1 running | w2 restarting(2)": each worker's state for the live line and
// the summary (restarting(n): its n-th restart is pending).
std::string worker_states(const std::vector<WorkerView>& workers) {
  std::string out;
  for (auto& w : workers) {
    std::string st;
    switch (w.state) {
      case WorkerChildState::starting:
        st = "starting";
        break;
      case WorkerChildState::up:
        st = "running";
        break;
      case WorkerChildState::backing_off:
        st = "restarting(" + std::to_string(w.restarts + 1) + ")";
        break;
      case WorkerChildState::ended:
        st = "stopped";
        break;
    }
    out += (out.empty() ? "" : " | ") + w.id + " " + st + (w.leader ? " leader" : "");
  }
  return out;
}

// A port on `ip` that was free a moment ago (bind to port 0, read it, close): the transport port
// a cluster-mode worker advertises. A worker keeps it across its restarts.
Result<int> free_port_on(const std::string& ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IoError("socket: " + std::string(std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    ::close(fd);
    return Status::Invalid(ip + " is not an IPv4 address");
  }
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::string e = std::strerror(errno);
    ::close(fd);
    return Status::IoError("cannot bind a port on " + ip + ": " + e);
  }
  ::close(fd);
  return static_cast<int>(ntohs(a.sin_port));
}

// The supervisor's events on the console (cluster/supervisor.hpp), worded as the run's log has
// always been. On a terminal the live line is redrawn in place (cli/live_console.hpp, whose log
// sink keeps log lines off it); off one, the line is logged every kPlainLiveEvery.
class ConsoleEvents : public SupervisorEvents {
 public:
  static constexpr double kPlainLiveEvery = 5.0;  // seconds
  ConsoleEvents(std::string topology, fs::path worker_log, LiveConsole& console)
      : topology_(std::move(topology)), worker_log_(std::move(worker_log)), console_(console) {}
  // N > 1: the supervisor names the workers (by pid) and their states.
  void set_supervisor(Supervisor* s, int workers) {
    supervisor_ = s;
    workers_ = workers;
  }

  void worker_started(pid_t pid) override {
    if (workers_ <= 1 || !supervisor_) {
      spdlog::info("worker started (pid {}), log in {}", pid, worker_log_.string());
      return;
    }
    std::string pids;
    for (auto& w : supervisor_->workers())
      pids += (pids.empty() ? "" : ", ") + w.id + " pid " + std::to_string(w.pid);
    spdlog::info("{} workers started ({}), logs in {}/<id>.log", workers_, pids,
                 worker_log_.string());
  }
  void stopping_on_signal(int sig) override {
    newline();
    spdlog::info("stopping (signal {}): asking the worker to finish cleanly", sig);
  }
  void worker_stopped(int st, bool drained) override {
    if (!drained)
      spdlog::info("worker {}", describe_exit(st));
    else if (st != 0)
      spdlog::warn("worker {} while stopping", describe_exit(st));
  }
  void zookeeper_died(pid_t pid, const std::string& dir, int port) override {
    newline();
    spdlog::warn("ZooKeeper (pid {}) died; restarting it on {} (port {})", pid, dir, port);
  }
  void zookeeper_restarted(pid_t pid, int restarts) override {
    spdlog::info("ZooKeeper restarted (pid {}, {} restart(s))", pid, restarts);
  }
  void dropped(const Drop& d) override {
    newline();
    spdlog::error(
        "the embedded Kafka DROPPED {} record(s) of topic {} partition {} (its log now starts at "
        "offset {}): {}",
        d.lost, d.topic, d.partition, d.log_start, drop_way_out());
  }
  void drained(int64_t cp, int64_t loaded) override {
    newline();
    spdlog::info("drained: checkpoint {} covers all {} input records and is visible", cp, loaded);
  }
  void worker_ended(const WorkerEndReport& r) override {
    newline();
    if (r.before_drain)
      spdlog::error("{} stopped on its own before the input was drained", who(r.pid));
    else if (r.exit_status == kExitOk)
      spdlog::info("{} stopped on its own", workers_ > 1 ? who(r.pid) : "worker");
    else
      spdlog::error("{} {} and cannot be restarted: {}\n{}", workers_ > 1 ? who(r.pid) : "worker",
                    describe_exit(r.exit_status), r.failure.empty() ? "last log lines:" : r.failure,
                    r.log_tail);
  }
  void giving_up(const std::string& reason, const std::string& log_tail) override {
    newline();
    spdlog::error("giving up: {}. Last log:\n{}", reason, log_tail);
  }
  void restarting(pid_t pid, const std::string& why, std::chrono::milliseconds backoff,
                  int64_t last_cp) override {
    newline();
    spdlog::warn(
        "{} {}; restarting in {} ms from the latest committed checkpoint "
        "(last seen: {})",
        who(pid), why, backoff.count(), last_cp);
  }
  void worker_resumed(pid_t pid, int64_t checkpoint) override {
    newline();
    spdlog::info("{} resumed from checkpoint {}", who(pid), checkpoint);
  }
  void chaos_kill(pid_t pid) override {
    newline();
    if (workers_ > 1)
      spdlog::warn("chaos: SIGKILL worker {} pid {}", supervisor_->worker_id_of(pid), pid);
    else
      spdlog::warn("chaos: SIGKILL worker pid {}", pid);
  }
  // The count and the reason (a timeout naming the tasks that did not ack, a blob write error
  // such as a full checkpoint.dir).
  void checkpoint_aborted(int64_t n, const std::string& why) override {
    newline();
    spdlog::warn("checkpoint aborted ({} so far by this worker): {}", n, why);
  }
  void live(const LiveStatus& l) override {
    announce_metrics_url(l.status);
    checkpoints.observe(l.status);
    auto fields = live_fields(topology_, l, worker_states(l.workers), l.workers.size());
    if (console_.tty()) {
      // One column spare: a line ending in the last column would wrap on some terminals.
      console_.draw(fit_live_line(fields, std::max<size_t>(20, console_.columns()) - 1));
    } else if (last_plain_ < 0 || l.elapsed_s - last_plain_ >= kPlainLiveEvery) {
      last_plain_ = l.elapsed_s;
      spdlog::info("{}", fit_live_line(fields, 0));
    }
  }
  // The checkpoints the leader's status showed, for the final summary.
  CheckpointTally checkpoints;

 private:
  // The log sink of the live console erases the live line before each log line and draws it
  // again below it, so nothing is left to do before a message.
  void newline() {}
  // Once per run: where the live page and /metrics are (the worker's status carries the URL).
  void announce_metrics_url(const std::string& status) {
    if (url_announced_) return;
    std::string url = status_string(status, "metrics_url");
    if (url.empty()) return;
    url_announced_ = true;
    newline();
    spdlog::info("watch it: {}/ (Prometheus: {}/metrics)", url, url);
  }
  bool url_announced_ = false;
  // "worker (pid 7)"; with N workers "worker w1 (pid 7)".
  std::string who(pid_t pid) const {
    std::string id = supervisor_ && workers_ > 1 ? supervisor_->worker_id_of(pid) : "";
    return "worker " + (id.empty() ? "" : id + " ") + "(pid " + std::to_string(pid) + ")";
  }
  std::string topology_;
  fs::path worker_log_;
  LiveConsole& console_;
  double last_plain_ = -1;
  Supervisor* supervisor_ = nullptr;
  int workers_ = 1;
};

// The one mapping of how the supervised run ended to `sleet run`'s exit status (cli/README.md).
int exit_code_of(const SupervisorOutcome& out) {
  switch (out.end) {
    case SupervisorState::done:
      return kExitOk;
    case SupervisorState::interrupted:
      return 128 + out.signal;
    default:
      // The policy's code for how the worker ended (2, 3; 1 after failures in a row), else
      // the error's: a bad input file is the user's to fix (2), anything else is worth a retry.
      if (out.policy_exit_code) return *out.policy_exit_code;
      return out.status.code() == Code::invalid_argument ? kExitUsage : kExitFailure;
  }
}

int run(const RunOptions& o, SignalWatcher& signals) {
  LoadedTopology file = load_file_or_exit(o.topology);
  // A directory or /dev/zero would "load 0 records" and run: refuse it before starting anything.
  for (auto& in : o.inputs)
    if (auto eq = in.find('='); eq != std::string::npos)
      if (Status s = check_input_file(in.substr(eq + 1)); !s.ok())
        fail(kExitUsage, "--input " + in + ": " + s.message());
  for (auto& t : file.topics)
    if (Status s = t.input_file.empty() ? Status::Ok() : check_input_file(t.input_file); !s.ok())
      fail(kExitUsage, o.topology.file + ": topic " + t.name + ": " + s.message());
  refuse_waits_forever(file.spec, topics_needed(file, o.inputs), o.until_drained);
  const fs::path state =
      o.state_dir.empty() ? fs::path("sleet-state") / file.spec.name : fs::path(o.state_dir);
  // `${SLEET_STATE_DIR}` in the topology file (e.g. a FileSink path) is this run's state dir, for
  // the worker (it inherits the environment) and for --top (read again with it set).
  ::setenv("SLEET_STATE_DIR", fs::absolute(state).c_str(), 1);
  file = load_file_or_exit(o.topology, /*print_warnings=*/false);
  const TopologySpec& spec = file.spec;
  // Loading validated every config value, so this refuses nothing a loaded file can hold; it is
  // the same typed read the worker does.
  auto config = WorkerConfig::from(spec.config);
  if (!config.ok()) fail(kExitUsage, o.topology.file + ": " + config.status().message());
  std::string bootstrap = config->kafka_bootstrap_servers;
  std::string zk_connect = config->zookeeper_connect;
  const bool embedded_kafka = bootstrap.empty();
  const bool embedded_zk = zk_connect.empty();
  // A fresh embedded Kafka has none of the old offsets: old checkpoints would point nowhere, so
  // the start is fresh (Sleet's own entries of the state dir go; nothing else ever does).
  auto state_lock = prepare_state_dir(state, spec.name, embedded_kafka);
  if (!state_lock.ok())
    fail(state_lock.status().code() == Code::io_error ? kExitFailure : kExitUsage,
         state_lock.status().message());
  const fs::path worker_log = state / "worker.log", status_file = state / "status.json";
  // --workers N > 1: cluster-mode workers, each with its log and status file in workers/.
  const bool cluster_mode = o.workers > 1;
  const fs::path workers_dir = state / "workers";
  if (cluster_mode) {
    std::error_code ec;
    fs::create_directories(workers_dir, ec);
    if (ec) fail(kExitFailure, "cannot create " + workers_dir.string() + ": " + ec.message());
  }

  std::unique_ptr<EmbeddedZooKeeper> zk;
  if (embedded_zk) {
    // Java and the server jar come from SLEET_JAVA / SLEET_ZOOKEEPER_JAR when set (README).
    auto z = EmbeddedZooKeeper::start(state / "zookeeper", o.zookeeper_port);
    if (!z.ok()) {
      auto [cause, hint] = zookeeper_start_failure(z.status(), o.zookeeper_port);
      fail(kExitFailure, cause, hint);
    }
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
  std::map<std::string, TopicNeed> topics = topics_needed(file, o.inputs);
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
  // Inputs load before the worker starts, or alongside it when paced by --input-rate or held back
  // by the flow control that keeps the embedded Kafka from dropping unread input.
  std::vector<LoadPlan> plans;
  const bool checkpointing = config->checkpoint_enabled;
  for (auto& [name, e] : topics)
    if (!e.inputs.empty())
      plans.push_back({name, load_partitions.at(name), e.inputs,
                       embedded_kafka && checkpointing && e.read_by_spout, e.read_by_spout});
  InputLoader loader(bootstrap, std::move(plans), o.input_rate,
                     cluster_mode ? workers_dir : status_file);
  loader.start();
  if (o.input_rate <= 0) {
    loader.wait_until_done_or_held_back();
    if (loader.done() && !loader.status().ok())
      fail(loader.status().code() == Code::invalid_argument ? kExitUsage : kExitFailure,
           loader.status().message());
  }
  std::unique_ptr<RetentionWatch> retention;
  std::vector<std::string> spout_topics;
  if (cluster) {
    std::map<std::string, std::vector<int32_t>> watched;
    for (auto& [name, e] : topics) {
      std::vector<int32_t> ids(static_cast<size_t>(e.partitions));
      std::iota(ids.begin(), ids.end(), 0);
      watched[name] = ids;
      if (e.read_by_spout) spout_topics.push_back(name);
    }
    retention = std::make_unique<RetentionWatch>(bootstrap, std::move(watched));
  }

  std::vector<std::string> argv = {"/proc/self/exe", "worker", o.topology.file};
  for (auto& s : o.topology.sets) argv.insert(argv.end(), {"--set", s});
  argv.insert(argv.end(), {"--set", "kafka.bootstrap.servers=" + bootstrap, "--set",
                           "zookeeper.connect=" + zk_connect});
  if (!cluster_mode) argv.insert(argv.end(), {"--status-file", status_file.string()});
  // A checkpoint.dir of the file or a --set is the user's choice; only without one do snapshots go
  // under the state dir (so this asks whether the key is set, not WorkerConfig's default).
  if (spec.config_or("checkpoint.dir", "").empty())
    argv.insert(argv.end(), {"--set", "checkpoint.dir=" + (state / "checkpoints").string()});
  if (o.threads > 0 && !cluster_mode)
    argv.insert(argv.end(), {"--threads", std::to_string(o.threads)});
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len > 0) argv[0] = std::string(self, static_cast<size_t>(len));

  LiveConsole live_console(2);
  std::vector<std::unique_ptr<ProcessWorkerLauncher>> launchers;
  std::vector<std::unique_ptr<StatusFile>> statuses;
  std::vector<WorkerSlot> slots;
  if (!cluster_mode) {
    launchers.push_back(std::make_unique<ProcessWorkerLauncher>(argv, worker_log));
    statuses.push_back(std::make_unique<StatusFile>(status_file));
  } else {
    // The threads of one worker, shared out: each of N workers gets ceil(T / N), at least 1.
    const int total = o.threads > 0 ? o.threads
                      : config->worker_threads > 0
                          ? config->worker_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int per = std::max(1, (total + o.workers - 1) / o.workers);
    for (int i = 0; i < o.workers; ++i) {
      const std::string id = "w" + std::to_string(i), ip = "127.0.0." + std::to_string(10 + i);
      auto port = free_port_on(ip);
      if (!port.ok())
        fail(kExitFailure, "worker " + id + ": " + port.status().message(),
             "--workers N puts worker i on 127.0.0.(10+i); Linux routes all of 127.0.0.0/8 to "
             "the loopback interface, which must be up");
      std::vector<std::string> a = argv;
      a.insert(a.end(), {"--status-file", (workers_dir / (id + ".status.json")).string(),
                         "--zookeeper", zk_connect, "--advertise", ip + ":" + std::to_string(*port),
                         "--id", id, "--slots", "0", "--threads", std::to_string(per)});
      launchers.push_back(std::make_unique<ProcessWorkerLauncher>(a, workers_dir / (id + ".log")));
      statuses.push_back(std::make_unique<StatusFile>(workers_dir / (id + ".status.json")));
    }
    spdlog::info("{} cluster-mode workers w0..w{} on 127.0.0.10..127.0.0.{}, {} thread(s) each",
                 o.workers, o.workers - 1, 9 + o.workers, per);
  }
  for (size_t i = 0; i < launchers.size(); ++i)
    slots.push_back({launchers[i].get(), statuses[i].get(), "w" + std::to_string(i)});
  std::unique_ptr<EmbeddedZooKeeperChild> zk_child;
  if (zk) zk_child = std::make_unique<EmbeddedZooKeeperChild>(*zk);
  LoaderFeed feed(loader, retention.get());
  SteadyClock clock;
  SupervisorOptions so;
  so.until_drained = o.until_drained;
  so.policy.max_failures = o.max_failures;
  // Off a terminal the console logs the line only every kPlainLiveEvery; the reports in between
  // feed the checkpoint statistics of the summary.
  so.live_interval = 250ms;
  so.spout_topics = spout_topics;
  std::mt19937_64 rng(std::random_device{}());
  if (o.chaos_every_s > 0) {
    so.chaos_delay = [&rng, every = o.chaos_every_s] {
      std::uniform_real_distribution<double> d(0.5, 1.5);
      return std::chrono::milliseconds(static_cast<int64_t>(every * 1000 * d(rng)));
    };
    so.chaos_pick = [&rng](size_t n) {
      return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    };
  }
  ConsoleEvents console(spec.name, cluster_mode ? workers_dir : worker_log, live_console);
  Supervisor supervisor(
      std::move(so), std::move(slots), zk_child.get(), feed, clock,
      [&signals] { return signals.last_signal(); }, console);
  console.set_supervisor(&supervisor, o.workers);
  SupervisorOutcome out = supervisor.run();
  live_console.end();
  // A child or the input failed: the error is all there is to say.
  if (!out.status.ok()) fail(exit_code_of(out), out.status.message(), out.hint);
  const int exit_code = exit_code_of(out);
  const bool interrupted = out.end == SupervisorState::interrupted;
  if (interrupted)
    spdlog::warn(
        "interrupted by signal {} before the input was drained: the output is partial (exit {})",
        out.signal, exit_code);
  // N workers: the leader's status carries the checkpoint figures; records and the on_error
  // counts are summed over every worker's own status.
  std::vector<WorkerView> views = supervisor.workers();
  std::string status = cluster_mode ? "" : statuses[0]->read();
  for (auto& v : views)
    if (cluster_mode && v.leader && !v.status.empty()) status = v.status;
  if (cluster_mode && status.empty())
    for (auto& v : views)
      if (!v.status.empty()) {
        status = v.status;
        break;
      }
  spdlog::info(
      "{} in {:.1f}s: {} records loaded, last checkpoint {}, {} restarts ({} by chaos){}",
      exit_code == 0 ? "finished" : (interrupted ? "interrupted" : "stopped"),
      supervisor.elapsed_s(), loader.loaded(),
      static_cast<int64_t>(status_number(status, "last_checkpoint")), supervisor.restarts(),
      supervisor.chaos_kills(),
      supervisor.zookeeper_restarts() > 0
          ? ", " + std::to_string(supervisor.zookeeper_restarts()) + " ZooKeeper restart(s)"
          : "");
  // Counts of the worker that wrote the last status; an earlier worker's are in the same
  // checkpointed run but not added up here.
  std::map<std::string, WorkerProgress::ComponentErrors> errors = status_errors(status);
  if (cluster_mode) {
    errors.clear();
    int64_t in = 0, out_records = 0;
    for (auto& v : views) {
      in += static_cast<int64_t>(status_number(v.status, "records_in"));
      out_records += static_cast<int64_t>(status_number(v.status, "records_out"));
      for (auto& [id, e] : status_errors(v.status)) {
        errors[id].skipped += e.skipped;
        errors[id].dead_lettered += e.dead_lettered;
      }
    }
    spdlog::info("workers: {}; records in {} out {} (summed over the workers' last statuses)",
                 worker_states(views), in, out_records);
  }
  // Per-component totals (the workers' last statuses) and the checkpoints of the run.
  {
    StatusReport final_report;
    for (auto& v : views) {
      std::string st = cluster_mode ? v.status : status;
      if (auto doc = parse_json(st); doc.ok())
        final_report.workers.push_back({v.id, "", *doc, "", ""});
    }
    for (auto& l : component_summary(final_report)) spdlog::info("{}", l);
    console.checkpoints.observe(status);
    spdlog::info("{}", console.checkpoints.summary());
  }
  for (auto& l : describe_errors(errors)) spdlog::warn("{}", l);
  supervisor.check_drops();
  int code = exit_code;
  if (supervisor.lost_total() > 0) {
    spdlog::error(
        "the embedded Kafka dropped {} record(s) this run, so the output is incomplete: {}",
        supervisor.lost_total(), drop_way_out());
    if (code == kExitOk) code = kExitUnrecoverable;  // incomplete: never 0
  }
  if (o.until_drained && o.top > 0) {
    if (code == kExitOk)
      print_top(spec, o.top);
    else if (interrupted)
      print_top(spec, o.top, " [PARTIAL: interrupted before the input was drained]");
  }
  return code;
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
                  "SIGKILL the worker at random around every SECONDS, to watch recovery")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--state-dir", o->state_dir,
                  "Where ZooKeeper data, checkpoints and logs go (default sleet-state/<name>)");
  cmd->add_option("--zookeeper-port", o->zookeeper_port,
                  "Port for the embedded ZooKeeper (default: a free one)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", o->threads,
                  "Worker threads (default: one per core); with --workers N, shared out: each "
                  "worker gets ceil(threads / N)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--workers", o->workers,
                  "Worker processes (default 1); N > 1 runs cluster-mode workers w0..w(N-1) on "
                  "127.0.0.10.. that share the topology's tasks, each supervised and restarted "
                  "on its own")
      ->check(CLI::Range(1, 240));
  cmd->add_option("--input-rate", o->input_rate,
                  "Load inputs at this many records/s while the topology runs (default: all first)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-failures", o->max_failures,
                  "Give up after this many worker failures in a row (supervisor_policy.hpp)")
      ->check(CLI::PositiveNumber);
  cmd->add_option(
         "--top", o->top,
         "After --until-drained, print the N largest keys of tsv FileSink output (key ... count)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o] {
    SignalWatcher signals;
    setup_logging("run");
    int code = run(*o, signals);
    throw CLI::RuntimeError(code);
  });
}

}  // namespace sleet::cli
