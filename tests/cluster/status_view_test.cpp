// `sleet status`'s report (cluster/status_view.hpp): the JSON value it reads and writes, the
// merge of the workers' documents, the tables with "-" for what is unknown, and which status
// files of a state dir belong to the run it holds.
#include "cluster/status_view.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace sleet::cluster;

namespace {

JsonValue parse(const std::string& s) {
  auto v = parse_json(s);
  EXPECT_TRUE(v.ok()) << v.status().message() << " in " << s;
  return v.ok() ? *v : JsonValue{};
}

// A status file as a worker of today writes it (no per-component keys).
const char* kToday =
    R"({"pid":4242,"elapsed_s":3.5,"records_in":1000,"records_out":990,"skipped":2,)"
    R"("in_rate":250.0,"out_rate":240.0,"restored_from":0,"last_checkpoint":7,)"
    R"("last_checkpoint_ms":31,"last_checkpoint_bytes":2048,"visible":7,"aborted":1,)"
    R"("drained":false,"committed_offsets":900,"last_checkpoint_age_s":0.40,)"
    R"("errors":{"split":{"skipped":2,"dead_lettered":1}},"last_abort_reason":"timeout: count[1]",)"
    R"("failure":"","failure_transient":false,"positions":"lines:0=900"})";

// One worker of a cluster with the keys the metrics branch adds.
std::string with_components(const std::string& worker, bool leader, int task, double p99,
                            double bp) {
  return R"({"pid":1,"worker_id":")" + worker + R"(","leader":)" + (leader ? "true" : "false") +
         R"(,"records_in":10,"records_out":5,"in_rate":1.5,"out_rate":1.0,)"
         R"("metrics_url":"http://127.0.0.1:9000","components":[)"
         R"({"id":"count","kind":"bolt","tasks":1,"tuples_in":10,"tuples_out":5,"rate_in":2.0,)"
         R"("rate_out":1.0,"execute_p99_seconds":)" +
         std::to_string(p99) + R"(,"backpressure_share":)" + std::to_string(bp) +
         R"(,"lag":null,"skipped":0,"dead_lettered":0,"failed":0,"task_list":[{"task":)" +
         std::to_string(task) + R"(,"worker":")" + worker +
         R"(","tuples_in":10,"tuples_out":5,"queue_depth":3}]}],)"
         R"("checkpoints":[{"id":9,"duration_seconds":0.05,"bytes":100,"age_seconds":1.0,)"
         R"("outcome":"aborted","reason":"timeout"}],)"
         R"("restarts":[{"at":"2026-12-01T22:00:00Z","reason":"exit 137"}],)"
         R"("partitions":[{"component":"lines","topic":"t","partition":0,"next_offset":5,)"
         R"("high_watermark":8,"lag":3}]})";
}

StatusReport report_of(std::vector<std::string> docs) {
  StatusReport r;
  r.topology = "wordcount";
  r.state = "running";
  r.source = "state_dir";
  r.where = "sleet-state/wordcount";
  int i = 0;
  for (auto& d : docs) {
    StatusWorker w;
    w.id = "w" + std::to_string(i++);
    w.source = "file";
    w.doc = parse(d);
    r.workers.push_back(std::move(w));
  }
  return r;
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(StatusJson, ParsesAndWritesBack) {
  struct Case {
    std::string in, out;
  };
  for (auto& c : std::vector<Case>{
           {"{}", "{}"},
           {" [1, 2.5, -3e2, true, false, null] ", "[1,2.5,-300,true,false,null]"},
           {R"({"a":{"b":["x\"y\\z\n"]}})", R"({"a":{"b":["x\"y\\z\n"]}})"},
           {R"("\u00e9\u0041")",
            "\"\xc3\xa9"
            "A\""},
           {R"({"k":1,"k2":"v"})", R"({"k":1,"k2":"v"})"},
       }) {
    auto v = parse_json(c.in);
    ASSERT_TRUE(v.ok()) << c.in << ": " << v.status().message();
    EXPECT_EQ(write_json(*v), c.out) << c.in;
  }
  for (std::string bad : {"", "{", "[1,]", "{\"a\" 1}", "nul", "\"open", "{} x", "01x"})
    EXPECT_FALSE(parse_json(bad).ok()) << bad;
}

TEST(StatusJson, TypedReadsAreUnknownWhenMissingOrNull) {
  JsonValue v = parse(R"({"n":3,"s":"x","z":null,"b":true})");
  EXPECT_EQ(v.number_at("n"), 3.0);
  EXPECT_EQ(v.number_at("z"), std::nullopt);
  EXPECT_EQ(v.number_at("missing"), std::nullopt);
  EXPECT_EQ(v.number_at("s"), std::nullopt);
  EXPECT_EQ(v.string_at("s"), "x");
  EXPECT_EQ(v.bool_at("b"), true);
}

TEST(StatusView, TodaysStatusShowsDashesForWhatIsUnknown) {
  StatusReport r = report_of({kToday});
  std::string t = render_status(r, 0);
  EXPECT_TRUE(has(t, "topology wordcount: running")) << t;
  EXPECT_TRUE(has(t, "records in 1000, out 990")) << t;
  EXPECT_TRUE(has(t, "no per-component figures")) << t;
  // The last checkpoint from the existing keys: id 7, 31 ms, 2 KiB.
  EXPECT_TRUE(has(t, "31.0 ms")) << t;
  EXPECT_TRUE(has(t, "2.0 KiB")) << t;
  EXPECT_TRUE(has(t, "restarts\n  - (not in the workers' status)")) << t;
  EXPECT_TRUE(has(t, "1 checkpoint(s) aborted, the last because: timeout: count[1]")) << t;
  EXPECT_TRUE(has(t, "split: 2 tuple(s) skipped by on_error, 1 dead-lettered")) << t;
  EXPECT_TRUE(has(t, "4242")) << t;

  JsonValue j = status_json(r);
  EXPECT_EQ(j.string_at("state"), "running");
  EXPECT_EQ(j.bool_at("final"), false);
  EXPECT_TRUE(j.get("stopped_at")->is_null());
  EXPECT_TRUE(j.get("committed_checkpoint")->is_null());
  EXPECT_EQ(j.get("totals")->number_at("records_in"), 1000.0);
  EXPECT_TRUE(j.get("components")->array.empty());
  ASSERT_EQ(j.get("checkpoints")->array.size(), 1u);
  EXPECT_EQ(j.get("checkpoints")->array[0].number_at("id"), 7.0);
  EXPECT_EQ(j.get("checkpoints")->array[0].number_at("bytes"), 2048.0);
  ASSERT_EQ(j.get("workers")->array.size(), 1u);
  EXPECT_EQ(j.get("workers")->array[0].number_at("pid"), 4242.0);
  EXPECT_TRUE(j.get("workers")->array[0].get("metrics")->is_null());
  // The --json output parses back as JSON.
  EXPECT_TRUE(parse_json(write_json(j)).ok());
}

TEST(StatusView, ComponentsMergeOverWorkers) {
  StatusReport r = report_of(
      {with_components("w0", false, 0, 0.002, 0.5), with_components("w1", true, 1, 0.010, 0.0)});
  auto rows = merge_components(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, "count");
  EXPECT_EQ(rows[0].tasks, 2.0);
  EXPECT_EQ(rows[0].tuples_in, 20.0);
  EXPECT_EQ(rows[0].rate_in, 4.0);
  EXPECT_EQ(rows[0].p99_s, 0.010);  // the largest
  EXPECT_EQ(rows[0].backpressure, 0.25);
  EXPECT_EQ(rows[0].lag, std::nullopt);  // null everywhere: unknown

  JsonValue j = status_json(r);
  auto& tasks = j.get("components")->array[0].get("task_list")->array;
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[1].string_at("worker"), "w1");
  // The same entry from two workers is shown once.
  EXPECT_EQ(j.get("restarts")->array.size(), 1u);
  EXPECT_EQ(j.get("partitions")->array.size(), 1u);

  std::string t = render_status(r, 0);
  EXPECT_TRUE(has(t, "COMPONENT")) << t;
  EXPECT_TRUE(has(t, "10.0 ms")) << t;  // p99
  EXPECT_TRUE(has(t, "25%")) << t;      // back-pressure
  EXPECT_TRUE(has(t, "exit 137")) << t;
  EXPECT_TRUE(has(t, "aborted")) << t;
  EXPECT_TRUE(has(t, "HIGH WATERMARK")) << t;
  // Where each task runs.
  EXPECT_TRUE(has(t, "count        1 w1")) << t;
}

TEST(StatusView, StoppedRunIsLabelledFinal) {
  StatusReport r = report_of({kToday});
  r.state = "stopped";
  r.stopped_at = 1'800'000'000;
  std::string t = render_status(r, 1'800'000'060);
  EXPECT_TRUE(has(t, "STOPPED at 2027-01-15T08:00:00Z (60 s ago)")) << t;
  EXPECT_TRUE(has(t, "FINAL")) << t;
  JsonValue j = status_json(r);
  EXPECT_EQ(j.bool_at("final"), true);
  EXPECT_EQ(j.string_at("stopped_at"), "2027-01-15T08:00:00Z");
}

TEST(StatusView, WorkerWithoutDocumentSaysWhy) {
  StatusReport r = report_of({});
  StatusWorker w;
  w.id = "w3";
  w.error = "GET http://127.0.0.1:1/api/status: connection refused";
  r.workers.push_back(w);
  std::string t = render_status(r, 0);
  EXPECT_TRUE(has(t, "w3: no status (GET http://127.0.0.1:1/api/status: connection refused)")) << t;
  EXPECT_TRUE(has(t, "records in -, out -")) << t;
  JsonValue j = status_json(r);
  EXPECT_TRUE(j.get("totals")->get("records_in")->is_null());
  EXPECT_TRUE(j.get("workers")->array[0].get("status")->is_null());
}

TEST(StateDirRun, OnlyTheFilesOfTheRunThatHoldsOrHeldTheLock) {
  struct Case {
    const char* name;
    bool lock_held;
    std::time_t lock_mtime;
    std::vector<StatusFileSeen> files;
    bool live;
    std::vector<std::string> shown;
    std::time_t stopped_at;
  };
  const std::vector<Case> cases = {
      {"no run ever", false, 0, {{"status.json", 100, false}}, false, {}, 0},
      {"running, file of this run",
       true,
       100,
       {{"status.json", 150, true}},
       true,
       {"status.json"},
       0},
      {"running, file of an earlier run", true, 100, {{"status.json", 90, false}}, true, {}, 0},
      {"stopped, cluster files newer than the old single file",
       false,
       100,
       {{"status.json", 50, false}, {"w0.status.json", 170, false}, {"w1.status.json", 180, false}},
       false,
       {"w0.status.json", "w1.status.json"},
       180},
      {"stopped, written in the second it started",
       false,
       100,
       {{"status.json", 100, false}},
       false,
       {"status.json"},
       100},
  };
  for (auto& c : cases) {
    StateDirRun run = decide_state_dir_run(c.lock_held, c.lock_mtime, c.files);
    EXPECT_EQ(run.live, c.live) << c.name;
    EXPECT_EQ(run.files, c.shown) << c.name;
    EXPECT_EQ(run.stopped_at, c.stopped_at) << c.name;
  }
}

TEST(CheckpointTally, CountsQuantilesAndSizes) {
  CheckpointTally t;
  EXPECT_EQ(t.summary(), "checkpoints: none completed");
  // Today's status: the last checkpoint of each observation; the same id twice counts once.
  for (int id = 1; id <= 4; ++id)
    for (int again = 0; again < 2; ++again)
      t.observe(R"({"last_checkpoint":)" + std::to_string(id) + R"(,"last_checkpoint_ms":)" +
                std::to_string(id * 10) + R"(,"last_checkpoint_bytes":1024})");
  t.observe(R"({"last_checkpoint":0})");
  t.observe("not json");
  EXPECT_EQ(t.seen(), 4u);
  EXPECT_EQ(t.summary(),
            "checkpoints: 4 seen (ids 1..4); duration p50 20.0 ms, p99 40.0 ms; size p50 1.0 KiB, "
            "max 1.0 KiB, 4.0 KiB in all");
  // With the list: completed entries only.
  t.observe(R"({"checkpoints":[{"id":6,"duration_seconds":2.5,"bytes":10,"outcome":"completed"},)"
            R"({"id":5,"duration_seconds":9,"bytes":10,"outcome":"aborted"}]})");
  EXPECT_EQ(t.seen(), 5u);
  EXPECT_TRUE(has(t.summary(), "ids 1..6")) << t.summary();
  EXPECT_TRUE(has(t.summary(), "p99 2.50 s")) << t.summary();
}

TEST(ComponentSummary, PerComponentOrTheTotalsThereAre) {
  auto lines = component_summary(report_of({with_components("w0", true, 0, 0.002, 0.5)}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "component count (bolt, 1 task(s)): in 10, out 5, p99 execute 2.0 ms, back-pressure "
            "50%");
  lines = component_summary(report_of({kToday}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "totals: spouts emitted 1000, sinks received 990, skipped 2 (no per-component "
            "figures in the status)");
}

// Sinks that report epochs get a section of their own (the components table does not widen),
// merged over the workers: pending and published summed, the publish p99 the largest.
TEST(StatusView, SinksSectionMergesEpochsOverWorkersIn80Columns) {
  auto sink = [](const std::string& worker, int pending, int published, double p99) {
    return R"({"pid":1,"worker_id":")" + worker +
           R"(","leader":false,"components":[{"id":"out","kind":"sink","tasks":1,)"
           R"("tuples_in":10,"tuples_out":0,"rate_in":2.0,"rate_out":0,)"
           R"("execute_p99_seconds":null,"backpressure_share":0,"lag":null,"skipped":0,)"
           R"("dead_lettered":0,"failed":0,"sink_epochs_pending":)" +
           std::to_string(pending) + R"(,"sink_epochs_published":)" + std::to_string(published) +
           R"(,"sink_publish_p99_seconds":)" + std::to_string(p99) +
           R"(,"task_list":[]},{"id":"count","kind":"bolt","tasks":1,"tuples_in":10,)"
           R"("tuples_out":10,"task_list":[]}]})";
  };
  StatusReport r = report_of({sink("w0", 1, 7, 0.004), sink("w1", 0, 5, 0.020)});
  auto rows = merge_components(r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sink_pending, 1.0);
  EXPECT_EQ(rows[0].sink_published, 12.0);
  EXPECT_EQ(rows[0].sink_publish_p99_s, 0.020);
  EXPECT_EQ(rows[1].sink_published, std::nullopt);  // a bolt: unknown, not 0

  JsonValue j = status_json(r);
  EXPECT_EQ(j.get("components")->array[0].number_at("sink_epochs_published"), 12.0);
  EXPECT_TRUE(j.get("components")->array[1].get("sink_epochs_published")->is_null());

  std::string t = render_status(r, 0);
  auto at = t.find("\nsinks");
  ASSERT_NE(at, std::string::npos) << t;
  std::string section = t.substr(at + 1, t.find("\n\n", at + 1) - at - 1);
  EXPECT_TRUE(has(section, "SINK")) << section;
  EXPECT_TRUE(has(section, "PUBLISHED")) << section;
  EXPECT_TRUE(has(section, "20.0 ms")) << section;
  EXPECT_FALSE(has(section, "count")) << "a bolt in the sinks section:\n" << section;
  std::istringstream lines(section);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
  // Without sink figures (a worker of an older Sleet) there is no sinks section.
  EXPECT_FALSE(
      has(render_status(report_of({with_components("w0", true, 0, 0.1, 0)}), 0), "\nsinks"));
}
