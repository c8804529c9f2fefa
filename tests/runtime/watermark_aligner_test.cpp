// WatermarkAligner as a table: each case is a sequence of (event, input, watermark) with what the
// aligner must forward after it. No fibers, channels or sleeps. The rows are the table in
// runtime/README.md (event time).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/watermark_aligner.hpp"

using namespace sleet;

namespace {

constexpr int64_t I = kIdleWatermark;
constexpr int64_t N = kNoTimestamp;
constexpr int64_t kNone = -999;  // "forwards nothing"

enum class Ev { wm, end };
struct Step {
  Ev ev;
  size_t input;
  int64_t w;        // wm only
  int64_t forward;  // kNone: nothing forwarded
};
Step wm(size_t i, int64_t w, int64_t fwd) {
  return {Ev::wm, i, w, fwd};
}
Step end(size_t i, int64_t fwd) {
  return {Ev::end, i, 0, fwd};
}

struct Case {
  const char* name;
  size_t inputs;
  std::vector<Step> steps;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"one input: every rise is forwarded, a repeat or a drop is not",
       1,
       {wm(0, 10, 10), wm(0, 10, kNone), wm(0, 5, kNone), wm(0, 11, 11)}},
      {"two inputs: the minimum; the slower input holds it back",
       2,
       {wm(0, 10, kNone), wm(1, 7, 7), wm(1, 12, 10), wm(0, 20, 12), wm(0, 30, kNone),
        wm(1, 25, 25)}},
      {"an input that never sent holds the watermark at nothing",
       3,
       {wm(0, 10, kNone), wm(1, 10, kNone), wm(0, 50, kNone), wm(2, 40, 10)}},
      {"an idle input leaves the minimum",
       2,
       {wm(0, 10, kNone), wm(1, I, 10), wm(0, 20, 20), wm(1, I, kNone)}},
      {"an input back from idle below the current watermark does not pull it back",
       2,
       {wm(0, 10, kNone), wm(1, I, 10), wm(0, 30, 30), wm(1, 15, kNone), wm(0, 40, kNone),
        wm(1, 35, 35)}},
      {"every input idle: idle is forwarded once; activity again resends the watermark",
       2,
       {wm(0, 10, kNone), wm(1, 12, 10), wm(0, I, 12), wm(1, I, I), wm(0, I, kNone), wm(1, 5, 12),
        wm(1, 14, 14)}},
      {"all idle before any value: idle, then the first value",
       2,
       {wm(0, I, kNone), wm(1, I, I), wm(0, 3, 3)}},
      {"an ended input leaves the minimum; all ended forwards nothing",
       2,
       {wm(0, 10, kNone), wm(1, 5, 5), end(1, 10), wm(0, 11, 11), end(0, kNone), wm(0, 99, kNone)}},
      {"an end leaving only idle inputs forwards idle",
       2,
       {wm(0, I, kNone), wm(1, 4, 4), end(1, I), end(1, kNone)}},
      {"kNoTimestamp is no watermark", 1, {wm(0, N, kNone), wm(0, 1, 1), wm(0, N, kNone)}},
  };
  return c;
}

TEST(WatermarkAligner, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    WatermarkAligner a(c.inputs);
    int64_t last = N;
    for (size_t k = 0; k < c.steps.size(); ++k) {
      const Step& s = c.steps[k];
      SCOPED_TRACE("step " + std::to_string(k));
      auto d = s.ev == Ev::wm ? a.on_watermark(s.input, s.w) : a.on_end(s.input);
      if (s.forward == kNone) {
        EXPECT_FALSE(d.forward) << "forwarded " << d.watermark;
      } else {
        EXPECT_TRUE(d.forward);
        EXPECT_EQ(d.watermark, s.forward);
        EXPECT_EQ(a.idle(), s.forward == I);
      }
      // Never decreases.
      EXPECT_GE(a.current(), last);
      last = a.current();
    }
  }
}

}  // namespace
