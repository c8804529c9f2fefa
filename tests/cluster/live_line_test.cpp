// The live line of `sleet run` at the widths a terminal has: what it keeps, what gives way, and
// that it never exceeds the width (cluster/live_line.hpp).
#include "cluster/live_line.hpp"

#include <gtest/gtest.h>

using namespace sleet::cluster;

namespace {

// A busy run: a checkpoint, aborts, restarts, ZooKeeper restarts, drops and three workers.
LiveStatus busy() {
  LiveStatus l;
  l.elapsed_s = 123.4;
  l.status = R"({"pid":1,"in_rate":125000.0,"out_rate":98000.0,"last_checkpoint":42,)"
             R"("last_checkpoint_ms":37,"last_checkpoint_age_s":1.25,"committed_offsets":9000,)"
             R"("leader":true,"generation":5})";
  l.loaded = 12000;
  l.aborts_seen = 2;
  l.restarts = 3;
  l.zk_restarts = 1;
  l.lost_total = 17;
  // N workers: the line sums the rates of their own statuses.
  l.workers.resize(3);
  l.workers[0].status = R"({"in_rate":100000.0,"out_rate":90000.0})";
  l.workers[1].status = R"({"in_rate":25000.0,"out_rate":8000.0})";
  return l;
}

const std::string kWorkers = "w0 running leader | w1 running | w2 restarting(2)";

LiveStatus quiet() {
  LiveStatus l;
  l.elapsed_s = 5.0;
  l.status = R"({"pid":1,"in_rate":10.0,"out_rate":10.0,"last_checkpoint":0})";
  l.loaded = 50;
  return l;
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(LiveLine, UnlimitedWidthIsTheFullLine) {
  // Off a terminal (width 0) the line is what `sleet run` always logged.
  std::string line = fit_live_line(live_fields("wordcount", quiet(), "", 1), 0);
  EXPECT_EQ(line,
            "wordcount |   5.0s | in 10/s out 10/s | lag 50 of 50 | no checkpoint yet | "
            "restarts 0");
}

struct WidthCase {
  size_t width;
  bool busy;
  std::vector<std::string> kept;     // must appear
  std::vector<std::string> dropped;  // must not appear
};

class LiveLineWidth : public ::testing::TestWithParam<WidthCase> {};

TEST_P(LiveLineWidth, FitsAndKeepsTheImportantFields) {
  const WidthCase& c = GetParam();
  LiveStatus l = c.busy ? busy() : quiet();
  std::string line =
      fit_live_line(live_fields("wordcount", l, c.busy ? kWorkers : "", c.busy ? 3 : 1), c.width);
  EXPECT_LE(display_width(line), c.width) << line;
  for (auto& k : c.kept) EXPECT_TRUE(has(line, k)) << "missing '" << k << "' in: " << line;
  for (auto& d : c.dropped) EXPECT_FALSE(has(line, d)) << "unexpected '" << d << "' in: " << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Widths, LiveLineWidth,
    ::testing::Values(
        // 160 columns: a quiet run shows everything in full.
        WidthCase{160,
                  false,
                  {"wordcount", "5.0s", "in 10/s out 10/s", "lag 50 of 50", "no checkpoint yet",
                   "restarts 0"},
                  {}},
        // 160 columns, busy: the worker states give way to "3 workers", lag and the restart
        // counts shorten; every field stays.
        WidthCase{
            160,
            true,
            {"wordcount", "123.4s", "in 125.0k/s out 98.0k/s", "checkpoint 42 (37 ms", "aborted 2",
             "rst 3", "zk rst 1", "DROPPED 17 records", "lag 3000", "3 workers gen 5"},
            {"w1 running"}},
        // 80 columns, quiet (87 in full): "restarts 0" shortens first.
        WidthCase{
            80,
            false,
            {"wordcount", "5.0s", "in 10/s out 10/s", "lag 50 of 50", "no checkpoint yet", "rst 0"},
            {}},
        // 80 columns, busy: shortened, the worker list and the long forms go first; rates,
        // checkpoint id, restarts and the drop warning stay.
        WidthCase{
            80, true, {"in 125.0k", "out 98.0k", "cp 42", "DROPPED 17"}, {"w1 running", "(37 ms"}},
        // 40 columns: rates and the drop warning (priority 0) survive.
        WidthCase{40, true, {"in 125.0k", "DROPPED 17"}, {"w0", "wordcount"}},
        WidthCase{40, false, {"in 10", "out 10"}, {}}));

TEST(LiveLine, ShortensBeforeDropping) {
  std::vector<LiveField> f = {{"a", 0, {"AAAAAAAAAA", "A"}}, {"b", 1, {"BBBBBBBBBB", "B"}}};
  // Both long: 23 columns. At 14 the less important b shortens first, nothing is dropped.
  EXPECT_EQ(fit_live_line(f, 23), "AAAAAAAAAA | BBBBBBBBBB");
  EXPECT_EQ(fit_live_line(f, 14), "AAAAAAAAAA | B");
  EXPECT_EQ(fit_live_line(f, 5), "A | B");
  // Narrower still: b (priority 1) is dropped, a (priority 0) never is, only cut.
  EXPECT_EQ(fit_live_line(f, 3), "A");
  std::vector<LiveField> g = {{"a", 0, {"AAAAAAAAAA"}}};
  EXPECT_EQ(fit_live_line(g, 4), "AAAA");
}

TEST(LiveLine, WidthCountsCodePoints) {
  EXPECT_EQ(display_width("wörter"), 6u);
  std::vector<LiveField> f = {{"a", 0, {"wörterbuch"}}};
  EXPECT_EQ(fit_live_line(f, 3), "wör");
}
