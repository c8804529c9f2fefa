// Credit accounting of one remote channel (cluster/transport.hpp, "Flow control"), pure: no
// locks, no clock. The transport holds one SendCredits per channel it sends on and one
// ReceiveCredits per channel it receives on, under its connection's lock.
//
// A channel starts with `capacity` credits (the receiving FIFO's capacity in messages). Each
// data, barrier or end message costs one; the receiver gives one back for each message its owner
// popped. So at most `capacity` messages are ever in flight or queued at the receiver, and its
// Inbox::push never blocks. Both sides check the other keeps to that: a sender returned more
// credits than it spent, or a receiver sent more messages than it had credits for, is a protocol
// violation (corruption), never silently absorbed.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sleet/status.hpp>

namespace sleet::cluster {

class SendCredits {
 public:
  explicit SendCredits(size_t capacity) : capacity_(capacity), available_(capacity) {}
  size_t available() const { return available_; }
  size_t capacity() const { return capacity_; }
  // Spends one credit; false (nothing spent) when there is none: the sender must wait.
  bool try_consume() {
    if (available_ == 0) return false;
    --available_;
    return true;
  }
  // The receiver gave back `n`. Corruption if that exceeds what was spent.
  [[nodiscard]] Status grant(size_t n);

 private:
  size_t capacity_;
  size_t available_;
};

class ReceiveCredits {
 public:
  explicit ReceiveCredits(size_t capacity) : capacity_(capacity) {}
  // A message arrived. Corruption if the sender had no credit for it (more than `capacity`
  // outstanding).
  [[nodiscard]] Status received();
  // The owner popped one message: one credit to give back.
  void popped();
  // The credits to send now (then zero pending).
  uint32_t take();
  size_t pending() const { return pending_; }
  size_t outstanding() const { return outstanding_; }  // received, credit not yet sent back

 private:
  size_t capacity_;
  size_t outstanding_ = 0;  // messages received whose credit has not been taken()
  size_t pending_ = 0;      // of those, popped: ready to be sent back
};

}  // namespace sleet::cluster
