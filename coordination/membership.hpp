// The membership recipe of cluster mode (issue 12): each live worker owns an EPHEMERAL znode
// `<dir>/<id>` (dir is the topology's `workers` znode) holding its address, slots, pid and host;
// the sorted children are the live workers. cluster/cluster_worker.cpp creates one per
// `sleet worker --zookeeper` process.
//
// Sessions: the node lives as long as the ZooKeeper session that created it. After an expiry the
// client opens a new session and bumps session_epoch(); ensure_joined() (also called by
// wait_for_change()) then re-creates the node. A worker whose id is held by another live session
// is refused (two processes with one --id).
//
// Threading: one fiber or thread at a time per Membership; the Client may be shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sleet/status.hpp>

#include "coordination/zk_client.hpp"

namespace sleet::zk {

struct WorkerInfo {
  std::string id;       // the znode's name: no '/', not empty
  std::string address;  // host:port of its transport
  int slots = 1;
  int64_t pid = 0;
  std::string host;
  std::string metrics;  // host:port of its metrics server ("" if none; absent in older entries)
  bool operator==(const WorkerInfo&) const = default;
};

// The znode's data: "address=...\nslots=...\npid=...\nhost=...\n[metrics=...\n]" (readable with
// zkCli). metrics is optional, so entries of workers from before it decode.
std::string encode_worker_info(const WorkerInfo& w);
// corruption if a field is missing or malformed.
Result<WorkerInfo> decode_worker_info(const std::string& id, const std::string& data);

class Membership {
 public:
  // Nothing is written until join(). `dir` is an absolute znode path, created if missing.
  Membership(Client& client, std::string dir, WorkerInfo self);
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // Creates `<dir>/<id>`. Ok if it already exists and belongs to this session (a create whose
  // reply was lost); already_exists naming the other session and address if another session
  // holds the id.
  Status join();
  // join() again if the session that created the node is gone or the node vanished; cheap
  // (no request) while the session is the same one.
  Status ensure_joined();
  // Whether the node was created in the client's current session (no request).
  bool joined() const;
  // Deletes the node (Ok if absent). The end of the session does the same.
  Status leave();

  // The live workers sorted by id; with `watch`, a children watch is armed on `<dir>` (it fires
  // on any join or loss). A worker whose node vanishes while it is read is left out.
  Result<std::vector<WorkerInfo>> live(Watch* watch = nullptr);
  // Waits until the live set may have changed (the children watch fired, or this client's session
  // was replaced: then it re-joins first) and returns the new list; Code::timeout at `until`.
  // The first call reads and arms the watch, returning at once.
  Result<std::vector<WorkerInfo>> wait_for_change(std::chrono::steady_clock::time_point until);

  const WorkerInfo& self() const { return self_; }
  std::string node_path() const { return dir_ + "/" + self_.id; }

 private:
  Client& client_;
  std::string dir_;
  WorkerInfo self_;
  uint64_t joined_epoch_ = 0;  // session epoch of the node's creation; 0 = not joined
  bool want_joined_ = false;   // join() was called and leave() was not
  Watch watch_;
};

}  // namespace sleet::zk
