// The worker in-process against a real ZooKeeper: checkpoints commit, a second run resumes from
// the latest one without replaying committed output, and recovery refuses an incompatible
// topology or a damaged snapshot with a clear error instead of starting from nothing.
#include <gtest/gtest.h>

#include <cereal/types/map.hpp>

#include <filesystem>
#include <map>
#include <sstream>

#include "checkpointing/checkpoint_store.hpp"
#include "cluster/worker.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
namespace fs = std::filesystem;

namespace {

// Sums the numbers it sees; emits (n, running sum) so output is checkable record by record.
class Summer : public Bolt {
 public:
  explicit Summer(const Args&) {}
  Fields output_fields() const override { return {"n", "sum"}; }
  void execute(const Tuple& t, Collector& out) override {
    sum_ += t.get_int("n");
    out.emit({t.get_int("n"), sum_});
  }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(sum_, padding_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(sum_, padding_);
    return Status::Ok();
  }
  int64_t sum_ = 0;
  std::string padding_ = std::string(4096, 'p');  // makes the blob big enough for file storage
};

// Another stateful class with another state layout: cereal cannot read Summer's bytes with it,
// which recovery must report as a changed class (incompatible), not as corruption.
class OtherSummer : public Summer {
 public:
  using Summer::Summer;
  void snapshot_state(StateWriter& w) const override { w(sums_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(sums_);
    return Status::Ok();
  }
  std::map<std::string, int64_t> sums_;
};

// Stateless: forwards (n, text) unchanged. Two classes so a test can change the class.
class Relay : public Bolt {
 public:
  explicit Relay(const Args&) {}
  Fields output_fields() const override { return {"n", "text"}; }
  void execute(const Tuple& t, Collector& out) override {
    out.emit({t.get_int("n"), t.get_string("text")});
  }
};
class OtherRelay : public Relay {
 public:
  using Relay::Relay;
};

// What the recovery tests vary between runs.
struct Shape {
  int summers = 1;
  std::string summer_class = "Summer";
  Grouping into_sum;  // the stream into "sum"
  int relays = 0;     // 0: seq -> sum; else seq -> relay -> sum with this parallelism
  std::string relay_class = "Relay";
};

class WorkerTest : public test::ZkTest {
 protected:
  void SetUp() override {
    ZkTest::SetUp();
    registry_ = Registry();
    for (auto* d : Registry::global().list()) (void)registry_.add(*d);
    (void)registry_.add(describe<Summer>("Summer", ""));
    (void)registry_.add(describe<OtherSummer>("OtherSummer", ""));
    (void)registry_.add(describe<Relay>("Relay", ""));
    (void)registry_.add(describe<OtherRelay>("OtherRelay", ""));
  }

  TopologySpec spec(const Shape& sh, int64_t count) {
    TopologyBuilder b("summing");
    b.config("zookeeper.connect", zk_server().connect_string())
        .config("zookeeper.root", root())
        .config("checkpoint.dir", (dir_.path() / "cp").string())
        .config("checkpoint.interval.ms", "100")
        .spout("seq", "SequenceSpout", 2, {{"count", count}, {"batch", int64_t{64}}});
    if (sh.relays > 0) b.bolt("relay", sh.relay_class, sh.relays);
    b.bolt("sum", sh.summer_class, sh.summers)
        .bolt("out", "FileSink", 1, {{"path", (dir_.path() / "out").string()}});
    if (sh.relays > 0) b.stream("seq", "relay");
    b.stream(sh.relays > 0 ? "relay" : "seq", "sum", sh.into_sum).stream("sum", "out");
    return b.build();
  }

  TopologySpec spec(int summers, int64_t count, const std::string& inline_bytes = "131072") {
    return TopologyBuilder("summing")
        .config("zookeeper.connect", zk_server().connect_string())
        .config("zookeeper.root", root())
        .config("checkpoint.dir", (dir_.path() / "cp").string())
        .config("checkpoint.interval.ms", "100")
        .config("checkpoint.inline.bytes", inline_bytes)
        .spout("seq", "SequenceSpout", 2, {{"count", count}, {"batch", int64_t{64}}})
        .bolt("sum", "Summer", summers)
        .bolt("out", "FileSink", 1, {{"path", (dir_.path() / "out").string()}})
        .stream("seq", "sum")
        .stream("sum", "out")
        .build();
  }

  Status run(const TopologySpec& s, WorkerProgress* last = nullptr) {
    WorkerOptions o;
    o.until_drained = true;
    o.threads = 2;
    o.progress_interval = std::chrono::milliseconds(50);
    o.on_progress = [last](const WorkerProgress& p) {
      if (last) *last = p;
    };
    Worker w(s, registry_, o);
    Status st = w.run();
    // The lifecycle ends in the state that matches what run() returned (worker_lifecycle.hpp).
    EXPECT_EQ(w.state(), st.ok() ? WorkerState::stopped : WorkerState::failed)
        << worker_state_name(w.state()) << " after " << st.to_string();
    return st;
  }

  int64_t output_records() {
    int64_t n = 0;
    for (auto& e : fs::directory_iterator(dir_.path() / "out")) {
      if (e.path().filename().string().rfind("part-", 0) != 0) continue;
      std::string all = test::read_file(e.path());
      n += std::count(all.begin(), all.end(), '\n');
    }
    return n;
  }

  // The largest running sum in the output (tsv "n<TAB>sum"): with one Summer task it is the sum
  // of every number it saw, exactly once each.
  int64_t final_sum() {
    int64_t best = -1;
    for (auto& e : fs::directory_iterator(dir_.path() / "out")) {
      if (e.path().filename().string().rfind("part-", 0) != 0) continue;
      std::istringstream in(test::read_file(e.path()));
      int64_t n = 0, sum = 0;
      while (in >> n >> sum) best = std::max(best, sum);
    }
    return best;
  }

  std::string topology_path() { return root() + "/topologies/summing"; }

  test::TempDir dir_{"sleet-worker"};
  Registry registry_;
};

}  // namespace

TEST_F(WorkerTest, RunsToDrainedAndResumesWithoutReplay) {
  WorkerProgress p;
  ASSERT_TRUE(run(spec(1, 20000), &p).ok());
  EXPECT_TRUE(p.drained);
  EXPECT_GT(p.last_checkpoint, 0);
  EXPECT_GT(p.last_checkpoint_bytes, 4096);
  EXPECT_EQ(output_records(), 20000);
  CheckpointStore store(client(), root(), "summing");
  auto m = store.load_latest();
  ASSERT_TRUE(m.ok() && m->has_value()) << m.status().to_string();
  int64_t offsets = 0;
  for (auto& pos : (*m)->positions) offsets += pos.position.next.value;
  EXPECT_EQ(offsets, 20000) << "next offsets must sum to the records read";

  // A second run resumes from the latest checkpoint: nothing is read or written again.
  WorkerProgress p2;
  ASSERT_TRUE(run(spec(1, 20000), &p2).ok());
  EXPECT_EQ(p2.restored_from, p.last_checkpoint);
  EXPECT_EQ(p2.records_in, 0);
  EXPECT_EQ(output_records(), 20000);

  // More input (a larger bound) continues where it stopped, with the restored sum.
  ASSERT_TRUE(run(spec(1, 30000)).ok());
  EXPECT_EQ(output_records(), 30000);
}

TEST_F(WorkerTest, FileBlobsWhenStateIsLarge) {
  WorkerProgress p;
  ASSERT_TRUE(run(spec(1, 5000, "1024"), &p).ok());
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(dir_.path() / "cp"))
    files += e.is_regular_file() && e.path().extension() == ".snap";
  EXPECT_GT(files, 0u) << "state over the inline limit must go to checkpoint.dir";
  ASSERT_TRUE(run(spec(1, 6000, "1024")).ok());
  EXPECT_EQ(output_records(), 6000);
}

TEST_F(WorkerTest, RefusesChangedParallelismOfStatefulComponent) {
  ASSERT_TRUE(run(spec(1, 2000)).ok());
  Status s = run(spec(2, 2000));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::incompatible) << s.to_string();
  EXPECT_NE(s.message().find("'sum'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("parallelism 2"), std::string::npos) << s.message();
}

TEST_F(WorkerTest, RefusesCorruptSnapshot) {
  ASSERT_TRUE(run(spec(1, 2000, "1024")).ok());
  // Damage every file blob of the latest checkpoint.
  size_t damaged = 0;
  for (auto& e : fs::recursive_directory_iterator(dir_.path() / "cp")) {
    if (!e.is_regular_file() || e.path().extension() != ".snap") continue;
    std::string b = test::read_file(e.path());
    b[b.size() / 2] ^= 0x5a;
    test::write_file(e.path(), b);
    ++damaged;
  }
  ASSERT_GT(damaged, 0u);
  Status s = run(spec(1, 3000, "1024"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::corruption) << s.to_string();
  EXPECT_NE(s.message().find("sum[0]"), std::string::npos) << s.message();
}

TEST_F(WorkerTest, RefusesChangedClassOfStatefulComponent) {
  ASSERT_TRUE(run(spec(Shape{}, 2000)).ok());
  Shape other;
  other.summer_class = "OtherSummer";  // could not even read Summer's bytes
  Status s = run(spec(other, 3000));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::incompatible) << s.to_string();
  for (const std::string& w : std::vector<std::string>{
           "'sum'", "class 'Summer'", "now 'OtherSummer'", "new topology name", topology_path()})
    EXPECT_NE(s.message().find(w), std::string::npos) << w << " in: " << s.message();
  // The refusal changed nothing: the old topology still resumes, and counts exactly.
  ASSERT_TRUE(run(spec(Shape{}, 3000)).ok());
  EXPECT_EQ(output_records(), 3000);
  EXPECT_EQ(final_sum(), 3000 * 2999 / 2);
}

TEST_F(WorkerTest, RefusesChangedGroupingIntoStatefulComponent) {
  Shape keyed;
  keyed.summers = 2;
  keyed.into_sum = Grouping{GroupingType::fields, {"n"}};
  ASSERT_TRUE(run(spec(keyed, 2000)).ok());

  Shape shuffled = keyed;
  shuffled.into_sum = Grouping{};  // fields(n) -> shuffle: keys would land on other tasks
  Status s = run(spec(shuffled, 3000));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::incompatible) << s.to_string();
  for (const std::string& w :
       std::vector<std::string>{"'sum'", "were [seq -> fields(n)]", "now [seq -> shuffle]",
                                "new topology name", topology_path()})
    EXPECT_NE(s.message().find(w), std::string::npos) << w << " in: " << s.message();

  Shape rekeyed = keyed;
  rekeyed.into_sum = Grouping{GroupingType::fields, {"text"}};
  s = run(spec(rekeyed, 3000));
  EXPECT_EQ(s.code(), Code::incompatible) << s.to_string();
  EXPECT_NE(s.message().find("now [seq -> fields(text)]"), std::string::npos) << s.message();

  ASSERT_TRUE(run(spec(keyed, 3000)).ok());
  EXPECT_EQ(output_records(), 3000);
}

TEST_F(WorkerTest, AcceptsChangedStatelessComponentAndStaysExact) {
  Shape before;
  before.relays = 1;
  WorkerProgress p;
  ASSERT_TRUE(run(spec(before, 2000), &p).ok());
  ASSERT_GT(p.last_checkpoint, 0);
  EXPECT_EQ(final_sum(), 2000 * 1999 / 2);

  // The stateless relay gets another class and parallelism; the stream into "sum" is the same.
  Shape after = before;
  after.relays = 3;
  after.relay_class = "OtherRelay";
  WorkerProgress p2;
  Status s = run(spec(after, 5000), &p2);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(p2.restored_from, p.last_checkpoint);
  EXPECT_EQ(p2.records_in, 3000) << "only the new input is read";
  EXPECT_EQ(output_records(), 5000);
  EXPECT_EQ(final_sum(), 5000 * 4999 / 2) << "restored sum plus new input, each number once";
}
