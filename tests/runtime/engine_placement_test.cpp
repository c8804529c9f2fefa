// Cluster mode inside one process: Engines placed as workers of one topology
// (EngineOptions::placement), their crossing channels carried by an in-process RemoteChannels
// double, must produce what one engine running everything does; Engine::abort() ends every local
// task promptly, blocked or not, without end of stream.
#include <gtest/gtest.h>

#include <sleet/this_task.hpp>

#include <algorithm>
#include <future>
#include <mutex>
#include <set>
#include <sstream>

#include "runtime/engine.hpp"
#include "runtime/inbox.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

namespace {

// Recorder notes (task, n) per tuple it executed in *g_seen, every task of every engine of the
// test.
using test::CountAll;
using test::g_seen;
using test::Recorder;
using test::Seen;

class PassThrough : public Bolt {
 public:
  explicit PassThrough(const Args&) {}
  Fields output_fields() const override { return {"n", "text"}; }
  void execute(const Tuple& t, Collector& out) override { out.emit(t.values()); }
};

// Components whose close() ran, as "component[task]": a task's fiber is past its loop.
std::mutex g_closed_mu;
std::set<std::string> g_closed;
void note_closed(const std::string& who) {
  std::lock_guard lk(g_closed_mu);
  g_closed.insert(who);
}
bool closed(std::initializer_list<const char*> who) {
  std::lock_guard lk(g_closed_mu);
  for (const char* w : who)
    if (!g_closed.count(w)) return false;
  return true;
}

class ClosingPassThrough : public PassThrough {
 public:
  explicit ClosingPassThrough(const Args& a) : PassThrough(a) {}
  Status open(Context& ctx) override {
    name_ = ctx.component + "[" + std::to_string(ctx.task.value) + "]";
    return Status::Ok();
  }
  void close() override { note_closed(name_); }
  std::string name_;
};

// SequenceSpout, noting its close().
class ClosingSpout : public Spout {
 public:
  explicit ClosingSpout(const Args& a) {
    auto c = Registry::global().create("SequenceSpout", a);
    if (!c.ok()) throw std::invalid_argument(c.status().message());
    inner_.reset(dynamic_cast<Spout*>(c->release()));
  }
  Fields output_fields() const override { return inner_->output_fields(); }
  Status open(Context& ctx) override {
    name_ = ctx.component + "[" + std::to_string(ctx.task.value) + "]";
    return inner_->open(ctx);
  }
  Status seek(const SourcePositions& p) override { return inner_->seek(p); }
  SourcePositions positions() const override { return inner_->positions(); }
  Result<size_t> next_batch(Collector& out) override { return inner_->next_batch(out); }
  void close() override { note_closed(name_); }
  std::unique_ptr<Spout> inner_;
  std::string name_;
};

// Holds every tuple until the test opens the gate: its inbox fills, and its upstream parks.
std::atomic<bool> g_gate_open{false};
class Gate : public Bolt {
 public:
  explicit Gate(const Args&) {}
  void execute(const Tuple&, Collector&) override {
    while (!g_gate_open.load()) this_task::sleep_for(1ms);
  }
};

// Throws from close(): after abort() that is the aborted run unwinding, not a failure.
class ThrowOnClose : public Bolt {
 public:
  explicit ThrowOnClose(const Args&) {}
  void execute(const Tuple&, Collector&) override {}
  void close() override { throw std::runtime_error("close bug"); }
};

class ThrowingSpout : public Spout {
 public:
  explicit ThrowingSpout(const Args&) {}
  Fields output_fields() const override { return {"n"}; }
  Result<size_t> next_batch(Collector&) override { throw std::runtime_error("spout bug"); }
};

Registry test_registry() {
  Registry r = test::builtin_registry();
  (void)r.add(describe<Recorder>("Recorder", ""));
  (void)r.add(describe<PassThrough>("PassThrough", ""));
  (void)r.add(describe<ClosingPassThrough>("ClosingPassThrough", ""));
  (void)r.add(describe<ClosingSpout>("ClosingSpout", ""));
  (void)r.add(describe<Gate>("Gate", ""));
  (void)r.add(describe<ThrowingSpout>("ThrowingSpout", ""));
  (void)r.add(describe<CountAll>("CountAll", ""));
  (void)r.add(describe<ThrowOnClose>("ThrowOnClose", ""));
  return r;
}

// The in-process stand-in for cluster/transport: what the sender of plan channel i sends is
// pushed straight into the FIFO the receiving engine registered for channel i, its tuples rebound
// to the fields that engine gave (as the wire's decoder binds them). No credits: the inbox's own
// bound is the back-pressure. A channel nobody receives (its worker is not in the test) keeps
// only the kinds of the messages sent on it.
struct Fabric {
  struct Receiving {
    Inbox* inbox = nullptr;
    size_t input = 0;
    const Fields* fields = nullptr;
    const TupleSource* source = nullptr;
  };
  std::mutex mu;
  std::map<size_t, Receiving> receivers;
  std::map<size_t, int> senders_made, receivers_made;  // per channel index
  std::map<size_t, std::vector<Message::Kind>> dropped;

  class Sender final : public ChannelSender {
   public:
    Sender(Fabric& f, size_t index) : f_(f), index_(index) {}
    bool send(Message&& m, std::vector<Tuple>*) override {
      if (!to_) {
        std::lock_guard lk(f_.mu);
        auto it = f_.receivers.find(index_);
        if (it == f_.receivers.end()) {
          f_.dropped[index_].push_back(m.kind);
          return true;
        }
        to_ = it->second;
      }
      for (auto& t : m.tuples) t = Tuple(to_->fields, std::move(t.mutable_values()), to_->source);
      return to_->inbox->push(to_->input, std::move(m));
    }

   private:
    Fabric& f_;
    size_t index_;
    std::optional<Receiving> to_;
  };

  // One worker's side, checking the engine asks for exactly the channels that cross to or from
  // it, with the right peer.
  class End final : public RemoteChannels {
   public:
    End(Fabric& f, std::vector<int> worker_of, int self)
        : f_(f), worker_of_(std::move(worker_of)), self_(self) {}
    Result<std::unique_ptr<ChannelSender>> sender(size_t index, const PlannedChannel& ch,
                                                  int to_worker) override {
      EXPECT_EQ(worker_of_[ch.from], self_);
      EXPECT_EQ(worker_of_[ch.to], to_worker);
      EXPECT_NE(to_worker, self_);
      std::lock_guard lk(f_.mu);
      f_.senders_made[index]++;
      return std::unique_ptr<ChannelSender>(std::make_unique<Sender>(f_, index));
    }
    Status receiver(size_t index, const PlannedChannel& ch, int from_worker, Inbox& inbox,
                    const Fields* fields, const TupleSource* source) override {
      EXPECT_EQ(worker_of_[ch.to], self_);
      EXPECT_EQ(worker_of_[ch.from], from_worker);
      EXPECT_NE(from_worker, self_);
      EXPECT_LT(ch.input, inbox.inputs());
      std::lock_guard lk(f_.mu);
      f_.receivers_made[index]++;
      f_.receivers[index] = Receiving{&inbox, ch.input, fields, source};
      return Status::Ok();
    }

   private:
    Fabric& f_;
    std::vector<int> worker_of_;
    int self_;
  };
};

EngineOptions no_checkpoints() {
  EngineOptions o;
  o.checkpointing = false;
  o.threads = 2;
  o.batch_size = 64;
  return o;
}

std::unique_ptr<Engine> make(const TopologySpec& spec, const Registry& reg, EngineOptions o) {
  return test::make_engine(spec, reg, std::move(o));
}

// s -fields-> p -local_or_shuffle (chained)-> q -fields-> r, parallelism 2 each; the tasks in
// plan order: s[0] s[1] p[0] p[1] q[0] q[1] r[0] r[1].
TopologySpec four_stages(int64_t count) {
  const Grouping by_text{GroupingType::fields, {"text"}};
  return TopologyBuilder("placed")
      .spout("s", "SequenceSpout", 2, {{"count", count}})
      .bolt("p", "PassThrough", 2)
      .bolt("q", "PassThrough", 2)
      .bolt("r", "Recorder", 2)
      .stream("s", "p", by_text)
      .stream("p", "q", Grouping{GroupingType::local_or_shuffle, {}})
      .stream("q", "r", by_text)
      .build();
}

// Starts the engines, waits until `expected` tuples were recorded, stops them; sorted (task, n).
std::vector<std::pair<int, int64_t>> run(std::vector<Engine*> engines, size_t expected) {
  Seen seen;
  g_seen = &seen;
  for (Engine* e : engines) EXPECT_TRUE(e->start().ok());
  auto failed = [&] {
    return std::any_of(engines.begin(), engines.end(),
                       [](Engine* e) { return !e->failure().ok(); });
  };
  EXPECT_TRUE(test::wait_until([&] { return seen.size() >= expected || failed(); }, 30s));
  for (Engine* e : engines) e->request_stop();
  for (Engine* e : engines) EXPECT_TRUE(e->wait().ok()) << e->failure().to_string();
  g_seen = nullptr;
  std::sort(seen.items.begin(), seen.items.end());
  return seen.items;
}

}  // namespace

TEST(Placement, TwoWorkersProduceWhatOneEngineDoes) {
  auto reg = test_registry();
  const int64_t count = 20000;
  const TopologySpec spec = four_stages(count);
  auto single = make(spec, reg, no_checkpoints());
  ASSERT_TRUE(single);
  const auto want = run({single.get()}, count);
  ASSERT_EQ(want.size(), static_cast<size_t>(count));

  // Every fields hop crosses both ways; p[i] and its chained q[i] stay together.
  const std::vector<int> worker_of = {0, 1, 1, 0, 1, 0, 0, 1};
  Fabric fabric;
  Fabric::End end0(fabric, worker_of, 0), end1(fabric, worker_of, 1);
  EngineOptions o0 = no_checkpoints(), o1 = no_checkpoints();
  o0.placement = Placement{0, worker_of};
  o0.remote = &end0;
  o1.placement = Placement{1, worker_of};
  o1.remote = &end1;
  auto w0 = make(spec, reg, o0);
  auto w1 = make(spec, reg, o1);
  ASSERT_TRUE(w0 && w1);
  EXPECT_EQ(w0->task_count(), 4u);
  EXPECT_EQ(w1->task_count(), 4u);
  // One sender and one receiver per crossing channel, none for the others.
  const PhysicalPlan& plan = w0->plan();
  size_t crossing = 0;
  for (size_t i = 0; i < plan.channels.size(); ++i) {
    const bool crosses = worker_of[plan.channels[i].from] != worker_of[plan.channels[i].to];
    crossing += crosses;
    EXPECT_EQ(fabric.senders_made[i], crosses ? 1 : 0) << "channel " << i;
    EXPECT_EQ(fabric.receivers_made[i], crosses ? 1 : 0) << "channel " << i;
  }
  EXPECT_EQ(crossing, 4u);  // s[0]->p[0], s[1]->p[1], q[0]->r[0], q[1]->r[1]

  const auto got = run({w0.get(), w1.get()}, count);
  EXPECT_EQ(got, want) << "each n recorded once, by the task that recorded it in one engine";
  EXPECT_TRUE(fabric.dropped.empty());
  // Stats count only local tasks: each engine's r task recorded its share.
  int64_t recorded = 0;
  for (Engine* e : {w0.get(), w1.get()}) {
    std::set<std::string> names;
    for (auto& st : e->stats()) {
      names.insert(st.component + "[" + std::to_string(st.task) + "]");
      if (st.component == "r") recorded += st.counters["in"];
    }
    EXPECT_EQ(names.size(), 4u);
  }
  EXPECT_EQ(recorded, count);
}

// Barriers cross workers on their channels, in order with the data: every task of both workers
// snapshots each checkpoint, and the counters' states add up to exactly the spouts' positions.
// Commits become visible per worker (visible_checkpoint counts its own tasks).
TEST(Placement, CheckpointsAlignAcrossWorkers) {
  auto reg = test_registry();
  const TopologySpec spec =
      TopologyBuilder("cp")
          .spout("s", "SequenceSpout", 2, {{"count", int64_t{2000000}}, {"batch", int64_t{64}}})
          .bolt("c", "CountAll", 2)
          .stream("s", "c", Grouping{GroupingType::fields, {"text"}})
          .build();
  const std::vector<int> worker_of = {0, 1, 1, 0};  // s[0] s[1] c[0] c[1]
  Fabric fabric;
  std::vector<std::unique_ptr<Fabric::End>> ends;
  std::vector<std::unique_ptr<test::CollectingListener>> listeners;
  std::vector<std::unique_ptr<Engine>> engines;
  for (int w : {0, 1}) {
    ends.push_back(std::make_unique<Fabric::End>(fabric, worker_of, w));
    listeners.push_back(std::make_unique<test::CollectingListener>());
    EngineOptions o;
    o.threads = 2;
    o.batch_size = 64;
    o.listener = listeners.back().get();
    o.snapshots = listeners.back().get();
    o.placement = Placement{w, worker_of};
    o.remote = ends.back().get();
    engines.push_back(make(spec, reg, o));
    ASSERT_TRUE(engines.back());
  }
  for (auto& e : engines) ASSERT_TRUE(e->start().ok());
  auto counted_in = [](Engine& e) {
    int64_t n = 0;
    for (auto& st : e.stats())
      if (st.component == "c") n += st.counters["in"];
    return n;
  };
  // Data flowed through both workers' counters before the first barrier.
  ASSERT_TRUE(test::wait_until(
      [&] { return counted_in(*engines[0]) > 0 && counted_in(*engines[1]) > 0; }, 10s));
  for (int64_t id = 1; id <= 4; ++id) {
    for (auto& e : engines) e->trigger_checkpoint(CheckpointId{id});
    ASSERT_TRUE(test::wait_until(
        [&] { return listeners[0]->of(id).size() == 2 && listeners[1]->of(id).size() == 2; }, 20s))
        << "checkpoint " << id;
  }
  for (auto& e : engines) e->checkpoint_committed(CheckpointId{4});
  for (auto& e : engines)
    EXPECT_TRUE(test::wait_until([&] { return e->visible_checkpoint().value == 4; }, 10s));
  for (auto& e : engines) e->request_stop();
  for (auto& e : engines) EXPECT_TRUE(e->wait().ok()) << e->failure().to_string();
  for (int64_t id = 1; id <= 4; ++id) {
    int64_t positions = 0, counted = 0;
    for (auto& l : listeners)
      for (auto& d : l->of(id)) {
        for (auto& p : d.positions) positions += p.next.value;
        if (d.component == "c") {
          std::istringstream is(d.bytes);
          StateReader r(is);
          int64_t n = 0;
          r(n);
          counted += n;
        }
      }
    EXPECT_GT(positions, 0) << "checkpoint " << id;
    EXPECT_EQ(counted, positions) << "checkpoint " << id;
  }
}

TEST(Placement, ACrossingChannelWithoutATransportIsRefused) {
  auto reg = test_registry();
  EngineOptions o = no_checkpoints();
  o.placement = Placement{0, {0, 1, 1, 0, 1, 0, 0, 1}};
  auto e = Engine::create(four_stages(10), reg, o);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::invalid_argument);
  EXPECT_NE(e.status().message().find("EngineOptions::remote"), std::string::npos)
      << e.status().to_string();
  // A split chain: q[0] on another worker than p[0].
  o.placement = Placement{0, {0, 1, 1, 0, 0, 0, 0, 1}};
  Fabric fabric;
  Fabric::End end(fabric, o.placement.worker_of, 0);
  o.remote = &end;
  e = Engine::create(four_stages(10), reg, o);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("task q[0] is chained to p[0]"), std::string::npos)
      << e.status().to_string();
}

// abort() with every kind of blocked task: s parked in a push to p's full inbox, p parked in a
// push to the gate's full inbox, q waiting for a remote upstream that never sends anything. They
// all exit while the gate is still shut; once it opens, wait() returns Ok. Nothing sent end of
// stream (s's channel to y, on the absent worker 1, saw data only).
TEST(Abort, EveryLocalTaskExitsPromptlyWithoutEndOfStream) {
  g_gate_open = false;
  {
    std::lock_guard lk(g_closed_mu);
    g_closed.clear();
  }
  auto reg = test_registry();
  const TopologySpec spec =
      TopologyBuilder("abort")
          .spout("s", "ClosingSpout", 1, {{"count", int64_t{1} << 40}, {"batch", int64_t{5}}})
          .bolt("p", "ClosingPassThrough", 1)
          .bolt("g", "Gate", 1)
          .spout("x", "SequenceSpout", 1)
          .bolt("q", "ClosingPassThrough", 1)
          .bolt("y", "PassThrough", 1)
          .stream("s", "p")
          .stream("p", "g")
          .stream("x", "q")
          .stream("s", "y")
          .build();
  // s p g x q y
  const std::vector<int> worker_of = {0, 0, 0, 1, 0, 1};
  Fabric fabric;
  Fabric::End end(fabric, worker_of, 0);
  EngineOptions o = no_checkpoints();
  o.batch_size = 10;
  o.channel_capacity = 2;
  o.placement = Placement{0, worker_of};
  o.remote = &end;
  auto e = make(spec, reg, o);
  ASSERT_TRUE(e);
  // On a failed assertion too, before ~Engine waits for the gate's task.
  struct OpenGateAtExit {
    ~OpenGateAtExit() { g_gate_open = true; }
  } open_gate_at_exit;
  ASSERT_EQ(e->task_count(), 4u);
  ASSERT_TRUE(e->start().ok());
  auto spout_out = [&] {
    for (auto& st : e->stats())
      if (st.component == "s") return st.counters["out"];
    return int64_t{-1};
  };
  // Back-pressure reached s: its output (counted after each next_batch of 5) stopped growing.
  int64_t last = -1;
  ASSERT_TRUE(test::wait_until(
      [&] {
        const int64_t now = spout_out();
        const bool still = now == last && now > 0;
        last = now;
        return still;
      },
      10s, 100ms));
  EXPECT_FALSE(closed({"s[0]"}));

  e->abort();
  EXPECT_TRUE(test::wait_until(
      [&] {
        return closed({"s[0]", "p[0]", "q[0]"});
      },
      10s))
      << "a task blocked in a push or a pop did not exit";
  g_gate_open = true;
  auto waited = std::async(std::launch::async, [&] { return e->wait(); });
  ASSERT_EQ(waited.wait_for(10s), std::future_status::ready) << "wait() after abort() hangs";
  EXPECT_TRUE(waited.get().ok());
  std::lock_guard lk(fabric.mu);
  ASSERT_EQ(fabric.dropped.size(), 1u) << "s's channel to y";
  const auto& kinds = fabric.dropped.begin()->second;
  EXPECT_FALSE(kinds.empty());
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), Message::Kind::end), 0)
      << "abort() sent end of stream";
}

TEST(Abort, WaitStillReportsAFailureBeforeTheAbort) {
  auto reg = test_registry();
  const TopologySpec spec = TopologyBuilder("fails")
                                .spout("s", "ThrowingSpout", 1)
                                .bolt("p", "PassThrough", 1)
                                .stream("s", "p")
                                .build();
  auto e = make(spec, reg, no_checkpoints());
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(test::wait_until([&] { return !e->failure().ok(); }, 10s));
  e->abort();
  Status s = e->wait();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("spout bug"), std::string::npos) << s.to_string();
}

// Dead-letter sinks only for local tasks: the factory is asked for those alone, and the stats
// hold the local tasks and their sinks.
TEST(Placement, DeadLetterSinksOnlyForLocalTasks) {
  auto reg = test_registry();
  const TopologySpec spec = TopologyBuilder("dlq")
                                .spout("s", "SequenceSpout", 1)
                                .bolt("p", "PassThrough", 2)
                                .on_error(ErrorPolicy::dead_letter, "errors")
                                .stream("s", "p")
                                .build();
  const std::vector<int> worker_of = {0, 1, 0};  // s[0] p[0] p[1]
  Fabric fabric;
  Fabric::End end(fabric, worker_of, 0);
  std::vector<std::string> asked;
  EngineOptions o = no_checkpoints();
  o.placement = Placement{0, worker_of};
  o.remote = &end;
  o.dead_letter_sink = [&](const TopologySpec&, const ComponentSpec& c,
                           TaskIndex i) -> Result<DeadLetterSink> {
    asked.push_back(c.id + "/" + std::to_string(i.value));
    return DeadLetterSink{"PassThrough", Args{}, ""};
  };
  auto e = make(spec, reg, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(asked, (std::vector<std::string>{"p/1"}));
  EXPECT_EQ(e->task_count(), 3u);
  std::vector<std::string> names;
  for (auto& st : e->stats()) names.push_back(st.component + "[" + std::to_string(st.task) + "]");
  EXPECT_EQ(names, (std::vector<std::string>{"s[0]", "p[1]", "p.dead_letter[1]"}));
}

TEST(Abort, AFailureWhileUnwindingIsNotReported) {
  auto reg = test_registry();
  const TopologySpec spec = TopologyBuilder("unwind")
                                .spout("s", "SequenceSpout", 1, {{"count", int64_t{1} << 40}})
                                .bolt("c", "ThrowOnClose", 1)
                                .stream("s", "c")
                                .build();
  auto e = make(spec, reg, no_checkpoints());
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(test::wait_until(
      [&] {
        for (auto& st : e->stats())
          if (st.component == "c" && st.counters["in"] > 0) return true;
        return false;
      },
      10s));
  e->abort();
  Status s = e->wait();
  EXPECT_TRUE(s.ok()) << s.to_string();
}
