#include "checkpointing/snapshot_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/blocking_executor.hpp"
#include "core/crc32c.hpp"

namespace sleet {

namespace fs = std::filesystem;

namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

Status errno_status(const std::string& what, const fs::path& p, int e) {
  return Status::IoError(what + " " + p.string() + ": " + strerror(e));
}

Status validate_task_key(const std::string& key) {
  if (key.empty() || key.size() > kMaxTaskKeyBytes || key[0] == '.' ||
      key.find('/') != std::string::npos || key.find('\0') != std::string::npos)
    return Status::Invalid("bad snapshot task key '" + key +
                           "' (non-empty, at most 200 bytes, no '/', not starting with '.')");
  return Status::Ok();
}

Status fsync_dir(const fs::path& d) {
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("cannot open directory", d, errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return errno_status("cannot fsync directory", d, e);
  return Status::Ok();
}

// Writes `bytes` to dir/name so that after a crash the file is either complete or absent: a
// temporary file, fsync, rename, fsync of the directory (and of the parents of directories we had
// to create, so the new directory entries are durable too). Runs on an I/O thread.
Status write_durably(const fs::path& dir, const std::string& name, std::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  // Remember the highest ancestor we create, to fsync its parent and everything below.
  fs::path first_new;
  for (fs::path p = dir; !p.empty() && p != p.parent_path(); p = p.parent_path()) {
    if (fs::exists(p, ec)) break;
    first_new = p;
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  if (!first_new.empty()) {
    for (fs::path p = dir;; p = p.parent_path()) {
      SLEET_RETURN_IF_ERROR(fsync_dir(p.parent_path()));
      if (p == first_new) break;
    }
  }
  fs::path final_path = dir / name;
  fs::path tmp = dir / ("." + name + ".tmp-" + std::to_string(::getpid()) + "-" +
                        std::to_string(counter.fetch_add(1)));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("cannot create", tmp, errno);
  auto fail = [&](const char* what, int e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return errno_status(what, tmp, e);
  };
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write", errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync", errno);
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_status("cannot close", tmp, e);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_status("cannot rename into", final_path, e);
  }
  return fsync_dir(dir);
}

// A snapshot file opened for reading, with its size; corruption if it does not exist (the
// manifest names it, so it must). The caller closes the descriptor.
struct OpenedSnapshot {
  int fd = -1;
  size_t size = 0;
};
Result<OpenedSnapshot> open_snapshot(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::Corruption("snapshot file " + p.string() + " is missing");
    return errno_status("cannot open snapshot file", p, e);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return errno_status("cannot stat snapshot file", p, e);
  }
  return OpenedSnapshot{fd, static_cast<size_t>(st.st_size)};
}

// The whole file; corruption if it does not exist.
Result<std::string> read_whole(const fs::path& p) {
  auto opened = open_snapshot(p);
  if (!opened.ok()) return opened.status();
  const int fd = opened->fd;
  std::string out(opened->size, '\0');
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::read(fd, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return errno_status("cannot read snapshot file", p, e);
    }
    if (n == 0) break;  // shrank meanwhile; the size check below reports it
    off += static_cast<size_t>(n);
  }
  out.resize(off);
  ::close(fd);
  return out;
}

}  // namespace

SnapshotStore::SnapshotStore(zk::Client& zk, std::string zk_blob_root, fs::path dir,
                             size_t inline_limit)
    : zk_(zk),
      blob_root_(std::move(zk_blob_root)),
      dir_(std::move(dir)),
      // Leave room in the request for the path and framing.
      inline_limit_(std::min(inline_limit, zk::kMaxRequestBytes - 4096)),
      io_(std::make_unique<BlockingExecutor>(2)) {}

SnapshotStore::~SnapshotStore() = default;

std::string attempt_name(CheckpointId id, Generation gen) {
  return checkpoint_name(id) + "/g" + std::to_string(gen.value);
}

Result<BlobHandle> SnapshotStore::put(CheckpointId id, Generation gen, const std::string& task_key,
                                      std::string_view bytes) {
  SLEET_RETURN_IF_ERROR(validate_task_key(task_key));
  if (id.value <= 0) return Status::Invalid("checkpoint id must be positive");
  if (gen.value <= 0) return Status::Invalid("generation must be positive");
  const std::string dir = attempt_name(id, gen);
  return bytes.size() <= inline_limit_ ? put_inline(dir, task_key, bytes)
                                       : put_file(dir, task_key, bytes);
}

Result<BlobHandle> SnapshotStore::put_inline(const std::string& dir, const std::string& key,
                                             std::string_view bytes) {
  BlobHandle h;
  h.kind = BlobHandle::Kind::inline_znode;
  std::string parent = blob_root_ + "/" + dir;
  h.location = parent + "/" + key;
  h.size = bytes.size();
  h.checksum = crc32c(bytes);
  std::string data(bytes);
  Status st = zk_.create(h.location, data);
  if (st.code() == Code::not_found) {  // first blob of this attempt: make the parents
    SLEET_RETURN_IF_ERROR(zk_.ensure_path(parent));
    st = zk_.create(h.location, data);
  }
  if (st.code() == Code::already_exists) {
    // A retried write of the same attempt (same id and generation): the new bytes win.
    auto v = zk_.set(h.location, data);
    st = v.ok() ? Status::Ok() : v.status();
  }
  if (!st.ok()) return st.with_context("storing snapshot blob " + h.location);
  return h;
}

Result<BlobHandle> SnapshotStore::put_file(const std::string& dir, const std::string& key,
                                           std::string_view bytes) {
  BlobHandle h;
  h.kind = BlobHandle::Kind::file;
  std::string name = key + ".snap";
  h.location = dir + "/" + name;
  h.size = bytes.size();
  h.checksum = crc32c(bytes);
  fs::path d = dir_ / dir;
  Status st = io_->run([&] { return write_durably(d, name, bytes); });
  if (!st.ok()) return st.with_context("storing snapshot blob");
  return h;
}

Result<std::string> SnapshotStore::get(const BlobHandle& h) {
  std::string where;
  Result<std::string> bytes = Status::Internal("unset");
  if (h.kind == BlobHandle::Kind::inline_znode) {
    where = "snapshot blob znode " + h.location;
    auto r = zk_.get(h.location);
    if (!r.ok() && r.status().code() == Code::not_found)
      return Status::Corruption(where + " is missing");
    if (!r.ok()) return r.status().with_context("reading " + where);
    bytes = std::move(r);
  } else if (h.kind == BlobHandle::Kind::file) {
    fs::path p = file_path(h);
    where = "snapshot file " + p.string();
    bytes = io_->run([&] { return read_whole(p); });
    if (!bytes.ok()) return bytes.status();
  } else {
    return Status::Corruption("snapshot blob " + h.location + " has an unknown kind");
  }
  if (bytes->size() != h.size)
    return Status::Corruption(where + " has " + std::to_string(bytes->size()) +
                              " bytes; the manifest says " + std::to_string(h.size));
  uint32_t c = crc32c(*bytes);
  if (c != h.checksum)
    return Status::Corruption(where + " is corrupt: CRC-32C " + hex32(c) + ", the manifest says " +
                              hex32(h.checksum));
  return bytes;
}

Status SnapshotStore::check_present(const BlobHandle& h) {
  if (h.kind == BlobHandle::Kind::inline_znode) {
    auto e = zk_.exists(h.location);
    if (!e.ok()) return e.status().with_context("checking snapshot blob znode " + h.location);
    if (!e->has_value())
      return Status::Corruption("snapshot blob znode " + h.location + " is missing");
    return Status::Ok();
  }
  if (h.kind != BlobHandle::Kind::file)
    return Status::Corruption("snapshot blob " + h.location + " has an unknown kind");
  const fs::path p = file_path(h);
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT) return Status::Corruption("snapshot file " + p.string() + " is missing");
    return errno_status("cannot stat snapshot file", p, e);
  }
  if (static_cast<uint64_t>(st.st_size) != h.size)
    return Status::Corruption("snapshot file " + p.string() + " has " + std::to_string(st.st_size) +
                              " bytes; the manifest says " + std::to_string(h.size));
  return Status::Ok();
}

Status SnapshotStore::read(const BlobHandle& h,
                           const std::function<Status(std::string_view)>& consume) {
  if (h.kind != BlobHandle::Kind::file) {
    auto bytes = get(h);
    if (!bytes.ok()) return bytes.status();
    return consume(*bytes);
  }
  const fs::path p = file_path(h);
  const std::string where = "snapshot file " + p.string();
  auto opened = open_snapshot(p);
  if (!opened.ok()) return opened.status();
  const int fd = opened->fd;
  const size_t size = opened->size;
  if (size != h.size) {
    ::close(fd);
    return Status::Corruption(where + " has " + std::to_string(size) +
                              " bytes; the manifest says " + std::to_string(h.size));
  }
  if (size == 0) {
    ::close(fd);
    if (crc32c(std::string_view()) != h.checksum)
      return Status::Corruption(where + " is corrupt: CRC-32C mismatch");
    return consume(std::string_view());
  }
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (m == MAP_FAILED) return errno_status("cannot map snapshot file", p, e);
  ::madvise(m, size, MADV_SEQUENTIAL);
  const std::string_view bytes(static_cast<const char*>(m), size);
  Status out;
  const uint32_t c = crc32c(bytes);
  if (c != h.checksum)
    out = Status::Corruption(where + " is corrupt: CRC-32C " + hex32(c) + ", the manifest says " +
                             hex32(h.checksum));
  else
    out = consume(bytes);
  ::munmap(m, size);
  return out;
}

Status SnapshotStore::remove_checkpoint_except(CheckpointId id, const std::set<std::string>& keep) {
  const std::string name = checkpoint_name(id);
  // Znodes: <blob_root>/<id>/g<gen>/<key>.
  const std::string zdir = blob_root_ + "/" + name;
  auto gens = zk_.children(zdir);
  if (!gens.ok() && gens.status().code() != Code::not_found) return gens.status();
  if (gens.ok()) {
    size_t gens_left = 0;
    for (const std::string& g : *gens) {
      const std::string gdir = zdir + "/" + g;
      auto kids = zk_.children(gdir);
      if (!kids.ok() && kids.status().code() != Code::not_found) return kids.status();
      size_t left = 0;
      if (kids.ok())
        for (const std::string& k : *kids) {
          if (keep.count(gdir + "/" + k)) {
            ++left;
            continue;
          }
          SLEET_RETURN_IF_ERROR(zk_.remove_recursive(gdir + "/" + k));
        }
      if (left == 0)
        SLEET_RETURN_IF_ERROR(zk_.remove_recursive(gdir));
      else
        ++gens_left;
    }
    if (gens_left == 0) SLEET_RETURN_IF_ERROR(zk_.remove_recursive(zdir));
  }
  const fs::path d = dir_ / name;
  return io_->run([d, name, &keep]() -> Status {
    std::error_code ec;
    if (!fs::exists(d, ec)) return Status::Ok();
    for (fs::directory_iterator g(d, ec), end; !ec && g != end; g.increment(ec)) {
      if (!g->is_directory()) continue;
      const std::string gname = g->path().filename().string();
      for (fs::directory_iterator f(g->path(), ec); !ec && f != end; f.increment(ec)) {
        const std::string fname = f->path().filename().string();
        const bool ours = (fname.size() > 5 && fname.compare(fname.size() - 5, 5, ".snap") == 0) ||
                          (fname[0] == '.' && fname.find(".tmp-") != std::string::npos);
        if (!ours || keep.count(name + "/" + gname + "/" + fname)) continue;
        fs::remove(f->path(), ec);
        if (ec) return Status::IoError("cannot remove " + f->path().string() + ": " + ec.message());
      }
      if (fs::is_empty(g->path(), ec)) fs::remove(g->path(), ec);
    }
    if (ec) return Status::IoError("cannot prune " + d.string() + ": " + ec.message());
    if (fs::is_empty(d, ec)) fs::remove(d, ec);
    return Status::Ok();
  });
}

// The blobs under `name` (a checkpoint, or one generation's attempt at it): znodes, then files.
Status SnapshotStore::remove_blobs(const std::string& name) {
  SLEET_RETURN_IF_ERROR(zk_.remove_recursive(blob_root_ + "/" + name));
  fs::path d = dir_ / name;
  return io_->run([d]() -> Status {
    std::error_code ec;
    fs::remove_all(d, ec);
    if (ec) return Status::IoError("cannot remove " + d.string() + ": " + ec.message());
    return Status::Ok();
  });
}

Status SnapshotStore::remove_checkpoint(CheckpointId id) {
  return remove_blobs(checkpoint_name(id));
}

Status SnapshotStore::remove_attempt(CheckpointId id, Generation gen) {
  return remove_blobs(attempt_name(id, gen));
}

Result<std::vector<CheckpointId>> SnapshotStore::list_checkpoints() {
  std::set<CheckpointId> ids;
  auto kids = zk_.children(blob_root_);
  if (!kids.ok() && kids.status().code() != Code::not_found) return kids.status();
  if (kids.ok())
    for (auto& k : *kids)
      if (auto id = parse_checkpoint_name(k)) ids.insert(*id);
  fs::path d = dir_;
  auto files = io_->run([d]() -> Result<std::vector<CheckpointId>> {
    std::vector<CheckpointId> out;
    std::error_code ec;
    if (!fs::exists(d, ec)) return out;
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec))
      if (auto id = parse_checkpoint_name(it->path().filename().string())) out.push_back(*id);
    if (ec) return Status::IoError("cannot list " + d.string() + ": " + ec.message());
    return out;
  });
  if (!files.ok()) return files.status();
  ids.insert(files->begin(), files->end());
  return std::vector<CheckpointId>(ids.begin(), ids.end());
}

}  // namespace sleet
