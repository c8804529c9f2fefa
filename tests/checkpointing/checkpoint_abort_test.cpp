// Aborted checkpoints carry their reason to the worker's status: a checkpoint.dir the blobs cannot
// be written to (what a full disk looks like: every checkpoint aborts, the console used to show
// only `age -1.0s`) names the write error, so `sleet run` can print it. In-process worker, real
// ZooKeeper.
#include <gtest/gtest.h>

#include <cereal/types/string.hpp>

#include <filesystem>
#include <mutex>
#include <thread>

#include "cluster/worker.hpp"
#include "tests/support/zk_fixture.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Keeps a blob big enough for the snapshot store's directory (inline bytes are set to 0 too).
class Holder : public Bolt {
 public:
  explicit Holder(const Args&) {}
  Fields output_fields() const override { return {"n"}; }
  void execute(const Tuple& t, Collector& out) override { out.emit({t.get_int("n")}); }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(padding_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(padding_);
    return Status::Ok();
  }
  std::string padding_ = std::string(4096, 'p');
};

class CheckpointAbortTest : public test::ZkTest {};

}  // namespace

TEST_F(CheckpointAbortTest, BlobWriteErrorIsTheAbortReasonInTheStatus) {
  test::TempDir dir("sleet-abort");
  // A regular file where checkpoint.dir must be a directory: every blob write fails.
  test::write_file(dir.path() / "blocker", "x");
  Registry registry;
  for (auto* d : Registry::global().list()) (void)registry.add(*d);
  (void)registry.add(describe<Holder>("Holder", ""));
  TopologySpec spec = TopologyBuilder("aborting")
                          .config("zookeeper.connect", zk_server().connect_string())
                          .config("zookeeper.root", root())
                          .config("checkpoint.dir", (dir.path() / "blocker" / "cp").string())
                          .config("checkpoint.interval.ms", "100")
                          .config("checkpoint.inline.bytes", "0")
                          .spout("seq", "SequenceSpout", 1, {{"count", int64_t{100}}})
                          .bolt("hold", "Holder", 1)
                          .stream("seq", "hold")
                          .build();
  std::mutex mu;
  WorkerProgress last;
  WorkerOptions o;
  o.threads = 1;
  o.progress_interval = 50ms;
  o.on_progress = [&](const WorkerProgress& p) {
    std::lock_guard lk(mu);
    last = p;
  };
  Worker w(spec, registry, o);
  Status result;
  std::thread t([&] { result = w.run(); });
  bool aborted = test::wait_until(
      [&] {
        std::lock_guard lk(mu);
        return last.aborted >= 2;
      },
      30s);
  w.request_stop();
  t.join();
  ASSERT_TRUE(aborted);
  EXPECT_TRUE(result.ok()) << result.to_string();
  std::lock_guard lk(mu);
  EXPECT_EQ(last.last_checkpoint, 0);
  EXPECT_NE(last.last_abort_reason.find("writing state of hold-0"), std::string::npos)
      << last.last_abort_reason;
  EXPECT_NE(last.last_abort_reason.find((dir.path() / "blocker").string()), std::string::npos)
      << last.last_abort_reason;
  EXPECT_NE(last.last_abort_reason.find("Not a directory"), std::string::npos)
      << last.last_abort_reason;
  // The status line carries it for the supervisor.
  EXPECT_EQ(status_string(last.to_json(), "last_abort_reason"), last.last_abort_reason);
}
