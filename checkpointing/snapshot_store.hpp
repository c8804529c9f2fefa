// Where task snapshots' bytes go. Small blobs (<= inline_limit) are inline znodes
// <blob_root>/<id>/<task_key>; larger ones are files <dir>/<id>/<task_key>.snap, written to a
// temporary file, fsynced, renamed into place, and the directory fsynced, so a file blob either
// exists complete or not at all. `dir` is checkpoint.dir/<topology>: local disk for one host, a
// shared filesystem when workers span hosts. The manifest records each blob's BlobHandle (kind,
// location, size, CRC-32C); get() verifies both, so a lost or damaged blob is a clear
// Code::corruption naming the blob, never silently empty state.
//
// Threading: all methods may be called concurrently from any thread or fiber. ZooKeeper calls
// suspend only the calling fiber; file I/O runs on the store's own I/O threads (BlockingExecutor),
// so it too suspends only the calling fiber.
//
// Writers: blobs are keyed by (checkpoint id, task key); putting the same key again overwrites.
// A coordinator must therefore never let two generations write the same checkpoint id at once
// (a zombie would overwrite a blob of the live one; the checksum then turns that into a
// corruption at recovery, but cannot undo it): see checkpointing/README.md.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sleet/ids.hpp>
#include <sleet/status.hpp>
#include <sleet/topology.hpp>

#include "checkpointing/manifest.hpp"
#include "coordination/zk_client.hpp"

namespace sleet {

class BlockingExecutor;

class SnapshotStore {
 public:
  // zk_blob_root e.g. "/sleet/topologies/wc/blobs"; dir e.g. "<checkpoint.dir>/wc".
  // inline_limit is capped so an inline blob always fits a ZooKeeper request.
  SnapshotStore(zk::Client& zk, std::string zk_blob_root, std::filesystem::path dir,
                size_t inline_limit = 128 * 1024);
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Stores one task's snapshot for checkpoint `id`. task_key names the task uniquely within the
  // checkpoint ("count-3"): non-empty, no '/', not starting with '.', at most 200 bytes.
  Result<BlobHandle> put(CheckpointId id, const std::string& task_key, std::string_view bytes);
  // The bytes, verified against h.size and h.checksum. Missing or damaged -> corruption naming
  // the location; ZooKeeper unreachable -> unavailable; other file errors -> io_error.
  Result<std::string> get(const BlobHandle& h);
  // Removes all blobs of checkpoint `id` (znodes and files). Idempotent.
  Status remove_checkpoint(CheckpointId id);
  // Ids that have any blobs (znode or directory), ascending.
  Result<std::vector<CheckpointId>> list_checkpoints();

  const std::string& blob_root() const { return blob_root_; }
  const std::filesystem::path& dir() const { return dir_; }
  size_t inline_limit() const { return inline_limit_; }
  // Full path of a file blob's location.
  std::filesystem::path file_path(const BlobHandle& h) const { return dir_ / h.location; }

 private:
  Result<BlobHandle> put_inline(CheckpointId id, const std::string& key, std::string_view bytes);
  Result<BlobHandle> put_file(CheckpointId id, const std::string& key, std::string_view bytes);

  zk::Client& zk_;
  std::string blob_root_;
  std::filesystem::path dir_;
  size_t inline_limit_;
  std::unique_ptr<BlockingExecutor> io_;
};

}  // namespace sleet
