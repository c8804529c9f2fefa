// Managed KeyedState checkpoints at millions of keys (issue 15), in one process, one invocation,
// ratios printed against baselines run in the same invocation:
//   - keyed counting throughput with a checkpoint every second vs checkpointing off, for a Zipf-
//     skewed and a uniform key stream over the vocabulary;
//   - per checkpoint: barrier-to-durable duration and bytes written, vs the full-snapshot size;
//   - the longest time the counting loop (a task's fiber) was stopped at a barrier;
//   - restore of the committed chain (base + deltas, streamed from mapped files, CRC-checked)
//     into an empty state: median over --restores runs;
//   - peak RSS vs the state's own in-memory size.
// The counting loop runs the real runtime pieces: ManagedStates (base/delta planning, chains),
// KeyedState's copy-on-write views, AsyncSnapshotWriter (writer thread), blobs written with
// fsync + rename like the SnapshotStore. Not measured here: ZooKeeper commits and Kafka (see
// recovery_bench for whole-worker recovery after SIGKILL).
//
//   build/bench/state_bench [--keys 10000000] [--seconds 6] [--restores 5] [--dist zipf|uniform]
// (--dist: one distribution only, so its peak RSS is not the other's freed pages; default both)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "core/crc32c.hpp"
#include "core/state_chain.hpp"
#include "runtime/async_snapshot.hpp"

using namespace sleet;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// "k" + decimal id into buf; returns the length.
size_t key_of(uint64_t id, char* buf) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + id % 10);
    id /= 10;
  } while (id);
  buf[0] = 'k';
  for (size_t i = 0; i < n; ++i) buf[1 + i] = tmp[n - 1 - i];
  return n + 1;
}

// Files under dir, durable (write, fsync, rename), like SnapshotStore::put_file.
class FileWriter : public SnapshotWriter {
 public:
  explicit FileWriter(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  Result<BlobHandle> write(CheckpointId id, const std::string& key,
                           std::string_view bytes) override {
    const std::string name = std::to_string(id.value) + "-" + key + ".snap";
    const fs::path tmp = dir_ / ("." + name + ".tmp"), fin = dir_ / name;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError("open " + tmp.string());
    for (size_t off = 0; off < bytes.size();) {
      ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n <= 0) return Status::IoError("write " + tmp.string());
      off += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    ::rename(tmp.c_str(), fin.c_str());
    BlobHandle h;
    h.kind = BlobHandle::Kind::file;
    h.location = name;
    h.size = bytes.size();
    h.checksum = crc32c(bytes);
    return h;
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

struct Acks : SnapshotListener {
  std::mutex mu;
  std::vector<TaskSnapshotData> got;
  std::atomic<int64_t> last{0};
  void on_task_snapshot(TaskSnapshotData&& d) override {
    std::lock_guard lk(mu);
    last.store(d.id.value);
    got.push_back(std::move(d));
  }
};

class CountBolt : public Bolt {
 public:
  void execute(const Tuple&, Collector&) override {}
  bool stateful() const override { return true; }
  std::vector<KeyedStateRef> keyed_states() override { return {{"counts", &counts}}; }
  KeyedState<int64_t> counts;
};

// Key ids: Zipf(s=1) over [0, n) by inverse CDF on a table of 2^20 quantiles, or uniform.
struct KeyStream {
  std::vector<uint32_t> ids;  // a long precomputed stream, cycled
  KeyStream(uint64_t n, bool zipf, size_t len, uint64_t seed) : ids(len) {
    std::mt19937_64 rng(seed);
    if (!zipf) {
      for (auto& i : ids) i = static_cast<uint32_t>(rng() % n);
      return;
    }
    // H(n) ~ ln n + gamma; rank r has probability 1/(r H). Inverse CDF: r ~ exp(u * H) - gamma'.
    const double h = std::log(static_cast<double>(n)) + 0.5772156649;
    std::uniform_real_distribution<double> u(0, 1);
    for (auto& i : ids) {
      double r = std::exp(u(rng) * h) - 1.0;
      i = static_cast<uint32_t>(std::min<double>(static_cast<double>(n - 1), std::max(0.0, r)));
      i = static_cast<uint32_t>((uint64_t{i} * 2654435761u) % n);  // scatter ranks over ids
    }
  }
};

struct RunResult {
  double rate = 0;  // updates per second
  double max_pause_ms = 0;
  std::vector<double> cp_seconds, cp_bytes;
  int64_t bases = 0, deltas = 0;
  std::vector<StateLink> chain;  // committed at the end
};

// Counts for `seconds` over the stream, a checkpoint every second if `checkpoints`.
RunResult run(CountBolt& bolt, const KeyStream& ks, double seconds, bool checkpoints,
              FileWriter* writer, int64_t& next_id) {
  RunResult r;
  Acks acks;
  std::unique_ptr<AsyncSnapshotWriter> async;
  std::shared_ptr<ManagedStates> managed;
  if (checkpoints) {
    async = std::make_unique<AsyncSnapshotWriter>(*writer, acks, 1);
    managed = std::move(ManagedStates::bind(bolt, "count[0]")).value();
    // The state as it is now is the restored checkpoint next_id - 1 with no chain: the first
    // checkpoint is a base.
    bolt.counts.restored(static_cast<uint64_t>(next_id - 1));
  }
  char buf[24];
  uint64_t updates = 0;
  size_t pos = 0;
  const auto t0 = Clock::now();
  auto next_cp = t0 + std::chrono::seconds(1);
  int64_t committed_seen = 0;
  std::vector<std::pair<int64_t, Clock::time_point>> started;
  for (;;) {
    for (int k = 0; k < 4096; ++k) {
      const size_t n = key_of(ks.ids[pos], buf);
      if (++pos == ks.ids.size()) pos = 0;
      ++bolt.counts[std::string_view(buf, n)];
    }
    updates += 4096;
    const auto now = Clock::now();
    if (now - t0 >= std::chrono::duration<double>(seconds)) break;
    if (!checkpoints) continue;
    // An ack is a commit here (one task): the chain moves on, as on_checkpoint_committed does.
    if (int64_t a = acks.last.load(); a > committed_seen) {
      managed->on_committed(CheckpointId{a});
      committed_seen = a;
    }
    if (now >= next_cp) {
      next_cp += std::chrono::seconds(1);
      const int64_t id = next_id++;
      const auto p0 = Clock::now();
      SnapshotJob job;
      job.ack.component = "count";
      job.ack.id = CheckpointId{id};
      job.ack.stateful = true;
      job.task_key = "count-0";
      job.frozen_at = p0;
      managed->freeze_into(job, CheckpointId{id});
      job.owner = managed;
      async->submit(std::move(job));
      r.max_pause_ms = std::max(r.max_pause_ms, secs(Clock::now() - p0) * 1e3);
      started.push_back({id, p0});
    }
  }
  r.rate = static_cast<double>(updates) / secs(Clock::now() - t0);
  if (checkpoints) {
    async->drain();
    if (int64_t a = acks.last.load(); a > committed_seen) managed->on_committed(CheckpointId{a});
    const auto st = async->stats();
    r.bases = st.bases;
    r.deltas = st.deltas;
    for (auto& d : acks.got) {
      int64_t b = 0;
      for (auto& l : d.links)
        if (l.id == d.id) b += static_cast<int64_t>(l.handle.size);
      r.cp_bytes.push_back(static_cast<double>(b));
      if (!d.links.empty()) r.chain = d.links;
    }
    r.cp_seconds.push_back(st.max_job_us / 1e6);
  }
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Status read_mapped(const fs::path& p, const BlobHandle& h,
                   const std::function<Status(std::string_view)>& f) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Corruption(p.string() + " is missing");
  void* m = ::mmap(nullptr, h.size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return Status::IoError("mmap " + p.string());
  std::string_view b(static_cast<const char*>(m), h.size);
  Status st = crc32c(b) == h.checksum ? f(b) : Status::Corruption(p.string() + " CRC mismatch");
  ::munmap(m, h.size);
  return st;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t keys = 10'000'000;
  double seconds = 6;
  int restores = 5;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--keys") keys = std::stoull(argv[i + 1]);
    if (a == "--seconds") seconds = std::stod(argv[i + 1]);
    if (a == "--restores") restores = std::stoi(argv[i + 1]);
    if (a == "--dist") only = argv[i + 1];
  }
  const fs::path dir =
      fs::temp_directory_path() / ("sleet-state-bench-" + std::to_string(getpid()));
  std::printf("state_bench: %llu keys, %.0f s per run, checkpoint every 1 s, blobs in %s\n",
              static_cast<unsigned long long>(keys), seconds, dir.c_str());
  for (bool zipf : {true, false}) {
    const char* dist = zipf ? "zipf(s=1)" : "uniform";
    if (!only.empty() && only != (zipf ? "zipf" : "uniform")) continue;
    KeyStream ks(keys, zipf, size_t{1} << 24, zipf ? 1 : 2);
    FileWriter writer(dir / dist);
    CountBolt bolt;
    // The vocabulary is all there from the start: the state holds `keys` entries throughout.
    const auto l0 = Clock::now();
    bolt.counts.reserve(keys);
    char buf[24];
    for (uint64_t k = 0; k < keys; ++k) bolt.counts[std::string_view(buf, key_of(k, buf))] = 1;
    const double load_s = secs(Clock::now() - l0);
    const size_t mem = bolt.counts.memory_bytes();
    int64_t next_id = 1;
    // Alternate off/on twice, so drift on a shared machine hits both.
    RunResult off1 = run(bolt, ks, seconds / 2, false, nullptr, next_id);
    RunResult on1 = run(bolt, ks, seconds, true, &writer, next_id);
    RunResult off2 = run(bolt, ks, seconds / 2, false, nullptr, next_id);
    const double off_rate = (off1.rate + off2.rate) / 2;
    const double rss_run = peak_rss_mb();  // before the full snapshot and restores below
    // The full snapshot, for comparison: a base of the state as it is now.
    auto full_view = bolt.counts.freeze(static_cast<uint64_t>(next_id), 0, true);
    std::string full;
    const auto f0 = Clock::now();
    full_view->serialize(full);
    const double full_ser_s = secs(Clock::now() - f0);
    full_view.reset();
    // Restore the committed chain of the checkpointed run into a fresh state.
    std::vector<double> restore_s;
    size_t restored_entries = 0;
    for (int k = 0; k < restores; ++k) {
      CountBolt fresh;
      auto m = std::move(ManagedStates::bind(fresh, "count[0]")).value();
      RestorePlan plan;
      plan.read_blob = [&](const BlobHandle& h, const std::function<Status(std::string_view)>& f) {
        return read_mapped(writer.dir() / h.location, h, f);
      };
      const auto r0 = Clock::now();
      Status st = m->restore(on1.chain.empty() ? CheckpointId{0} : on1.chain.back().id, on1.chain,
                             plan, "count[0]");
      restore_s.push_back(secs(Clock::now() - r0));
      if (!st.ok()) {
        std::fprintf(stderr, "restore failed: %s\n", st.to_string().c_str());
        return 1;
      }
      restored_entries = fresh.counts.size();
    }
    std::vector<double> delta_bytes;
    for (size_t i = 0; i < on1.cp_bytes.size(); ++i) delta_bytes.push_back(on1.cp_bytes[i]);
    std::printf(
        "\n[%s] state: %zu entries, %.0f MiB in memory (loaded in %.1f s), full snapshot "
        "%.1f MiB (serialized in %.2f s)\n",
        dist, bolt.counts.size(), mem / 1048576.0, load_s, full.size() / 1048576.0, full_ser_s);
    std::printf(
        "  throughput: off %.2f M updates/s, checkpoints every 1 s %.2f M/s: ratio %.3f "
        "(goal >= 0.95)\n",
        off_rate / 1e6, on1.rate / 1e6, on1.rate / off_rate);
    std::printf(
        "  checkpoints: %zu (%lld bases, %lld deltas); bytes per checkpoint median %.1f "
        "MiB = %.3f of the full snapshot; longest barrier-to-durable %.2f s\n",
        on1.cp_bytes.size(), static_cast<long long>(on1.bases), static_cast<long long>(on1.deltas),
        median(delta_bytes) / 1048576.0, median(delta_bytes) / static_cast<double>(full.size()),
        on1.cp_seconds.empty() ? 0 : on1.cp_seconds[0]);
    std::printf("  longest stop at a barrier: %.3f ms (goal < 5 ms)\n", on1.max_pause_ms);
    std::printf(
        "  restore of the committed chain (%zu blobs, %zu entries): median %.2f s over %d "
        "(goal < 2 s)\n",
        on1.chain.size(), restored_entries, median(restore_s), restores);
    std::printf(
        "  peak RSS through the checkpointed run %.0f MiB = %.2fx the state's in-memory "
        "size (goal < 2x; includes the 64 MiB key stream and, for the second "
        "distribution, the first one's freed pages)\n",
        rss_run, rss_run * 1048576.0 / static_cast<double>(mem));
    std::error_code ec;
    fs::remove_all(dir / dist, ec);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
