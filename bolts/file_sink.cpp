// FileSink: writes tuples as tsv or jsonl lines into a directory.
//
// Exactly-once (default): records of epoch n (between barriers n-1 and n) go to
// <path>/.pending/part-<component>-<task>-<epoch>; at barrier n the file is fsynced and closed
// (pre-commit); once checkpoint n is committed it is renamed to
// <path>/part-<component>-<task>-<epoch> (visible). Recovery from checkpoint n renames pending
// files with epoch <= n (committed but not yet visible) and deletes the rest (never committed). A
// reader that only lists part-* files therefore sees every record exactly once. at_least_once:
// records are appended to <path>/part-<component>-<task>-run<start-ms> right away.
//
// All methods run on the task's fiber. File I/O is blocking but short (buffered writes, one fsync
// per checkpoint interval).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include <sleet/this_task.hpp>

#include "bolts/format.hpp"
#include "runtime/builtin.hpp"
#include "runtime/kill_point.hpp"

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
    if (!exactly_once_) return Status::Ok();
    epoch_ = n.value + 1;
    std::error_code ec;
    std::vector<std::pair<int64_t, fs::path>> found;
    for (auto& e : fs::directory_iterator(pending_dir(), ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix_, 0) != 0) continue;
      char* end = nullptr;
      long long epoch = std::strtoll(name.c_str() + prefix_.size(), &end, 10);
      if (!end || *end != '\0') continue;
      found.emplace_back(epoch, e.path());
    }
    if (ec) return Status::IoError("listing " + pending_dir().string() + ": " + ec.message());
    for (auto& [epoch, path] : found) {
      if (epoch <= n.value) {
        pending_.push_back(epoch);  // committed, not yet visible: finish below
      } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return errno_status("deleting uncommitted " + path.string());
      }
    }
    std::sort(pending_.begin(), pending_.end());
    return publish_up_to(n.value);
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
      pending_.push_back(epoch_);
      kill_point("file_sink.after_precommit");
    }
    epoch_ = n.value + 1;
    return Status::Ok();
  }

  Status on_checkpoint_committed(CheckpointId n) override {
    if (!exactly_once_) return Status::Ok();
    return publish_up_to(n.value);
  }

  void close() override {
    if (!exactly_once_) (void)write_buffer();
    close_fd();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;

  Status init(Context& ctx) {
    if (!prefix_.empty()) return Status::Ok();
    if (!ctx.checkpointing) exactly_once_ = false;  // no barriers will come: nothing would commit
    prefix_ = "part-" + ctx.component + "-" + std::to_string(ctx.task.value) + "-";
    std::error_code ec;
    fs::create_directories(exactly_once_ ? pending_dir() : fs::path(dir_), ec);
    if (ec) return Status::IoError("creating " + dir_ + ": " + ec.message());
    return Status::Ok();
  }

  fs::path pending_dir() const { return fs::path(dir_) / ".pending"; }
  std::string epoch_name(int64_t e) const { return prefix_ + std::to_string(e); }

  Status open_fd(const fs::path& p) {
    fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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
      // First record of this epoch: O_TRUNC semantics matter after a crash that left a partial
      // pending file with the same epoch number; on_recover deleted it, so O_CREAT suffices.
      SLEET_RETURN_IF_ERROR(open_fd(pending_dir() / epoch_name(epoch_)));
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

  Status publish_up_to(int64_t n) {
    bool renamed = false;
    while (!pending_.empty() && pending_.front() <= n) {
      std::string name = epoch_name(pending_.front());
      fs::path from = pending_dir() / name, to = fs::path(dir_) / name;
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        return errno_status("renaming " + from.string());
      pending_.erase(pending_.begin());
      renamed = true;
      kill_point("file_sink.after_rename");  // other files/tasks of this commit not yet renamed
    }
    if (renamed) return this_task::run_blocking([this] { return fsync_dir(dir_); });
    return Status::Ok();
  }

  std::string dir_;
  bool exactly_once_ = true;
  RecordFormat format_ = RecordFormat::tsv;
  std::string prefix_;
  int64_t epoch_ = 1;
  std::vector<int64_t> pending_;  // pre-committed epochs awaiting their checkpoint's commit
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
