// Where task snapshots' bytes go. Small blobs (<= inline_limit) are inline znodes
// <blob_root>/<id>/g<gen>/<task_key>; larger ones are files <dir>/<id>/g<gen>/<task_key>.snap
// (<gen>: the writer's Generation), written to a
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
// Writers: blobs are keyed by (checkpoint id, generation, task key). Two generations writing the
// same checkpoint id (a stale coordinator's tasks reusing a number the live one also uses) write
// distinct blobs, so a zombie can never overwrite a blob of the live checkpoint; putting the same
// (id, generation, key) again (a retry within one generation) overwrites. Blobs written before
// generations were in the name (<id>/<task_key>) still read: the manifest stores the location.
// Tasks write through GenerationSnapshotWriter (core/checkpoint_contract.hpp's SnapshotWriter).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
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

  // Stores one task's snapshot for checkpoint `id`, written by generation `gen` (positive).
  // task_key names the task uniquely within the checkpoint ("count-3"): non-empty, no '/', not
  // starting with '.', at most 200 bytes.
  Result<BlobHandle> put(CheckpointId id, Generation gen, const std::string& task_key,
                         std::string_view bytes);
  // The bytes, verified against h.size and h.checksum. Missing or damaged -> corruption naming
  // the location; ZooKeeper unreachable -> unavailable; other file errors -> io_error.
  Result<std::string> get(const BlobHandle& h);
  // Streams the bytes to `consume` without copying a file blob (it is mapped), after the same
  // checks as get(); returns consume's status. Any thread (file blobs read on the calling one).
  Status read(const BlobHandle& h, const std::function<Status(std::string_view)>& consume);
  // Corruption naming the blob if it is missing or has another size than h says (a stat or an
  // exists: cheap, no bytes read); the checksum is checked when it is read.
  Status check_present(const BlobHandle& h);
  // Retention of keyed-state chains: removes the blobs of checkpoint `id` (every generation)
  // except those at `keep` (BlobHandle locations). Only what Sleet writes is removed (.snap
  // files, its temporary files, znodes under the blob root); emptied directories go too.
  Status remove_checkpoint_except(CheckpointId id, const std::set<std::string>& keep);
  // Removes all blobs of checkpoint `id`, of every generation (znodes and files). Idempotent.
  // Retention only: the caller knows no live attempt uses `id`.
  Status remove_checkpoint(CheckpointId id);
  // Removes the blobs generation `gen` wrote for checkpoint `id` (an aborted attempt), leaving
  // other generations' blobs of the same id alone. Idempotent.
  Status remove_attempt(CheckpointId id, Generation gen);
  // Ids that have any blobs (znode or directory), ascending.
  Result<std::vector<CheckpointId>> list_checkpoints();

  const std::string& blob_root() const { return blob_root_; }
  const std::filesystem::path& dir() const { return dir_; }
  size_t inline_limit() const { return inline_limit_; }
  // Full path of a file blob's location.
  std::filesystem::path file_path(const BlobHandle& h) const { return dir_ / h.location; }

 private:
  Status remove_blobs(const std::string& name);
  Result<BlobHandle> put_inline(const std::string& dir, const std::string& key,
                                std::string_view bytes);
  Result<BlobHandle> put_file(const std::string& dir, const std::string& key,
                              std::string_view bytes);

  zk::Client& zk_;
  std::string blob_root_;
  std::filesystem::path dir_;
  size_t inline_limit_;
  std::unique_ptr<BlockingExecutor> io_;
};

// "<id>/g<gen>": the part of a blob's location that names its checkpoint attempt.
std::string attempt_name(CheckpointId id, Generation gen);

// The SnapshotWriter tasks write through: a SnapshotStore bound to the worker's generation.
// `gate` (optional, must outlive the writer: the worker's lease, cluster/lease.hpp) is asked
// before every blob write; a refusal is the write's error (nothing written), so the task's ack
// carries it and the checkpoint aborts. Threading as SnapshotStore (any fiber or thread,
// concurrently).
class GenerationSnapshotWriter : public SnapshotWriter {
 public:
  GenerationSnapshotWriter(SnapshotStore& store, Generation gen,
                           const SideEffectGate* gate = nullptr)
      : store_(store), gen_(gen), gate_(gate) {}
  Result<BlobHandle> write(CheckpointId id, const std::string& task_key,
                           std::string_view bytes) override {
    if (gate_)
      SLEET_RETURN_IF_ERROR(gate_->allow("snapshot blob " + task_key + " of checkpoint " +
                                         std::to_string(id.value) + " (generation " +
                                         std::to_string(gen_.value) + ")"));
    return store_.put(id, gen_, task_key, bytes);
  }

 private:
  SnapshotStore& store_;
  Generation gen_;
  const SideEffectGate* gate_;
};

}  // namespace sleet
