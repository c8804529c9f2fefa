#include "core/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sleet {

void HistogramSnapshot::merge(const HistogramSnapshot& o) {
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  count += o.count;
  sum_seconds += o.sum_seconds;
}

HistogramSnapshot HistogramSnapshot::since(const HistogramSnapshot& earlier) const {
  HistogramSnapshot d;
  for (size_t i = 0; i < counts.size(); ++i) d.counts[i] = counts[i] - earlier.counts[i];
  d.count = count - earlier.count;
  d.sum_seconds = sum_seconds - earlier.sum_seconds;
  return d;
}

std::optional<double> HistogramSnapshot::quantile(double q) const {
  if (count <= 0) return std::nullopt;
  const double rank = q * static_cast<double>(count);
  double seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (seen + static_cast<double>(counts[i]) >= rank) {
      if (i == kLatencyBuckets.size()) return kLatencyBuckets.back();
      const double lo = i == 0 ? 0 : kLatencyBuckets[i - 1], hi = kLatencyBuckets[i];
      return lo + (hi - lo) * ((rank - seen) / static_cast<double>(counts[i]));
    }
    seen += static_cast<double>(counts[i]);
  }
  return kLatencyBuckets.back();
}

size_t Histogram::bucket_of(int64_t ns) {
  // The bounds in whole nanoseconds: 1000 ns is in the 1 us bucket (in doubles, 1000 * 1e-9 is a
  // hair above 1e-6).
  static const auto bounds = [] {
    std::array<int64_t, kLatencyBuckets.size()> b{};
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::llround(kLatencyBuckets[i] * 1e9);
    return b;
  }();
  // 22 bounds: a linear scan is a few compares for the usual microsecond latencies.
  for (size_t i = 0; i < bounds.size(); ++i)
    if (ns <= bounds[i]) return i;
  return kLatencyBuckets.size();
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  for (size_t i = 0; i < counts_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) * 1e-9;
  return s;
}

std::string prometheus_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest of 15 or 17 digits that reads back as v: "1e-06", not "9.9999999999999995e-07".
  char buf[40];
  snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

namespace {

const char* type_name(PrometheusWriter::Type t) {
  switch (t) {
    case PrometheusWriter::Type::counter:
      return "counter";
    case PrometheusWriter::Type::gauge:
      return "gauge";
    case PrometheusWriter::Type::histogram:
      return "histogram";
  }
  return "untyped";
}

// Label values: backslash, double quote and newline escaped (the exposition format's rules).
void escape_label(const std::string& v, std::string& out) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// HELP text: backslash and newline escaped.
std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

void PrometheusWriter::family(const std::string& name, Type type, const std::string& help) {
  out_ += "# HELP " + name + " " + escape_help(help) + "\n";
  out_ += "# TYPE " + name + " " + type_name(type) + "\n";
}

void PrometheusWriter::series(const std::string& name, const MetricLabels& labels,
                              const std::string& extra_name, const std::string& extra_value) {
  out_ += name;
  if (!labels.empty() || !extra_name.empty()) {
    out_ += '{';
    bool first = true;
    for (auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k + "=\"";
      escape_label(v, out_);
      out_ += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out_ += ',';
      out_ += extra_name + "=\"" + extra_value + "\"";
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PrometheusWriter::sample(const std::string& name, const MetricLabels& labels, double value) {
  series(name, labels, "", "");
  out_ += prometheus_number(value) + "\n";
}

void PrometheusWriter::sample(const std::string& name, const MetricLabels& labels, int64_t value) {
  series(name, labels, "", "");
  out_ += std::to_string(value) + "\n";
}

void PrometheusWriter::histogram(const std::string& name, const MetricLabels& labels,
                                 const HistogramSnapshot& h) {
  int64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    series(name + "_bucket", labels, "le",
           i < kLatencyBuckets.size() ? prometheus_number(kLatencyBuckets[i]) : "+Inf");
    out_ += std::to_string(cumulative) + "\n";
  }
  sample(name + "_sum", labels, h.sum_seconds);
  sample(name + "_count", labels, cumulative);
}

}  // namespace sleet
