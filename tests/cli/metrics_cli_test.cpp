// Watching a running topology with real observers: a real Prometheus server scrapes a `sleet run`
// worker's /metrics, headless Chromium renders its live page, promtool checks the exposition.
// One `sleet run` of the wordcount example (input paced, so it flows for ~20 s) serves all three.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";
constexpr int64_t kSampleLines = 10000;  // examples/wordcount/sample.txt

bool have(const char* exe) {
  return test::run_command({"sh", "-c", std::string("command -v ") + exe}, 10s).status == 0;
}

// "http://127.0.0.1:PORT" -> PORT.
int port_of(const std::string& url) {
  auto c = url.rfind(':');
  return c == std::string::npos ? 0 : std::atoi(url.c_str() + c + 1);
}

std::string get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  auto r = c.Get(path.c_str());
  return r && r->status == 200 ? r->body : std::string();
}

class WatchingATopology : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<test::TempDir>("sleet-metrics");
    const auto state = dir_->path() / "state";
    log_ = (dir_->path() / "run.log").string();
    run_ = std::make_unique<test::Child>(test::Child::spawn(
        {SLEET_CLI_PATH, "run", kExample, "--input-rate", "500", "--state-dir", state.string()},
        {{"SLEET_PLUGIN_DIR", std::string(SLEET_BINARY_DIR) + "/plugins"},
         {"OUTPUT_DIR", (dir_->path() / "out").string()},
         {"CHECKPOINT_INTERVAL_MS", "300"}},
        log_, log_));
    test::wait_until(
        [&] {
          std::string s = test::read_file(state / "status.json");
          std::smatch m;
          if (!std::regex_search(s, m, std::regex("\"metrics_url\":\"(http://[^\"]+)\"")))
            return false;
          url_ = m[1];
          return true;
        },
        60s);
  }
  static void TearDownTestSuite() {
    if (run_) run_->stop(10s);
    run_.reset();
    dir_.reset();
  }
  static std::unique_ptr<test::TempDir> dir_;
  static std::unique_ptr<test::Child> run_;
  static std::string log_, url_;
};
std::unique_ptr<test::TempDir> WatchingATopology::dir_;
std::unique_ptr<test::Child> WatchingATopology::run_;
std::string WatchingATopology::log_, WatchingATopology::url_;

TEST_F(WatchingATopology, SupervisorPrintsThePageUrlOnce) {
  ASSERT_FALSE(url_.empty()) << test::read_file(log_);
  ASSERT_TRUE(test::wait_until(
      [&] { return test::read_file(log_).find("watch it: " + url_ + "/") != std::string::npos; },
      10s))
      << test::read_file(log_);
  std::string log = test::read_file(log_);
  EXPECT_EQ(log.find("watch it: "), log.rfind("watch it: ")) << log;
}

TEST_F(WatchingATopology, PageShowsComponentsAndANonZeroRateInChromium) {
  ASSERT_FALSE(url_.empty()) << test::read_file(log_);
  if (!have("chromium"))
    GTEST_SKIP() << "chromium is not installed (scripts/lib/setup.sh installs it)";
  const fs::path profile = dir_->path() / "chromium";
  auto dump = test::run_command({"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                 "--user-data-dir=" + profile.string(), "--dump-dom",
                                 "--virtual-time-budget=4000", url_ + "/"},
                                60s, {{"HOME", dir_->path().string()}});
  ASSERT_EQ(dump.status, 0) << dump.err;
  for (const char* c : {"sentences", "split", "count", "out"})
    EXPECT_NE(dump.out.find("id=\"node-" + std::string(c) + "\""), std::string::npos)
        << c << " not in the graph:\n"
        << dump.out;
  // The spout's row: its out rate, drawn by the script from /api/status.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      dump.out, m, std::regex("data-component=\"sentences\">.*?class=\"rate-out\">([0-9.]+k?M?)<")))
      << dump.out;
  EXPECT_NE(m[1].str(), "0.0") << "the spout's rate is zero while input flows";
  EXPECT_NE(dump.out.find("completed"), std::string::npos) << "no checkpoint in the history";
  // The sinks table: the FileSink's row with its published epochs.
  EXPECT_TRUE(std::regex_search(
      dump.out, m, std::regex("data-sink=\"out\">.*?class=\"epochs-published\">([0-9]+)<")))
      << dump.out;
  // The screenshot, a test artifact under the build tree (docs/metrics-page.png is one).
  const fs::path shot = fs::path(SLEET_BINARY_DIR) / "test-artifacts" / "metrics-page.png";
  fs::create_directories(shot.parent_path());
  auto s = test::run_command(
      {"chromium", "--headless", "--no-sandbox", "--disable-gpu",
       "--user-data-dir=" + profile.string(), "--hide-scrollbars", "--window-size=1100,900",
       "--virtual-time-budget=4000", "--screenshot=" + shot.string(), url_ + "/"},
      60s, {{"HOME", dir_->path().string()}});
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(fs::exists(shot) && fs::file_size(shot) > 10000) << s.err;
}

TEST_F(WatchingATopology, PromtoolAcceptsTheExposition) {
  ASSERT_FALSE(url_.empty()) << test::read_file(log_);
  if (!have("promtool")) GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  std::string text = get(port_of(url_), "/metrics");
  ASSERT_NE(text.find("sleet_tuples_out_total{"), std::string::npos) << text;
  for (const char* name :
       {"sleet_execute_seconds_bucket", "sleet_backpressure_seconds_total",
        "sleet_idle_seconds_total", "sleet_queue_depth{", "sleet_kafka_consumer_lag{",
        "sleet_checkpoint_duration_seconds", "sleet_process_resident_memory_bytes",
        "sleet_sink_epochs_pending{", "sleet_sink_epochs_published_total{",
        "sleet_sink_publish_seconds_bucket{"})
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  auto r = test::run_command({"promtool", "check", "metrics"}, 30s, {}, text);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(WatchingATopology, PrometheusScrapesTheRecordsTheTestProduced) {
  ASSERT_FALSE(url_.empty()) << test::read_file(log_);
  if (!have("prometheus")) GTEST_SKIP() << "prometheus is not installed (scripts/lib/setup.sh)";
  const int port = test::free_port();
  const fs::path pdir = dir_->path() / "prometheus";
  fs::create_directories(pdir);
  test::write_file(pdir / "prometheus.yml",
                   "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "scrape_configs:\n  - job_name: sleet\n    static_configs:\n"
                   "      - targets: ['127.0.0.1:" +
                       std::to_string(port_of(url_)) + "']\n");
  const std::string plog = (pdir / "prometheus.log").string();
  auto prom =
      test::Child::spawn({"prometheus", "--config.file=" + (pdir / "prometheus.yml").string(),
                          "--storage.tsdb.path=" + (pdir / "data").string(),
                          "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                         {}, plog, plog);
  EXPECT_TRUE(test::wait_until(
      [&] { return get(port, "/api/v1/targets").find("\"health\":\"up\"") != std::string::npos; },
      30s, 200ms))
      << get(port, "/api/v1/targets") << test::read_file(plog);
  // Every sample line is loaded at 500/s: the spout's emitted total reaches the line count.
  std::string last;
  const std::string q =
      "/api/v1/query?query=sum(sleet_tuples_out_total%7Bcomponent%3D%22sentences%22%7D)";
  bool reached = test::wait_until(
      [&] {
        last = get(port, q);
        std::smatch m;
        return std::regex_search(last, m, std::regex("\"value\":\\[[0-9.]+,\"([0-9]+)\"\\]")) &&
               std::stoll(m[1]) == kSampleLines;
      },
      50s, 500ms);
  EXPECT_TRUE(reached) << last;
  // The sink's published epochs against what the test sees itself: FileSink makes each epoch
  // that had records visible as one file part-out-<task>-<epoch>. Once the input is drained no
  // epoch has records, so both stop moving and must meet.
  const fs::path out = dir_->path() / "out";
  auto files = [&] {
    int64_t n = 0;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(out, ec))
      n += e.path().filename().string().rfind("part-out-", 0) == 0;
    return n;
  };
  const std::string qs =
      "/api/v1/query?query=sum(sleet_sink_epochs_published_total%7Bcomponent%3D%22out%22%7D)";
  int64_t scraped = -1, seen = -1;
  bool met = test::wait_until(
      [&] {
        last = get(port, qs);
        std::smatch m;
        if (!std::regex_search(last, m, std::regex("\"value\":\\[[0-9.]+,\"([0-9]+)\"\\]")))
          return false;
        scraped = std::stoll(m[1]);
        seen = files();
        return scraped > 0 && scraped == seen;
      },
      30s, 500ms);
  EXPECT_TRUE(met) << "published epochs " << scraped << " vs files " << seen << "\n" << last;
  // Every publish after a commit is timed: the histogram has samples, at most one per epoch.
  const std::string qc =
      "/api/v1/query?query=sum(sleet_sink_publish_seconds_count%7Bcomponent%3D%22out%22%7D)";
  last = get(port, qc);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(last, m, std::regex("\"value\":\\[[0-9.]+,\"([0-9]+)\"\\]")))
      << last;
  EXPECT_GT(std::stoll(m[1]), 0) << last;
  EXPECT_LE(std::stoll(m[1]), scraped) << last;
  prom.stop(10s);
}

}  // namespace
