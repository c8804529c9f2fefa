// Event-time watermark of one task with several input channels, as a pure class (like
// BarrierAligner): the task's watermark is the minimum over its active input channels, where an
// input that reported kIdleWatermark (its spout has no active partition) or ended is left out.
// The task tells it what arrived; it answers what to forward downstream. No fibers, no clock:
// the table is in runtime/README.md and tests/runtime/watermark_aligner_test.cpp checks it.
//
// Threading: not synchronized; one owner (the task's fiber in Task::run_bolt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <sleet/tuple.hpp>

namespace sleet {

class WatermarkAligner {
 public:
  struct Decision {
    // Forward `watermark` downstream (a value, or kIdleWatermark: every live input is idle).
    bool forward = false;
    int64_t watermark = kNoTimestamp;
    bool operator==(const Decision&) const = default;
  };

  explicit WatermarkAligner(size_t inputs);

  // Watermark `w` (or kIdleWatermark) was read from `input`. A value below what the input sent
  // before is ignored (per input, watermarks only rise).
  [[nodiscard]] Decision on_watermark(size_t input, int64_t w);
  // The end of the stream was read from `input`: it no longer holds the minimum back.
  [[nodiscard]] Decision on_end(size_t input);

  // The last watermark forwarded (kNoTimestamp: none yet); never decreases.
  int64_t current() const { return current_; }
  // True when the last thing forwarded was kIdleWatermark.
  bool idle() const { return idle_; }

 private:
  enum class In : uint8_t { active, idle, ended };
  Decision recompute();

  std::vector<int64_t> wm_;  // per input: the highest value it sent (kNoTimestamp: none)
  std::vector<In> state_;
  int64_t current_ = kNoTimestamp;
  bool idle_ = false;
};

}  // namespace sleet
