// A channel carries batches of tuples and control messages (barriers, end of stream) from one
// upstream task to one input of a downstream task, in order. The receiving side is always the
// downstream task's Inbox (one FIFO per upstream task, runtime/inbox.hpp); the sending side is
// this interface, so the engine does not care whether the FIFO is in this process (InboxSender,
// a push under the inbox's lock) or behind a connection to another worker (cluster mode: the
// transport writes frames, and its receiving thread pushes them into the same per-upstream FIFO).
//
// Cost: one virtual call per batch (EngineOptions::batch_size tuples) or control message, never
// per tuple; tuples wait in the upstream task's pending batch until it is full or flushed.
//
// Threading: send() is called only by the upstream task's fiber (for a chained task, its chain
// head's fiber). It may suspend that fiber, never the thread.
#pragma once

#include <cstdint>
#include <vector>

#include <sleet/ids.hpp>
#include <sleet/tuple.hpp>

namespace sleet {

struct Message {
  // watermark: the sender's event-time watermark rose to `watermark` (ms since the epoch), or it
  // went idle (kIdleWatermark); in-band like a barrier (docs/time-and-windows.md).
  enum class Kind : uint8_t { data, barrier, end, watermark };
  Kind kind = Kind::data;
  CheckpointId barrier{0};
  int64_t watermark = 0;
  std::vector<Tuple> tuples;
};

class ChannelSender {
 public:
  virtual ~ChannelSender() = default;
  // Hands `m` to the receiving FIFO, after every message sent before it. Blocks (suspends the
  // calling fiber) while the FIFO has no room: back-pressure, which is what bounds memory behind a
  // slow consumer, so an implementation must never buffer without bound instead. Returns false if
  // the receiver is gone (it failed and closed its inbox): the message is dropped, which is safe
  // because a failed task stops the whole topology.
  //
  // `spare`, if not null, may receive an emptied batch vector with its capacity kept, for the
  // sender to refill instead of allocating; it may also be left as it is.
  virtual bool send(Message&& m, std::vector<Tuple>* spare) = 0;
};

}  // namespace sleet
