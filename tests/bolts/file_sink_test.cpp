// FileSink's exactly-once file protocol, driven directly: pending per epoch, visible after commit,
// recovery renames what was committed and deletes what was not (including what a fenced
// generation pre-committed), and a fresh start owns its directory's Sleet files.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include <sleet/registry.hpp>

#include "core/sink_metrics.hpp"
#include "tests/support/kafka_fixture.hpp"
#include "tests/support/support.hpp"
#include "tests/support/switch_gate.hpp"

using namespace sleet;
namespace fs = std::filesystem;

namespace {

struct NullCollector : Collector {
  void emit(Values&&) override {}
};

std::unique_ptr<Bolt> make_sink(const fs::path& dir, const std::string& format = "tsv",
                                const std::string& delivery = "exactly_once") {
  auto c = Registry::global().create(
      "FileSink", Args{{"path", dir.string()}, {"format", format}, {"delivery", delivery}});
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return std::unique_ptr<Bolt>(dynamic_cast<Bolt*>(std::move(c).value().release()));
}

// `generation`: the one this run claimed; `restored`: the one that committed the checkpoint it
// recovers from (the manifest's).
Context ctx_for(int task, int generation = 0, int restored = 0, int parallelism = 1,
                const std::string& topology = "wc") {
  Context c;
  c.topology = topology;
  c.component = "out";
  c.task = TaskIndex{task};
  c.parallelism = parallelism;
  c.generation = Generation{generation};
  c.restored_generation = Generation{restored};
  return c;
}

std::vector<std::string> pending(const fs::path& dir) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir / ".pending"))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> visible(const fs::path& dir) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.')
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(FileSink, EpochsBecomeVisibleOnlyAfterCommit) {
  test::TempDir dir;
  Fields f{"word", "count"};
  NullCollector null;
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(0);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
  ASSERT_TRUE(sink->open(ctx).ok());
  sink->execute(Tuple(&f, {std::string("a"), int64_t{1}}), null);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  sink->execute(Tuple(&f, {std::string("b"), int64_t{2}}), null);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{2}, null).ok());
  EXPECT_TRUE(visible(dir.path()).empty()) << "visible before any commit";
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(visible(dir.path()), std::vector<std::string>{"part-out-0-1"});
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-1"), "a\t1\n");
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-2"), "b\t2\n");
}

TEST(FileSink, RecoveryFinishesCommittedAndDropsUncommitted) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  {
    auto sink = make_sink(dir.path());
    Context ctx = ctx_for(1);
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
    ASSERT_TRUE(sink->open(ctx).ok());
    for (int e = 1; e <= 3; ++e) {
      sink->execute(Tuple(&f, {std::string("e") + std::to_string(e)}), null);
      ASSERT_TRUE(sink->on_barrier(CheckpointId{e}, null).ok());
    }
    sink->execute(Tuple(&f, {std::string("partial")}), null);
    // "crash": epochs 1-3 pre-committed, 4 half written (buffered), nothing renamed.
  }
  // Another task's pending file must not be touched by task 1's recovery.
  test::write_file(dir.path() / ".pending" / "part-out-0-3.g0", "other task\n");
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(1);
  ASSERT_TRUE(sink->on_recover(CheckpointId{2}, ctx).ok());  // checkpoint 2 was the last commit
  EXPECT_EQ(visible(dir.path()), (std::vector<std::string>{"part-out-1-1", "part-out-1-2"}));
  EXPECT_EQ(pending(dir.path()), std::vector<std::string>{"part-out-0-3.g0"})
      << "uncommitted epoch kept, or another task's touched";
  // The next epoch after recovery from 2 is 3 again, with new content.
  ASSERT_TRUE(sink->open(ctx).ok());
  sink->execute(Tuple(&f, {std::string("again")}), null);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{3}, null).ok());
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{3}).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-1-3"), "again\n");
}

TEST(FileSink, JsonlEscapesAndTypes) {
  test::TempDir dir;
  Fields f{"s", "n", "d", "b"};
  NullCollector null;
  auto sink = make_sink(dir.path(), "jsonl");
  Context ctx = ctx_for(0);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
  ASSERT_TRUE(sink->open(ctx).ok());
  sink->execute(Tuple(&f, {std::string("a\"b\\c\n"), int64_t{-3}, 1.5, true}), null);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-1"),
            "{\"s\":\"a\\\"b\\\\c\\n\",\"n\":-3,\"d\":1.5,\"b\":true}\n");
}

// tsv writes into the sink's raw buffer (write_tsv): every type, the widest numbers, and more
// than one flush's worth of records come out as append_text (the reference encoding) has them.
TEST(FileSink, TsvOfEveryTypeMatchesTheTextForm) {
  test::TempDir dir;
  Fields f{"s", "n", "d", "b", "x", "t"};
  NullCollector null;
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(0);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
  ASSERT_TRUE(sink->open(ctx).ok());
  std::string expected;
  auto add = [&](Values v) {
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) expected += '\t';
      append_text(v[i], expected);
    }
    expected += '\n';
    sink->execute(Tuple(&f, std::move(v)), null);
  };
  add({std::string(""), INT64_MIN, -1.2345678901234567e-308, false, Bytes{"raw"}, true});
  add({std::string("word"), INT64_MAX, 0.1, true, Bytes{""}, false});
  add({std::string(5000, 'x'), int64_t{0}, -0.0, true, Bytes{std::string(3, '\0')}, true});
  add({std::string("spill"), int64_t{7}});  // fewer values than fields: written as they are
  // Past the 1 MiB flush threshold, so the buffer is written out and reused mid-epoch.
  for (int64_t i = 0; i < 60000; ++i) add({std::string("w") + std::to_string(i % 97), i});
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-1"), expected);
}

TEST(FileSink, BadArgumentsAreRejected) {
  auto c = Registry::global().create("FileSink", Args{{"path", "x"}, {"format", "xml"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("xml"), std::string::npos);
  auto missing = Registry::global().create("FileSink", Args{});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("path"), std::string::npos);
}

// Issue 10 item 3: a fenced worker (generation 1) keeps pre-committing after its successor
// (generation 2) recovered. Its pending epochs carry the numbers the successor reuses; recovery
// from a checkpoint generation 2 committed must delete them, not publish them.
TEST(FileSink, PendingEpochsOfAFencedGenerationAreDeletedNotPublished) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  auto emit = [&](Bolt& s, const std::string& w, int64_t barrier) {
    s.execute(Tuple(&f, {w}), null);
    ASSERT_TRUE(s.on_barrier(CheckpointId{barrier}, null).ok());
  };
  auto first = make_sink(dir.path());
  Context c1 = ctx_for(0, /*generation=*/1);
  ASSERT_TRUE(first->on_recover(CheckpointId{0}, c1).ok());
  ASSERT_TRUE(first->open(c1).ok());
  emit(*first, "a1", 1);
  ASSERT_TRUE(first->on_checkpoint_committed(CheckpointId{1}).ok());
  emit(*first, "a2", 2);  // checkpoint 2's commit is fenced: generation 2 claimed meanwhile

  auto second = make_sink(dir.path());
  Context c2 = ctx_for(0, /*generation=*/2, /*restored=*/1);
  ASSERT_TRUE(second->on_recover(CheckpointId{1}, c2).ok());
  ASSERT_TRUE(second->open(c2).ok());
  emit(*first, "a3", 3);  // the fenced one goes on until its next commit fails
  emit(*second, "b2", 2);
  emit(*second, "b3", 3);
  ASSERT_TRUE(second->on_checkpoint_committed(CheckpointId{3}).ok());
  emit(*first, "a4", 4);
  emit(*second, "b4", 4);  // pre-committed, then generation 2 crashes before committing 4

  auto third = make_sink(dir.path());
  Context c3 = ctx_for(0, /*generation=*/3, /*restored=*/2);
  ASSERT_TRUE(third->on_recover(CheckpointId{3}, c3).ok());
  EXPECT_EQ(visible(dir.path()),
            (std::vector<std::string>{"part-out-0-1", "part-out-0-2", "part-out-0-3"}));
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-1"), "a1\n");
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-2"), "b2\n");
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-3"), "b3\n");
  EXPECT_TRUE(pending(dir.path()).empty())
      << "left: " << ::testing::PrintToString(pending(dir.path()));
}

// The committer's own epoch <= n that a crash left unrenamed is still published, and a pending
// file of an older generation with the same epoch is not.
TEST(FileSink, RecoveryPublishesOnlyTheCommittingGenerationsEpochs) {
  test::TempDir dir;
  fs::create_directories(dir.path() / ".pending");
  test::write_file(dir.path() / ".pending" / "part-out-0-5.g4", "fenced\n");
  test::write_file(dir.path() / ".pending" / "part-out-0-5.g6", "committed\n");
  test::write_file(dir.path() / ".pending" / "part-out-0-6.g6", "after the checkpoint\n");
  test::write_file(dir.path() / ".sleet-filesink-out",
                   "sleet FileSink output\ntopology: wc\ncomponent: out\n");
  auto sink = make_sink(dir.path());
  Context c = ctx_for(0, /*generation=*/7, /*restored=*/6);
  ASSERT_TRUE(sink->on_recover(CheckpointId{5}, c).ok());
  EXPECT_EQ(visible(dir.path()), std::vector<std::string>{"part-out-0-5"});
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-5"), "committed\n");
  EXPECT_TRUE(pending(dir.path()).empty());
}

// Issue 10 item 4: a fresh start (no checkpoint) in a directory this topology's sink marked
// removes its own earlier part files (and pending ones, and those of tasks beyond the current
// parallelism), and nothing else.
TEST(FileSink, FreshStartRemovesItsEarlierOutputAndKeepsForeignFiles) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  {
    auto sink = make_sink(dir.path());
    Context c = ctx_for(0, 1);
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
    ASSERT_TRUE(sink->open(c).ok());
    for (int e = 1; e <= 3; ++e) {
      sink->execute(Tuple(&f, {std::string("old") + std::to_string(e)}), null);
      ASSERT_TRUE(sink->on_barrier(CheckpointId{e}, null).ok());
    }
    ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());  // 3 stays pending
  }
  ASSERT_TRUE(fs::exists(dir.path() / ".sleet-filesink-out")) << "no marker written";
  const std::vector<std::string> foreign = {"notes.txt",    "part-other-0-1", "part-out-0-1.bak",
                                            "part-out-x-1", "part-out-0-",    "part-out-1-0-2"};
  for (auto& n : foreign) test::write_file(dir.path() / n, "not ours\n");
  test::write_file(dir.path() / "part-out-3-9", "an earlier run with 4 tasks\n");
  test::write_file(dir.path() / "part-out-2-run17", "an earlier at_least_once run\n");
  test::write_file(dir.path() / ".pending" / "other", "not ours\n");

  // Same topology, same sink, no checkpoint (a new ZooKeeper): starts over.
  auto sink = make_sink(dir.path());
  Context c = ctx_for(0, 1, 0, /*parallelism=*/2);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
  std::vector<std::string> want = foreign;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(visible(dir.path()), want);
  EXPECT_EQ(pending(dir.path()), std::vector<std::string>{"other"});
  for (auto& n : foreign) EXPECT_EQ(test::read_file(dir.path() / n), "not ours\n");
  ASSERT_TRUE(sink->open(c).ok());
  sink->execute(Tuple(&f, {std::string("new")}), null);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-1"), "new\n");
  EXPECT_FALSE(fs::exists(dir.path() / "part-out-0-2")) << "an earlier run's output mixed in";
}

// A recovery (checkpoint > 0) keeps the visible output: it is this topology's committed history.
TEST(FileSink, RecoveryKeepsCommittedOutput) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  {
    auto sink = make_sink(dir.path());
    Context c = ctx_for(0, 1);
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
    sink->execute(Tuple(&f, {std::string("kept")}), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
    ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  }
  auto sink = make_sink(dir.path());
  Context c = ctx_for(0, 2, 1);
  ASSERT_TRUE(sink->on_recover(CheckpointId{1}, c).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-1"), "kept\n");
}

// A directory with part files of this component that no marker accounts for (written by hand, by
// a Sleet without markers, or by another topology) is refused on a fresh start, with the
// directory, the reason and the way out; nothing in it is touched.
TEST(FileSink, RefusesADirectoryItCannotAccountFor) {
  test::TempDir dir;
  test::write_file(dir.path() / "part-out-0-5", "whose?\n");
  auto sink = make_sink(dir.path());
  Context c = ctx_for(0, 1);
  Status s = sink->on_recover(CheckpointId{0}, c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find(dir.str()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("part-out-0-5"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no marker"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Move or delete them"), std::string::npos) << s.message();
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-5"), "whose?\n");

  // Foreign files alone are no reason to refuse: the sink never touches them.
  test::TempDir other;
  test::write_file(other.path() / "README", "mine\n");
  test::write_file(other.path() / "part-else-0-1", "another sink's\n");
  auto ok = make_sink(other.path());
  ASSERT_TRUE(ok->on_recover(CheckpointId{0}, c).ok());
  EXPECT_EQ(test::read_file(other.path() / "README"), "mine\n");

  // Marked by another topology: refused, on recovery too.
  auto theirs = make_sink(other.path());
  Context t = ctx_for(0, 1, 0, 1, "another");
  Status m = theirs->on_recover(CheckpointId{0}, t);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.message().find("belongs to topology 'wc'"), std::string::npos) << m.message();
  EXPECT_NE(m.message().find("another directory"), std::string::npos) << m.message();
  EXPECT_FALSE(make_sink(other.path())->on_recover(CheckpointId{3}, t).ok());
}

// With checkpointing off there is no committed history and the input need not start over: a
// start keeps the earlier output (at_least_once appends a new run file).
TEST(FileSink, WithoutCheckpointingAStartKeepsEarlierOutput) {
  test::TempDir dir;
  test::write_file(dir.path() / "part-out-0-run5", "earlier\n");
  auto sink = make_sink(dir.path());
  Context c = ctx_for(0);
  c.checkpointing = false;
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, c).ok());
  ASSERT_TRUE(sink->open(c).ok());
  EXPECT_EQ(test::read_file(dir.path() / "part-out-0-run5"), "earlier\n");
}

// Issue 12 (leases): every rename that makes an epoch visible asks Context::side_effects first. A
// refusal (the worker's lease closed: it may be a zombie) fails the commit with the gate's status
// instead of skipping the epoch, leaves the pending file in place, and a later recovery from the
// same checkpoint (gate open again) renames it: nothing lost, nothing twice.
TEST(FileSink, ARefusedRenameFailsTheCommitAndRecoveryFinishesTheEpoch) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  test::SwitchGate gate;
  {
    auto sink = make_sink(dir.path());
    Context ctx = ctx_for(2, /*generation=*/3, /*restored=*/0, /*parallelism=*/3);
    ctx.side_effects = &gate;
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
    ASSERT_TRUE(sink->open(ctx).ok());
    sink->execute(Tuple(&f, {std::string("one")}), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
    ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
    EXPECT_EQ(visible(dir.path()), std::vector<std::string>{"part-out-2-1"});
    sink->execute(Tuple(&f, {std::string("two")}), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{2}, null).ok());
    sink->execute(Tuple(&f, {std::string("three")}), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{3}, null).ok());

    gate.close("ZooKeeper connection suspended");
    Status s = sink->on_checkpoint_committed(CheckpointId{3});
    EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
    EXPECT_NE(s.message().find("ZooKeeper connection suspended"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("FileSink out[2]"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("epoch 2"), std::string::npos) << s.message();
    EXPECT_EQ(visible(dir.path()), std::vector<std::string>{"part-out-2-1"})
        << "a refused rename happened anyway";
    EXPECT_EQ(pending(dir.path()),
              (std::vector<std::string>{"part-out-2-2.g3", "part-out-2-3.g3"}));
    EXPECT_EQ(gate.refused(), 1) << "the sink went on asking after a refusal";
    // The worker fails the task and rolls back: this sink is gone without another call.
  }
  // The next generation recovers from checkpoint 3 (committed by generation 3). While its lease is
  // still closed, recovery refuses too and renames nothing.
  {
    auto sink = make_sink(dir.path());
    Context ctx = ctx_for(2, /*generation=*/4, /*restored=*/3, /*parallelism=*/3);
    ctx.side_effects = &gate;
    Status s = sink->on_recover(CheckpointId{3}, ctx);
    EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
    EXPECT_EQ(visible(dir.path()), std::vector<std::string>{"part-out-2-1"});
  }
  gate.open();
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(2, /*generation=*/5, /*restored=*/3, /*parallelism=*/3);
  ctx.side_effects = &gate;
  ASSERT_TRUE(sink->on_recover(CheckpointId{3}, ctx).ok());
  EXPECT_EQ(visible(dir.path()),
            (std::vector<std::string>{"part-out-2-1", "part-out-2-2", "part-out-2-3"}));
  EXPECT_EQ(test::read_file(dir.path() / "part-out-2-2"), "two\n");
  EXPECT_EQ(test::read_file(dir.path() / "part-out-2-3"), "three\n");
  EXPECT_TRUE(pending(dir.path()).empty());
  const auto asked = gate.asked();
  ASSERT_FALSE(asked.empty());
  EXPECT_NE(asked.back().find("epoch 3"), std::string::npos) << asked.back();
}

// A null gate (a single process, checkpointing off, tests) allows every rename: today's behaviour.
TEST(FileSink, WithoutAGateEveryRenameIsAllowed) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(0);
  ASSERT_EQ(ctx.side_effects, nullptr);
  ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
  ASSERT_TRUE(sink->open(ctx).ok());
  sink->execute(Tuple(&f, {std::string("x")}), null);
  ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{1}).ok());
  EXPECT_EQ(visible(dir.path()), std::vector<std::string>{"part-out-0-1"});
}

// Cluster mode needs one directory every worker shares: a task recovering on a host whose `path`
// is another directory would miss the committed epochs' pending files the previous worker wrote
// (silently, before this check). The directory's identity is kept in the cursor store.
TEST(FileSink, RecoveryRefusesADirectoryOtherThanTheOneItsTasksWrote) {
  // One `path`, two hosts' local disks: host A's directory is swapped out while host B's (another
  // directory at the same path) is in place, and back.
  test::TempDir root;
  const fs::path path = root.path() / "out", disk_a = root.path() / "disk-a",
                 disk_b = root.path() / "disk-b";
  auto mount = [&](const fs::path& disk, const fs::path& unmount_to) {
    if (fs::exists(path)) fs::rename(path, unmount_to);
    if (fs::exists(disk)) fs::rename(disk, path);
  };
  test::MemoryCursorStore cursors;  // ZooKeeper, shared by every worker
  Fields f{"word"};
  NullCollector null;
  auto start = [&](const fs::path& dir, int task, int n) {
    auto sink = make_sink(dir);
    Context ctx = ctx_for(task, 1, 1, 2);
    ctx.cursors = &cursors;
    Status st = sink->on_recover(CheckpointId{n}, ctx);
    return std::make_pair(std::move(sink), st);
  };
  {
    auto [sink, st] = start(path, 0, 0);  // fresh start on host A records A's directory
    ASSERT_TRUE(st.ok()) << st.to_string();
    Context ctx = ctx_for(0, 1, 1, 2);
    ASSERT_TRUE(sink->open(ctx).ok());
    sink->execute(Tuple(&f, {std::string("a")}), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{1}, null).ok());
  }
  ASSERT_TRUE(fs::exists(path / ".sleet-dir-id"));
  // Checkpoint 1 committed; task 0 moves to host B, whose disk holds another directory at `path`:
  // recovery there would miss epoch 1's pending file. Refused.
  mount(disk_b, disk_a);
  {
    auto [sink, st] = start(path, 0, 1);
    EXPECT_EQ(st.code(), Code::incompatible) << st.to_string();
    EXPECT_NE(st.message().find("out[0]"), std::string::npos) << st.to_string();
    EXPECT_NE(st.message().find(path.string()), std::string::npos) << st.to_string();
    EXPECT_NE(st.message().find("shared filesystem"), std::string::npos) << st.to_string();
  }
  // Back on host A (the directory it wrote), recovery goes on and finishes epoch 1.
  mount(disk_a, disk_b);
  {
    auto [sink, st] = start(path, 0, 1);
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(visible(path), std::vector<std::string>{"part-out-0-1"});
  }
  // A fresh start (nothing committed to miss) may find another directory, which becomes the one.
  mount(disk_b, disk_a);
  {
    auto [sink, st] = start(path, 0, 0);
    EXPECT_TRUE(st.ok()) << st.to_string();
    auto [sink2, st2] = start(path, 1, 1);
    EXPECT_TRUE(st2.ok()) << st2.to_string();
  }
  // Another `path` is another topology (a rerun writing elsewhere), not a missing share.
  {
    auto [sink, st] = start(root.path() / "elsewhere", 0, 3);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
}

// The epoch figures the worker's metrics read (core/sink_metrics.hpp): pending = pre-committed
// and not yet renamed; published = renamed (an epoch without records has no file and does not
// count); recovery's renames count too.
TEST(FileSink, EpochCountersFollowPendingAndPublished) {
  test::TempDir dir;
  Fields f{"word"};
  NullCollector null;
  std::map<std::string, Counter> counters;
  auto get = [&](const char* n) { return counters.count(n) ? counters[n].get() : -1; };
  {
    auto sink = make_sink(dir.path());
    Context ctx = ctx_for(0);
    ctx.counter = [&](const std::string& n) { return &counters[n]; };
    ASSERT_TRUE(sink->on_recover(CheckpointId{0}, ctx).ok());
    ASSERT_TRUE(sink->open(ctx).ok());
    EXPECT_EQ(get(kSinkEpochsPending), 0);
    EXPECT_EQ(get(kSinkEpochsPublished), 0);
    for (int e = 1; e <= 3; ++e) {
      sink->execute(Tuple(&f, {std::string("e") + std::to_string(e)}), null);
      ASSERT_TRUE(sink->on_barrier(CheckpointId{e}, null).ok());
    }
    ASSERT_TRUE(sink->on_barrier(CheckpointId{4}, null).ok());  // no records: nothing pending
    EXPECT_EQ(get(kSinkEpochsPending), 3);
    ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{2}).ok());
    EXPECT_EQ(get(kSinkEpochsPending), 1);
    EXPECT_EQ(get(kSinkEpochsPublished), 2);
    ASSERT_TRUE(sink->on_checkpoint_committed(CheckpointId{4}).ok());
    EXPECT_EQ(get(kSinkEpochsPending), 0);
    EXPECT_EQ(get(kSinkEpochsPublished), 3);
    EXPECT_EQ(visible(dir.path()).size(), 3u);
    sink->execute(Tuple(&f, {std::string("e5")}), null);
    ASSERT_TRUE(sink->on_barrier(CheckpointId{5}, null).ok());
    // "crash" with epoch 5 pre-committed; checkpoint 5 committed, not yet renamed.
  }
  counters.clear();
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(0);
  ctx.counter = [&](const std::string& n) { return &counters[n]; };
  ASSERT_TRUE(sink->on_recover(CheckpointId{5}, ctx).ok());
  EXPECT_EQ(get(kSinkEpochsPending), 0);
  EXPECT_EQ(get(kSinkEpochsPublished), 1) << "recovery renamed epoch 5";
  EXPECT_EQ(visible(dir.path()).size(), 4u);
}
