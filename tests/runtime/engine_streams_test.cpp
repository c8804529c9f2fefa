// Named streams in the engine: emit(stream, values) reaches only that stream's subscribers, a
// received tuple names its source component, task and stream, an undeclared stream fails the
// topology, and barriers align over two streams of one upstream (distinct input channels).
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <sstream>

#include "runtime/engine.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;

namespace {

// (receiving component, source component, source task, source stream, n)
struct Origin {
  std::string at, component;
  int task = 0;
  std::string stream;
  int64_t n = 0;
};
struct Origins {
  std::mutex mu;
  std::vector<Origin> items;
  size_t size() {
    std::lock_guard lk(mu);
    return items.size();
  }
};
Origins* g_origins = nullptr;

// n % 3 == 0 to "errors" [n, reason], the rest to "ok" [n, text]; `bogus: true` also emits on an
// undeclared stream at n == 5.
class Splitter : public Bolt {
 public:
  explicit Splitter(const Args& a) : bogus_(a.bool_or("bogus", false)) {}
  std::vector<StreamDecl> output_streams() const override {
    return {{"ok", {"n", "text"}}, {"errors", {"n", "reason"}}};
  }
  void execute(const Tuple& t, Collector& out) override {
    const int64_t n = t.get_int("n");
    if (bogus_ && n == 5) out.emit_values_to("bogus", n);
    if (n % 3 == 0)
      out.emit_values_to("errors", n, std::string("divisible by 3"));
    else
      out.emit("ok", t.values());
  }
  bool bogus_;
};

// Notes every tuple's origin; checks the fields it was bound to are its stream's.
class OriginRecorder : public Bolt {
 public:
  explicit OriginRecorder(const Args&) {}
  Status open(Context& ctx) override {
    id_ = ctx.component;
    return Status::Ok();
  }
  void execute(const Tuple& t, Collector&) override {
    if (t.source_stream() == "errors") (void)t.get_string("reason");  // the errors fields
    std::lock_guard lk(g_origins->mu);
    g_origins->items.push_back({id_, std::string(t.source_component()), t.source_task().value,
                                std::string(t.source_stream()), t.get_int("n")});
  }
  std::string id_;
};

// Counts tuples per stream; stateful, so its counts are in every checkpoint.
class StreamCounter : public Bolt {
 public:
  explicit StreamCounter(const Args&) {}
  void execute(const Tuple& t, Collector&) override {
    (t.source_stream() == "errors" ? errors_ : ok_)++;
  }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(ok_, errors_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(ok_, errors_);
    return Status::Ok();
  }
  int64_t ok_ = 0, errors_ = 0;
};

Registry test_registry() {
  Registry r = test::builtin_registry();
  (void)r.add(describe<Splitter>("Splitter", ""));
  (void)r.add(describe<OriginRecorder>("OriginRecorder", ""));
  (void)r.add(describe<StreamCounter>("StreamCounter", ""));
  return r;
}

EngineOptions no_checkpoints(bool chaining = true) {
  EngineOptions o;
  o.checkpointing = false;
  o.threads = 2;
  o.chaining = chaining;
  o.batch_size = 32;
  return o;
}

void run_to_count(Engine& e, size_t expected) {
  ASSERT_TRUE(e.start().ok());
  EXPECT_TRUE(
      test::wait_until([&] { return g_origins->size() >= expected || !e.failure().ok(); }, 30s));
  e.request_stop();
  EXPECT_TRUE(e.wait().ok()) << e.failure().to_string();
}

}  // namespace

// A bolt emitting "ok" and "errors"; one downstream reads only "errors", another only "ok" (a
// local_or_shuffle subscription of the same parallelism: chained when chaining is on).
TEST(Streams, EachSubscriberGetsOnlyItsStream) {
  for (bool chaining : {true, false}) {
    SCOPED_TRACE(chaining ? "chaining" : "no chaining");
    Origins origins;
    g_origins = &origins;
    auto reg = test_registry();
    const int64_t count = 3000;
    auto spec =
        TopologyBuilder("streams")
            .spout("s", "SequenceSpout", 1, {{"count", count}})
            .bolt("split", "Splitter", 2)
            .bolt("errs", "OriginRecorder", 1)
            .bolt("oks", "OriginRecorder", 2)
            .stream("s", "split")
            .named_stream("split", "errors", "errs")
            .named_stream("split", "ok", "oks", Grouping{GroupingType::local_or_shuffle, {}})
            .build();
    auto e = Engine::create(spec, reg, no_checkpoints(chaining));
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    run_to_count(**e, static_cast<size_t>(count));
    std::set<int64_t> ok, errors;
    std::set<int> split_tasks;
    for (auto& o : origins.items) {
      EXPECT_EQ(o.component, "split");
      split_tasks.insert(o.task);
      if (o.at == "errs") {
        EXPECT_EQ(o.stream, "errors") << o.n;
        EXPECT_TRUE(errors.insert(o.n).second) << o.n << " twice";
      } else {
        EXPECT_EQ(o.stream, "ok") << o.n;
        EXPECT_TRUE(ok.insert(o.n).second) << o.n << " twice";
      }
    }
    EXPECT_EQ(split_tasks, (std::set<int>{0, 1}));
    for (int64_t n = 0; n < count; ++n) EXPECT_EQ(n % 3 == 0 ? errors.count(n) : ok.count(n), 1u);
    EXPECT_EQ(ok.size() + errors.size(), static_cast<size_t>(count));
  }
}

// A bolt with two inputs (a spout's default stream and another bolt's "errors") tells them
// apart by source component, task and stream.
TEST(Streams, TwoInputsKnowTheirOrigin) {
  Origins origins;
  g_origins = &origins;
  auto reg = test_registry();
  const int64_t count = 900;
  auto spec = TopologyBuilder("origin")
                  .spout("s", "SequenceSpout", 3, {{"count", count}})
                  .bolt("split", "Splitter", 1)
                  .bolt("join", "OriginRecorder", 1)
                  .stream("s", "split")
                  .stream("s", "join")
                  .named_stream("split", "errors", "join")
                  .build();
  auto e = Engine::create(spec, reg, no_checkpoints());
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  run_to_count(**e, static_cast<size_t>(count + count / 3));
  std::map<std::string, int> per_source;
  std::set<int> spout_tasks;
  for (auto& o : origins.items) {
    per_source[o.component + "/" + o.stream]++;
    if (o.component == "s") spout_tasks.insert(o.task);
    if (o.component == "split") {
      EXPECT_EQ(o.task, 0);
      EXPECT_EQ(o.n % 3, 0);
    }
  }
  EXPECT_EQ(per_source["s/default"], count);
  EXPECT_EQ(per_source["split/errors"], count / 3);
  EXPECT_EQ(per_source.size(), 2u);
  EXPECT_EQ(spout_tasks, (std::set<int>{0, 1, 2}));
}

// Emitting on an undeclared stream is the component's bug: it fails the topology as "a restart
// cannot fix it" even under on_error: skip, naming component, stream and the declared ones.
TEST(Streams, EmittingOnAnUndeclaredStreamFailsWhateverThePolicy) {
  Origins origins;
  g_origins = &origins;
  auto reg = test_registry();
  auto spec = TopologyBuilder("bogus")
                  .spout("s", "SequenceSpout", 1, {{"count", int64_t{100}}})
                  .bolt("split", "Splitter", 1, {{"bogus", true}})
                  .on_error(ErrorPolicy::skip)
                  .bolt("r", "OriginRecorder", 1)
                  .stream("s", "split")
                  .named_stream("split", "ok", "r")
                  .build();
  auto e = Engine::create(spec, reg, no_checkpoints());
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_TRUE((*e)->start().ok());
  EXPECT_TRUE(test::wait_until([&] { return !(*e)->failure().ok(); }, 10s));
  Status s = (*e)->wait();
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("component 'split' task 0 emitted on stream 'bogus'"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("declared: [ok, errors]"), std::string::npos) << s.message();
}

TEST(Streams, SubscribingToAnUndeclaredStreamIsRefused) {
  auto reg = test_registry();
  auto spec = TopologyBuilder("sub")
                  .spout("s", "SequenceSpout", 1)
                  .bolt("split", "Splitter", 1)
                  .bolt("r", "OriginRecorder", 1)
                  .stream("s", "split")
                  .stream("split", "r")  // the default stream, which Splitter does not declare
                  .build();
  auto e = Engine::create(spec, reg, no_checkpoints());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("reads stream 'default' of 'split', which declares only "
                                      "[ok, errors]"),
            std::string::npos)
      << e.status().message();
  auto grouped = TopologyBuilder("sub")
                     .spout("s", "SequenceSpout", 1)
                     .bolt("split", "Splitter", 1)
                     .bolt("r", "OriginRecorder", 1)
                     .stream("s", "split")
                     .named_stream("split", "errors", "r", Grouping{GroupingType::fields, {"text"}})
                     .build();
  auto g = Engine::create(grouped, reg, no_checkpoints());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("stream 'errors' of 'split' does not declare"),
            std::string::npos)
      << g.status().message();
}

// Two subscriptions to one upstream (its "ok" and "errors" streams) are two input channels per
// upstream task: barriers align over both, so every checkpoint's counts match the spout offsets.
TEST(Streams, BarriersAlignOverTwoStreamsOfOneUpstream) {
  auto reg = test_registry();
  test::CollectingListener listener;
  auto spec =
      TopologyBuilder("align")
          .spout("s", "SequenceSpout", 2, {{"count", int64_t{2000000}}, {"batch", int64_t{64}}})
          .bolt("split", "Splitter", 2)
          .bolt("c", "StreamCounter", 1)
          .stream("s", "split")
          .named_stream("split", "ok", "c")
          .named_stream("split", "errors", "c")
          .build();
  EngineOptions o = test::collecting_options(listener);
  o.batch_size = 64;
  auto e = Engine::create(spec, reg, o);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  ASSERT_TRUE((*e)->start().ok());
  ASSERT_TRUE(test::run_checkpoints(**e, listener, 6));
  (*e)->request_stop();
  ASSERT_TRUE((*e)->wait().ok()) << (*e)->failure().to_string();
  int64_t max_errors = 0;
  for (int64_t id = 1; id <= 6; ++id) {
    int64_t offsets = 0, ok = -1, errors = -1;
    for (auto& d : listener.got) {
      if (d.id.value != id) continue;
      for (auto& p : d.positions) offsets += p.next.value;
      if (d.component == "c") {
        std::istringstream is(d.bytes);
        StateReader r(is);
        r(ok, errors);
      }
    }
    EXPECT_EQ(ok + errors, offsets) << "checkpoint " << id;
    max_errors = std::max(max_errors, errors);
  }
  EXPECT_GT(max_errors, 0) << "no checkpoint saw the errors stream";
}
