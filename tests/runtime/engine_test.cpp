// Runtime tests without Kafka: groupings, back-pressure, barrier alignment across two upstream
// paths, error policies. Components are SequenceSpout (built-in) and small test bolts.
#include <gtest/gtest.h>

#include <sleet/this_task.hpp>

#include <boost/fiber/all.hpp>

#include <mutex>
#include <set>
#include <thread>

#include "runtime/engine.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

namespace {

using test::CountAll;
using test::g_seen;
using test::Recorder;
using test::Seen;

// The built-in SequenceSpout, plus a note in g_seen of the thread it produces on.
class ThreadNotingSpout : public Spout {
 public:
  explicit ThreadNotingSpout(const Args& a) {
    auto c = Registry::global().create("SequenceSpout", a);
    if (!c.ok()) throw std::invalid_argument(c.status().message());
    inner_.reset(dynamic_cast<Spout*>(c->release()));
  }
  Fields output_fields() const override { return inner_->output_fields(); }
  Status open(Context& ctx) override { return inner_->open(ctx); }
  Status seek(const SourcePositions& p) override { return inner_->seek(p); }
  SourcePositions positions() const override { return inner_->positions(); }
  Result<size_t> next_batch(Collector& out) override {
    {
      std::lock_guard lk(g_seen->mu);
      g_seen->producer_threads.insert(std::this_thread::get_id());
      g_seen->producer_fibers.insert(boost::this_fiber::get_id());
    }
    return inner_->next_batch(out);
  }
  std::unique_ptr<Spout> inner_;
};

// Passes tuples through; throws on n % 100 == 7 when asked to.
class PassThrough : public Bolt {
 public:
  explicit PassThrough(const Args& a) : throw_on_7_(a.bool_or("throw", false)) {}
  Fields output_fields() const override { return {"n", "text"}; }
  void execute(const Tuple& t, Collector& out) override {
    if (throw_on_7_ && t.get_int("n") % 100 == 7) throw std::runtime_error("seven is bad");
    out.emit(t.values());
  }
  bool throw_on_7_;
};

std::atomic<bool> g_stall{false};
class Staller : public Bolt {
 public:
  explicit Staller(const Args&) {}
  void execute(const Tuple&, Collector&) override {
    while (g_stall.load()) this_task::sleep_for(1ms);
  }
};

// A spout whose next_batch throws (a user bug): must fail the topology, not std::terminate.
class ThrowingSpout : public Spout {
 public:
  explicit ThrowingSpout(const Args&) {}
  Fields output_fields() const override { return {"n"}; }
  Result<size_t> next_batch(Collector& out) override {
    if (++calls_ > 3) throw std::runtime_error("spout bug");
    out.emit({int64_t{calls_}});
    return size_t{1};
  }
  int64_t calls_ = 0;
};

// Throws from close(), after the topology ran.
class ThrowOnClose : public Bolt {
 public:
  explicit ThrowOnClose(const Args&) {}
  void execute(const Tuple&, Collector&) override {}
  void close() override { throw std::runtime_error("close bug"); }
};

// The dead-letter sink the tests' factory supplies (EngineOptions::dead_letter_sink): notes each
// dead letter as "tag|component|task|error".
struct DeadLetters {
  std::mutex mu;
  std::vector<std::string> letters;
  size_t size() {
    std::lock_guard lk(mu);
    return letters.size();
  }
};
DeadLetters* g_dead = nullptr;
class DeadLetterRecorder : public Bolt {
 public:
  explicit DeadLetterRecorder(const Args& a) : tag_(a.string_or("tag", "")) {}
  void execute(const Tuple& t, Collector&) override {
    std::lock_guard lk(g_dead->mu);
    g_dead->letters.push_back(tag_ + "|" + t.get_string("sleet.dlq.component") + "|" +
                              std::to_string(t.get_int("sleet.dlq.task")) + "|" +
                              t.get_string("sleet.dlq.error"));
  }
  std::string tag_;
};

Registry test_registry() {
  Registry r = test::builtin_registry();
  (void)r.add(describe<Recorder>("Recorder", ""));
  (void)r.add(describe<ThreadNotingSpout>("ThreadNotingSpout", ""));
  (void)r.add(describe<PassThrough>("PassThrough", ""));
  (void)r.add(describe<CountAll>("CountAll", ""));
  (void)r.add(describe<Staller>("Staller", ""));
  (void)r.add(describe<ThrowingSpout>("ThrowingSpout", ""));
  (void)r.add(describe<ThrowOnClose>("ThrowOnClose", ""));
  (void)r.add(describe<DeadLetterRecorder>("DeadLetterRecorder", ""));
  return r;
}

using Collecting = test::CollectingListener;

std::unique_ptr<Engine> make(const TopologySpec& spec, const Registry& reg, EngineOptions o) {
  return test::make_engine(spec, reg, std::move(o));
}

void run_to_count(Engine& e, size_t expected) {
  ASSERT_TRUE(e.start().ok());
  EXPECT_TRUE(
      test::wait_until([&] { return g_seen->size() >= expected || !e.failure().ok(); }, 30s));
  e.request_stop();
  EXPECT_TRUE(e.wait().ok()) << e.failure().to_string();
}

// ThreadNotingSpout (`spouts` tasks, `count` numbers in all) -> Recorder (`recorders` tasks).
TopologySpec noted_to_recorders(int spouts, int recorders, int64_t count, Grouping g) {
  return TopologyBuilder("g")
      .spout("s", "ThreadNotingSpout", spouts, {{"count", count}})
      .bolt("r", "Recorder", recorders)
      .stream("s", "r", std::move(g))
      .build();
}

using test::run_checkpoints;

EngineOptions no_checkpoints() {
  EngineOptions o;
  o.checkpointing = false;
  o.threads = 2;
  return o;
}

// Runs `spec` until the engine reports a failure (at most 10 s); the status wait() returns.
Status run_until_failure(const TopologySpec& spec, const Registry& reg) {
  auto e = make(spec, reg, no_checkpoints());
  if (Status s = e->start(); !s.ok()) return s;
  EXPECT_TRUE(test::wait_until([&] { return !e->failure().ok(); }, 10s));
  return e->wait();
}

}  // namespace

TEST(Grouping, FieldsIsStableAndBalanced) {
  Seen seen;
  g_seen = &seen;
  auto reg = test_registry();
  auto spec = TopologyBuilder("g")
                  .spout("s", "SequenceSpout", 2, {{"count", int64_t{20000}}})
                  .bolt("r", "Recorder", 4)
                  .stream("s", "r", Grouping{GroupingType::fields, {"text"}})
                  .build();
  auto e = make(spec, reg, no_checkpoints());
  run_to_count(*e, 20000);
  ASSERT_EQ(seen.items.size(), 20000u);
  std::map<int64_t, int> owner;
  std::vector<int> per_task(4, 0);
  for (auto& [task, n] : seen.items) {
    per_task[task]++;
    EXPECT_TRUE(owner.emplace(n, task).second) << "value " << n << " seen twice";
  }
  for (int c : per_task) EXPECT_GT(c, 20000 / 4 * 0.8) << "fields grouping badly skewed";

  // Stability: the same key maps to the same task in a second, independent run.
  Seen seen2;
  g_seen = &seen2;
  auto e2 = make(spec, reg, no_checkpoints());
  run_to_count(*e2, 20000);
  for (auto& [task, n] : seen2.items) EXPECT_EQ(owner[n], task);
}

// The key -> task mapping of the fields grouping is part of every checkpoint: restored keyed
// state sits on the task this mapping picked when it was written, so a change of the hash, of
// how several key fields combine, or of how the hash picks a task (power-of-two mask, else
// modulo) would silently move keys away from their state. Pinned here, value by value, for
// string keys, int64 keys, two key fields, and a power-of-two and another parallelism.
std::map<int64_t, int> fields_owners(const Registry& reg, int tasks,
                                     std::vector<std::string> keys) {
  Seen seen;
  g_seen = &seen;
  auto spec = TopologyBuilder("pin")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{12}}})
                  .bolt("r", "Recorder", tasks)
                  .stream("s", "r", Grouping{GroupingType::fields, std::move(keys)})
                  .build();
  auto e = make(spec, reg, no_checkpoints());
  run_to_count(*e, 12);
  std::map<int64_t, int> owner;
  for (auto& [task, n] : seen.items) owner[n] = task;
  g_seen = nullptr;
  return owner;
}

TEST(Grouping, FieldsKeyToTaskMappingIsPinned) {
  auto reg = test_registry();
  // n = 0..11; "text" is std::to_string(n).
  const std::map<int64_t, int> text4 = {{0, 2}, {1, 2}, {2, 2}, {3, 1}, {4, 1},  {5, 1},
                                        {6, 2}, {7, 0}, {8, 0}, {9, 0}, {10, 3}, {11, 3}};
  const std::map<int64_t, int> text3 = {{0, 0}, {1, 0}, {2, 0}, {3, 2}, {4, 0},  {5, 1},
                                        {6, 0}, {7, 0}, {8, 1}, {9, 0}, {10, 1}, {11, 2}};
  const std::map<int64_t, int> n4 = {{0, 0}, {1, 0}, {2, 3}, {3, 2}, {4, 1},  {5, 1},
                                     {6, 3}, {7, 1}, {8, 3}, {9, 1}, {10, 1}, {11, 0}};
  const std::map<int64_t, int> both4 = {{0, 2}, {1, 2}, {2, 3}, {3, 3}, {4, 0},  {5, 0},
                                        {6, 3}, {7, 3}, {8, 1}, {9, 3}, {10, 2}, {11, 3}};
  EXPECT_EQ(fields_owners(reg, 4, {"text"}), text4);
  EXPECT_EQ(fields_owners(reg, 3, {"text"}), text3);
  EXPECT_EQ(fields_owners(reg, 4, {"n"}), n4);
  EXPECT_EQ(fields_owners(reg, 4, {"n", "text"}), both4);
}

TEST(Grouping, ShuffleAllGlobal) {
  auto reg = test_registry();
  // Recorder tasks on the producer's thread, learnt from the `all` run (every task receives
  // there); thread placement depends only on the component list, so it is the same in the
  // local_or_shuffle run of the same topology.
  std::set<int> local_tasks;
  for (auto g : {GroupingType::shuffle, GroupingType::all, GroupingType::global,
                 GroupingType::local_or_shuffle}) {
    Seen seen;
    g_seen = &seen;
    auto spec = noted_to_recorders(1, 3, 4000, Grouping{g, {}});
    size_t expected = g == GroupingType::all ? 12000 : 4000;
    auto e = make(spec, reg, no_checkpoints());
    run_to_count(*e, expected);
    ASSERT_EQ(seen.items.size(), expected) << grouping_name(g);
    ASSERT_EQ(seen.producer_threads.size(), 1u) << "one spout task, one thread";
    const std::thread::id producer = *seen.producer_threads.begin();
    std::vector<int> per_task(3, 0);
    for (auto& [task, n] : seen.items) per_task[task]++;
    if (g == GroupingType::shuffle) {
      for (int c : per_task) EXPECT_NEAR(c, 4000 / 3, 300);
    } else if (g == GroupingType::all) {
      for (int c : per_task) EXPECT_EQ(c, 4000);
      for (size_t i = 0; i < seen.items.size(); ++i)
        if (seen.threads[i] == producer) local_tasks.insert(seen.items[i].first);
      // 2 engine threads, 4 tasks: some but not all recorders share the producer's thread, so
      // the local_or_shuffle run below tells "local" apart from "shuffle".
      ASSERT_FALSE(local_tasks.empty());
      ASSERT_LT(local_tasks.size(), 3u);
    } else if (g == GroupingType::global) {
      EXPECT_EQ(per_task[0], 4000);
    } else if (g == GroupingType::local_or_shuffle) {
      std::set<int> receivers, remote;  // remote: tasks that got a tuple on another thread
      for (size_t i = 0; i < seen.items.size(); ++i) {
        if (seen.threads[i] != producer) remote.insert(seen.items[i].first);
        receivers.insert(seen.items[i].first);
      }
      EXPECT_TRUE(remote.empty()) << "tuples crossed threads to " << remote.size() << " task(s)";
      EXPECT_EQ(receivers, local_tasks) << "only, and all of, the tasks on the producer's thread";
      // Round robin over the local tasks.
      for (int t : local_tasks)
        EXPECT_EQ(per_task[t], 4000 / static_cast<int>(local_tasks.size())) << "task " << t;
    }
  }
}

// local_or_shuffle with no target task on the producer's thread falls back to all targets.
TEST(Grouping, LocalOrShuffleWithoutLocalTasksUsesAll) {
  auto reg = test_registry();
  Seen seen;
  g_seen = &seen;
  auto spec = noted_to_recorders(1, 2, 4000, Grouping{GroupingType::local_or_shuffle, {}});
  EngineOptions o = no_checkpoints();
  o.threads = 3;  // tasks go round robin over threads: s on 0, r[0] on 1, r[1] on 2 (Engine::wire)
  auto e = make(spec, reg, o);
  run_to_count(*e, 4000);
  ASSERT_EQ(seen.items.size(), 4000u);
  ASSERT_EQ(seen.producer_threads.size(), 1u);
  std::vector<int> per_task(2, 0);
  for (size_t i = 0; i < seen.items.size(); ++i) {
    EXPECT_NE(seen.threads[i], *seen.producer_threads.begin()) << "no recorder shares s's thread";
    per_task[seen.items[i].first]++;
  }
  EXPECT_EQ(per_task, (std::vector<int>{2000, 2000}));
}

// local_or_shuffle into a bolt of the same parallelism, whose only input it is, is chained:
// bolt task i runs inside producer task i's fiber (so on its thread), and gets all its tuples.
// With chaining off the same topology runs every task in a fiber of its own.
TEST(Chaining, EqualParallelismLocalOrShuffleRunsInTheProducersFiber) {
  auto reg = test_registry();
  for (bool chaining : {true, false}) {
    Seen seen;
    g_seen = &seen;
    auto spec = noted_to_recorders(2, 2, 6000, Grouping{GroupingType::local_or_shuffle, {}});
    EngineOptions o = no_checkpoints();
    o.chaining = chaining;
    auto e = make(spec, reg, o);
    run_to_count(*e, 6000);
    ASSERT_EQ(seen.items.size(), 6000u) << "chaining " << chaining;
    ASSERT_EQ(seen.producer_fibers.size(), 2u);
    ASSERT_EQ(seen.producer_threads.size(), 2u) << "two spout tasks, one per thread";
    std::map<int, std::set<boost::fibers::fiber::id>> fibers_of;
    std::map<int, std::set<int64_t>> parity_of;  // spout task k emits the numbers n % 2 == k
    for (size_t i = 0; i < seen.items.size(); ++i) {
      const auto& [task, n] = seen.items[i];
      fibers_of[task].insert(seen.fibers[i]);
      parity_of[task].insert(n % 2);
      EXPECT_TRUE(seen.producer_threads.count(seen.threads[i])) << "tuple crossed threads";
    }
    for (int t : {0, 1}) {
      ASSERT_EQ(fibers_of[t].size(), 1u) << "task " << t << ", chaining " << chaining;
      EXPECT_EQ(parity_of[t], (std::set<int64_t>{t})) << "one to one: task " << t;
      const bool in_producer = seen.producer_fibers.count(*fibers_of[t].begin()) > 0;
      EXPECT_EQ(in_producer, chaining) << "task " << t;
    }
  }
}

// Other parallelism, or a second input, keeps the channel: no chaining.
TEST(Chaining, OnlyWhereTheBoltHasThatOneInput) {
  auto reg = test_registry();
  Seen seen;
  g_seen = &seen;
  auto spec = TopologyBuilder("nochain")
                  .spout("s", "ThreadNotingSpout", 2, {{"count", int64_t{4000}}})
                  .spout("t", "SequenceSpout", 2, {{"count", int64_t{2000}}})
                  .bolt("r", "Recorder", 2)
                  .stream("s", "r", Grouping{GroupingType::local_or_shuffle, {}})
                  .stream("t", "r", Grouping{GroupingType::local_or_shuffle, {}})
                  .build();
  auto e = make(spec, reg, no_checkpoints());
  run_to_count(*e, 6000);
  ASSERT_EQ(seen.items.size(), 6000u);
  for (auto& f : seen.fibers) EXPECT_FALSE(seen.producer_fibers.count(f)) << "r was chained";
}

// Barriers step through a chain s -> a -> c: every task of every checkpoint reports, and the
// chained counter's state matches its own spout task's position exactly (one to one).
TEST(Chaining, ChainedBoltsTakePartInEveryCheckpoint) {
  auto reg = test_registry();
  Collecting listener;
  auto spec =
      TopologyBuilder("chain3")
          .spout("s", "SequenceSpout", 2, {{"count", int64_t{2000000}}, {"batch", int64_t{64}}})
          .bolt("a", "PassThrough", 2)
          .bolt("c", "CountAll", 2)
          .stream("s", "a", Grouping{GroupingType::local_or_shuffle, {}})
          .stream("a", "c", Grouping{GroupingType::local_or_shuffle, {}})
          .build();
  EngineOptions o = test::collecting_options(listener);
  auto e = make(spec, reg, o);
  ASSERT_TRUE(e->start().ok());
  ASSERT_EQ(e->task_count(), 6u);
  ASSERT_TRUE(run_checkpoints(*e, listener, 6));
  e->checkpoint_committed(CheckpointId{6});
  ASSERT_TRUE(test::wait_until([&] { return e->visible_checkpoint().value == 6; }, 10s))
      << "chained tasks saw the commit";
  e->request_stop();
  ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  for (int64_t id = 1; id <= 6; ++id) {
    std::map<int, int64_t> position, counted;
    for (auto& d : listener.of(id)) {
      if (d.component == "s") position[d.task.value] = d.positions.at(0).next.value;
      if (d.component == "c") {
        std::istringstream is(d.bytes);
        StateReader r(is);
        r(counted[d.task.value]);
      }
    }
    for (int t : {0, 1}) EXPECT_EQ(counted[t], position[t]) << "checkpoint " << id << " task " << t;
  }
}

// A chained bolt keeps its own error policy and name.
TEST(Chaining, ChainedBoltFollowsItsOwnErrorPolicy) {
  auto reg = test_registry();
  Seen seen;
  g_seen = &seen;
  const Grouping los{GroupingType::local_or_shuffle, {}};
  auto spec = TopologyBuilder("skip")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1000}}})
                  .bolt("p", "PassThrough", 1, {{"throw", true}})
                  .on_error(ErrorPolicy::skip)
                  .bolt("r", "Recorder", 1)
                  .stream("s", "p", los)
                  .stream("p", "r", los)
                  .build();
  auto e = make(spec, reg, no_checkpoints());
  run_to_count(*e, 990);
  EXPECT_EQ(seen.items.size(), 990u);
  for (auto& st : e->stats()) {
    if (st.component == "p") {
      EXPECT_EQ(st.counters["skipped"], 10);
      EXPECT_EQ(st.counters["in"], 1000);
      EXPECT_EQ(st.counters["out"], 990);
    }
  }

  auto fail = TopologyBuilder("fail")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1000}}})
                  .bolt("p", "PassThrough", 1, {{"throw", true}})
                  .stream("s", "p", los)
                  .build();
  Status s = run_until_failure(fail, reg);
  EXPECT_NE(s.message().find("bolt 'p'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("n=7"), std::string::npos) << s.message();
}

TEST(BackPressure, StalledConsumerBoundsProducer) {
  g_stall = true;
  auto reg = test_registry();
  auto spec = TopologyBuilder("bp")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1} << 40}})
                  .bolt("stall", "Staller", 1)
                  .stream("s", "stall")
                  .build();
  EngineOptions o = no_checkpoints();
  o.batch_size = 100;
  o.channel_capacity = 4;
  auto e = make(spec, reg, o);
  ASSERT_TRUE(e->start().ok());
  auto spout_out = [&] {
    for (auto& s : e->stats())
      if (s.component == "s") return s.counters["out"];
    return int64_t{-1};
  };
  // Wait until the producer stops making progress, then check where it stopped.
  int64_t last = -1;
  ASSERT_TRUE(test::wait_until(
      [&] {
        int64_t now = spout_out();
        bool still = now == last && now > 0;
        last = now;
        return still;
      },
      10s, 200ms));
  // capacity messages queued + one being processed + one pending batch + one batch in hand.
  EXPECT_LE(last, (4 + 3) * 100);
  EXPECT_GE(last, 4 * 100);
  g_stall = false;
  e->request_stop();
  EXPECT_TRUE(e->wait().ok());
}

// Hailstorm lost tuples when a bolt had two upstream paths. With aligned barriers the state of a
// bolt fed through two paths must count exactly twice the records before the barrier.
TEST(Barriers, AlignmentAcrossTwoUpstreamPaths) {
  auto reg = test_registry();
  Collecting listener;
  auto spec =
      TopologyBuilder("diamond")
          .spout("s", "SequenceSpout", 2, {{"count", int64_t{2000000}}, {"batch", int64_t{64}}})
          .bolt("a", "PassThrough", 2)
          .bolt("b", "PassThrough", 1)
          .bolt("c", "CountAll", 1)
          .stream("s", "a")
          .stream("s", "b")
          .stream("a", "c")
          .stream("b", "c")
          .build();
  EngineOptions o = test::collecting_options(listener);
  o.batch_size = 64;
  auto e = make(spec, reg, o);
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(run_checkpoints(*e, listener, 8));
  e->request_stop();
  ASSERT_TRUE(e->wait().ok()) << e->failure().to_string();
  for (int64_t id = 1; id <= 8; ++id) {
    int64_t offsets = 0, counted = -1;
    for (auto& d : listener.got) {
      if (d.id.value != id) continue;
      for (auto& p : d.positions) offsets += p.next.value;
      if (d.component == "c") {
        std::istringstream is(d.bytes);
        StateReader r(is);
        r(counted);
      }
    }
    EXPECT_EQ(counted, 2 * offsets) << "checkpoint " << id;
  }
}

TEST(ErrorPolicy, SkipCountsAndContinues) {
  Seen seen;
  g_seen = &seen;
  auto reg = test_registry();
  auto spec = TopologyBuilder("skip")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1000}}})
                  .bolt("p", "PassThrough", 1, {{"throw", true}})
                  .on_error(ErrorPolicy::skip)
                  .bolt("r", "Recorder", 1)
                  .stream("s", "p")
                  .stream("p", "r")
                  .build();
  auto e = make(spec, reg, no_checkpoints());
  run_to_count(*e, 990);
  EXPECT_EQ(seen.items.size(), 990u);
  for (auto& s : e->stats()) {
    if (s.component == "p") EXPECT_EQ(s.counters["skipped"], 10);
  }
}

// on_error: dead_letter: the engine chains to each task of the component the sink the layer
// above supplies (EngineOptions::dead_letter_sink, asked once per task); it names no sink itself.
TEST(ErrorPolicy, DeadLettersGoToTheSinkTheOptionsSupply) {
  Seen seen;
  g_seen = &seen;
  DeadLetters dead;
  g_dead = &dead;
  auto reg = test_registry();
  auto spec = TopologyBuilder("dlq")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1000}}})
                  .bolt("p", "PassThrough", 2, {{"throw", true}})
                  .on_error(ErrorPolicy::dead_letter, "errors")
                  .bolt("r", "Recorder", 1)
                  .stream("s", "p")
                  .stream("p", "r")
                  .build();
  std::vector<std::string> asked;
  EngineOptions o = no_checkpoints();
  o.dead_letter_sink = [&](const TopologySpec& t, const ComponentSpec& c,
                           TaskIndex i) -> Result<DeadLetterSink> {
    asked.push_back(t.name + "/" + c.id + "/" + std::to_string(i.value));
    return DeadLetterSink{"DeadLetterRecorder", Args{{"tag", c.dead_letter_topic}}, ""};
  };
  auto e = make(spec, reg, o);
  EXPECT_EQ(asked, (std::vector<std::string>{"dlq/p/0", "dlq/p/1"}));
  ASSERT_TRUE(e->start().ok());
  EXPECT_TRUE(test::wait_until(
      [&] { return (seen.size() >= 990 && dead.size() >= 10) || !e->failure().ok(); }, 30s));
  e->request_stop();
  EXPECT_TRUE(e->wait().ok()) << e->failure().to_string();
  EXPECT_EQ(seen.items.size(), 990u);
  ASSERT_EQ(dead.letters.size(), 10u);
  for (auto& l : dead.letters)
    EXPECT_TRUE(l == "errors|p|0|seven is bad" || l == "errors|p|1|seven is bad") << l;
  int64_t dead_in = 0, dead_counted = 0;
  for (auto& st : e->stats()) {
    if (st.component == "p.dead_letter") dead_in += st.counters["in"];
    if (st.component == "p") dead_counted += st.counters["dead_letters"];
  }
  EXPECT_EQ(dead_in, 10);
  EXPECT_EQ(dead_counted, 10);
}

TEST(ErrorPolicy, DeadLetterWithoutASinkFactoryIsRefused) {
  auto reg = test_registry();
  auto spec = TopologyBuilder("dlq")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{10}}})
                  .bolt("p", "PassThrough", 1)
                  .on_error(ErrorPolicy::dead_letter, "errors")
                  .stream("s", "p")
                  .build();
  auto e = Engine::create(spec, reg, no_checkpoints());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::invalid_argument);
  EXPECT_NE(e.status().message().find("'p' has on_error: dead_letter"), std::string::npos)
      << e.status().to_string();
  EXPECT_NE(e.status().message().find("EngineOptions::dead_letter_sink"), std::string::npos)
      << e.status().to_string();
}

TEST(ErrorPolicy, FailNamesBoltAndTuple) {
  auto reg = test_registry();
  auto spec = TopologyBuilder("fail")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{1000}}})
                  .bolt("p", "PassThrough", 1, {{"throw", true}})
                  .stream("s", "p")
                  .build();
  Status s = run_until_failure(spec, reg);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bolt 'p'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("n=7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("seven is bad"), std::string::npos) << s.message();
}

// Regression: an exception from a spout's next_batch or a bolt's close() escaped the fiber and
// ended the process with std::terminate.
TEST(ErrorPolicy, ExceptionsOutsideExecuteFailTheTopologyNamingTheTask) {
  auto reg = test_registry();
  auto spec = TopologyBuilder("throws")
                  .spout("s", "ThrowingSpout", 1)
                  .bolt("c", "ThrowOnClose", 1)
                  .stream("s", "c")
                  .build();
  Status s = run_until_failure(spec, reg);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("s[0] failed: spout bug"), std::string::npos) << s.message();

  auto spec2 = TopologyBuilder("close")
                   .spout("s", "SequenceSpout", 1, {{"count", int64_t{10}}})
                   .bolt("c", "ThrowOnClose", 1)
                   .stream("s", "c")
                   .build();
  auto e2 = make(spec2, reg, no_checkpoints());
  ASSERT_TRUE(e2->start().ok());
  ASSERT_TRUE(test::wait_until(
      [&] {
        for (auto& st : e2->stats())
          if (st.component == "c" && st.counters["in"] == 10) return true;
        return false;
      },
      10s));
  e2->request_stop();  // close() runs as the tasks stop
  Status s2 = e2->wait();
  EXPECT_NE(s2.message().find("c[0] failed in close(): close bug"), std::string::npos)
      << s2.message();
}

// run_blocking suspends only its fiber: a fiber on the same thread keeps running meanwhile; the
// result and an exception come back to the caller.
TEST(ThisTask, RunBlockingSuspendsOnlyTheCallingFiber) {
  std::atomic<bool> release{false};
  std::atomic<int> ticks{0};
  int result = 0;
  bool threw = false;
  boost::fibers::fiber blocker([&] {
    result = this_task::run_blocking([&] {
      // A blocking call. Bounded: if run_blocking blocked this thread, the ticker could never
      // release it, and the test fails on the result instead of hanging.
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!release.load()) {
        if (std::chrono::steady_clock::now() > deadline) return -1;
        std::this_thread::sleep_for(1ms);
      }
      return 42;
    });
    try {
      this_task::run_blocking([]() -> int { throw std::runtime_error("io failed"); });
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()) == "io failed";
    }
  });
  boost::fibers::fiber ticker([&] {
    while (ticks.load() < 50) {
      ++ticks;
      this_task::sleep_for(1ms);
    }
    release = true;  // only reachable if the blocker did not block this thread
  });
  ticker.join();
  blocker.join();
  EXPECT_EQ(ticks.load(), 50);
  EXPECT_EQ(result, 42);
  EXPECT_TRUE(threw);
}

TEST(Engine, RejectsUnknownGroupingField) {
  auto reg = test_registry();
  auto spec = TopologyBuilder("bad")
                  .spout("s", "SequenceSpout", 1)
                  .bolt("r", "Recorder", 1)
                  .stream("s", "r", Grouping{GroupingType::fields, {"nope"}})
                  .build();
  auto e = Engine::create(spec, reg, no_checkpoints());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("'nope'"), std::string::npos);
}
