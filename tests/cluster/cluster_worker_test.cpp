// Cluster mode in one process against a real ZooKeeper: several Workers with ClusterOptions, each
// on its own thread with its own transport on 127.0.0.1, run one topology whose fields hop
// crosses them. Every output record is checked against the input (each number exactly once, and
// the per-task running sums add up), after: a plain run to drained, a worker that leaves
// mid-run (its tasks move), and a worker that joins mid-run (it takes tasks over). The
// multi-process variants with SIGKILL, SIGSTOP, cut links and a ZooKeeper restart are in
// tests/e2e/cluster_*_test.cpp.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/worker.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Sums the numbers its task sees; emits (n, task, running sum).
class TaskSummer : public Bolt {
 public:
  explicit TaskSummer(const Args&) {}
  Fields output_fields() const override { return {"n", "task", "sum"}; }
  Status open(Context& ctx) override {
    task_ = ctx.task.value;
    return Status::Ok();
  }
  void execute(const Tuple& t, Collector& out) override {
    sum_ += t.get_int("n");
    out.emit({t.get_int("n"), int64_t{task_}, sum_});
  }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(sum_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(sum_);
    return Status::Ok();
  }
  int64_t sum_ = 0;
  int task_ = 0;
};

struct Running {
  std::string id;
  std::unique_ptr<Worker> worker;
  std::thread thread;
  Status result;
  std::mutex mu;
  WorkerProgress last;
  WorkerProgress progress() {
    std::lock_guard lk(mu);
    return last;
  }
};

class ClusterWorkerTest : public test::ZkTest {
 protected:
  void SetUp() override {
    ZkTest::SetUp();
    registry_ = Registry();
    for (auto* d : Registry::global().list()) (void)registry_.add(*d);
    (void)registry_.add(describe<TaskSummer>("TaskSummer", ""));
  }
  void TearDown() override {
    for (auto& r : workers_) stop(*r);
    ZkTest::TearDown();
  }

  TopologySpec spec(int64_t count) {
    return TopologyBuilder("clustered")
        .config("zookeeper.connect", zk_server().connect_string())
        .config("zookeeper.root", root())
        .config("zookeeper.session.timeout.ms", "4000")
        .config("checkpoint.dir", (dir_.path() / "cp").string())
        .config("checkpoint.interval.ms", "100")
        .spout("seq", "SequenceSpout", 2, {{"count", count}, {"batch", int64_t{16}}})
        .bolt("sum", "TaskSummer", 3)
        .bolt("out", "FileSink", 2, {{"path", (dir_.path() / "out").string()}})
        .stream("seq", "sum", Grouping{GroupingType::fields, {"n"}})
        .stream("sum", "out")
        .build();
  }

  Running& start(const TopologySpec& s, const std::string& id,
                 std::chrono::milliseconds progress_interval = 20ms) {
    auto r = std::make_unique<Running>();
    r->id = id;
    WorkerOptions o;
    o.threads = 1;
    o.progress_interval = progress_interval;
    o.cluster.enabled = true;
    o.cluster.id = id;
    o.cluster.advertise = "127.0.0.1:0";
    Running* raw = r.get();
    o.on_progress = [raw](const WorkerProgress& p) {
      std::lock_guard lk(raw->mu);
      raw->last = p;
    };
    r->worker = std::make_unique<Worker>(s, registry_, o);
    r->thread = std::thread([raw] { raw->result = raw->worker->run(); });
    workers_.push_back(std::move(r));
    return *workers_.back();
  }

  void stop(Running& r) {
    if (!r.thread.joinable()) return;
    r.worker->request_stop();
    r.thread.join();
  }

  // Waits until the coordinator's worker reports every spout drained in a committed checkpoint
  // that every worker has made visible.
  void wait_drained(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& r : workers_) {
        if (!r->thread.joinable()) continue;
        auto p = r->progress();
        if (p.leader && p.drained && p.last_checkpoint > 0 &&
            p.cluster_visible >= p.last_checkpoint)
          return;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::string states;
    for (auto& r : workers_) {
      auto p = r->progress();
      states += r->id + ": gen " + std::to_string(p.generation) + " " + p.cluster_state +
                (p.leader ? " leader" : "") + " last " + std::to_string(p.last_checkpoint) +
                " visible " + std::to_string(p.cluster_visible) + "; ";
    }
    FAIL() << "not drained within " << limit.count() << " s: " << states;
  }

  template <class F>
  bool wait_for(F f, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (f()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  // Every number 0..count-1 exactly once, and each task's final running sum is the sum of the
  // numbers that task emitted.
  void expect_exact(int64_t count) {
    std::map<int64_t, int> seen;
    std::map<int64_t, int64_t> max_sum, sum_of_n;
    for (auto& e : fs::directory_iterator(dir_.path() / "out")) {
      if (e.path().filename().string().rfind("part-", 0) != 0) continue;
      std::istringstream in(test::read_file(e.path()));
      int64_t n, task, sum;
      while (in >> n >> task >> sum) {
        ++seen[n];
        max_sum[task] = std::max(max_sum[task], sum);
        sum_of_n[task] += n;
      }
    }
    int64_t missing = 0, dup = 0;
    for (int64_t n = 0; n < count; ++n) {
      auto it = seen.find(n);
      if (it == seen.end())
        ++missing;
      else if (it->second > 1)
        ++dup;
    }
    EXPECT_EQ(missing, 0) << "numbers missing from the output";
    EXPECT_EQ(dup, 0) << "numbers in the output more than once";
    EXPECT_EQ(static_cast<int64_t>(seen.size()), count);
    EXPECT_EQ(max_sum, sum_of_n) << "a task's running sum does not match its records";
  }

  test::TempDir dir_{"sleet-cluster"};
  Registry registry_;
  std::vector<std::unique_ptr<Running>> workers_;
};

TEST_F(ClusterWorkerTest, TwoWorkersRunToDrainedExactly) {
  const int64_t count = 20000;
  auto s = spec(count);
  start(s, "a");
  start(s, "b");
  wait_drained(60s);
  // Both ran tasks: the fields hop crossed workers.
  for (auto& r : workers_) EXPECT_GT(r->progress().local_tasks, 0) << r->id;
  for (auto& r : workers_) stop(*r);
  for (auto& r : workers_) EXPECT_TRUE(r->result.ok()) << r->id << ": " << r->result.to_string();
  expect_exact(count);
}

TEST_F(ClusterWorkerTest, AWorkerThatLeavesHandsItsTasksOver) {
  const int64_t count = 400000;
  auto s = spec(count);
  start(s, "a");
  Running& b = start(s, "b");
  ASSERT_TRUE(
      wait_for([&] { return b.progress().local_tasks > 0 && b.progress().visible > 0; }, 60s));
  stop(b);  // leaves: its membership node goes, the leader reassigns
  wait_drained(120s);
  EXPECT_EQ(workers_[0]->progress().local_tasks, 2 + 3 + 2) << "a runs every task now";
  stop(*workers_[0]);
  expect_exact(count);
}

TEST_F(ClusterWorkerTest, AWorkerThatJoinsTakesTasksOver) {
  const int64_t count = 400000;
  auto s = spec(count);
  Running& a = start(s, "a");
  ASSERT_TRUE(wait_for([&] { return a.progress().last_checkpoint > 0; }, 60s));
  EXPECT_EQ(a.progress().local_tasks, 2 + 3 + 2);
  Running& b = start(s, "b");
  ASSERT_TRUE(wait_for([&] { return b.progress().local_tasks > 0; }, 60s))
      << "the joining worker got no tasks";
  wait_drained(120s);
  for (auto& r : workers_) stop(*r);
  expect_exact(count);
}

// The metrics server's /api/status is the worker's status document refreshed every second in
// cluster mode too, whatever the worker's report interval: here an hour, so no report is made
// during the test (before the fix the document was only refreshed with a report).
TEST_F(ClusterWorkerTest, ApiStatusRefreshesEverySecondWhateverTheReportInterval) {
  auto s = spec(200000);
  const int port = test::free_port();
  s.config["metrics.port"] = std::to_string(port);
  start(s, "a", std::chrono::hours(1));
  auto status = [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    auto r = c.Get("/api/status");
    return r && r->status == 200 ? r->body : std::string();
  };
  auto number = [](const std::string& doc, const std::string& key) {
    std::smatch m;
    return std::regex_search(doc, m, std::regex("\"" + key + "\":([0-9.]+)")) ? std::stod(m[1])
                                                                              : -1.0;
  };
  std::string first, second;
  ASSERT_TRUE(wait_for(
      [&] {
        first = status();
        return first.find("\"cluster_state\":\"running\"") != std::string::npos &&
               number(first, "records_in") > 0;
      },
      60s))
      << first;
  ASSERT_TRUE(wait_for(
      [&] {
        second = status();
        return number(second, "elapsed_s") >= number(first, "elapsed_s") + 1.0;
      },
      10s))
      << "not refreshed within 10 s:\n"
      << first << "\n"
      << second;
  EXPECT_NE(second.find("\"components\":[{\"id\":\"seq\""), std::string::npos) << second;
}

}  // namespace
