// Windowed bolts (docs/time-and-windows.md): a WindowedBolt groups its input by a key field into
// windows and calls on_window(key, window, tuples) once a window is complete:
//   - event time (default): tumbling (`slide` 0) or sliding windows of `size` ms of
//     Tuple::timestamp(), complete when the task's watermark passes the window's end
//     (Bolt::on_watermark); a tuple whose every window is older than the watermark minus the
//     allowed lateness is late (on_late). With lateness > 0 a window is kept that long after it
//     fired, and a tuple arriving into it fires it again with the tuple added.
//   - processing time: the same windows over the wall clock (ms since the epoch) at execute(),
//     complete when the clock passes their end (a timer, Context::schedule_every).
//   - count: tumbling windows of `size` tuples per key, or sliding: every `slide` tuples of a key,
//     its last `size`.
// Window contents, fired-but-kept windows and the watermark are the bolt's checkpointed state
// (snapshot_state/restore_state), so a replay after a crash fires event-time and count windows
// with the same contents. Results are emitted with event time window.end - 1.
//
// Threading: like any bolt, every method runs on the task's fiber.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <sleet/args.hpp>
#include <sleet/component.hpp>
#include <sleet/tuple.hpp>

namespace sleet {

// [start, end): ms since the epoch for time windows; per-key tuple sequence numbers for count
// windows (the window of the 10th..19th tuples of a key is [10, 20)).
struct Window {
  int64_t start = 0;
  int64_t end = 0;
  bool operator==(const Window&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(start, end);
  }
};

struct WindowSpec {
  enum class Kind : uint8_t { event_time, processing_time, count };
  Kind kind = Kind::event_time;
  int64_t size = 0;   // ms, or tuples (count); > 0
  int64_t slide = 0;  // 0: tumbling (= size); else 0 < slide <= size
  int64_t allowed_lateness_ms = 0;
  std::string key_field;  // "": one window per time range for all tuples (key "")
};

// The arguments every windowed component takes, and the WindowSpec they give:
//   window: event_time (default) | processing_time | count
//   size_ms / slide_ms (time windows), size / slide (count windows), allowed_lateness_ms,
//   key_field. An invalid combination throws std::invalid_argument naming the argument (the
//   registry's factory contract).
std::vector<ArgSpec> window_arg_specs();
WindowSpec window_spec_from_args(const Args& args);

class WindowedBolt : public Bolt {
 public:
  explicit WindowedBolt(WindowSpec spec);
  ~WindowedBolt() override;

  // A complete window of `key`: its tuples in arrival order (time windows: as they arrived;
  // count windows: the key's tuples in order). Called in window-end order, then key order.
  virtual void on_window(const Value& key, const Window& window, const std::vector<Tuple>& tuples,
                         Collector& out) = 0;
  // A tuple too late for every window it belongs to (or without event time in an event-time
  // window). The default counts it ("late") and emits late_values(t) on the `late` stream
  // (kLateStream), if this bolt declares it as output_streams() does by default.
  virtual void on_late(const Tuple& t, Collector& out);

  // The side stream of late tuples. Its fields are fixed (output_streams() is declared before
  // the input is known, so they cannot be the input's own): key (the window key: the value of
  // key_field, "" without one), value (the input's `value` field if it has one, e.g.
  // KafkaSpout's record value; else every field of the input as one JSON object, the jsonl
  // encoding), timestamp (int64 event time, -1 if none), source_component and source_stream
  // (strings, Tuple::source()). A late tuple keeps its event time on this stream.
  static constexpr std::string_view kLateStream = "late";
  static Fields late_fields();
  Values late_values(const Tuple& t) const;
  // "default" with output_fields(), and kLateStream with late_fields(). A subclass with named
  // streams of its own appends them to WindowedBolt::output_streams() to keep `late`; one that
  // leaves `late` out (or declares it with other fields) has its late tuples counted only.
  std::vector<StreamDecl> output_streams() const override;

  // Subclasses overriding open() call WindowedBolt::open(ctx) first.
  Status open(Context& ctx) override;
  void execute(const Tuple& input, Collector& out) final;
  Status on_watermark(int64_t watermark, Collector& out) final;
  Status on_timer(Collector& out) final;
  bool stateful() const override { return true; }
  uint32_t state_version() const override { return 1; }
  void snapshot_state(StateWriter& w) const override;
  Status restore_state(StateReader& r, uint32_t version) override;

  const WindowSpec& window_spec() const { return spec_; }
  // The last watermark (event time) or clock reading (processing time) windows were fired at.
  int64_t watermark() const { return watermark_; }
  // Windows currently held (not fired, or kept for lateness), all keys.
  size_t pending_windows() const;

 private:
  struct Impl;
  void fire_until(int64_t time, Collector& out);
  void add_to_windows(const Tuple& t, int64_t time, Collector& out);
  void add_counted(const Tuple& t, Collector& out);
  void fire(const Value& key, const Window& w, const std::vector<Tuple>& tuples, Collector& out);

  WindowSpec spec_;
  int64_t watermark_ = kNoTimestamp;
  Counter* late_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sleet
