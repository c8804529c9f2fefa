// WorkerMetrics from hand-made task stats: the JSON fields the status document and the page read
// (names as agreed with `sleet status`), rates over the refresh interval, partition lag, user
// counters, and an exposition that promtool (Debian package prometheus) accepts.
#include "cluster/metrics.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/metrics.hpp"
#include "core/sink_metrics.hpp"
#include "runtime/engine.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

namespace {

TopologySpec spec() {
  TopologySpec s;
  s.name = "wc";
  s.components.push_back({"in", "KafkaSpout", ComponentKind::spout, 1});
  s.components.push_back({"split", "SplitSentence", ComponentKind::bolt, 1});
  s.components.push_back({"out", "FileSink", ComponentKind::bolt, 1});
  StreamSpec a, b;
  a.from = "in";
  a.to = "split";
  b.from = "split";
  b.to = "out";
  s.streams = {a, b};
  return s;
}

std::vector<TaskStats> stats(int64_t spout_out, int64_t split_in, int64_t bp_ns) {
  TaskStats in;
  in.component = "in";
  in.spout = true;
  in.counters = {{"out", spout_out},
                 {"fetch_wakes", 2},
                 {partition_gauge_name("next_offset", "sentences", 0), spout_out},
                 {partition_gauge_name("high_watermark", "sentences", 0), 1000}};
  TaskStats split;
  split.component = "split";
  split.counters = {
      {"in", split_in}, {"out", split_in * 5}, {"words.long", 7}, {"skipped", 1}, {"failed", 1}};
  split.backpressure_ns = bp_ns;
  split.queue_depth = 3;
  Histogram h;
  for (int i = 0; i < 100; ++i) h.observe_ns(20'000);
  split.execute = h.snapshot();
  TaskStats out;
  out.component = "out";
  // An exactly-once sink task: 1 epoch pre-committed, 4 published, 3 of them timed.
  out.counters = {{"in", split_in * 5}, {kSinkEpochsPending, 1}, {kSinkEpochsPublished, 4}};
  out.queue_depth = 0;
  Histogram pub;
  pub.observe_ns(3'000'000);  // 3 ms: in (2.5 ms, 5 ms]
  pub.observe_ns(4'000'000);
  pub.observe_ns(40'000'000);  // 40 ms: in (25 ms, 50 ms]
  out.publish = pub.snapshot();
  return {in, split, out};
}

TEST(WorkerMetrics, StatusFieldsHaveTheAgreedKeysAndRatesOverTheInterval) {
  auto s = spec();
  WorkerMetrics m(s, "local");
  m.set_url("http://127.0.0.1:1234");
  m.set_restarts({{"2026-12-01T22:00:00Z", "killed by signal 9"}});
  auto t0 = std::chrono::steady_clock::now();
  m.refresh_from(stats(100, 100, 0), nullptr, 0, t0);
  m.refresh_from(stats(300, 300, 500'000'000), nullptr, 0, t0 + 2s);
  std::string j = m.json_fields();
  EXPECT_EQ(j.rfind(",\"metrics_url\":\"http://127.0.0.1:1234\",\"components\":[", 0), 0u) << j;
  EXPECT_NE(j.find("{\"id\":\"in\",\"kind\":\"spout\",\"tasks\":1,\"tuples_in\":0,\"tuples_out\":"
                   "300,\"rate_in\":0,\"rate_out\":100,\"execute_p99_seconds\":null,"
                   "\"backpressure_share\":0,\"lag\":700,"),
            std::string::npos)
      << j;
  // split: 200 more in 2 s; blocked 0.5 s of 2 s.
  EXPECT_NE(j.find("{\"id\":\"split\",\"kind\":\"bolt\",\"tasks\":1,\"tuples_in\":300,"
                   "\"tuples_out\":1500,\"rate_in\":100,\"rate_out\":500,"
                   "\"execute_p99_seconds\":2.4"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"backpressure_share\":0.25,\"lag\":null,\"skipped\":1,\"dead_lettered\":0,"
                   "\"failed\":1,\"task_list\":[{\"task\":0,\"worker\":\"local\",\"tuples_in\":300,"
                   "\"tuples_out\":1500,\"queue_depth\":3}]}"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("{\"id\":\"out\",\"kind\":\"sink\""), std::string::npos) << j;
  // The sink keys: the sink's epochs (p99 of 3, 4 and 40 ms: in the (25, 50] ms bucket); only
  // for a component whose tasks report epochs.
  EXPECT_NE(j.find("\"failed\":0,\"sink_epochs_pending\":1,\"sink_epochs_published\":4,"
                   "\"sink_publish_p99_seconds\":0.04"),
            std::string::npos)
      << j;
  EXPECT_EQ(j.find("sink_epochs_pending"), j.rfind("sink_epochs_pending")) << j;
  EXPECT_NE(j.find("\"checkpoints\":[],\"restarts\":[{\"at\":\"2026-12-01T22:00:00Z\",\"reason\":"
                   "\"killed by signal 9\"}],\"partitions\":[{\"component\":\"in\",\"topic\":"
                   "\"sentences\",\"partition\":0,\"next_offset\":300,\"high_watermark\":1000,"
                   "\"lag\":700}]"),
            std::string::npos)
      << j;
  // Before any status line was published, /api/status is the fields alone, as an object.
  EXPECT_EQ(m.status_document(), "{\"topology\":\"wc\"" + j + "}");
}

TEST(WorkerMetrics, ExpositionHasTheSeriesAndPromtoolAcceptsIt) {
  auto s = spec();
  WorkerMetrics m(s, "w\"1");
  m.refresh_from(stats(5, 5, 1000), nullptr, 0, std::chrono::steady_clock::now());
  std::string t = m.prometheus();
  EXPECT_NE(t.find("sleet_tuples_out_total{topology=\"wc\",component=\"in\",task=\"0\","
                   "worker=\"w\\\"1\"} 5\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_user_total{topology=\"wc\",component=\"split\",task=\"0\","
                   "worker=\"w\\\"1\",name=\"words.long\"} 7\n"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("name=\"fetch_wakes\""), std::string::npos) << "a built-in is no user counter";
  EXPECT_EQ(t.find("name=\"sleet.partition"), std::string::npos);
  EXPECT_NE(t.find("sleet_kafka_consumer_lag{topology=\"wc\",component=\"in\",task=\"0\","
                   "worker=\"w\\\"1\",topic=\"sentences\",partition=\"0\"} 995\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_execute_seconds_bucket{topology=\"wc\",component=\"split\""),
            std::string::npos);
  EXPECT_NE(t.find("sleet_queue_depth{topology=\"wc\",component=\"split\",task=\"0\",worker="
                   "\"w\\\"1\"} 3\n"),
            std::string::npos);
  // Per sink task: epochs pending and published, and the publish latency histogram; none for a
  // task that is no epoch-reporting sink, and no user counter of their names.
  const std::string out_labels = "{topology=\"wc\",component=\"out\",task=\"0\",worker=\"w\\\"1\"";
  EXPECT_NE(t.find("sleet_sink_epochs_pending" + out_labels + "} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("sleet_sink_epochs_published_total" + out_labels + "} 4\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE sleet_sink_publish_seconds histogram\n"), std::string::npos) << t;
  EXPECT_NE(t.find("sleet_sink_publish_seconds_bucket" + out_labels + ",le=\"0.0025\"} 0\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_sink_publish_seconds_bucket" + out_labels + ",le=\"0.005\"} 2\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_sink_publish_seconds_bucket" + out_labels + ",le=\"+Inf\"} 3\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_sink_publish_seconds_count" + out_labels + "} 3\n"), std::string::npos)
      << t;
  EXPECT_NE(t.find("sleet_sink_publish_seconds_sum" + out_labels + "} 0.047"), std::string::npos)
      << t;
  EXPECT_EQ(t.find("sleet_sink_epochs_pending{topology=\"wc\",component=\"split\""),
            std::string::npos);
  EXPECT_EQ(t.find("name=\"sleet.sink"), std::string::npos) << t;
  auto have = test::run_command({"sh", "-c", "command -v promtool"}, 10s);
  if (have.status != 0) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  auto r = test::run_command({"promtool", "check", "metrics"}, 30s, {}, t);
  EXPECT_EQ(r.status, 0) << r.out << r.err << t;
}

}  // namespace

namespace {

// The supervisor's launcher hands a restarted worker its restart history in SLEET_RESTARTS.
TEST(WorkerMetrics, RestartsComeFromTheEnvironment) {
  ::unsetenv("SLEET_RESTARTS");
  EXPECT_TRUE(restarts_from_env().empty());
  ::setenv("SLEET_RESTARTS",
           "2026-12-01T22:00:00Z\tkilled by signal 9\n2026-12-01T22:00:05Z\texit 1: lost\n"
           "garbage line\n",
           1);
  auto r = restarts_from_env();
  ::unsetenv("SLEET_RESTARTS");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].at, "2026-12-01T22:00:00Z");
  EXPECT_EQ(r[0].reason, "killed by signal 9");
  EXPECT_EQ(r[1].reason, "exit 1: lost");
  EXPECT_EQ(iso8601_utc(std::chrono::system_clock::time_point(std::chrono::seconds(0))),
            "1970-01-01T00:00:00Z");
}

}  // namespace
