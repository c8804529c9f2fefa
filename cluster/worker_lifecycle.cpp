#include "cluster/worker_lifecycle.hpp"

namespace sleet {

const char* worker_state_name(WorkerState s) {
  switch (s) {
    case WorkerState::created:
      return "created";
    case WorkerState::joining:
      return "joining";
    case WorkerState::restoring:
      return "restoring";
    case WorkerState::running:
      return "running";
    case WorkerState::stopping:
      return "stopping";
    case WorkerState::rolling_back:
      return "rolling_back";
    case WorkerState::stopped:
      return "stopped";
    case WorkerState::failed:
      return "failed";
  }
  return "?";
}

}  // namespace sleet
