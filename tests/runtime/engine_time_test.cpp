// Time in the engine, without Kafka: processing-time timers (Context::schedule_every,
// Component::on_timer) and event time (Tuple::timestamp, spout watermarks travelling in-band,
// the minimum over input channels, idle inputs). docs/time-and-windows.md.
#include <gtest/gtest.h>

#include <boost/fiber/all.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "runtime/engine.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

namespace {

// --- timers ---------------------------------------------------------------------------------

std::atomic<int64_t> g_ticks{0};
std::atomic<int64_t> g_overlaps{0};  // on_timer while execute() ran, or on another fiber

// Passes tuples on (n) and, on every tick, emits n = -1; counts both in its state.
class TickBolt : public Bolt {
 public:
  explicit TickBolt(const Args& a) : interval_(a.int_or("interval_ms", 2)) {}
  Fields output_fields() const override { return {"n"}; }
  Status open(Context& ctx) override { return ctx.schedule_every(interval_); }
  void execute(const Tuple& t, Collector& out) override {
    in_execute_ = true;
    fiber_ = boost::this_fiber::get_id();
    out.emit({t.at(0)});
    boost::this_fiber::yield();  // another fiber may run now, never this task's timer
    in_execute_ = false;
  }
  Status on_timer(Collector& out) override {
    if (in_execute_ ||
        (fiber_ != boost::fibers::fiber::id() && fiber_ != boost::this_fiber::get_id()))
      g_overlaps.fetch_add(1);
    ++ticks_;
    g_ticks.fetch_add(1);
    out.emit({int64_t{-1}});
    return Status::Ok();
  }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(ticks_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(ticks_);
    return Status::Ok();
  }
  std::chrono::milliseconds interval_;
  bool in_execute_ = false;
  boost::fibers::fiber::id fiber_;
  int64_t ticks_ = 0;
};

// Counts ticks (n == -1) and other tuples; both in its state.
class TickCounter : public Bolt {
 public:
  explicit TickCounter(const Args&) {}
  void execute(const Tuple& t, Collector&) override {
    if (t.get_int("n") == -1)
      ++ticks_;
    else
      ++tuples_;
  }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(ticks_, tuples_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(ticks_, tuples_);
    return Status::Ok();
  }
  int64_t ticks_ = 0, tuples_ = 0;
};

class BadInterval : public Bolt {
 public:
  explicit BadInterval(const Args&) {}
  Status open(Context& ctx) override { return ctx.schedule_every(0ms); }
  void execute(const Tuple&, Collector&) override {}
};

// --- event time -----------------------------------------------------------------------------

// Task t of P emits n = t, t + P, ... below `count` (task 1: below `count1`), n with event time
// n * 10, in order, a few per turn; its watermark is the last timestamp emitted. Once done it
// reports idle if `idle_when_done` (task 1 only).
class TimedSpout : public Spout {
 public:
  explicit TimedSpout(const Args& a)
      : count_(a.int_or("count", 1000)),
        count1_(a.int_or("count1", a.int_or("count", 1000))),
        idle_(a.bool_or("idle_when_done", false)) {}
  Fields output_fields() const override { return {"n"}; }
  Status open(Context& ctx) override {
    task_ = ctx.task.value;
    par_ = ctx.parallelism;
    next_ = task_;
    return Status::Ok();
  }
  int64_t limit() const { return task_ == 1 ? count1_ : count_; }
  Result<size_t> next_batch(Collector& out) override {
    size_t k = 0;
    // Task 1 is slower: its watermark lags, so the minimum is visible downstream.
    const size_t per_turn = task_ == 1 ? 1 : 5;
    for (; k < per_turn && next_ < limit(); ++k, next_ += par_) {
      out.emit_at(next_ * 10, {next_});
      last_ = next_ * 10;
    }
    // Idle only from the turn after the last record, so its watermark went out first.
    if (k == 0 && next_ >= limit()) done_ = true;
    return k;
  }
  int64_t watermark() const override {
    // Only the slow task goes idle: were both idle, nothing would move the watermark (an
    // all-idle task forwards idle and keeps its value).
    if (idle_ && done_ && task_ == 1) return kIdleWatermark;
    return last_;
  }
  bool done_ = false;
  int64_t count_, count1_;
  bool idle_;
  int64_t task_ = 0, par_ = 1, next_ = -1, last_ = kNoTimestamp;
};

// Checks, at every watermark w, that every n with n * 10 <= w has arrived (none is behind the
// watermark), that tuples carry their event time through a pass-through bolt, and that
// watermarks only rise.
struct EventLog {
  std::mutex mu;
  std::set<int64_t> seen;
  std::vector<int64_t> watermarks;
  int64_t behind = 0, wrong_stamp = 0;
  std::set<int64_t> all;  // every n the spouts emit
};
EventLog* g_log = nullptr;

class PassOn : public Bolt {
 public:
  explicit PassOn(const Args&) {}
  Fields output_fields() const override { return {"n"}; }
  void execute(const Tuple& t, Collector& out) override { out.emit({t.at(0)}); }
};

class WatermarkChecker : public Bolt {
 public:
  explicit WatermarkChecker(const Args&) {}
  void execute(const Tuple& t, Collector&) override {
    std::lock_guard lk(g_log->mu);
    const int64_t n = t.get_int("n");
    if (t.timestamp() != n * 10) ++g_log->wrong_stamp;
    g_log->seen.insert(n);
  }
  Status on_watermark(int64_t w, Collector&) override {
    std::lock_guard lk(g_log->mu);
    // Watermarks rise and `seen` only grows: checking the numbers above the previous watermark
    // suffices.
    const int64_t prev = g_log->watermarks.empty() ? kNoTimestamp : g_log->watermarks.back();
    g_log->watermarks.push_back(w);
    auto it = prev == kNoTimestamp ? g_log->all.begin() : g_log->all.upper_bound(prev / 10);
    for (; it != g_log->all.end() && *it * 10 <= w; ++it)
      if (!g_log->seen.count(*it)) ++g_log->behind;
    return Status::Ok();
  }
};

Registry time_registry() {
  Registry r = test::builtin_registry();
  (void)r.add(describe<TickBolt>("TickBolt", ""));
  (void)r.add(describe<TickCounter>("TickCounter", ""));
  (void)r.add(describe<BadInterval>("BadInterval", ""));
  (void)r.add(describe<TimedSpout>("TimedSpout", ""));
  (void)r.add(describe<PassOn>("PassOn", ""));
  (void)r.add(describe<WatermarkChecker>("WatermarkChecker", ""));
  return r;
}

std::unique_ptr<Engine> make(const TopologySpec& spec, const Registry& reg, EngineOptions o) {
  return test::make_engine(spec, reg, std::move(o));
}

EngineOptions no_checkpoints(bool chaining = true) {
  EngineOptions o;
  o.checkpointing = false;
  o.threads = 2;
  o.chaining = chaining;
  return o;
}

}  // namespace

// A bolt with no input at all still ticks (the inbox wait gives up at the next tick), on its
// own fiber; chained or not.
TEST(Timers, TickWhileIdleChainedOrNot) {
  auto reg = time_registry();
  for (bool chaining : {false, true}) {
    SCOPED_TRACE(chaining ? "chained" : "own fiber");
    g_ticks = 0;
    g_overlaps = 0;
    auto spec = TopologyBuilder("ticks")
                    .spout("s", "SequenceSpout", 1, {{"count", int64_t{0}}})
                    .bolt("t", "TickBolt", 1, {{"interval_ms", int64_t{5}}})
                    .stream("s", "t", Grouping{GroupingType::local_or_shuffle, {}})
                    .build();
    auto e = make(spec, reg, no_checkpoints(chaining));
    ASSERT_TRUE(e->start().ok());
    EXPECT_TRUE(test::wait_until([&] { return g_ticks.load() >= 5; }, 10s)) << g_ticks.load();
    e->request_stop();
    ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
    EXPECT_EQ(g_overlaps.load(), 0);
  }
}

TEST(Timers, AnIntervalOfZeroIsRefusedNamingTheTask) {
  auto reg = time_registry();
  auto spec = TopologyBuilder("bad")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{0}}})
                  .bolt("b", "BadInterval", 1)
                  .stream("s", "b")
                  .build();
  auto e = make(spec, reg, no_checkpoints());
  Status s = e->start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("b[0]: schedule_every needs an interval > 0 ms"), std::string::npos)
      << s.to_string();
}

// Ticks under load and checkpoints: never during execute(), barriers still align, and what a
// tick emits belongs to the epoch in progress: in every checkpoint the downstream counter has
// received exactly the ticks the tick bolts had made (and every tuple the spouts had emitted).
TEST(Timers, TickOutputIsPartOfTheCheckpointedEpoch) {
  auto reg = time_registry();
  g_ticks = 0;
  g_overlaps = 0;
  test::CollectingListener listener;
  auto spec =
      TopologyBuilder("tickcp")
          .spout("s", "SequenceSpout", 2, {{"count", int64_t{3000000}}, {"batch", int64_t{64}}})
          .bolt("t", "TickBolt", 2, {{"interval_ms", int64_t{1}}})
          .bolt("c", "TickCounter", 1)
          .stream("s", "t")
          .stream("t", "c")
          .build();
  EngineOptions o = test::collecting_options(listener);
  o.batch_size = 64;
  auto e = make(spec, reg, o);
  ASSERT_TRUE(e->start().ok());
  const size_t tasks = e->task_count();
  for (int64_t id = 1; id <= 6; ++id) {
    test::wait_until([&] { return g_ticks.load() >= id * 3; }, 5s);
    e->trigger_checkpoint(CheckpointId{id});
    ASSERT_TRUE(test::wait_until([&] { return listener.of(id).size() == tasks; }, 20s))
        << "checkpoint " << id;
  }
  e->request_stop();
  ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  EXPECT_EQ(g_overlaps.load(), 0);
  int64_t total_ticks = 0;
  for (int64_t id = 1; id <= 6; ++id) {
    int64_t ticks = 0, offsets = 0, counted_ticks = -1, counted = -1;
    for (auto& d : listener.of(id)) {
      for (auto& p : d.positions) offsets += p.next.value;
      std::istringstream is(d.bytes);
      if (d.component == "t") {
        StateReader r(is);
        int64_t k = 0;
        r(k);
        ticks += k;
      } else if (d.component == "c") {
        StateReader r(is);
        r(counted_ticks, counted);
      }
    }
    EXPECT_EQ(counted_ticks, ticks) << "checkpoint " << id;
    EXPECT_EQ(counted, offsets) << "checkpoint " << id;
    total_ticks = ticks;
  }
  EXPECT_GT(total_ticks, 0);
}

// Two spout tasks (one slower) -> a pass-through of parallelism 2 -> one checker: every tuple
// keeps its event time, no tuple at or below a watermark arrives after it, watermarks rise, and
// once the slow task is done and idle the watermark reaches the fast task's last timestamp.
TEST(EventTime, WatermarksAreTheMinimumOverInputsAndTravelInBand) {
  auto reg = time_registry();
  for (bool chaining : {false, true}) {
    SCOPED_TRACE(chaining ? "chaining" : "no chaining");
    EventLog log;
    g_log = &log;
    const int64_t count = 20000, count1 = 4000;
    for (int64_t n = 0; n < count; ++n)
      if (n % 2 == 0 || n < count1) log.all.insert(n);
    auto spec = TopologyBuilder("et")
                    .spout("s", "TimedSpout", 2,
                           {{"count", count}, {"count1", count1}, {"idle_when_done", true}})
                    .bolt("p", "PassOn", 2)
                    .bolt("w", "WatermarkChecker", 1)
                    .stream("s", "p", Grouping{GroupingType::local_or_shuffle, {}})
                    .stream("p", "w")
                    .build();
    auto e = make(spec, reg, no_checkpoints(chaining));
    ASSERT_TRUE(e->start().ok());
    const int64_t last_fast = (count - 2) * 10;
    EXPECT_TRUE(test::wait_until(
        [&] {
          std::lock_guard lk(log.mu);
          return !log.watermarks.empty() && log.watermarks.back() == last_fast;
        },
        30s))
        << "last watermark " << (log.watermarks.empty() ? -1 : log.watermarks.back()) << " of "
        << log.watermarks.size() << ", seen " << log.seen.size() << "/" << log.all.size();
    e->request_stop();
    ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
    std::lock_guard lk(log.mu);
    EXPECT_EQ(log.seen.size(), log.all.size());
    EXPECT_EQ(log.wrong_stamp, 0);
    EXPECT_EQ(log.behind, 0);
    ASSERT_FALSE(log.watermarks.empty());
    for (size_t i = 1; i < log.watermarks.size(); ++i)
      EXPECT_LT(log.watermarks[i - 1], log.watermarks[i]) << "at " << i;
    // While the slow task ran, it held the watermark back.
    EXPECT_LE(log.watermarks.front(), (count1 - 1) * 10);
  }
}
