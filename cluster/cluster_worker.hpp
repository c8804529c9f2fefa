// A worker process in cluster mode (DESIGN.md "Cluster mode"; docs/architecture.md draws the
// protocol as numbered steps): joins the topology's cluster in ZooKeeper (membership + election),
// runs the tasks the current generation's assignment gives it, wired to the other workers by the
// transport, and, on the elected worker, the checkpoint coordinator and the generation claims.
//
// Threads: run() is the controlling thread (generations start and end only here); a leader
// thread runs the election and claims generations; the transport's io thread delivers control
// messages (handled under run_mu_); the coordinator has its own thread on the leader.
// request_stop() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <sleet/registry.hpp>
#include <sleet/topology.hpp>

#include "cluster/assignment.hpp"
#include "cluster/worker.hpp"
#include "core/config.hpp"

namespace sleet::cluster {

class ClusterWorker {
 public:
  // `stop` is the owning Worker's stop flag (request_stop sets it); `on_joined` is called on the
  // controlling thread once this worker is a member of the cluster (the Worker's lifecycle moves
  // to running: generations start and end inside it).
  ClusterWorker(const TopologySpec& spec, const Registry& registry, const WorkerOptions& options,
                const WorkerConfig& config, const std::atomic<bool>& stop,
                std::function<void()> on_joined);
  ~ClusterWorker();
  // Blocks until stopped (Ok), the topology is killed (Ok), or a failure a new generation cannot
  // cure (the topology does not fit the checkpoint, a bad config).
  [[nodiscard]] Status run();
  // After run(): its leader thread was left inside a ZooKeeper call (ZooKeeper unreachable at
  // the stop), so the process must end without running destructors (std::_Exit).
  bool abandoned() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sleet::cluster
