// FileSink: writes tuples as tsv or jsonl lines into a directory.
//
// Exactly-once (default): records of epoch n (between barriers n-1 and n) go to
// <path>/.pending/part-<component>-<task>-<epoch>.g<generation>, the generation being the one this
// run claimed in ZooKeeper (Context::generation); at barrier n the file is fsynced and closed
// (pre-commit); once checkpoint n is committed it is renamed to
// <path>/part-<component>-<task>-<epoch> (visible). Recovery from checkpoint n renames the pending
// files with epoch <= n that the generation which committed n wrote (Context::restored_generation,
// from the manifest: committed but not yet visible) and deletes the rest: epochs after n, and
// anything a fenced generation pre-committed, whose epoch numbers the successor reuses. A reader
// that only lists part-* files therefore sees every record exactly once. at_least_once: records
// are appended to <path>/part-<component>-<task>-run<start-ms> right away.
//
// Ownership: the sink owns only its own names in <path> (part-<component>-<task>-<epoch>,
// part-<component>-<task>-run<ms>, the pending names, and the marker .sleet-filesink-<component>
// naming topology and component). A fresh start (no checkpoint) of a marked directory deletes this
// task's part files of earlier runs; a fresh start that finds part-<component>-* files and no
// marker refuses to start, since it cannot tell whose they are (with checkpointing off, neither:
// earlier output is kept). Other files are never touched. With checkpointing on, the directory also
// gets an identity, .sleet-dir-id, recorded in ZooKeeper: recovery refuses a `path` that is not the
// directory the sink's tasks wrote before (cluster mode needs one shared directory).
//
// Side effects: every rename that makes an epoch visible (after a commit, and in recovery) first
// asks Context::side_effects (the worker's lease, cluster/lease.hpp); a refusal is returned as the
// call's error, the epoch stays pending, and recovery renames it later.
//
// All methods run on the task's fiber (on_recover and open: the engine's starting thread). File
// I/O is blocking but short (buffered writes, one fsync per checkpoint interval).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

#include <sleet/ids.hpp>
#include <sleet/this_task.hpp>

#include "core/builtin.hpp"
#include "core/format.hpp"
#include "core/kill_point.hpp"
#include "core/sink_metrics.hpp"

namespace sleet {
namespace {

namespace fs = std::filesystem;

Status errno_status(const std::string& what) {
  return Status::IoError(what + ": " + std::strerror(errno));
}

Status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return errno_status("open directory " + dir.string());
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : errno_status("fsync directory " + dir.string());
}

class FileSink : public Bolt {
 public:
  explicit FileSink(const Args& a)
      : dir_(a.string_or("path", "")),
        exactly_once_(a.string_or("delivery", "exactly_once") != "at_least_once") {
    auto f = parse_format(a.string_or("format", "tsv"));
    if (!f.ok()) throw std::invalid_argument(f.status().message());
    format_ = *f;
    std::string d = a.string_or("delivery", "exactly_once");
    if (d != "exactly_once" && d != "at_least_once")
      throw std::invalid_argument("delivery must be exactly_once or at_least_once, got '" + d +
                                  "'");
    if (dir_.empty()) throw std::invalid_argument("path must not be empty");
  }
  ~FileSink() override { close_fd(); }

  Status on_recover(CheckpointId n, Context& ctx) override {
    SLEET_RETURN_IF_ERROR(init(ctx));
    SLEET_RETURN_IF_ERROR(claim_dir(n, ctx));
    if (!exactly_once_) return Status::Ok();
    epoch_ = CheckpointId{n.value + 1};
    // Epochs <= n are committed history only as written by the generation that committed n: a
    // fenced predecessor's pending files carry the same epoch numbers with other records. With
    // the committer unknown (a manifest of an older format), every epoch <= n counts, as before.
    const Generation committer = ctx.restored_generation;
    std::error_code ec;
    std::vector<PendingFile> keep;
    for (auto& e : fs::directory_iterator(pending_dir(), ec)) {
      std::string name = e.path().filename().string();
      auto p = parse_pending(name, prefix_);
      if (!p) continue;
      bool committed = p->epoch <= n &&
                       (committer == Generation{} || !p->generation || *p->generation == committer);
      if (committed) {
        keep.push_back(*p);  // committed, not yet visible: finish below
      } else if (::unlink(e.path().c_str()) != 0 && errno != ENOENT) {
        return errno_status("deleting uncommitted " + e.path().string());
      }
    }
    if (ec) return Status::IoError("listing " + pending_dir().string() + ": " + ec.message());
    std::sort(keep.begin(), keep.end(),
              [](const PendingFile& a, const PendingFile& b) { return a.epoch < b.epoch; });
    pending_ = std::move(keep);
    epochs_.set_pending(pending_.size());
    return publish_up_to(n);
  }

  Status open(Context& ctx) override {
    SLEET_RETURN_IF_ERROR(init(ctx));
    if (!exactly_once_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      return open_fd(fs::path(dir_) / (prefix_ + "run" + std::to_string(ms)));
    }
    return Status::Ok();
  }

  void execute(const Tuple& t, Collector&) override {
    if (format_ == RecordFormat::tsv) {
      char* p = buf_.reserve(tsv_bound(t) + 1);
      p = write_tsv(t, p);
      *p++ = '\n';
      buf_.commit(p);
    } else {
      line_.clear();
      encode_record(format_, t, line_);
      line_ += '\n';
      std::memcpy(buf_.reserve(line_.size()), line_.data(), line_.size());
      buf_.commit(buf_.end() + line_.size());
    }
    if (buf_.size() >= kFlushBytes) {
      if (Status s = write_buffer(); !s.ok()) throw FatalError(s.to_string());
    }
  }

  Status on_barrier(CheckpointId n, Collector&) override {
    if (!exactly_once_) return write_buffer();
    SLEET_RETURN_IF_ERROR(write_buffer());
    if (fd_ >= 0) {
      // fsync takes milliseconds: on a helper thread, so only this sink's fiber waits for it and
      // the other tasks of its worker thread keep running.
      // errno is per thread: the helper hands it back.
      const int fd = fd_;
      if (int err = this_task::run_blocking([fd] { return ::fsync(fd) == 0 ? 0 : errno; }); err) {
        errno = err;
        return errno_status("fsync " + current_.string());
      }
      close_fd();
      pending_.push_back(PendingFile{epoch_, generation_, current_.filename().string()});
      epochs_.set_pending(pending_.size());
      kill_point("file_sink.after_precommit");
    }
    epoch_ = CheckpointId{n.value + 1};
    return Status::Ok();
  }

  Status on_checkpoint_committed(CheckpointId n) override {
    if (!exactly_once_) return Status::Ok();
    return publish_up_to(n);
  }

  void close() override {
    if (!exactly_once_) (void)write_buffer();
    close_fd();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;

  // A pre-committed epoch's file under .pending/.
  struct PendingFile {
    CheckpointId epoch;
    std::optional<Generation> generation;  // nullopt: a name without ".g<gen>" (before generations)
    std::string name;
  };

  // "<prefix><epoch>.g<gen>" or the older "<prefix><epoch>"; nullopt for any other name.
  static std::optional<PendingFile> parse_pending(const std::string& name,
                                                  const std::string& prefix) {
    if (name.rfind(prefix, 0) != 0) return std::nullopt;
    std::string_view rest = std::string_view(name).substr(prefix.size());
    PendingFile f;
    f.name = name;
    auto dot = rest.find(".g");
    int64_t epoch = 0, gen = 0;
    if (!parse_digits(rest.substr(0, dot), epoch)) return std::nullopt;
    f.epoch = CheckpointId{epoch};
    if (dot != std::string_view::npos) {
      if (!parse_digits(rest.substr(dot + 2), gen)) return std::nullopt;
      // Generations are int32 znode versions: a larger number is no committer's, so -1 (never
      // a committer either) keeps such a file out of the committed history.
      f.generation = Generation{gen > INT32_MAX ? -1 : static_cast<int32_t>(gen)};
    }
    return f;
  }

  static bool parse_digits(std::string_view s, int64_t& out) {
    if (s.empty() || s.size() > 18) return false;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    return true;
  }

  // A visible or pending file name this sink's component writes, and the task it belongs to:
  // part-<component>-<task>-<epoch>, part-<component>-<task>-run<ms>, or (pending) with ".g<gen>".
  // Exact, so that component "out" never claims component "out-1"'s files.
  std::optional<TaskIndex> own_name_task(const std::string& name, bool pending) const {
    if (name.rfind(component_prefix_, 0) != 0) return std::nullopt;
    std::string_view rest = std::string_view(name).substr(component_prefix_.size());
    auto dash = rest.find('-');
    int64_t task = 0, epoch = 0, gen = 0;
    if (dash == std::string_view::npos || !parse_digits(rest.substr(0, dash), task))
      return std::nullopt;
    std::string_view tail = rest.substr(dash + 1);
    if (pending) {
      auto dot = tail.find(".g");
      if (dot != std::string_view::npos) {
        if (!parse_digits(tail.substr(dot + 2), gen)) return std::nullopt;
        tail = tail.substr(0, dot);
      }
    } else if (tail.rfind("run", 0) == 0) {
      tail = tail.substr(3);
    }
    if (!parse_digits(tail, epoch)) return std::nullopt;
    // A task index past int32 is past any parallelism, as INT32_MAX is.
    return TaskIndex{static_cast<int32_t>(std::min<int64_t>(task, INT32_MAX))};
  }

  fs::path marker_path() const { return fs::path(dir_) / (".sleet-filesink-" + component_); }
  std::string marker_text() const {
    return "sleet FileSink output\ntopology: " + topology_ + "\ncomponent: " + component_ + "\n";
  }

  // Makes sure <path> is this sink's to write (see Ownership at the top) and, on a fresh start,
  // deletes this task's files of earlier runs. Task 0 also deletes those of task indices beyond
  // the current parallelism (a run with more tasks); tasks never delete each other's files, since
  // in at_least_once mode a task's run file exists from its open() on.
  Status claim_dir(CheckpointId n, const Context& ctx) {
    const fs::path marker = marker_path();
    const std::string want = marker_text();
    std::error_code ec;
    bool marked = fs::exists(marker, ec);
    if (marked) {
      std::ifstream in(marker);
      std::stringstream got;
      got << in.rdbuf();
      if (got.str() != want) {
        std::string owner = got.str();
        auto t = owner.find("topology: ");
        owner = t == std::string::npos
                    ? "another writer"
                    : "topology '" + owner.substr(t + 10, owner.find('\n', t) - t - 10) + "'";
        return Status::Invalid("FileSink " + name() + ": output directory " + dir_ +
                               " belongs to " + owner + " (marker " + marker.string() +
                               "), not to topology '" + topology_ +
                               "': writing there would mix two topologies' part-" + component_ +
                               "-* files. Point `path` at another directory, or delete the "
                               "marker and those files if that output is no longer wanted");
      }
    }
    // Without checkpointing every start is "fresh" and the input need not start over (a spout
    // reading from latest), so earlier output is not known to be replayed: keep it.
    if (n.value == 0 && ctx.checkpointing) {
      std::vector<fs::path> unaccounted, remove;
      auto scan = [&](const fs::path& d, bool pending) {
        for (auto& e : fs::directory_iterator(d, ec)) {
          auto task = own_name_task(e.path().filename().string(), pending);
          if (!task) continue;
          unaccounted.push_back(e.path());
          if (*task == ctx.task || (ctx.task == TaskIndex{0} && task->value >= ctx.parallelism))
            remove.push_back(e.path());
        }
        ec.clear();  // a missing directory holds nothing
      };
      scan(fs::path(dir_), false);
      scan(pending_dir(), true);
      if (!marked && !unaccounted.empty()) {
        std::sort(unaccounted.begin(), unaccounted.end());
        return Status::Invalid(
            "FileSink " + name() + ": output directory " + dir_ + " already holds " +
            std::to_string(unaccounted.size()) + " part-" + component_ + "-* file(s) (first: " +
            unaccounted.front().string() + ") and no marker " + marker.string() +
            " saying this topology wrote them; a fresh start would mix them into its output. "
            "Move or delete them, or point `path` at another directory");
      }
      for (auto& p : remove)
        if (::unlink(p.c_str()) != 0 && errno != ENOENT)
          return errno_status("deleting earlier output " + p.string());
    }
    SLEET_RETURN_IF_ERROR(check_shared_dir(n, ctx));
    if (!marked) {
      // Written whole or not at all; every task writes the same bytes.
      fs::path tmp = marker;
      tmp += ".tmp" + std::to_string(ctx.task.value);
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << want;
        if (!out.flush()) return errno_status("writing " + tmp.string());
      }
      if (::rename(tmp.c_str(), marker.c_str()) != 0)
        return errno_status("renaming " + tmp.string());
    }
    return fsync_dir(dir_);
  }

  std::string name() const { return component_ + "[" + std::to_string(task_.value) + "]"; }

  // The directory's identity: a random token in <path>/.sleet-dir-id, created by the first task
  // that needs it (link(2) of a complete temp file, so a concurrent reader never sees half).
  Result<std::string> dir_id(const Context& ctx) {
    const fs::path file = fs::path(dir_) / ".sleet-dir-id";
    std::ifstream in(file);
    if (in) {
      std::string id;
      std::getline(in, id);
      if (!id.empty()) return id;
    }
    std::random_device rd;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
    fs::path tmp = file;
    tmp += ".tmp" + std::to_string(ctx.task.value) + "-" + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << buf << "\n";
      if (!out.flush()) return errno_status("writing " + tmp.string());
    }
    const int rc = ::link(tmp.c_str(), file.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && err != EEXIST) {
      errno = err;
      return errno_status("creating " + file.string());
    }
    if (rc == 0) return std::string(buf);
    std::ifstream again(file);  // another task created it first: its token is the directory's
    std::string id;
    std::getline(again, id);
    if (id.empty()) return Status::IoError(file.string() + " is empty");
    return id;
  }

  // A task that moves to another worker finishes the committed epochs whose pending files its
  // previous worker wrote, so every task of this sink must write ONE directory (cluster mode
  // across hosts: a shared filesystem). Each start records `path` and the identity of the
  // directory found there in ZooKeeper (Context::cursors); a recovery that finds ANOTHER directory
  // under the SAME `path` (a host that does not share it, or a directory replaced since) refuses
  // instead of silently missing those files. A changed `path` is a changed topology (a rerun
  // writing elsewhere: what it had pre-committed was finished by the earlier run or is finished
  // under the old path), and a fresh start has nothing committed to miss: both record anew.
  // Without cursors (checkpointing off, or a test) there is nothing to compare with.
  Status check_shared_dir(CheckpointId n, const Context& ctx) {
    if (!ctx.cursors || !exactly_once_) return Status::Ok();
    auto id = dir_id(ctx);
    if (!id.ok()) return id.status().with_context("FileSink " + name());
    const std::string key = "filesink." + component_ + ".dir";
    const std::string record = "path=" + dir_ + "\nid=" + *id + "\n";
    auto stored = ctx.cursors->load(key);
    if (stored.ok() && *stored == record) return Status::Ok();
    if (!stored.ok() && stored.status().code() != Code::not_found)
      return stored.status().with_context("FileSink " + name() + ": reading its directory's id");
    const std::string same_path = "path=" + dir_ + "\n";
    if (stored.ok() && n.value > 0 && stored->rfind(same_path, 0) == 0) {
      std::string was = stored->substr(same_path.size());
      if (was.rfind("id=", 0) == 0) was = was.substr(3);
      while (!was.empty() && was.back() == '\n') was.pop_back();
      return Status::Incompatible(
          "FileSink " + name() + ": output directory " + dir_ + " (id " + *id + " in " + dir_ +
          "/.sleet-dir-id) is not the directory this sink's tasks wrote before under that path "
          "(id " +
          was +
          ", recorded in ZooKeeper), so the pending files of committed epochs that another "
          "worker wrote are not here. In cluster mode `path` must be one directory every worker "
          "reaches (a shared filesystem mounted at the same path). The way out: mount it here; "
          "or, if the directory was replaced on purpose, put .sleet-dir-id back with its contents");
    }
    return ctx.cursors->store(key, record);
  }

  Status init(Context& ctx) {
    if (!prefix_.empty()) return Status::Ok();
    if (!ctx.checkpointing) exactly_once_ = false;  // no barriers will come: nothing would commit
    topology_ = ctx.topology;
    component_ = ctx.component;
    task_ = ctx.task;
    generation_ = ctx.generation;
    gate_ = ctx.side_effects;
    if (exactly_once_) epochs_.attach(ctx);
    component_prefix_ = "part-" + ctx.component + "-";
    prefix_ = "part-" + ctx.component + "-" + std::to_string(ctx.task.value) + "-";
    std::error_code ec;
    fs::create_directories(exactly_once_ ? pending_dir() : fs::path(dir_), ec);
    if (ec) return Status::IoError("creating " + dir_ + ": " + ec.message());
    return Status::Ok();
  }

  fs::path pending_dir() const { return fs::path(dir_) / ".pending"; }
  std::string epoch_name(CheckpointId e) const { return prefix_ + std::to_string(e.value); }
  std::string pending_name(CheckpointId e) const {
    return epoch_name(e) + ".g" + std::to_string(generation_.value);
  }

  Status open_fd(const fs::path& p, bool truncate = false) {
    fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0644);
    if (fd_ < 0) return errno_status("open " + p.string());
    current_ = p;
    return Status::Ok();
  }

  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Status write_buffer() {
    if (buf_.empty()) return Status::Ok();
    if (fd_ < 0) {
      // First record of this epoch. The name carries this run's generation, so no other
      // process (a fenced predecessor still running) writes it; truncating drops whatever a
      // crash of this very generation could have left (none, as a restart claims a new one).
      SLEET_RETURN_IF_ERROR(open_fd(pending_dir() / pending_name(epoch_), /*truncate=*/true));
    }
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t w = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno_status("write " + current_.string());
      }
      off += static_cast<size_t>(w);
    }
    buf_.clear();
    return Status::Ok();
  }

  // Bytes waiting for write(2): raw memory so the tsv encoder writes without a capacity check per
  // value. Grows to the largest flush (kFlushBytes plus one record) and stays there.
  class WriteBuffer {
   public:
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    const char* data() const { return data_.get(); }
    char* end() { return data_.get() + size_; }
    void clear() { size_ = 0; }
    // Room for `n` more bytes at end(); commit(p) then marks [end(), p) as written.
    char* reserve(size_t n) {
      if (size_ + n > cap_) {
        size_t cap = std::max({size_ + n, 2 * cap_, size_t{64} << 10});
        auto grown = std::make_unique_for_overwrite<char[]>(cap);
        if (size_) std::memcpy(grown.get(), data_.get(), size_);
        data_ = std::move(grown);
        cap_ = cap;
      }
      return end();
    }
    void commit(char* p) {
      assert(p >= end() && p <= data_.get() + cap_);
      size_ = static_cast<size_t>(p - data_.get());
    }

   private:
    std::unique_ptr<char[]> data_;
    size_t size_ = 0, cap_ = 0;
  };

  Status publish_up_to(CheckpointId n) {
    bool renamed = false;
    int64_t published = 0;
    while (!pending_.empty() && pending_.front().epoch <= n) {
      // The worker's lease (Context::side_effects): a worker that may be a zombie makes nothing
      // visible. The refusal fails this call; the epoch stays pending for recovery to rename.
      if (gate_)
        SLEET_RETURN_IF_ERROR(gate_->allow("FileSink " + name() + " renaming epoch " +
                                           std::to_string(pending_.front().epoch.value) +
                                           " visible"));
      fs::path from = pending_dir() / pending_.front().name,
               to = fs::path(dir_) / epoch_name(pending_.front().epoch);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        return errno_status("renaming " + from.string());
      pending_.erase(pending_.begin());
      epochs_.set_pending(pending_.size());
      renamed = true;
      ++published;
      kill_point("file_sink.after_rename");  // other files/tasks of this commit not yet renamed
    }
    if (!renamed) return Status::Ok();
    SLEET_RETURN_IF_ERROR(this_task::run_blocking([this] { return fsync_dir(dir_); }));
    // Published once the renames are durable (the directory fsynced).
    epochs_.published(published);
    return Status::Ok();
  }

  std::string dir_;
  bool exactly_once_ = true;
  RecordFormat format_ = RecordFormat::tsv;
  std::string topology_, component_;
  TaskIndex task_;
  Generation generation_;  // this run's (Context::generation): the ".g<gen>" of its pending names
  std::string component_prefix_;      // "part-<component>-"
  std::string prefix_;                // "part-<component>-<task>-"
  CheckpointId epoch_{1};             // the epoch being written (barrier epoch_ closes it)
  std::vector<PendingFile> pending_;  // pre-committed epochs awaiting their checkpoint's commit
  // Context::side_effects (the worker's lease): asked before every rename. Null: all allowed.
  const SideEffectGate* gate_ = nullptr;
  SinkEpochMetrics epochs_;  // exactly_once: pending_.size() and the renames, for the metrics
  WriteBuffer buf_;
  std::string line_;  // jsonl: one record
  int fd_ = -1;
  fs::path current_;
};

}  // namespace

SLEET_BUILTIN(describe<FileSink>(
    "FileSink",
    "Writes tuples as lines (tsv or jsonl) to files in a directory; exactly-once by default",
    {{"path", ArgKind::string, true, "output directory"},
     {"format", ArgKind::string, false, "tsv (default) or jsonl", Arg("tsv")},
     {"delivery", ArgKind::string, false, "exactly_once (default) or at_least_once",
      Arg("exactly_once")}}))

}  // namespace sleet
