// Named streams in topology files: `stream:` (and Flux's grouping `streamId`) on a subscription,
// validated against the output streams the source declares, each diagnostic at file:line:col.
// A table: one file per case, the diagnostics it must produce, and how many errors in all.
#include "tests/topology_dsl/dsl_test_support.hpp"

using namespace sleet;
using namespace sleet::test;

using DslStreams = DslTest;

namespace {

// Line 1 name, 3 spout, 5..7 bolts, 9.. streams: cases append stream lines from line 11 on.
const char* kHead = R"(name: streams
spouts:
  - {id: words, class: Words}
bolts:
  - {id: split, class: Split}
  - {id: ok_sink, class: Sink}
  - {id: err_sink, class: Sink}
streams:
  - {from: words, to: split}
)";

struct Expect {
  int line, col;
  const char* text;
  bool error = true;
};
struct Case {
  const char* name;
  const char* streams;  // appended to kHead (its first line is line 10)
  std::vector<Expect> expect;
  size_t errors;
};

}  // namespace

TEST_F(DslStreams, Table) {
  const std::vector<Case> cases = {
      {"both streams subscribed",
       "  - {from: split, stream: ok, to: ok_sink, grouping: {type: fields, fields: [n]}}\n"
       "  - {from: split, stream: errors, to: err_sink}\n",
       {},
       0},
      {"flux streamId",
       "  - {from: split, to: ok_sink, grouping: {type: SHUFFLE, streamId: ok}}\n"
       "  - {from: split, to: err_sink, grouping: {type: FIELDS, args: [reason], streamId: "
       "errors}}\n",
       {},
       0},
      {"unknown stream, did you mean",
       "  - {from: split, stream: erors, to: err_sink}\n"
       "  - {from: split, stream: ok, to: ok_sink}\n",
       {{10, 27,
         "'split' has no output stream 'erors' (did you mean 'errors'?); it declares [ok, "
         "errors]"}},
       1},
      {"the default stream of a component without one",
       "  - {from: split, to: err_sink}\n"
       "  - {from: split, stream: ok, to: ok_sink}\n",
       {{10, 5,
         "'split' has no output stream 'default'; it declares [ok, errors] (name one with "
         "stream: NAME)"}},
       1},
      {"fields grouping on a field the stream does not declare",
       "  - {from: split, stream: ok, to: ok_sink, grouping: {type: fields, fields: [reason]}}\n"
       "  - {from: split, stream: errors, to: err_sink, grouping: {type: fields, fields: "
       "[reasn]}}\n",
       {{10, 54, "fields grouping on 'reason', but stream 'ok' of 'split' declares only [word, n]"},
        {11, 59,
         "fields grouping on 'reasn', but stream 'errors' of 'split' declares only [word, "
         "reason] (did you mean 'reason'?)"}},
       2},
      {"unsubscribed stream warns",
       "  - {from: split, stream: ok, to: ok_sink}\n"
       "  - {from: words, to: err_sink}\n",
       {{5, 5, "output stream 'errors' of 'split' has no subscriber", false}},
       0},
      {"streamId contradicting stream",
       "  - {from: split, stream: ok, to: ok_sink, grouping: {type: shuffle, streamId: errors}}\n"
       "  - {from: split, stream: errors, to: err_sink}\n",
       {{10, 80, "streamId 'errors' contradicts stream: 'ok'"}},
       1},
      {"the same stream twice into one bolt",
       "  - {from: split, stream: ok, to: ok_sink}\n"
       "  - {from: split, stream: ok, to: ok_sink}\n"
       "  - {from: split, stream: errors, to: ok_sink}\n"
       "  - {from: split, stream: errors, to: err_sink}\n",
       {{11, 5, "duplicate stream split -> ok_sink (stream 'ok')"}},
       1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = write(std::string("case.yaml"), std::string(kHead) + c.streams);
    load(p);
    for (const Expect& e : c.expect) EXPECT_TRUE(has_error(p, e.line, e.col, e.text, e.error));
    EXPECT_EQ(error_count(), c.errors) << dump();
  }
}

TEST_F(DslStreams, SpecKeepsTheStreamAndTheGraphLabelsIt) {
  auto p = write("ok.yaml", std::string(kHead) +
                                "  - {from: split, stream: ok, to: ok_sink}\n"
                                "  - {from: split, to: err_sink, grouping: {type: shuffle, "
                                "streamId: errors}}\n");
  load(p);
  ASSERT_TRUE(last_.ok()) << dump();
  ASSERT_EQ(last_->streams.size(), 3u);
  EXPECT_EQ(last_->streams[0].stream, "default");
  EXPECT_EQ(last_->streams[1].stream, "ok");
  EXPECT_EQ(last_->streams[2].stream, "errors");
  EXPECT_EQ(locs_.stream(1).stream.line, 10);
  EXPECT_EQ(locs_.stream(1).stream.col, 27);
  const std::string dot = to_dot(*last_);
  EXPECT_NE(dot.find("\"words\" -> \"split\" [label=\"shuffle\"]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"split\" -> \"ok_sink\" [label=\"ok: shuffle\"]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"split\" -> \"err_sink\" [label=\"errors: shuffle\"]"), std::string::npos)
      << dot;
  // A named stream changes the fingerprint; the default one keeps the old value.
  TopologySpec renamed = *last_;
  renamed.streams[1].stream = "errors";
  EXPECT_NE(renamed.fingerprint(), last_->fingerprint());
}

// Every windowed bolt declares the side stream `late`; leaving it unsubscribed is the common
// case (late tuples are still counted), so it draws no "no subscriber" warning, while a
// subscription to it validates like any stream.
TEST_F(DslStreams, TheLateStreamOfAWindowedBoltNeedsNoSubscriber) {
  const ComponentDescriptor* wc = Registry::global().find("WindowedCount");
  ASSERT_NE(wc, nullptr);
  ASSERT_TRUE(reg_.add(*wc).ok());
  const std::string head = R"(name: windows
spouts:
  - {id: words, class: Words}
bolts:
  - {id: counts, class: WindowedCount, args: {size_ms: 1000, key_field: word}}
  - {id: out, class: Sink}
  - {id: late_out, class: Sink}
streams:
  - {from: words, to: counts, grouping: {type: fields, fields: [word]}}
  - {from: counts, to: out}
  - {from: words, to: late_out}
)";
  auto p = write("unsubscribed.yaml", head);
  load(p);
  ASSERT_TRUE(last_.ok()) << dump();
  for (auto& d : diags_)
    EXPECT_EQ(d.message.find("no subscriber"), std::string::npos) << d.to_string();
  p = write("subscribed.yaml",
            head +
                "  - {from: counts, stream: late, to: late_out, grouping: {type: fields, "
                "fields: [source_component]}}\n");
  load(p);
  ASSERT_TRUE(last_.ok()) << dump();
  EXPECT_EQ(error_count(), 0u) << dump();
  p = write("misspelt.yaml", head + "  - {from: counts, stream: lat, to: late_out}\n");
  load(p);
  EXPECT_TRUE(has_error(p, 12, 28,
                        "'counts' has no output stream 'lat' (did you mean 'late'?); it declares "
                        "[default, late]"));
}
