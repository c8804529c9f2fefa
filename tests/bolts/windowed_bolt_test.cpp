// WindowedBolt and the built-in windowed aggregations, driven directly (no engine, no fibers, no
// clock except the processing-time case): execute / on_watermark / snapshot / restore, with
// the results compared against windows computed by hand.
#include <gtest/gtest.h>

#include <sleet/registry.hpp>
#include <sleet/windowed_bolt.hpp>

#include <sstream>

using namespace sleet;

namespace {

const Fields kIn{"word", "n"};

struct Out : Collector {
  std::vector<std::string> got;   // "key start end value @ts"
  std::vector<std::string> late;  // what went to stream "late": its values, space separated
  using Collector::emit;
  void emit(Values&& v) override { emit_at(kNoTimestamp, std::move(v)); }
  void emit_at(int64_t ts, Values&& v) override {
    std::string s;
    for (auto& x : v) s += to_text(x) + " ";
    got.push_back(s + "@" + (ts == kNoTimestamp ? std::string("-") : std::to_string(ts)));
  }
  void emit(std::string_view stream, Values&& v) override {
    if (stream == kDefaultStream) return emit(std::move(v));
    ASSERT_EQ(stream, "late");
    ASSERT_EQ(v.size(), WindowedBolt::late_fields().size());
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : " ") + to_text(x);
    late.push_back(s);
  }
};

std::unique_ptr<WindowedBolt> make(const std::string& cls, Args args) {
  auto c = Registry::global().create(cls, args);
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  auto* w = dynamic_cast<WindowedBolt*>(c->get());
  EXPECT_NE(w, nullptr);
  c->release();
  return std::unique_ptr<WindowedBolt>(w);
}

Tuple tuple(const std::string& w, int64_t n, int64_t ts) {
  Tuple t(&kIn, Values{Value(w), Value(n)});
  t.set_timestamp(ts);
  return t;
}

// An input step: a tuple (word, n, ts) or a watermark (word empty).
struct Step {
  std::string word;
  int64_t n_or_watermark;
  int64_t ts = 0;
};
Step wm(int64_t w) {
  return {"", w};
}
Step in(std::string w, int64_t n, int64_t ts) {
  return {std::move(w), n, ts};
}

void feed(WindowedBolt& b, Out& out, const std::vector<Step>& steps, size_t from = 0,
          size_t to = SIZE_MAX) {
  for (size_t i = from; i < std::min(to, steps.size()); ++i) {
    const Step& s = steps[i];
    if (s.word.empty())
      ASSERT_TRUE(b.on_watermark(s.n_or_watermark, out).ok());
    else
      b.execute(tuple(s.word, s.n_or_watermark, s.ts), out);
  }
}

struct Case {
  const char* name;
  const char* cls;
  Args args;
  std::vector<Step> steps;
  std::vector<std::string> expect;
  int64_t late = 0;
  std::vector<std::string> late_out = {};  // what the `late` stream gets
};

Args args(std::initializer_list<std::pair<const std::string, Arg>> a) {
  return Args(a);
}

std::vector<Case> cases() {
  return {
      {"tumbling event-time count per key, out of order within the window",
       "WindowedCount",
       args({{"size_ms", int64_t{10}}, {"key_field", "word"}}),
       {in("a", 1, 3), in("b", 1, 9), in("a", 1, 1), in("a", 1, 12), wm(8), wm(9), in("b", 1, 11),
        wm(25)},
       {"a 0 10 2 @9", "b 0 10 1 @9", "a 10 20 1 @19", "b 10 20 1 @19"}},
      {"a tuple behind the watermark is late (no lateness allowed)",
       "WindowedCount",
       args({{"size_ms", int64_t{10}}, {"key_field", "word"}}),
       {in("a", 1, 3), wm(9), in("a", 1, 5), in("a", 1, 10), wm(19)},
       {"a 0 10 1 @9", "a 10 20 1 @19"},
       1,
       {R"(a {"word":"a","n":1} 5  default)"}},
      {"allowed lateness: the window fires again with the late tuple, then is dropped",
       "WindowedSum",
       args({{"size_ms", int64_t{10}},
             {"key_field", "word"},
             {"value_field", "n"},
             {"allowed_lateness_ms", int64_t{5}}}),
       {in("a", 2, 3), wm(9), in("a", 5, 4), wm(14), in("a", 7, 1), wm(30)},
       {"a 0 10 2 @9", "a 0 10 7 @9"},
       1,
       {R"(a {"word":"a","n":7} 1  default)"}},
      {"sliding windows: each tuple in size/slide windows",
       "WindowedMax",
       args({{"size_ms", int64_t{10}}, {"slide_ms", int64_t{5}}, {"value_field", "n"}}),
       {in("x", 4, 7), in("y", 9, 12), wm(100)},
       {" 0 10 4 @9", " 5 15 9 @14", " 10 20 9 @19"}},
      {"min per key, negative timestamps",
       "WindowedMin",
       args({{"size_ms", int64_t{10}}, {"key_field", "word"}, {"value_field", "n"}}),
       {in("a", 4, -3), in("a", -2, -10), in("a", 8, -11), wm(-1)},
       {"a -20 -10 8 @-11", "a -10 0 -2 @-1"}},
      {"tumbling count windows per key",
       "WindowedSum",
       args({{"window", "count"},
             {"size", int64_t{2}},
             {"key_field", "word"},
             {"value_field", "n"}}),
       {in("a", 1, 0), in("b", 10, 0), in("a", 2, 0), in("a", 3, 0), in("b", 20, 0), in("a", 4, 0)},
       {"a 0 2 3 @-", "b 0 2 30 @-", "a 2 4 7 @-"}},
      {"sliding count windows: every slide tuples over the last size",
       "WindowedCount",
       args({{"window", "count"}, {"size", int64_t{3}}, {"slide", int64_t{2}}}),
       {in("a", 1, 0), in("a", 1, 0), in("a", 1, 0), in("a", 1, 0), in("a", 1, 0)},
       {" 0 2 2 @-", " 1 4 3 @-"}},
  };
}

TEST(WindowedBolt, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    auto b = make(c.cls, c.args);
    Context ctx;
    Counter late;
    ctx.counter = [&](const std::string&) { return &late; };
    ASSERT_TRUE(b->open(ctx).ok());
    Out out;
    feed(*b, out, c.steps);
    EXPECT_EQ(out.got, c.expect);
    EXPECT_EQ(late.get(), c.late);
    EXPECT_EQ(out.late, c.late_out);
  }
}

// Snapshot after every step, restore into a fresh bolt, continue: the same output as one run.
TEST(WindowedBolt, RestoreAtEveryStepGivesTheSameOutput) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Context ctx;
    auto whole = make(c.cls, c.args);
    ASSERT_TRUE(whole->open(ctx).ok());
    Out expect;
    feed(*whole, expect, c.steps);
    for (size_t cut = 0; cut <= c.steps.size(); ++cut) {
      SCOPED_TRACE("cut at " + std::to_string(cut));
      auto first = make(c.cls, c.args);
      ASSERT_TRUE(first->open(ctx).ok());
      Out out;
      feed(*first, out, c.steps, 0, cut);
      std::ostringstream os(std::ios::binary);
      {
        StateWriter w(os);
        first->snapshot_state(w);
      }
      auto second = make(c.cls, c.args);
      std::istringstream is(os.str(), std::ios::binary);
      StateReader r(is);
      ASSERT_TRUE(second->restore_state(r, second->state_version()).ok());
      EXPECT_EQ(second->watermark(), first->watermark());
      EXPECT_EQ(second->pending_windows(), first->pending_windows());
      ASSERT_TRUE(second->open(ctx).ok());
      feed(*second, out, c.steps, cut);
      EXPECT_EQ(out.got, expect.got);
      EXPECT_EQ(out.late, expect.late);
    }
  }
}

TEST(WindowedBolt, BadArgumentsAreRefusedNamingTheArgument) {
  struct Bad {
    Args a;
    const char* expect;
  };
  std::vector<Bad> bad = {
      {args({}), "size_ms must be > 0"},
      {args({{"size_ms", int64_t{10}}, {"slide_ms", int64_t{11}}}), "slide_ms must be between"},
      {args({{"window", "count"}, {"size_ms", int64_t{10}}}), "size_ms does not apply"},
      {args({{"window", "hourly"}, {"size_ms", int64_t{10}}}), "window must be event_time"},
      {args({{"window", "count"}, {"size", int64_t{3}}, {"allowed_lateness_ms", int64_t{1}}}),
       "allowed_lateness_ms applies to window: event_time only"},
  };
  for (auto& b : bad) {
    auto c = Registry::global().create("WindowedCount", b.a);
    ASSERT_FALSE(c.ok()) << b.expect;
    EXPECT_NE(c.status().message().find(b.expect), std::string::npos) << c.status().message();
  }
  auto c = Registry::global().create("WindowedSum", args({{"size_ms", int64_t{10}}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("value_field"), std::string::npos) << c.status().message();
}

}  // namespace

namespace {

// A windowed bolt that declares only its default stream: its late tuples are counted, not
// emitted (emitting on an undeclared stream would fail the topology).
class NoLateStream final : public WindowedBolt {
 public:
  NoLateStream() : WindowedBolt(WindowSpec{WindowSpec::Kind::event_time, 10, 0, 0, "key"}) {}
  Fields output_fields() const override { return {"n"}; }
  std::vector<StreamDecl> output_streams() const override {
    return {{std::string(kDefaultStream), output_fields()}};
  }
  void on_window(const Value&, const Window&, const std::vector<Tuple>& tuples,
                 Collector& out) override {
    out.emit({int64_t(tuples.size())});
  }
};

}  // namespace

// The `late` side stream: declared by every windowed bolt with fixed fields, filled from the
// late tuple (the window key, the input's `value` field as is, its event time, its source).
TEST(WindowedBolt, LateTuplesGoToTheLateStream) {
  auto b = make("WindowedCount", args({{"size_ms", int64_t{10}}, {"key_field", "key"}}));
  auto streams = b->output_streams();
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].name, kDefaultStream);
  EXPECT_EQ(streams[1].name, "late");
  EXPECT_EQ(
      streams[1].fields.names(),
      (std::vector<std::string>{"key", "value", "timestamp", "source_component", "source_stream"}));
  Context ctx;
  Counter late;
  ctx.counter = [&](const std::string&) { return &late; };
  ASSERT_TRUE(b->open(ctx).ok());
  const Fields rec{"key", "value", "partition"};
  const TupleSource src{"events", TaskIndex{1}, "default"};
  auto record = [&](std::string k, std::string v, int64_t ts) {
    Tuple t(&rec, Values{Value(std::move(k)), Value(std::move(v)), Value(int64_t{0})}, &src);
    t.set_timestamp(ts);
    return t;
  };
  Out out;
  b->execute(record("a", "v1", 3), out);
  ASSERT_TRUE(b->on_watermark(12, out).ok());
  b->execute(record("b", "v2", 7), out);             // window [0, 10) fired at 12: late
  b->execute(record("a", "v3", kNoTimestamp), out);  // no event time: late
  b->execute(record("a", "v4", 15), out);            // on time
  EXPECT_EQ(out.got, (std::vector<std::string>{"a 0 10 1 @9"}));
  EXPECT_EQ(out.late,
            (std::vector<std::string>{"b v2 7 events default", "a v3 -1 events default"}));
  EXPECT_EQ(late.get(), 2);

  NoLateStream quiet;
  Counter late2;
  ctx.counter = [&](const std::string&) { return &late2; };
  ASSERT_TRUE(quiet.open(ctx).ok());
  Out out2;
  ASSERT_TRUE(quiet.on_watermark(12, out2).ok());
  quiet.execute(record("b", "v2", 7), out2);
  EXPECT_TRUE(out2.late.empty());
  EXPECT_EQ(late2.get(), 1);
}
