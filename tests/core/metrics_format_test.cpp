// The pure metrics pieces: the fixed-bucket histogram and the Prometheus text writer.
#include "core/metrics.hpp"

#include <gtest/gtest.h>

namespace sleet {
namespace {

TEST(Histogram, BucketsAreUpperBoundsInclusive) {
  EXPECT_EQ(Histogram::bucket_of(0), 0u);
  EXPECT_EQ(Histogram::bucket_of(1000), 0u);  // 1 us: the first bound
  EXPECT_EQ(Histogram::bucket_of(1001), 1u);
  EXPECT_EQ(Histogram::bucket_of(1'000'000), 9u);                               // 1 ms
  EXPECT_EQ(Histogram::bucket_of(10'000'000'000), kLatencyBuckets.size() - 1);  // 10 s
  EXPECT_EQ(Histogram::bucket_of(10'000'000'001), kLatencyBuckets.size());      // +Inf
}

TEST(Histogram, SnapshotCountsSumsAndQuantiles) {
  Histogram h;
  EXPECT_FALSE(h.snapshot().quantile(0.99).has_value());
  for (int i = 0; i < 99; ++i) h.observe_ns(2'000);  // 2 us: bucket (1 us, 2.5 us]
  h.observe_ns(400'000'000);                         // 0.4 s: bucket (0.25, 0.5]
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, 100);
  EXPECT_NEAR(s.sum_seconds, 99 * 2e-6 + 0.4, 1e-12);
  EXPECT_EQ(s.counts[1], 99);
  auto p50 = s.quantile(0.5), p99 = s.quantile(0.99), p100 = s.quantile(1.0);
  ASSERT_TRUE(p50 && p99 && p100);
  EXPECT_GT(*p50, 1e-6);
  EXPECT_LE(*p50, 2.5e-6);
  EXPECT_LE(*p99, 2.5e-6);  // the 99th of 100 is still a 2 us one
  EXPECT_GT(*p100, 0.25);
  EXPECT_LE(*p100, 0.5);
}

TEST(Histogram, SinceIsTheObservationsBetweenTwoSnapshots) {
  Histogram h;
  h.observe_ns(2'000);
  HistogramSnapshot a = h.snapshot();
  h.observe_ns(3'000'000'000);
  HistogramSnapshot d = h.snapshot().since(a);
  EXPECT_EQ(d.count, 1);
  EXPECT_EQ(d.counts[1], 0);
  EXPECT_NEAR(*d.quantile(0.99), 2.5, 2.5);  // in (2.5, 5]
  EXPECT_GT(*d.quantile(0.99), 2.5);
  HistogramSnapshot m = a;
  m.merge(d);
  EXPECT_EQ(m.count, 2);
}

TEST(PrometheusWriter, WritesFamiliesSamplesAndEscapedLabels) {
  PrometheusWriter w;
  w.family("sleet_tuples_out_total", PrometheusWriter::Type::counter, "Tuples\\emitted\nby a task");
  w.sample("sleet_tuples_out_total", {{"component", "split"}, {"task", "0"}}, int64_t{42});
  w.sample("sleet_tuples_out_total", {{"component", "we\"ird\\na\nme"}}, int64_t{1});
  w.family("sleet_up", PrometheusWriter::Type::gauge, "up");
  w.sample("sleet_up", {}, 0.5);
  EXPECT_EQ(w.text(),
            "# HELP sleet_tuples_out_total Tuples\\\\emitted\\nby a task\n"
            "# TYPE sleet_tuples_out_total counter\n"
            "sleet_tuples_out_total{component=\"split\",task=\"0\"} 42\n"
            "sleet_tuples_out_total{component=\"we\\\"ird\\\\na\\nme\"} 1\n"
            "# HELP sleet_up up\n"
            "# TYPE sleet_up gauge\n"
            "sleet_up 0.5\n");
}

TEST(PrometheusWriter, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram h;
  h.observe_ns(500);             // bucket 0
  h.observe_ns(700);             // bucket 0
  h.observe_ns(20'000'000'000);  // +Inf
  PrometheusWriter w;
  w.family("sleet_execute_seconds", PrometheusWriter::Type::histogram, "latency");
  w.histogram("sleet_execute_seconds", {{"task", "1"}}, h.snapshot());
  const std::string& t = w.text();
  EXPECT_NE(t.find("sleet_execute_seconds_bucket{task=\"1\",le=\"1e-06\"} 2\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_execute_seconds_bucket{task=\"1\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("sleet_execute_seconds_bucket{task=\"1\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("sleet_execute_seconds_count{task=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("sleet_execute_seconds_sum{task=\"1\"} 20.0000012"), std::string::npos) << t;
}

TEST(PrometheusNumber, SpecialValues) {
  EXPECT_EQ(prometheus_number(1.0 / 0.0), "+Inf");
  EXPECT_EQ(prometheus_number(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(prometheus_number(0.0 / 0.0), "NaN");
  EXPECT_EQ(prometheus_number(3), "3");
}

}  // namespace
}  // namespace sleet
