// The coordinator driven through its seams: a fake CheckpointTarget (the test plays the tasks and
// acks with the handles of blobs it wrote through the tasks' SnapshotWriter), a manual clock (so
// timeouts and intervals pass without waiting them out), and the real stores on a real ZooKeeper
// server (CheckpointStore and SnapshotStore are concrete classes over zk::Client).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "checkpointing/coordinator.hpp"
#include "core/crc32c.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/support.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct FakeTarget : CheckpointTarget {
  explicit FakeTarget(std::vector<std::string> names) : names_(std::move(names)) {}
  void trigger_checkpoint(CheckpointId id) override {
    std::lock_guard lk(mu);
    triggered.push_back(id.value);
  }
  void checkpoint_committed(CheckpointId id) override {
    if (on_committed) on_committed(id);
    std::lock_guard lk(mu);
    committed.push_back(id.value);
  }
  size_t task_count() const override { return names_.size(); }
  std::vector<std::string> task_names() const override { return names_; }
  std::vector<int64_t> triggers() {
    std::lock_guard lk(mu);
    return triggered;
  }
  std::vector<int64_t> commits() {
    std::lock_guard lk(mu);
    return committed;
  }
  // Runs on the coordinator's thread at each commit notice, before it is recorded.
  std::function<void(CheckpointId)> on_committed;
  std::mutex mu;
  std::vector<int64_t> triggered, committed;
  std::vector<std::string> names_;
};

class CoordinatorTest : public test::StoreTest {
 protected:
  CoordinatorTest() : StoreTest("sleet-coord", /*inline_limit=*/1024) {}
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_NO_FATAL_FAILURE(claim_generation());
    writer_ = std::make_unique<GenerationSnapshotWriter>(*snaps_, gen_);
    options_.interval = 1000ms;
    options_.timeout = 5000ms;
    options_.now = [this] { return std::chrono::steady_clock::time_point(clock_ms_.load() * 1ms); };
  }
  void TearDown() override {
    coordinator_.reset();
    writer_.reset();
    StoreTest::TearDown();
  }

  Coordinator& start(FakeTarget& target) {
    coordinator_ = std::make_unique<Coordinator>(*store_, *snaps_, options_);
    Manifest base;
    base.topology = topology_;
    base.generation = gen_.value;
    coordinator_->start(target, gen_, CheckpointId{0}, base);
    return *coordinator_;
  }
  void advance(std::chrono::milliseconds d) { clock_ms_ += d.count(); }

  // What a stateful task does at barrier `id`: write its blob, ack with the handle or the error.
  TaskSnapshotData stateful_ack(const std::string& component, int task, int64_t id,
                                const std::string& bytes) {
    TaskSnapshotData d;
    d.component = component;
    d.task = TaskIndex{task};
    d.id = CheckpointId{id};
    d.stateful = true;
    auto h = writer_->write(d.id, snapshot_task_key(component, d.task), bytes);
    if (h.ok())
      d.handle = *h;
    else
      d.error = h.status();
    return d;
  }
  TaskSnapshotData spout_ack(const std::string& component, int task, int64_t id, int64_t next) {
    TaskSnapshotData d;
    d.component = component;
    d.task = TaskIndex{task};
    d.id = CheckpointId{id};
    d.source = true;
    d.positions = {{"in", PartitionId{0}, Offset{next}, "cluster"}};
    return d;
  }

  std::unique_ptr<GenerationSnapshotWriter> writer_;
  std::unique_ptr<Coordinator> coordinator_;
  CoordinatorOptions options_;
  std::atomic<int64_t> clock_ms_{1'000'000};
};

TEST_F(CoordinatorTest, CommitsTheHandlesTheTasksAckedAndTheirGeneration) {
  FakeTarget target({"read[0]", "count[0]", "count[1]"});
  Coordinator& c = start(target);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 1; }, 10s));
  EXPECT_EQ(target.triggers()[0], 1);
  std::string small(100, 's'), large(5000, 'L');  // an inline and a file blob
  TaskSnapshotData a = stateful_ack("count", 0, 1, small), b = stateful_ack("count", 1, 1, large);
  ASSERT_TRUE(a.error.ok() && b.error.ok()) << a.error.to_string() << b.error.to_string();
  BlobHandle ha = a.handle, hb = b.handle;
  c.on_task_snapshot(spout_ack("read", 0, 1, 42));
  c.on_task_snapshot(std::move(a));
  c.on_task_snapshot(std::move(b));
  ASSERT_TRUE(test::wait_until([&] { return target.commits().size() == 1; }, 10s))
      << c.stats().last_abort_reason;
  auto m = store_->load(CheckpointId{1});
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_NE(m->find_task("count", 0), nullptr);
  ASSERT_NE(m->find_task("count", 1), nullptr);
  EXPECT_EQ(m->find_task("count", 0)->handle, ha);
  EXPECT_EQ(m->find_task("count", 1)->handle, hb);
  EXPECT_EQ(hb.kind, BlobHandle::Kind::file);
  EXPECT_NE(ha.location.find("/g" + std::to_string(gen_.value) + "/"), std::string::npos)
      << ha.location;
  EXPECT_EQ(m->generation, gen_.value);
  EXPECT_EQ(m->total_bytes, 5100);
  ASSERT_EQ(m->positions.size(), 1u);
  EXPECT_EQ(m->positions[0].position.next.value, 42);
  EXPECT_EQ(*snaps_->get(m->find_task("count", 1)->handle), large);
  auto s = c.stats();
  EXPECT_EQ(s.last_committed.value, 1);
  EXPECT_EQ(s.last_bytes, 5100);
  EXPECT_EQ(s.committed_offsets, 42);
  EXPECT_TRUE(c.failure().ok());
  // The next checkpoint waits for the interval on the injected clock, then takes the next id.
  EXPECT_EQ(target.triggers().size(), 1u);
  advance(1001ms);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 2; }, 10s));
  EXPECT_EQ(target.triggers()[1], 2);
}

TEST_F(CoordinatorTest, AFailedBlobWriteAbortsWithItsReasonAndNothingIsCommitted) {
  FakeTarget target({"count[0]", "count[1]"});
  Coordinator& c = start(target);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 1; }, 10s));
  TaskSnapshotData ok = stateful_ack("count", 0, 1, std::string(5000, 'x'));
  ASSERT_TRUE(ok.error.ok());
  BlobHandle written = ok.handle;
  TaskSnapshotData bad;
  bad.component = "count";
  bad.task = TaskIndex{1};
  bad.id = CheckpointId{1};
  bad.stateful = true;
  bad.error = Status::IoError("cannot write /cp/x.tmp: No space left on device");
  c.on_task_snapshot(std::move(ok));
  c.on_task_snapshot(std::move(bad));
  ASSERT_TRUE(test::wait_until([&] { return c.stats().aborted == 1; }, 10s));
  auto s = c.stats();
  EXPECT_NE(s.last_abort_reason.find("writing state of count-1"), std::string::npos)
      << s.last_abort_reason;
  EXPECT_NE(s.last_abort_reason.find("No space left on device"), std::string::npos)
      << s.last_abort_reason;
  EXPECT_EQ(s.state, "idle");
  EXPECT_TRUE(target.commits().empty());
  EXPECT_FALSE(store_->latest_id()->has_value());
  // The attempt's blobs are gone: never half a checkpoint.
  EXPECT_EQ(snaps_->get(written).status().code(), Code::corruption);
  EXPECT_TRUE(c.failure().ok());
  // Checkpoint 2 after the interval, and it commits.
  advance(1001ms);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 2; }, 10s));
  EXPECT_EQ(target.triggers()[1], 2);
  c.on_task_snapshot(stateful_ack("count", 0, 2, "a"));
  c.on_task_snapshot(stateful_ack("count", 1, 2, "b"));
  ASSERT_TRUE(test::wait_until([&] { return c.stats().last_committed.value == 2; }, 10s));
}

TEST_F(CoordinatorTest, TimeoutOnTheInjectedClockNamesTheTasksThatDidNotAck) {
  FakeTarget target({"read[0]", "count[0]"});
  Coordinator& c = start(target);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 1; }, 10s));
  c.on_task_snapshot(spout_ack("read", 0, 1, 7));
  advance(5001ms);
  ASSERT_TRUE(test::wait_until([&] { return c.stats().aborted == 1; }, 10s));
  auto s = c.stats();
  EXPECT_EQ(s.last_abort_missing, std::vector<std::string>{"count[0]"});
  EXPECT_NE(s.last_abort_reason.find("timed out after 5000 ms with 1 of 2 tasks"),
            std::string::npos)
      << s.last_abort_reason;
  // A late ack of the aborted checkpoint is stale: checkpoint 2 needs its own acks.
  c.on_task_snapshot(stateful_ack("count", 0, 1, "late"));
  advance(1001ms);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 2; }, 10s));
  c.on_task_snapshot(spout_ack("read", 0, 2, 9));
  c.on_task_snapshot(stateful_ack("count", 0, 2, "on time"));
  ASSERT_TRUE(test::wait_until([&] { return c.stats().last_committed.value == 2; }, 10s));
  auto m = store_->load(CheckpointId{2});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*snaps_->get(m->find_task("count", 0)->handle), "on time");
  EXPECT_FALSE(store_->load(CheckpointId{1}).ok());
  // The late task's blob of the aborted checkpoint 1 is swept by the retention after commit 2
  // (which runs after the commit notice, so it is waited for).
  EXPECT_TRUE(test::wait_until(
      [&] { return *snaps_->list_checkpoints() == std::vector<CheckpointId>{CheckpointId{2}}; },
      10s))
      << snaps_->list_checkpoints()->size();
}

// Retention (deleting the blobs no retained checkpoint needs: up to a second right after a new base
// of a 10 M-key state, bench/RESULTS.md) runs after the commit notice, so the sinks' publish and
// the next checkpoint's trigger do not wait for it.
TEST_F(CoordinatorTest, RetentionRunsAfterTheCommitNotice) {
  FakeTarget target({"count[0]"});
  std::mutex mu;
  std::map<int64_t, std::vector<CheckpointId>> present_at_notice;
  target.on_committed = [&](CheckpointId id) {
    auto l = snaps_->list_checkpoints();
    std::lock_guard lk(mu);
    present_at_notice[id.value] = l.ok() ? *l : std::vector<CheckpointId>{};
  };
  Coordinator& c = start(target);
  // Retention keeps the latest two checkpoints: the commit of 3 deletes checkpoint 1.
  for (int64_t id : {1, 2, 3}) {
    ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == size_t(id); }, 10s));
    c.on_task_snapshot(stateful_ack("count", 0, id, "state " + std::to_string(id)));
    ASSERT_TRUE(test::wait_until([&] { return target.commits().size() == size_t(id); }, 10s))
        << c.stats().last_abort_reason;
    advance(1001ms);
  }
  {
    std::lock_guard lk(mu);
    EXPECT_EQ(present_at_notice[3],
              (std::vector<CheckpointId>{CheckpointId{1}, CheckpointId{2}, CheckpointId{3}}))
        << "checkpoint 1's blobs were deleted before checkpoint 3's commit notice";
  }
  EXPECT_TRUE(test::wait_until(
      [&] {
        return *snaps_->list_checkpoints() ==
               std::vector<CheckpointId>{CheckpointId{2}, CheckpointId{3}};
      },
      10s));
}

TEST_F(CoordinatorTest, AFencedCommitIsTheCoordinatorsFailure) {
  FakeTarget target({"count[0]"});
  Coordinator& c = start(target);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 1; }, 10s));
  ASSERT_TRUE(store_->bump_generation().ok());  // a newer coordinator took over
  c.on_task_snapshot(stateful_ack("count", 0, 1, "x"));
  ASSERT_TRUE(test::wait_until([&] { return !c.failure().ok(); }, 10s));
  EXPECT_EQ(c.failure().code(), Code::fenced) << c.failure().to_string();
  EXPECT_EQ(c.stats().state, "failed");
  EXPECT_TRUE(target.commits().empty());
  advance(10'000ms);  // failed is terminal: no further checkpoint
  c.stop();
  EXPECT_EQ(target.triggers().size(), 1u);
  EXPECT_EQ(c.stats().state, "failed");
}

TEST_F(CoordinatorTest, StopFromAnyLiveStateEndsInStopped) {
  FakeTarget target({"count[0]"});
  Coordinator& c = start(target);
  ASSERT_TRUE(test::wait_until([&] { return target.triggers().size() == 1; }, 10s));
  EXPECT_EQ(c.stats().state, "collecting");
  c.stop();
  EXPECT_EQ(c.stats().state, "stopped");
  EXPECT_TRUE(c.failure().ok());
}

}  // namespace
