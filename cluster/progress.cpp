#include "cluster/progress.hpp"

#include <map>

#include "checkpointing/coordinator.hpp"
#include "runtime/engine.hpp"

namespace sleet {

void add_engine_figures(const TopologySpec& spec, const Engine& engine, WorkerProgress& p) {
  std::map<std::string, bool> sink;
  for (auto& c : spec.components) sink[c.id] = true;
  for (auto& st : spec.streams) sink[st.from] = false;
  for (auto& ts : engine.stats()) {
    const ComponentSpec* c = spec.find(ts.component);
    if (c && c->kind == ComponentKind::spout) p.records_in += ts.counters["out"];
    if (c && c->kind == ComponentKind::bolt && sink[ts.component])
      p.records_out += ts.counters["in"];
    p.skipped += ts.counters["skipped"];
    if (int64_t sk = ts.counters["skipped"]; sk > 0) {
      auto& e = p.errors[ts.component];
      e.skipped += sk;
      e.dead_lettered += ts.counters["dead_letters"];
    }
  }
}

void add_coordinator_figures(const Coordinator& coordinator, const Engine& engine,
                             std::chrono::steady_clock::time_point now, WorkerProgress& p) {
  auto cs = coordinator.stats();
  p.last_checkpoint = cs.last_committed.value;
  p.last_checkpoint_ms = cs.last_duration_ms;
  p.last_checkpoint_bytes = cs.last_bytes;
  p.aborted = cs.aborted;
  p.drained = cs.drained;
  p.coordinator_state = cs.state;
  p.committed_offsets = cs.committed_offsets;
  p.committed_positions = cs.committed_positions;
  p.last_abort_reason = cs.last_abort_reason;
  if (cs.last_committed.value > 0)
    p.last_checkpoint_age_s = std::chrono::duration<double>(now - cs.committed_at).count();
  p.visible = engine.visible_checkpoint().value;
}

void ProgressMeter::finish(WorkerProgress& p, std::chrono::steady_clock::time_point now) {
  p.elapsed_s = std::chrono::duration<double>(now - t0_).count();
  double dt = std::chrono::duration<double>(now - last_).count();
  if (dt > 0) {
    p.in_rate = static_cast<double>(p.records_in - last_in_) / dt;
    p.out_rate = static_cast<double>(p.records_out - last_out_) / dt;
  }
  last_in_ = p.records_in;
  last_out_ = p.records_out;
  last_ = now;
}

}  // namespace sleet
