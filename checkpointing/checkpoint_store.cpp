#include "checkpointing/checkpoint_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace sleet {

namespace {

std::string normalize_root(std::string r) {
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}

Status validate_key(const std::string& kind, const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos || key == "." || key == ".." ||
      key.find('\0') != std::string::npos)
    return Status::Invalid("bad " + kind + " '" + key + "' (non-empty, no '/')");
  return Status::Ok();
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ZkCursorStore : public CursorStore {
 public:
  ZkCursorStore(zk::Client& zk, std::string base) : zk_(zk), base_(std::move(base)) {}

  Result<std::string> load(const std::string& key) override {
    SLEET_RETURN_IF_ERROR(validate_key("cursor key", key));
    auto r = zk_.get(base_ + "/" + key);
    if (!r.ok() && r.status().code() == Code::not_found)
      return Status::NotFound("no cursor '" + key + "' under " + base_);
    return r;
  }

  Status store(const std::string& key, const std::string& value) override {
    SLEET_RETURN_IF_ERROR(validate_key("cursor key", key));
    std::string path = base_ + "/" + key;
    auto v = zk_.set(path, value);
    if (v.ok()) return Status::Ok();
    if (v.status().code() != Code::not_found) return v.status();
    Status st = zk_.create(path, value);
    if (st.code() == Code::already_exists) {  // created concurrently: overwrite
      auto again = zk_.set(path, value);
      return again.ok() ? Status::Ok() : again.status();
    }
    return st;
  }

 private:
  zk::Client& zk_;
  std::string base_;
};

}  // namespace

BlobRetention plan_blob_retention(const std::vector<Manifest>& kept,
                                  const std::vector<CheckpointId>& with_blobs,
                                  const std::function<bool(CheckpointId)>& keep_whole) {
  std::map<CheckpointId, std::set<std::string>> named;
  for (const Manifest& m : kept)
    for (const TaskSnapshot& t : m.tasks)
      for (const StateLink& l : t.links) named[l.id].insert(l.handle.location);
  BlobRetention out;
  for (CheckpointId id : with_blobs) {
    if (keep_whole(id)) continue;
    auto it = named.find(id);
    if (it == named.end())
      out.remove.push_back(id);
    else
      out.prune[id] = it->second;
  }
  return out;
}

CheckpointStore::CheckpointStore(zk::Client& zk, std::string root, std::string topology)
    : zk_(zk), root_(normalize_root(std::move(root))), topology_(std::move(topology)) {}

std::string CheckpointStore::topology_path() const {
  return (root_ == "/" ? "" : root_) + "/topologies/" + topology_;
}
std::string CheckpointStore::blob_root() const {
  return topology_path() + "/blobs";
}
std::string CheckpointStore::checkpoints_path() const {
  return topology_path() + "/checkpoints";
}
std::string CheckpointStore::publish_path() const {
  return topology_path() + "/publish";
}
std::string CheckpointStore::generation_path() const {
  return topology_path() + "/generation";
}
std::string CheckpointStore::latest_path() const {
  return topology_path() + "/latest";
}
std::string CheckpointStore::assignment_path() const {
  return topology_path() + "/assignment";
}
std::string CheckpointStore::rollback_path() const {
  return topology_path() + "/rollback";
}

Status CheckpointStore::init() {
  SLEET_RETURN_IF_ERROR(zk::validate_path(root_).with_context("zookeeper.root"));
  SLEET_RETURN_IF_ERROR(validate_key("topology name", topology_));
  for (const auto& p : {checkpoints_path(), blob_root(), publish_path()})
    SLEET_RETURN_IF_ERROR(zk_.ensure_path(p));
  for (const auto& p : {generation_path(), latest_path(), assignment_path(), rollback_path()}) {
    Status st = zk_.create(p, "");
    if (!st.ok() && st.code() != Code::already_exists) return st;
  }
  return Status::Ok();
}

Result<Generation> CheckpointStore::bump_generation() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string who = std::to_string(now_unix_ms()) + " " + host + " pid " + std::to_string(getpid());
  auto v = zk_.set(generation_path(), who);
  if (!v.ok()) return v.status().with_context("bumping the generation of " + topology_);
  return Generation{*v};
}

Result<Generation> CheckpointStore::claim_generation(Generation expected,
                                                     const std::string& assignment) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string who = std::to_string(now_unix_ms()) + " " + host + " pid " + std::to_string(getpid());
  std::vector<zk::Op> ops;
  ops.push_back(zk::Op::set(generation_path(), who, expected.value));
  ops.push_back(zk::Op::set(assignment_path(), assignment));
  Status st = zk_.multi(ops);
  if (!st.ok()) {
    if (st.code() == Code::fenced)
      return Status(Code::fenced, "claiming generation " + std::to_string(expected.value + 1) +
                                      " of " + topology_ +
                                      ": another coordinator claimed it first");
    return st.with_context("claiming generation " + std::to_string(expected.value + 1) + " of " +
                           topology_);
  }
  return Generation{expected.value + 1};
}

Result<Generation> CheckpointStore::current_generation() {
  auto v = zk_.exists(generation_path());
  if (!v.ok()) return v.status();
  if (!v->has_value())
    return Status::NotFound(generation_path() + " does not exist (CheckpointStore::init not run)");
  return Generation{**v};
}

Status CheckpointStore::commit(const Manifest& m, Generation gen) {
  std::string ctx = "committing checkpoint " + std::to_string(m.id.value) + " of " + topology_;
  if (m.id.value <= 0) return Status::Invalid(ctx + ": checkpoint ids start at 1");
  if (m.topology != topology_)
    return Status::Invalid(ctx + ": the manifest is for topology '" + m.topology + "'");
  std::string bytes = encode_manifest(m);
  if (bytes.size() + 1024 > zk::kMaxRequestBytes)
    return Status::Invalid(ctx + ": the manifest is " + std::to_string(bytes.size()) +
                           " bytes, over the ZooKeeper request limit; snapshot bytes belong in "
                           "the SnapshotStore, not in the manifest");
  std::vector<zk::Op> ops;
  ops.push_back(zk::Op::check(generation_path(), gen.value));
  ops.push_back(zk::Op::create(checkpoints_path() + "/" + checkpoint_name(m.id), std::move(bytes)));
  ops.push_back(zk::Op::set(latest_path(), std::to_string(m.id.value)));
  Status st = zk_.multi(ops);
  if (st.code() == Code::fenced)
    return Status::Fenced(ctx + ": generation " + std::to_string(gen.value) +
                          " is stale (another coordinator took over); nothing was written");
  return st.with_context(ctx);
}

Result<std::optional<CheckpointId>> CheckpointStore::latest_id() {
  auto r = zk_.get(latest_path());
  if (!r.ok()) return r.status().with_context("reading the latest checkpoint of " + topology_);
  const std::string& s = *r;
  if (s.empty()) return std::optional<CheckpointId>();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
    return Status::Corruption(latest_path() + " holds '" + s + "', not a checkpoint id");
  return std::optional<CheckpointId>(CheckpointId{v});
}

Result<Manifest> CheckpointStore::load(CheckpointId id) {
  std::string path = checkpoints_path() + "/" + checkpoint_name(id);
  auto r = zk_.get(path);
  if (!r.ok()) return r.status().with_context("reading checkpoint manifest " + path);
  auto m = decode_manifest(*r);
  if (!m.ok()) return m.status().with_context(path);
  if (m->id != id)
    return Status::Corruption(path + " holds the manifest of checkpoint " +
                              std::to_string(m->id.value));
  return m;
}

Result<std::optional<Manifest>> CheckpointStore::load_latest() {
  auto id = latest_id();
  if (!id.ok()) return id.status();
  if (!id->has_value()) return std::optional<Manifest>();
  auto m = load(**id);
  if (!m.ok()) {
    if (m.status().code() == Code::not_found)
      return Status::Corruption(latest_path() + " points at checkpoint " +
                                std::to_string((*id)->value) + ", whose manifest is missing");
    return m.status();
  }
  return std::optional<Manifest>(std::move(m).value());
}

Result<std::vector<CheckpointId>> CheckpointStore::list() {
  auto kids = zk_.children(checkpoints_path());
  if (!kids.ok()) return kids.status();
  std::vector<CheckpointId> ids;
  for (auto& k : *kids)
    if (auto id = parse_checkpoint_name(k)) ids.push_back(*id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status CheckpointStore::retain(CheckpointId latest, SnapshotStore& snapshots) {
  std::string ctx = "retaining checkpoints of " + topology_;
  auto committed = list();
  if (!committed.ok()) return committed.status().with_context(ctx);
  std::optional<CheckpointId> previous;
  for (auto id : *committed)
    if (id < latest) previous = id;
  auto keep = [&](CheckpointId id) { return id >= latest || (previous && id == *previous); };
  // Manifests first: a crash in between leaves orphan blobs (swept next time), never a manifest
  // that names deleted blobs.
  for (auto id : *committed) {
    if (keep(id)) continue;
    Status st = zk_.remove(checkpoints_path() + "/" + checkpoint_name(id));
    if (!st.ok() && st.code() != Code::not_found) return st.with_context(ctx);
  }
  // The kept manifests' chains name blobs of older checkpoints: read them before deleting any.
  std::vector<Manifest> kept;
  for (auto id : *committed) {
    if (!keep(id) || id > latest) continue;
    auto m = load(id);
    if (!m.ok()) return m.status().with_context(ctx + ": reading a kept manifest");
    kept.push_back(std::move(m).value());
  }
  auto with_blobs = snapshots.list_checkpoints();
  if (!with_blobs.ok()) return with_blobs.status().with_context(ctx);
  const BlobRetention plan = plan_blob_retention(kept, *with_blobs, keep);
  for (auto id : plan.remove)
    SLEET_RETURN_IF_ERROR(snapshots.remove_checkpoint(id).with_context(ctx));
  for (const auto& [id, locations] : plan.prune)
    SLEET_RETURN_IF_ERROR(snapshots.remove_checkpoint_except(id, locations).with_context(ctx));
  return Status::Ok();
}

std::unique_ptr<CursorStore> CheckpointStore::cursor_store() {
  return std::make_unique<ZkCursorStore>(zk_, publish_path());
}

}  // namespace sleet
