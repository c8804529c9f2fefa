#include "cluster/metrics.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>

#include "checkpointing/coordinator.hpp"
#include "core/format.hpp"
#include "core/sink_metrics.hpp"
#include "runtime/engine.hpp"

namespace sleet {

namespace {

// Counters the engine and the built-in components keep under their own names; every other
// counter of a task is a user counter (ctx.counter()).
bool builtin_counter(const std::string& name) {
  return name == "in" || name == "out" || name == "skipped" || name == "dead_letters" ||
         name == "failed" || name == "fetch_wakes" || name.rfind(kPartitionGaugePrefix, 0) == 0 ||
         name.rfind(kSinkCounterPrefix, 0) == 0;
}

int64_t get(const TaskStats& ts, const char* k) {
  auto it = ts.counters.find(k);
  return it == ts.counters.end() ? 0 : it->second;
}

// A sink task that reports its epochs (core/sink_metrics.hpp: FileSink and KafkaSink, exactly
// once).
bool reports_epochs(const TaskStats& ts) {
  return ts.counters.count(kSinkEpochsPublished) > 0;
}

std::string jquote(const std::string& s) {
  std::string out;
  json_string(s, out);
  return out;
}

std::string number(double v) {
  char buf[40];
  snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A component's sink keys of the status document, only when its tasks report epochs (absent:
// unknown, as for a worker of an older Sleet).
std::string sink_fields(bool sink, int64_t pending, int64_t published,
                        const HistogramSnapshot& publish) {
  if (!sink) return "";
  auto p99 = publish.quantile(0.99);
  return ",\"sink_epochs_pending\":" + std::to_string(pending) +
         ",\"sink_epochs_published\":" + std::to_string(published) +
         ",\"sink_publish_p99_seconds\":" + (p99 ? number(*p99) : std::string("null"));
}

struct PartitionFigures {
  std::string component, topic;
  int task = 0;
  int32_t partition = 0;
  int64_t next = -1, high = -1;
  int64_t lag() const { return next >= 0 && high >= 0 ? std::max<int64_t>(0, high - next) : 0; }
};

// "sleet.partition/<kind>/<topic>/<p>" counters of every task.
std::vector<PartitionFigures> partitions_of(const std::vector<TaskStats>& stats) {
  std::map<std::tuple<std::string, int, std::string, int32_t>, PartitionFigures> by;
  const std::string prefix = kPartitionGaugePrefix;
  for (auto& ts : stats)
    for (auto& [name, v] : ts.counters) {
      if (name.rfind(prefix, 0) != 0) continue;
      std::string rest = name.substr(prefix.size());
      auto a = rest.find('/'), b = rest.rfind('/');
      if (a == std::string::npos || b == a) continue;
      std::string kind = rest.substr(0, a), topic = rest.substr(a + 1, b - a - 1);
      int32_t p = static_cast<int32_t>(std::atoi(rest.c_str() + b + 1));
      auto& f = by[{ts.component, ts.task, topic, p}];
      f.component = ts.component;
      f.task = ts.task;
      f.topic = topic;
      f.partition = p;
      (kind == "next_offset" ? f.next : f.high) = v;
    }
  std::vector<PartitionFigures> out;
  for (auto& [k, f] : by) out.push_back(f);
  return out;
}

const char* kind_of(const TopologySpec& spec, const ComponentSpec& c) {
  if (c.kind == ComponentKind::spout) return "spout";
  for (auto& st : spec.streams)
    if (st.from == c.id) return "bolt";
  return "sink";
}

}  // namespace

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<RestartRecord> restarts_from_env() {
  std::vector<RestartRecord> out;
  const char* e = std::getenv("SLEET_RESTARTS");
  if (!e) return out;
  std::string s = e;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(pos, nl - pos);
    pos = nl + 1;
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

ProcessFigures process_figures() {
  ProcessFigures f;
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (statm >> pages >> resident)
    f.rss_bytes = static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
    f.cpu_seconds = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  return f;
}

WorkerMetrics::WorkerMetrics(const TopologySpec& spec, std::string worker)
    : spec_(spec), worker_(std::move(worker)) {}

void WorkerMetrics::set_url(const std::string& url) {
  url_ = url;
}
void WorkerMetrics::set_restarts(std::vector<RestartRecord> r) {
  restarts_ = std::move(r);
}

void WorkerMetrics::set_status(std::string status_json) {
  std::lock_guard lk(mu_);
  status_ = std::move(status_json);
}

std::string WorkerMetrics::topology_document() const {
  std::string j = "{\"name\":" + jquote(spec_.name) + ",\"components\":[";
  for (size_t i = 0; i < spec_.components.size(); ++i) {
    auto& c = spec_.components[i];
    j += std::string(i ? "," : "") + "{\"id\":" + jquote(c.id) + ",\"kind\":\"" +
         kind_of(spec_, c) + "\",\"parallelism\":" + std::to_string(c.parallelism) + "}";
  }
  j += "],\"streams\":[";
  for (size_t i = 0; i < spec_.streams.size(); ++i) {
    auto& st = spec_.streams[i];
    j += std::string(i ? "," : "") + "{\"from\":" + jquote(st.from) + ",\"to\":" + jquote(st.to) +
         "}";
  }
  return j + "]}";
}

std::string WorkerMetrics::prometheus() const {
  std::lock_guard lk(mu_);
  return text_;
}
std::string WorkerMetrics::json_fields() const {
  std::lock_guard lk(mu_);
  return json_;
}
std::string WorkerMetrics::status_document() const {
  std::lock_guard lk(mu_);
  if (!status_.empty()) return status_;
  return "{\"topology\":" + jquote(spec_.name) + json_ + "}";
}

void WorkerMetrics::refresh(const Engine& engine, const Coordinator* coordinator,
                            std::chrono::steady_clock::time_point now) {
  refresh_from(engine.stats(), coordinator, engine.visible_checkpoint().value, now);
}

void WorkerMetrics::refresh_from(const std::vector<TaskStats>& stats,
                                 const Coordinator* coordinator, int64_t visible_checkpoint,
                                 std::chrono::steady_clock::time_point now) {
  const double dt = have_last_ ? std::chrono::duration<double>(now - last_).count() : 0;
  last_ = now;
  have_last_ = true;
  std::optional<CheckpointStats> cs;
  if (coordinator) cs = coordinator->stats();
  const auto partitions = partitions_of(stats);

  // --- Prometheus text: every family once, its series after it ---
  PrometheusWriter w;
  auto task_labels = [&](const TaskStats& ts) {
    return MetricLabels{{"topology", spec_.name},
                        {"component", ts.component},
                        {"task", std::to_string(ts.task)},
                        {"worker", worker_}};
  };
  auto per_task = [&](const char* name, PrometheusWriter::Type type, const char* help, auto value) {
    w.family(name, type, help);
    for (auto& ts : stats) w.sample(name, task_labels(ts), value(ts));
  };
  using T = PrometheusWriter::Type;
  per_task("sleet_tuples_in_total", T::counter, "Tuples received by the task",
           [](const TaskStats& ts) { return get(ts, "in"); });
  per_task("sleet_tuples_out_total", T::counter, "Tuples emitted by the task",
           [](const TaskStats& ts) { return get(ts, "out"); });
  per_task("sleet_tuples_skipped_total", T::counter,
           "Tuples whose execute threw and that on_error (skip or dead_letter) skipped",
           [](const TaskStats& ts) { return get(ts, "skipped"); });
  per_task("sleet_tuples_dead_lettered_total", T::counter,
           "Skipped tuples sent to the component's dead-letter topic",
           [](const TaskStats& ts) { return get(ts, "dead_letters"); });
  per_task("sleet_tuples_failed_total", T::counter,
           "Tuples whose execute threw, whatever on_error then did",
           [](const TaskStats& ts) { return get(ts, "failed"); });
  w.family("sleet_execute_seconds", T::histogram,
           "Execute latency of a bolt task, one execute in 64 timed");
  for (auto& ts : stats)
    if (!ts.spout) w.histogram("sleet_execute_seconds", task_labels(ts), ts.execute);
  per_task("sleet_backpressure_seconds_total", T::counter,
           "Time the task spent handing batches to full output channels",
           [](const TaskStats& ts) { return static_cast<double>(ts.backpressure_ns) * 1e-9; });
  per_task("sleet_idle_seconds_total", T::counter,
           "Time the task spent waiting for input (spouts: idle sleeps)",
           [](const TaskStats& ts) { return static_cast<double>(ts.idle_ns) * 1e-9; });
  w.family("sleet_queue_depth", T::gauge, "Batches waiting in the task's input channels");
  for (auto& ts : stats)
    if (ts.queue_depth >= 0) w.sample("sleet_queue_depth", task_labels(ts), ts.queue_depth);
  w.family("sleet_user_total", T::counter,
           "Counters components register with ctx.counter(), by name");
  for (auto& ts : stats)
    for (auto& [name, v] : ts.counters)
      if (!builtin_counter(name)) {
        auto l = task_labels(ts);
        l.emplace_back("name", name);
        w.sample("sleet_user_total", l, v);
      }
  w.family("sleet_kafka_fetch_wakes_total", T::counter,
           "Times a spout task woke librdkafka's fetcher after its queue had been full");
  for (auto& ts : stats)
    if (ts.counters.count("fetch_wakes"))
      w.sample("sleet_kafka_fetch_wakes_total", task_labels(ts), get(ts, "fetch_wakes"));
  auto partition_labels = [&](const PartitionFigures& p) {
    return MetricLabels{{"topology", spec_.name},
                        {"component", p.component},
                        {"task", std::to_string(p.task)},
                        {"worker", worker_},
                        {"topic", p.topic},
                        {"partition", std::to_string(p.partition)}};
  };
  w.family("sleet_kafka_next_offset", T::gauge, "Offset of the next record the spout reads");
  for (auto& p : partitions) w.sample("sleet_kafka_next_offset", partition_labels(p), p.next);
  w.family("sleet_kafka_high_watermark", T::gauge,
           "The partition's high watermark as the broker last reported it");
  for (auto& p : partitions) w.sample("sleet_kafka_high_watermark", partition_labels(p), p.high);
  w.family("sleet_kafka_consumer_lag", T::gauge,
           "Records in the partition not yet read: high watermark minus next offset");
  for (auto& p : partitions) w.sample("sleet_kafka_consumer_lag", partition_labels(p), p.lag());
  w.family("sleet_sink_epochs_pending", T::gauge,
           "Epochs the sink task pre-committed (durable) and has not made visible yet");
  for (auto& ts : stats)
    if (reports_epochs(ts))
      w.sample("sleet_sink_epochs_pending", task_labels(ts), get(ts, kSinkEpochsPending));
  w.family("sleet_sink_epochs_published_total", T::counter,
           "Epochs the sink task made visible (renamed, or published to Kafka)");
  for (auto& ts : stats)
    if (reports_epochs(ts))
      w.sample("sleet_sink_epochs_published_total", task_labels(ts), get(ts, kSinkEpochsPublished));
  w.family("sleet_sink_publish_seconds", T::histogram,
           "Time from a checkpoint's commit notice to the sink task's publish of its epoch being "
           "durable");
  for (auto& ts : stats)
    if (reports_epochs(ts)) w.histogram("sleet_sink_publish_seconds", task_labels(ts), ts.publish);
  const MetricLabels worker_labels{{"topology", spec_.name}, {"worker", worker_}};
  if (cs) {
    const CheckpointRecord* last = cs->history.empty() ? nullptr : &cs->history.front();
    const CheckpointRecord* done = nullptr;
    for (auto& r : cs->history)
      if (r.outcome == "completed") {
        done = &r;
        break;
      }
    w.family("sleet_checkpoint_duration_seconds", T::gauge,
             "Trigger to commit of the last completed checkpoint");
    w.sample("sleet_checkpoint_duration_seconds", worker_labels, done ? done->duration_s : 0.0);
    w.family("sleet_checkpoint_alignment_seconds", T::gauge,
             "Trigger to the last task's ack of the last completed checkpoint");
    w.sample("sleet_checkpoint_alignment_seconds", worker_labels,
             done && done->alignment_s >= 0 ? done->alignment_s : 0.0);
    w.family("sleet_checkpoint_bytes", T::gauge, "State bytes of the last completed checkpoint");
    w.sample("sleet_checkpoint_bytes", worker_labels, cs->last_bytes);
    w.family("sleet_checkpoints_completed_total", T::counter,
             "Checkpoints this worker's coordinator committed");
    w.sample("sleet_checkpoints_completed_total", worker_labels, cs->committed);
    w.family("sleet_checkpoints_aborted_total", T::counter,
             "Checkpoints aborted (a timeout, a task's state write error)");
    w.sample("sleet_checkpoints_aborted_total", worker_labels, cs->aborted - cs->failed);
    w.family("sleet_checkpoints_failed_total", T::counter, "Checkpoints whose commit failed");
    w.sample("sleet_checkpoints_failed_total", worker_labels, cs->failed);
    w.family("sleet_checkpoint_last_committed_id", T::gauge, "Id of the last committed checkpoint");
    w.sample("sleet_checkpoint_last_committed_id", worker_labels, cs->last_committed.value);
    w.family("sleet_checkpoint_last_committed_age_seconds", T::gauge,
             "Seconds since the last checkpoint was committed");
    w.sample("sleet_checkpoint_last_committed_age_seconds", worker_labels,
             cs->last_committed.value > 0
                 ? std::chrono::duration<double>(now - cs->committed_at).count()
                 : 0.0);
    w.family("sleet_checkpoints_not_visible", T::gauge,
             "Committed checkpoints whose output this worker's tasks have not all made visible");
    w.sample("sleet_checkpoints_not_visible", worker_labels,
             std::max<int64_t>(0, cs->last_committed.value - visible_checkpoint));
    (void)last;
  }
  w.family("sleet_checkpoint_visible_id", T::gauge,
           "Highest checkpoint every local task made visible");
  w.sample("sleet_checkpoint_visible_id", worker_labels, visible_checkpoint);
  const ProcessFigures pf = process_figures();
  w.family("sleet_process_resident_memory_bytes", T::gauge, "Resident set size of the worker");
  w.sample("sleet_process_resident_memory_bytes", worker_labels, pf.rss_bytes);
  w.family("sleet_process_cpu_seconds_total", T::counter, "CPU time of the worker process");
  w.sample("sleet_process_cpu_seconds_total", worker_labels, pf.cpu_seconds);
  w.family("sleet_worker_restarts_total", T::counter,
           "Times the supervisor restarted this worker before this run");
  w.sample("sleet_worker_restarts_total", worker_labels, static_cast<int64_t>(restarts_.size()));

  // --- the JSON fields ---
  std::string j = ",\"metrics_url\":" + jquote(url_) + ",\"components\":[";
  bool first_c = true;
  for (auto& c : spec_.components) {
    int tasks = 0;
    int64_t in = 0, out = 0, skipped = 0, dead = 0, failed = 0, bp = 0;
    int64_t sink_pending = 0, sink_published = 0;
    bool sink_epochs = false;
    HistogramSnapshot exec, publish;
    std::string task_list;
    for (auto& ts : stats) {
      if (ts.component != c.id || ts.dead_letter_sink) continue;
      ++tasks;
      in += get(ts, "in");
      out += get(ts, "out");
      skipped += get(ts, "skipped");
      dead += get(ts, "dead_letters");
      failed += get(ts, "failed");
      bp += ts.backpressure_ns;
      exec.merge(ts.execute);
      if (reports_epochs(ts)) {
        sink_epochs = true;
        sink_pending += get(ts, kSinkEpochsPending);
        sink_published += get(ts, kSinkEpochsPublished);
        publish.merge(ts.publish);
      }
      if (!task_list.empty()) task_list += ",";
      task_list += "{\"task\":" + std::to_string(ts.task) + ",\"worker\":" + jquote(worker_) +
                   ",\"tuples_in\":" + std::to_string(get(ts, "in")) +
                   ",\"tuples_out\":" + std::to_string(get(ts, "out")) +
                   ",\"queue_depth\":" + std::to_string(std::max<int64_t>(0, ts.queue_depth)) + "}";
    }
    if (tasks == 0) continue;  // cluster mode: runs on another worker
    Previous& prev = previous_[c.id];
    if (in < prev.in || out < prev.out) prev = Previous{};  // a new engine (cluster: generation)
    double rate_in = 0, rate_out = 0, share = 0;
    std::optional<double> p99;
    if (dt > 0) {
      rate_in = static_cast<double>(in - prev.in) / dt;
      rate_out = static_cast<double>(out - prev.out) / dt;
      share = static_cast<double>(bp - prev.backpressure_ns) * 1e-9 / (dt * tasks);
      share = std::min(1.0, std::max(0.0, share));
      p99 = exec.since(prev.execute).quantile(0.99);
    }
    if (!p99) p99 = exec.quantile(0.99);
    prev = Previous{in, out, bp, exec};
    const char* kind = kind_of(spec_, c);
    std::string lag = "null";
    if (c.kind == ComponentKind::spout) {
      int64_t l = 0;
      bool any = false;
      for (auto& p : partitions)
        if (p.component == c.id) {
          l += p.lag();
          any = true;
        }
      if (any) lag = std::to_string(l);
    }
    if (!first_c) j += ",";
    first_c = false;
    j += "{\"id\":" + jquote(c.id) + ",\"kind\":\"" + kind +
         "\",\"tasks\":" + std::to_string(tasks) + ",\"tuples_in\":" + std::to_string(in) +
         ",\"tuples_out\":" + std::to_string(out) + ",\"rate_in\":" + number(rate_in) +
         ",\"rate_out\":" + number(rate_out) + ",\"execute_p99_seconds\":" +
         (c.kind == ComponentKind::spout || !p99 ? "null" : number(*p99)) +
         ",\"backpressure_share\":" + number(share) + ",\"lag\":" + lag +
         ",\"skipped\":" + std::to_string(skipped) + ",\"dead_lettered\":" + std::to_string(dead) +
         ",\"failed\":" + std::to_string(failed) +
         sink_fields(sink_epochs, sink_pending, sink_published, publish) + ",\"task_list\":[" +
         task_list + "]}";
  }
  j += "],\"checkpoints\":[";
  if (cs) {
    bool first = true;
    for (auto& r : cs->history) {
      if (!first) j += ",";
      first = false;
      j += "{\"id\":" + std::to_string(r.id.value) +
           ",\"duration_seconds\":" + number(r.duration_s) +
           ",\"bytes\":" + std::to_string(r.bytes) +
           ",\"age_seconds\":" + number(std::chrono::duration<double>(now - r.at).count()) +
           ",\"outcome\":" + jquote(r.outcome) + ",\"reason\":" + jquote(r.reason) + "}";
    }
  }
  j += "],\"restarts\":[";
  for (size_t i = 0; i < restarts_.size(); ++i) {
    if (i) j += ",";
    j += "{\"at\":" + jquote(restarts_[i].at) + ",\"reason\":" + jquote(restarts_[i].reason) + "}";
  }
  j += "],\"partitions\":[";
  for (size_t i = 0; i < partitions.size(); ++i) {
    auto& p = partitions[i];
    if (i) j += ",";
    j += "{\"component\":" + jquote(p.component) + ",\"topic\":" + jquote(p.topic) +
         ",\"partition\":" + std::to_string(p.partition) +
         ",\"next_offset\":" + std::to_string(p.next) +
         ",\"high_watermark\":" + std::to_string(p.high) + ",\"lag\":" + std::to_string(p.lag()) +
         "}";
  }
  j += "]";

  std::lock_guard lk(mu_);
  text_ = w.text();
  json_ = std::move(j);
}

}  // namespace sleet
