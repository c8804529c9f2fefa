// The ZooKeeper side of checkpoints for one topology: the generation znode that fences stale
// coordinators, the single commit point (one multi that checks the generation, creates the
// manifest and moves `latest`), recovery reads, retention, and durable cursor cells for sinks.
//
// Layout under <root>/topologies/<name> (root = zookeeper.root, default "/sleet"):
//   generation            data: who bumped it last; its znode VERSION is the Generation
//   latest                data: decimal id of the last committed checkpoint ("" = none)
//   assignment            cluster mode: the generation's task placement (cluster/assignment.hpp)
//   rollback              cluster mode: a worker's request for a new generation
//   checkpoints/<id>      manifest (encode_manifest), id zero-padded to 20 digits
//   blobs/<id>/<task>     inline snapshot blobs (SnapshotStore)
//   publish/<key>         CursorStore cells (KafkaSink publish cursors)
//
// Threading: all methods may be called from any thread or fiber, concurrently; ZooKeeper calls
// suspend only the calling fiber. Only the coordinator (holder of the current generation) should
// call commit() and retain().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sleet/component.hpp>
#include <sleet/ids.hpp>
#include <sleet/status.hpp>

#include "checkpointing/manifest.hpp"
#include "checkpointing/snapshot_store.hpp"
#include "coordination/zk_client.hpp"

namespace sleet {

// What retention does with the blobs of checkpoints it does not keep whole: a managed keyed
// state's chain reaches back to blobs older checkpoints wrote, which stay while a kept manifest
// names them. Pure; CheckpointStore::retain applies it.
struct BlobRetention {
  std::vector<CheckpointId> remove;  // ids whose blobs all go
  // ids whose blobs go except these locations (links of kept manifests' chains)
  std::map<CheckpointId, std::set<std::string>> prune;
  bool operator==(const BlobRetention&) const = default;
};
// `kept`: the manifests retention keeps; `with_blobs`: ids that have blobs; keep_whole(id): the
// id is kept with all its blobs (a kept manifest, or above latest: possibly in flight).
BlobRetention plan_blob_retention(const std::vector<Manifest>& kept,
                                  const std::vector<CheckpointId>& with_blobs,
                                  const std::function<bool(CheckpointId)>& keep_whole);

class CheckpointStore {
 public:
  CheckpointStore(zk::Client& zk, std::string root /* zookeeper.root */, std::string topology);

  // Creates the layout above if missing (idempotent). invalid_argument for a bad root or name.
  Status init();

  std::string topology_path() const;  // <root>/topologies/<name>
  std::string blob_root() const;      // .../blobs
  std::string checkpoints_path() const;
  std::string publish_path() const;
  std::string generation_path() const;
  std::string latest_path() const;
  // Cluster mode: the assignment the current generation runs (cluster/assignment.hpp encodes it),
  // and the cell where any worker asks the coordinator for a rollback (a new generation).
  std::string assignment_path() const;
  std::string rollback_path() const;
  const std::string& topology() const { return topology_; }

  // Bumps the generation znode unconditionally and returns its NEW version. A coordinator calls
  // this when it starts or recovers; every commit of an older generation is fenced from then on.
  Result<Generation> bump_generation();
  // The current generation without bumping it.
  Result<Generation> current_generation();
  // Cluster mode: claims generation `expected` + 1 and writes the assignment it runs, in one multi
  // { set(generation, who, version expected), set(assignment) }, so no worker ever reads an
  // assignment without its generation, and a leader whose view is stale (another leader claimed
  // meanwhile) is fenced (nothing is written). unavailable: outcome unknown, read the generation.
  Result<Generation> claim_generation(Generation expected, const std::string& assignment);

  // THE commit point: one multi { check(generation, gen), create(checkpoints/<id>, manifest),
  // set(latest, id) }. fenced if the generation moved; already_exists if that id is committed;
  // invalid_argument if the manifest is over the request limit or names another topology;
  // unavailable on connection loss, and then the outcome is UNKNOWN: re-read latest_id().
  Status commit(const Manifest& m, Generation gen);

  Result<std::optional<CheckpointId>> latest_id();
  // The manifest `latest` points at, nullopt if nothing was committed yet. A latest pointing at a
  // missing manifest is corruption.
  Result<std::optional<Manifest>> load_latest();
  Result<Manifest> load(CheckpointId id);
  // Ids of committed manifests, ascending.
  Result<std::vector<CheckpointId>> list();

  // Keeps `latest` and the committed checkpoint just before it; deletes older manifests (first)
  // and their blobs (then), and blobs of attempts below `latest` that never committed, except the
  // keyed-state chain links the two kept manifests still name (plan_blob_retention). Leaves
  // ids above `latest` alone (a checkpoint may be in flight).
  Status retain(CheckpointId latest, SnapshotStore& snapshots);

  // Durable per-key cells under publish/<key>; keys: non-empty, no '/'. Values up to ~1 MB.
  std::unique_ptr<CursorStore> cursor_store();

 private:
  zk::Client& zk_;
  std::string root_;
  std::string topology_;
};

}  // namespace sleet
