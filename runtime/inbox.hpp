// The input side of a bolt task: one bounded FIFO per upstream task (an "input channel"), so a task
// aligning checkpoint barriers can stop reading exactly the channels whose barrier arrived while
// the others keep flowing (Flink's aligned barriers). A full channel blocks its producer: that is
// the back-pressure that keeps memory flat behind a slow bolt.
//
// Threading: push() is called by upstream task fibers (any thread), pop()/block()/unblock() by
// the owning task's fiber only. poke() from any thread wakes the owner so it can look at control
// state (e.g. a committed checkpoint). Synchronization is a Boost.Fiber mutex + condition variable,
// which suspend fibers, not threads, and work across threads.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>

#include <chrono>
#include <deque>
#include <span>
#include <vector>

#include <sleet/ids.hpp>
#include <sleet/tuple.hpp>

#include "runtime/channel.hpp"

namespace sleet {

// Told when the owner takes a message off one input FIFO (cluster mode: the transport returns
// one credit to that channel's remote sender). Called on the owner's fiber, outside the inbox's
// lock; must not block.
class PopListener {
 public:
  virtual ~PopListener() = default;
  virtual void on_pop(size_t input) = 0;
};

class Inbox {
 public:
  Inbox(size_t inputs, size_t capacity_per_input);

  // Blocks while channel `input` is full. Returns false if the inbox was closed (the owner failed);
  // the message is then dropped, which is safe because a failed task stops the whole topology.
  // If `spare` is given and the owner has returned an emptied batch vector, it is moved into
  // *spare (under the same lock), so producers refill recycled vectors instead of allocating.
  bool push(size_t input, Message&& m, std::vector<Tuple>* spare = nullptr);

  enum class PopResult { message, poked, closed, timeout };
  // Waits for a message on any unblocked channel (round robin across channels for fairness), or a
  // poke. `input` receives the channel index. Whatever batch `out` still holds (the previous
  // message, already processed) is destroyed and its vector kept for push() to hand out.
  PopResult pop(size_t& input, Message& out);
  // The same, but gives up at `deadline` (timeout): the owner's next processing-time tick.
  PopResult pop_until(size_t& input, Message& out, std::chrono::steady_clock::time_point deadline);

  // Barrier alignment (BarrierAligner's decisions): stop and resume reading channels.
  void block(size_t input);
  void unblock(std::span<const size_t> inputs);
  void poke();
  void close();
  // Cluster mode: `listener` hears of every message popped from FIFO `input` from now on (null:
  // none). Set before the owner's fiber runs (Engine::create, via RemoteChannels::receiver).
  void set_pop_listener(size_t input, PopListener* listener);
  size_t inputs() const { return queues_.size(); }
  // Messages currently queued, all channels (metrics; takes the lock).
  size_t queued();

 private:
  boost::fibers::mutex mu_;
  boost::fibers::condition_variable not_empty_;
  boost::fibers::condition_variable not_full_;
  std::vector<std::deque<Message>> queues_;
  PopResult pop_impl(size_t& input, Message& out,
                     const std::chrono::steady_clock::time_point* deadline);
  std::vector<std::vector<Tuple>> spare_;  // emptied batch vectors, capacity kept; bounded
  std::vector<bool> blocked_;
  std::vector<PopListener*> listeners_;  // per input; null: none (set_pop_listener)
  size_t capacity_;
  size_t next_ = 0;
  bool poked_ = false;
  bool closed_ = false;
};

// The in-memory channel: upstream task -> input `input` of a task of this process.
class InboxSender final : public ChannelSender {
 public:
  InboxSender(Inbox& inbox, size_t input) : inbox_(inbox), input_(input) {}
  bool send(Message&& m, std::vector<Tuple>* spare) override {
    return inbox_.push(input_, std::move(m), spare);
  }

 private:
  Inbox& inbox_;
  size_t input_;
};

}  // namespace sleet
