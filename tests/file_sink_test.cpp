// FileSink's exactly-once file protocol, driven directly: pending per epoch, visible after commit,
// recovery renames what was committed and deletes what was not.
#include <gtest/gtest.h>

#include <filesystem>

#include <sleet/registry.hpp>

#include "tests/support/support.hpp"

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

Context ctx_for(int task) {
  Context c;
  c.component = "out";
  c.task = TaskIndex{task};
  return c;
}

std::vector<std::string> visible(const fs::path& dir) {
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
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
  test::write_file(dir.path() / ".pending" / "part-out-0-3", "other task\n");
  auto sink = make_sink(dir.path());
  Context ctx = ctx_for(1);
  ASSERT_TRUE(sink->on_recover(CheckpointId{2}, ctx).ok());  // checkpoint 2 was the last commit
  EXPECT_EQ(visible(dir.path()), (std::vector<std::string>{"part-out-1-1", "part-out-1-2"}));
  EXPECT_FALSE(fs::exists(dir.path() / ".pending" / "part-out-1-3")) << "uncommitted epoch kept";
  EXPECT_TRUE(fs::exists(dir.path() / ".pending" / "part-out-0-3"));
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
