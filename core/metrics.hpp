// The pure pieces of Sleet's metrics: a fixed-bucket latency histogram cheap enough for a task's
// hot path, and the one Prometheus text exposition writer (format 0.0.4). The worker's metrics
// (cluster/metrics.*) use both; nothing here knows about tasks, sockets or time sources.
//
// Threading: Histogram::observe() by one writer (the task's fiber) with relaxed atomics;
// snapshot() from any thread (a snapshot may mix an observation's bucket and sum, which is fine
// for monitoring). PrometheusWriter: one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sleet {

// Upper bounds (seconds) of the latency buckets, shared by every histogram: 1 us .. 10 s in 1-2.5-5
// steps; the +Inf bucket is implicit.
inline constexpr std::array<double, 22> kLatencyBuckets = {
    1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
    5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,    0.25, 0.5,  1.0,    2.5,  5.0,  10.0};

struct HistogramSnapshot {
  std::array<int64_t, kLatencyBuckets.size() + 1>
      counts{};  // per bucket (not cumulative); last: +Inf
  int64_t count = 0;
  double sum_seconds = 0;
  void merge(const HistogramSnapshot& o);
  // The q-quantile (0..1), interpolated inside its bucket; nullopt with no observations. A value
  // in the +Inf bucket reports the highest finite bound.
  std::optional<double> quantile(double q) const;
  // this minus an earlier snapshot of the same histogram (the observations between them).
  HistogramSnapshot since(const HistogramSnapshot& earlier) const;
};

class Histogram {
 public:
  void observe_ns(int64_t ns) {
    size_t i = bucket_of(ns);
    counts_[i].store(counts_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + ns, std::memory_order_relaxed);
  }
  HistogramSnapshot snapshot() const;
  static size_t bucket_of(int64_t ns);

 private:
  std::array<std::atomic<int64_t>, kLatencyBuckets.size() + 1> counts_{};
  std::atomic<int64_t> sum_ns_{0};
};

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Writes metric families in the Prometheus text format. Each family (name, HELP, TYPE) once,
// its samples after it; call family() before its samples. Label values are escaped; names are
// the caller's (sleet_ prefix, _total for counters, base units), checked by promtool in tests.
class PrometheusWriter {
 public:
  enum class Type { counter, gauge, histogram };
  void family(const std::string& name, Type type, const std::string& help);
  void sample(const std::string& name, const MetricLabels& labels, double value);
  void sample(const std::string& name, const MetricLabels& labels, int64_t value);
  // A histogram's _bucket (cumulative, le), _sum and _count series.
  void histogram(const std::string& name, const MetricLabels& labels, const HistogramSnapshot& h);
  const std::string& text() const { return out_; }

 private:
  void series(const std::string& name, const MetricLabels& labels, const std::string& extra_name,
              const std::string& extra_value);
  std::string out_;
};

// "1.5", "0", "+Inf", "NaN": a sample value as Prometheus parses it.
std::string prometheus_number(double v);

}  // namespace sleet

namespace sleet {

// The task counter through which a spout reports a per-partition gauge (kind: "next_offset" or
// "high_watermark"): "sleet.partition/<kind>/<topic>/<partition>". The worker's metrics turn
// these into sleet_kafka_* series and leave them out of the user counters.
inline std::string partition_gauge_name(const std::string& kind, const std::string& topic,
                                        int32_t partition) {
  return "sleet.partition/" + kind + "/" + topic + "/" + std::to_string(partition);
}
inline constexpr const char* kPartitionGaugePrefix = "sleet.partition/";

}  // namespace sleet
