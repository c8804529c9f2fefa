// examples/windowed_count/windowed_count.yaml end to end: a real `sleet worker`, a real ZooKeeper
// server, the mock Kafka cluster in this process. Input records carry Kafka timestamps, out of
// order within each partition (up to 3 s behind, the topology allows 5 s), produced with the
// test's librdkafka producer (kcat cannot set timestamps). The output, one line per key and
// 10-second window, must equal what awk computes from the input file: exactly, each window once,
// undisturbed and under random SIGKILLs. Records far behind the watermark must come out of the
// `late` side stream exactly once, and count in no window.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/zk_server.hpp"
#include "kafka/kafka.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/suite_servers.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int kPartitions = 4;
const std::string kExample =
    std::string(SLEET_SOURCE_DIR) + "/examples/windowed_count/windowed_count.yaml";

struct Env : test::SuiteServers {};
Env* g_env = nullptr;

class WindowedCount : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_env = new Env;
    test::start_suite_servers(*g_env, "sleet-wc");
  }
  static void TearDownTestSuite() {
    delete g_env;
    g_env = nullptr;
  }

  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    work_ = g_env->dir->path() / name_;
    fs::create_directories(work_);
    topic_ = "wc_" + name_;
    ASSERT_TRUE(g_env->kafka->create_topic(topic_, kPartitions).ok());
  }

  // `n` records per partition over a few minutes of event time, 20 keys, each up to 3 s behind
  // the partition's largest timestamp so far; then one far-future record per partition (key
  // "~end") that moves every watermark past the last real window. The real records also go to
  // input.txt as "key timestamp". In two phases: the first half of every partition (phase1_),
  // then the second half (phase2_) with kLatePerPartition records mixed in whose timestamps
  // lie in windows ending by kLateBefore, far behind: the test lets phase 1 drain first, and
  // once its windows up to kPhase1End are visible both counts tasks have committed a watermark
  // past them, so these records are late in every run, replayed or not. They go to late.txt as
  // "key timestamp value", and must come out of the `late` stream, not into any count.
  static constexpr int kLatePerPartition = 15;
  static constexpr int64_t kT0 = 1'700'000'000'000;  // ms, a multiple of the 10 s window
  static constexpr int64_t kLateBefore = kT0 + 30'000;
  static constexpr int64_t kPhase1End = kT0 + 60'000;

  void produce_input(int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::ofstream in(work_ / "input.txt");
    std::ofstream late(work_ / "late.txt");
    int64_t last = kT0;
    for (int p = 0; p < kPartitions; ++p) {
      std::vector<test::ProduceRecord> one, two;
      for (int i = 0; i < n; ++i) {
        const int64_t base = kT0 + int64_t{i} * 97 + p * 13;
        const int64_t ts = base - static_cast<int64_t>(rng() % 3000);
        std::string key = "k" + std::to_string(rng() % 20);
        in << key << " " << ts << "\n";
        last = std::max(last, base);
        if (i < n / 2 && ts >= kPhase1End - 10'000 && ts < kPhase1End) phase1_keys_.insert(key);
        test::ProduceRecord r;
        r.key = key;
        r.value = std::to_string(i);
        r.partition = p;
        r.timestamp = ts;
        (i < n / 2 ? one : two).push_back(std::move(r));
      }
      for (int j = 0; j < kLatePerPartition; ++j) {
        test::ProduceRecord r;
        r.key = "k" + std::to_string(rng() % 20);
        r.value = "late-" + std::to_string(p) + "-" + std::to_string(j);
        r.partition = p;
        r.timestamp = kT0 + static_cast<int64_t>(rng() % (kLateBefore - kT0));
        late << *r.key << " " << r.timestamp << " " << r.value << "\n";
        two.insert(two.begin() + static_cast<ptrdiff_t>(rng() % (two.size() + 1)), std::move(r));
      }
      phase1_.push_back(std::move(one));
      phase2_.push_back(std::move(two));
    }
    for (int p = 0; p < kPartitions; ++p) {
      test::ProduceRecord r;
      r.key = "~end";
      r.value = "end";
      r.partition = p;
      r.timestamp = last + 60'000;
      phase2_[static_cast<size_t>(p)].push_back(std::move(r));
    }
    batches_ = std::move(phase1_);
  }
  // Produces the next `fraction` of every partition's records of the current phase (all that
  // remain if 1).
  void feed(double fraction) {
    for (auto& b : batches_) {
      size_t n = fraction >= 1 ? b.size() : static_cast<size_t>(b.size() * fraction);
      n = std::min(n, b.size());
      if (n == 0) continue;
      test::produce(g_env->kafka->bootstrap(), topic_,
                    std::vector<test::ProduceRecord>(b.begin(), b.begin() + n));
      b.erase(b.begin(), b.begin() + n);
    }
  }
  // After phase 1 drained: every key's window ending at kPhase1End is visible, so each counts
  // task committed a watermark past it (the premise of the late records); then phase 2.
  void start_phase2() {
    ASSERT_GT(phase1_keys_.size(), 10u);
    std::set<std::string> seen;
    const std::string tail =
        "\t" + std::to_string(kPhase1End - 10'000) + "\t" + std::to_string(kPhase1End) + "\t";
    for (const std::string& l : output())
      if (auto tab = l.find('\t'); tab != std::string::npos && l.find(tail) == tab)
        seen.insert(l.substr(0, tab));
    ASSERT_EQ(seen, phase1_keys_) << "phase 1 did not fire its windows up to " << kPhase1End;
    batches_ = std::move(phase2_);
  }

  test::Child start_worker(bool until_drained) {
    std::vector<std::string> argv = {SLEET_CLI_PATH, "worker", kExample};
    if (until_drained) argv.push_back("--until-drained");
    std::map<std::string, std::string> env = {
        {"TOPOLOGY_NAME", "wc_" + name_},
        {"CHECKPOINT_INTERVAL_MS", "200"},
        {"KAFKA_BOOTSTRAP", g_env->kafka->bootstrap()},
        {"ZOOKEEPER_CONNECT", g_env->zk->connect_string()},
        {"EVENTS_TOPIC", topic_},
        {"OUTPUT_DIR", (work_ / "out").string()},
        {"LATE_DIR", (work_ / "late").string()},
        {"CHECKPOINT_DIR", (work_ / "checkpoints").string()},
    };
    auto log = (work_ / "worker.log").string();
    return test::Child::spawn(argv, env, log, log);
  }

  std::string log_tail() {
    std::string l = test::read_file(work_ / "worker.log");
    return l.size() > 4000 ? l.substr(l.size() - 4000) : l;
  }

  void run_to_drained(std::chrono::seconds budget = 60s) {
    auto w = start_worker(true);
    auto st = w.wait(budget);
    ASSERT_TRUE(st.has_value()) << "worker did not drain in time; log:\n" << log_tail();
    ASSERT_EQ(*st, 0) << "worker failed; log:\n" << log_tail();
  }

  // awk, sharing nothing with Sleet: "key start end count" per key and 10 s window.
  std::vector<std::string> expected() {
    auto r = test::run_command({"awk",
                                "{s=int($2/10000)*10000; c[$1 \"\\t\" sprintf(\"%.0f\", s) \"\\t\" "
                                "sprintf(\"%.0f\", s+10000)]++}"
                                " END{for(k in c) printf \"%s\\t%d\\n\", k, c[k]}",
                                (work_ / "input.txt").string()},
                               30s);
    EXPECT_EQ(r.status, 0) << r.err;
    auto lines = test::split_lines(r.out);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  // The late records as the `late` stream writes them: key, value, timestamp, source component
  // and stream (awk over late.txt).
  std::vector<std::string> expected_late() {
    auto r =
        test::run_command({"awk", "{printf \"%s\\t%s\\t%s\\tevents\\tdefault\\n\", $1, $3, $2}",
                           (work_ / "late.txt").string()},
                          30s);
    EXPECT_EQ(r.status, 0) << r.err;
    auto lines = test::split_lines(r.out);
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  std::vector<std::string> output(const char* dir = "out") {
    std::vector<std::string> lines;
    if (!fs::exists(work_ / dir)) return lines;
    for (auto& e : fs::directory_iterator(work_ / dir)) {
      if (e.path().filename().string().rfind("part-", 0) != 0) continue;
      for (auto& l : test::split_lines(test::read_file(e.path())))
        if (!l.empty()) lines.push_back(l);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  void check() {
    auto want = expected(), got = output();
    ASSERT_GT(want.size(), 50u);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "first difference: " << [&] {
      auto m = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
      return (m.first == got.end() ? "(none)" : *m.first) + " vs expected " +
             (m.second == want.end() ? "(none)" : *m.second);
    }();
    auto want_late = expected_late(), got_late = output("late");
    EXPECT_EQ(want_late.size(), size_t{kPartitions * kLatePerPartition});
    EXPECT_EQ(got_late, want_late);
  }

  std::string name_, topic_;
  fs::path work_;
  std::vector<std::vector<test::ProduceRecord>> batches_, phase1_, phase2_;
  std::set<std::string> phase1_keys_;  // keys with a phase-1 record in the window ending there
};

}  // namespace

TEST_F(WindowedCount, OutOfOrderInputMatchesAwk) {
  produce_input(1500, 1);
  feed(1);
  run_to_drained();
  if (HasFatalFailure()) return;
  start_phase2();  // a clean restart from phase 1's last checkpoint, no crash
  if (HasFatalFailure()) return;
  feed(1);
  run_to_drained();
  check();
}

// Random SIGKILLs while input keeps arriving (in both phases), then a run to the end: the same
// windows and late records, each once.
TEST_F(WindowedCount, ChaosRandomKillsMatchAwk) {
  const int kills = getenv("SLEET_SOAK") ? 30 : 5;
  produce_input(1500, 2);
  std::mt19937_64 rng(77);
  auto chaos = [&](int n) {
    feed(1.0 / (n + 1));
    for (int k = 0; k < n; ++k) {
      auto w = start_worker(false);
      std::uniform_int_distribution<int> ms(300, 1500);
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms(rng));
      feed(1.0 / (n - k));
      while (std::chrono::steady_clock::now() < until && w.running())
        std::this_thread::sleep_for(10ms);
      ASSERT_TRUE(w.running()) << "worker died on its own; log:\n" << log_tail();
      w.signal(SIGKILL);
      ASSERT_EQ(w.wait(10s).value_or(-1), 128 + SIGKILL);
    }
    feed(1);
    run_to_drained(90s);
  };
  chaos(kills / 2);
  if (HasFatalFailure()) return;
  start_phase2();
  if (HasFatalFailure()) return;
  chaos(kills - kills / 2);
  if (HasFatalFailure()) return;
  check();
}
