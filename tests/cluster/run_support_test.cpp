// The pure rules of `sleet run` (cluster/state_dir, input_loader, drain_check): which state
// directories a start may use or clean, the flow-control ledger that keeps the embedded Kafka
// from dropping unread input, pacing by time, and when a run counts as drained.
#include <gtest/gtest.h>

#include <unistd.h>

#include "cluster/drain_check.hpp"
#include "cluster/input_loader.hpp"
#include "cluster/state_dir.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace sleet::cluster;
namespace fs = std::filesystem;

namespace {
using Action = StateDirDecision::Action;

StateDirFindings dir_with(std::vector<std::string> entries,
                          std::optional<std::string> marker = std::nullopt) {
  StateDirFindings f;
  f.exists = f.is_directory = true;
  f.entries = std::move(entries);
  f.marker_topology = std::move(marker);
  return f;
}
}  // namespace

TEST(StateDir, DecisionTable) {
  StateDirFindings missing;
  StateDirFindings file;
  file.exists = true;
  struct Case {
    const char* what;
    StateDirFindings found;
    bool fresh;
    Action action;
    std::vector<std::string> remove;
  };
  const std::vector<Case> cases = {
      {"missing dir is created", missing, true, Action::use, {}},
      {"a file is refused", file, true, Action::refuse, {}},
      {"empty dir is used", dir_with({}), true, Action::use, {}},
      {"unmarked dir with user files is refused",
       dir_with({"input.txt", "wordcount.yaml"}),
       true,
       Action::refuse,
       {}},
      {"unmarked dir mixing own and user files is refused",
       dir_with({"checkpoints", "notes.txt", "zookeeper"}),
       true,
       Action::refuse,
       {}},
      // Regression: an unmarked dir holding only Sleet's names was cleaned, so a user's own
      // "zookeeper" directory given as --state-dir was deleted.
      {"unmarked dir of only Sleet's names is refused (nothing proves Sleet made them)",
       dir_with({"status.json", "worker.log", "zookeeper"}),
       true,
       Action::refuse,
       {}},
      {"unmarked dir with only the lock (died before the marker) is used",
       dir_with({".sleet-lock"}),
       true,
       Action::use,
       {}},
      {"marked dir: fresh start removes only own entries",
       dir_with({".sleet-lock", ".sleet-state", "checkpoints", "my-notes", "out", "zookeeper"},
                "wc"),
       true,
       Action::use,
       {"checkpoints", "zookeeper"}},
      {"marked dir: resume removes nothing",
       dir_with({".sleet-state", "checkpoints", "zookeeper"}, "wc"),
       false,
       Action::use,
       {}},
      {"marked for another topology is refused",
       dir_with({".sleet-state", "zookeeper"}, "other"),
       true,
       Action::refuse,
       {}},
  };
  for (auto& c : cases) {
    auto d = decide_state_dir(c.found, "wc", c.fresh);
    EXPECT_EQ(d.action, c.action) << c.what;
    EXPECT_EQ(d.remove, c.remove) << c.what;
    if (c.action == Action::refuse) {
      EXPECT_FALSE(d.reason.empty()) << c.what;
      EXPECT_FALSE(d.way_out.empty()) << c.what;
    }
  }
}

// prepare_state_dir on an unmarked non-empty directory touches nothing in it.
TEST(StateDir, UnmarkedDirIsRefusedAndLeftAlone) {
  test::TempDir dir("sleet-state");
  test::write_file(dir.path() / "topology.yaml", "name: x\n");
  fs::create_directories(dir.path() / "zookeeper");
  auto r = prepare_state_dir(dir.path(), "wc", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find(dir.path().string()), std::string::npos);
  EXPECT_NE(r.status().message().find("topology.yaml"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path() / "topology.yaml"));
  EXPECT_TRUE(fs::exists(dir.path() / "zookeeper"));
  EXPECT_FALSE(fs::exists(dir.path() / kStateMarker));
  EXPECT_FALSE(fs::exists(dir.path() / kStateLock));
}

TEST(StateDir, FreshStartKeepsForeignEntriesAndRotatesTheLog) {
  test::TempDir dir("sleet-state");
  fs::path s = dir.path() / "state";
  {
    auto first = prepare_state_dir(s, "wc", true);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
  }
  test::write_file(s / "worker.log", "old run\n");
  fs::create_directories(s / "zookeeper" / "version-2");
  test::write_file(s / "keep.txt", "mine");
  auto again = prepare_state_dir(s, "wc", true);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_FALSE(fs::exists(s / "zookeeper"));
  EXPECT_FALSE(fs::exists(s / "worker.log"));
  EXPECT_TRUE(fs::exists(s / "keep.txt"));
  EXPECT_TRUE(fs::exists(s / kStateMarker));
}

// Resuming (an external Kafka) keeps everything, but this run's worker.log starts empty, so the
// log tail shown on exit 3 holds only this run's lines; the earlier run's is worker.log.1.
TEST(StateDir, ResumeKeepsStateAndStartsANewWorkerLog) {
  test::TempDir dir("sleet-state");
  fs::path s = dir.path() / "state";
  { ASSERT_TRUE(prepare_state_dir(s, "wc", false).ok()); }
  test::write_file(s / "worker.log", "line of an earlier run\n");
  test::write_file(s / "status.json", "{\"pid\":1,\"drained\":true}\n");
  fs::create_directories(s / "zookeeper" / "version-2");
  auto again = prepare_state_dir(s, "wc", false);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(fs::exists(s / "zookeeper" / "version-2"));
  EXPECT_FALSE(fs::exists(s / "worker.log"));
  EXPECT_EQ(test::read_file(s / "worker.log.1"), "line of an earlier run\n");
  EXPECT_FALSE(fs::exists(s / "status.json")) << "a previous run's status must not look current";
}

TEST(StateDir, SecondHolderOfTheLockIsRefused) {
  test::TempDir dir("sleet-state");
  auto first = prepare_state_dir(dir.path() / "s", "wc", true);
  ASSERT_TRUE(first.ok());
  auto second = prepare_state_dir(dir.path() / "s", "wc", true);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::already_exists);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(getpid())), std::string::npos)
      << second.status().message();
}

TEST(FlowControl, LedgerKeepsTheBacklogWithinBudget) {
  BacklogBudget b{3, 1000};
  PartitionLedger l(100);  // the partition held 100 records before loading
  EXPECT_TRUE(l.has_room(400, b));
  l.produced(400);
  l.produced(400);
  EXPECT_FALSE(l.has_room(400, b)) << "bytes over budget";
  EXPECT_TRUE(l.has_room(200, b));
  l.produced(100);
  EXPECT_FALSE(l.has_room(1, b)) << "records over budget";
  EXPECT_EQ(l.backlog_records(), 3);
  l.committed(50);  // a position below what this loader produced releases nothing
  EXPECT_EQ(l.backlog_records(), 3);
  l.committed(101);
  EXPECT_EQ(l.backlog_records(), 2);
  EXPECT_EQ(l.backlog_bytes(), 500);
  EXPECT_TRUE(l.has_room(400, b));
  l.committed(103);
  EXPECT_EQ(l.backlog_records(), 0);
  EXPECT_TRUE(l.has_room(5000, b)) << "an empty backlog takes even an oversized record";
  l.produced(5000);
  EXPECT_FALSE(l.has_room(1, b));
  l.committed(104);
  EXPECT_EQ(l.backlog_bytes(), 0);
}

// The default budget stays well below the mock's 5 MiB / 100,000 batches per partition.
TEST(FlowControl, DefaultBudgetIsBelowTheMockRetention) {
  BacklogBudget b;
  EXPECT_LE(b.max_bytes, 5 * 1024 * 1024 / 2);
  EXPECT_LE(b.max_records, 100'000 / 2);
}

TEST(Pacing, ByTimeNotByFlushes) {
  EXPECT_EQ(records_due(0, 5000), 1);
  EXPECT_EQ(records_due(1.0, 5000), 5001);
  EXPECT_EQ(records_due(0.5, 100'000), 50'001);
  EXPECT_EQ(records_due(10, 0), INT64_MAX) << "rate 0: unpaced";
  EXPECT_DOUBLE_EQ(due_at(5000, 5000), 1.0);
  // Any rate: over 10 s the due count is within 5% of rate * 10 (the old loader topped out near
  // 1,100/s whatever the rate).
  for (double rate : {10.0, 1000.0, 5000.0, 50'000.0, 1e6}) {
    double due = static_cast<double>(records_due(10, rate));
    EXPECT_NEAR(due, rate * 10, rate * 10 * 0.05) << rate;
  }
}

TEST(Drain, PositionsParse) {
  auto p = parse_positions(
      R"({"pid":1,"drained":true,"positions":"sentences:0=10,sentences:1=7,my.topic-x:12=3"})");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p["sentences:0"], 10);
  EXPECT_EQ(p["sentences:1"], 7);
  EXPECT_EQ(p["my.topic-x:12"], 3);
  EXPECT_TRUE(parse_positions(R"({"pid":1})").empty());
}

TEST(Drain, OnlyTheCurrentWorkersStatusAtTheFinalEndsCounts) {
  const std::string done =
      R"({"pid":42,"last_checkpoint":5,"visible":5,"drained":true,"positions":"in:0=10,in:1=8"})";
  DrainFacts f{42, done, true, {{"in:0", 10}, {"in:1", 8}}};
  std::string why;
  EXPECT_TRUE(is_drained(f, &why)) << why;
  auto g = f;
  g.worker_pid = 43;  // a previous run's or a dead worker's status
  EXPECT_FALSE(is_drained(g, &why));
  EXPECT_NE(why.find("not the current worker"), std::string::npos);
  g = f;
  g.loading_done = false;
  EXPECT_FALSE(is_drained(g));
  g = f;
  g.final_ends["in:1"] = 9;  // a record acknowledged after the checkpoint
  EXPECT_FALSE(is_drained(g, &why));
  EXPECT_NE(why.find("in:1"), std::string::npos);
  g = f;
  g.final_ends["in:2"] = 1;  // a partition no checkpoint has a position for
  EXPECT_FALSE(is_drained(g));
  g = f;
  g.status =
      R"({"pid":42,"last_checkpoint":5,"visible":4,"drained":true,"positions":"in:0=10,in:1=8"})";
  EXPECT_FALSE(is_drained(g)) << "sink output of checkpoint 5 not visible";
  g.status = "";
  EXPECT_FALSE(is_drained(g));
}

TEST(Drain, LossesCountOnlyWhatNoCheckpointRead) {
  std::map<std::string, int64_t> starts = {
      {"in:0", 500}, {"in:1", 0}, {"in:2", 900}, {"out:0", 300}, {"dead:0", 0}};
  std::map<std::string, int64_t> committed = {{"in:0", 800}, {"in:2", 700}};
  auto l = losses(starts, committed, {"in"});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].topic, "in");
  EXPECT_EQ(l[0].partition, 2);
  EXPECT_EQ(l[0].lost, 200);  // 700..899 trimmed before the spout committed them
  EXPECT_EQ(l[1].topic, "out");
  EXPECT_EQ(l[1].lost, 300);  // sink output no spout reads: every trimmed record
}
