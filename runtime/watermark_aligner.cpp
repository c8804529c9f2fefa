#include "runtime/watermark_aligner.hpp"

#include <algorithm>

namespace sleet {

WatermarkAligner::WatermarkAligner(size_t inputs)
    : wm_(inputs, kNoTimestamp), state_(inputs, In::active) {}

WatermarkAligner::Decision WatermarkAligner::on_watermark(size_t input, int64_t w) {
  if (state_[input] == In::ended || w == kNoTimestamp) return {};
  if (w == kIdleWatermark) {
    if (state_[input] == In::idle) return {};
    state_[input] = In::idle;
  } else {
    state_[input] = In::active;
    wm_[input] = std::max(wm_[input], w);
  }
  return recompute();
}

WatermarkAligner::Decision WatermarkAligner::on_end(size_t input) {
  if (state_[input] == In::ended) return {};
  state_[input] = In::ended;
  return recompute();
}

// Minimum over active inputs. Nothing active: idle if some input is idle (and we were not
// already), nothing if every input ended. The forwarded value never decreases: an input that
// comes back from idle below the current watermark does not pull it back (its records below it
// are late).
WatermarkAligner::Decision WatermarkAligner::recompute() {
  bool any_active = false, any_idle = false;
  int64_t m = kIdleWatermark;
  for (size_t i = 0; i < wm_.size(); ++i) {
    if (state_[i] == In::active) {
      any_active = true;
      m = std::min(m, wm_[i]);
    } else if (state_[i] == In::idle) {
      any_idle = true;
    }
  }
  if (!any_active) {
    if (!any_idle || idle_) return {};
    idle_ = true;
    return {true, kIdleWatermark};
  }
  if (m > current_) {
    current_ = m;
    idle_ = false;
    return {true, current_};
  }
  if (idle_ && current_ != kNoTimestamp) {  // active again, at the watermark it had
    idle_ = false;
    return {true, current_};
  }
  idle_ = false;
  return {};
}

}  // namespace sleet
