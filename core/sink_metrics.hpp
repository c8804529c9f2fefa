// A sink task's epoch figures for the worker's metrics: epochs pending (pre-committed at a
// barrier, durable, not yet visible) and epochs published (made visible, since this process
// started). They live in two of the task's own counters (Context::counter), so they cross no new
// interface: cluster/metrics.cpp turns them into sleet_sink_epochs_pending and
// sleet_sink_epochs_published_total and leaves them out of the user counters, and the engine
// times the publishes that advance the published counter (sleet_sink_publish_seconds, from the
// checkpoint's commit notice to on_checkpoint_committed returning with the epoch durable).
//
// Threading: one writer, the sink task itself (its fiber; on_recover: the engine's starting
// thread, before the fiber runs). Readers (Engine::stats(), any thread) see the counters'
// relaxed atomics. Updated per epoch, never per tuple, and without a lock.
#pragma once

#include <cstdint>

#include <sleet/component.hpp>

namespace sleet {

inline constexpr const char* kSinkCounterPrefix = "sleet.sink/";
inline constexpr const char* kSinkEpochsPending = "sleet.sink/epochs_pending";      // a gauge
inline constexpr const char* kSinkEpochsPublished = "sleet.sink/epochs_published";  // a counter

class SinkEpochMetrics {
 public:
  // Registers the two counters; again, or with no counter function (tests): nothing. Call it
  // from on_recover and open (whichever comes first); figures set before it are carried over.
  void attach(const Context& ctx) {
    if (pending_ || !ctx.counter) return;
    pending_ = ctx.counter(kSinkEpochsPending);
    published_ = ctx.counter(kSinkEpochsPublished);
    sync();
  }
  // `n` epochs are pending now (a gauge, kept by adding the difference).
  void set_pending(size_t n) {
    pending_now_ = static_cast<int64_t>(n);
    sync();
  }
  // `n` more epochs were made visible.
  void published(int64_t n = 1) {
    unreported_published_ += n;
    sync();
  }

 private:
  void sync() {
    if (!pending_) return;
    if (pending_now_ != pending_shown_) pending_->add(pending_now_ - pending_shown_);
    pending_shown_ = pending_now_;
    if (unreported_published_) published_->add(unreported_published_);
    unreported_published_ = 0;
  }
  Counter* pending_ = nullptr;
  Counter* published_ = nullptr;
  int64_t pending_now_ = 0, pending_shown_ = 0, unreported_published_ = 0;
};

}  // namespace sleet
