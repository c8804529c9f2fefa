// The wire between worker processes in cluster mode (DESIGN.md "Cluster mode", steps 3-5): one
// TCP connection per ordered pair of workers of the current generation, multiplexing every
// task-to-task channel from the connecting worker to the accepting one plus the control messages
// between them (checkpoint triggers, acks, commits), with credit-based flow control per channel.
//
// Generations: begin_generation(g) drops every connection, queued frame and credit of the
// previous generation and accepts only handshakes and frames of g from then on (an older or newer
// generation is refused, never delivered). await_mesh() returns once this worker has a live
// connection of g to, and from, every peer: that is also the start barrier of g (a peer accepts
// g only after it tore down g-1, so no task of g-1 still runs anywhere this worker talks to).
//
// Flow control: a channel starts with `credits` credits (the receiving FIFO's capacity in
// messages); a data, barrier or end message costs one; the receiver returns one each time its
// owner pops one (Inbox::set_pop_listener). A sender without credit parks its fiber, exactly as a
// full local FIFO does. There are no on/off back-pressure messages.
//
// Threading: one io_context thread per Transport does all socket I/O. Senders' send() runs on
// task fibers (parks the fiber, never the thread). Control callbacks and the failure callback run
// on the io thread and must not block. Everything else: the worker's controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sleet/ids.hpp>
#include <sleet/status.hpp>

#include "core/checkpoint_contract.hpp"
#include "runtime/engine.hpp"

namespace sleet::cluster {

// A worker of the current assignment, by its index in it (the engine's Placement::worker_of).
struct Peer {
  int index = 0;
  std::string id;
  std::string host;  // numeric IPv4 (the worker's --advertise address)
  uint16_t port = 0;
};

// What workers tell each other besides data (all rare; any encoding is fine).
struct ControlMessage {
  enum class Kind : uint8_t {
    trigger,    // coordinator -> workers: inject barrier `id`
    committed,  // coordinator -> workers: checkpoint `id` committed (sinks make it visible)
    ack,        // worker -> coordinator: a task's ack of `id` (`snapshot`)
    visible,    // worker -> coordinator: every local task finished on_checkpoint_committed(id)
    failure,    // worker -> coordinator: a task failed (`reason`); roll back
  };
  Kind kind = Kind::trigger;
  CheckpointId id{0};
  TaskSnapshotData snapshot;  // ack only
  std::string reason;         // failure only
};

struct TransportOptions {
  std::string topology;  // named in every handshake; a handshake for another one is refused
  std::string self_id;
  std::string listen_host = "127.0.0.1";  // numeric; the worker's advertise address
  uint16_t listen_port = 0;               // 0: any free port (see port())
  size_t credits = 16;                    // per channel: the receiving FIFO's capacity
  std::chrono::milliseconds flush{1};     // transport.flush.ms: at most this long in a buffer
  std::chrono::milliseconds heartbeat{250};
  std::chrono::milliseconds heartbeat_timeout{3000};  // nothing heard this long: link lost
};

struct TransportStats {
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t frames_sent = 0, frames_received = 0;
  uint64_t tuples_sent = 0, tuples_received = 0;
  uint64_t refused = 0;  // handshakes or frames of another generation or topology
};

class Transport : public RemoteChannels {
 public:
  // Binds the listening socket and starts the io thread; no generation yet (every handshake is
  // refused until begin_generation).
  [[nodiscard]] static Result<std::unique_ptr<Transport>> start(TransportOptions options);
  ~Transport() override;  // stops the io thread; parked senders return false

  uint16_t port() const;  // the bound port

  // A new generation (see the file comment). `self` is this worker's index among `peers` (which
  // includes this worker). Drops everything of the previous one; parked senders return false.
  [[nodiscard]] Status begin_generation(Generation gen, int self, std::vector<Peer> peers);
  // Ok once every peer of the generation is connected both ways; timeout at `until`; the failure
  // (refused, unreachable) if one happened. Retries connecting until then.
  [[nodiscard]] Status await_mesh(std::chrono::steady_clock::time_point until);
  // Closes every connection of the current generation and wakes parked senders (they return
  // false); accepts nothing until the next begin_generation.
  void end_generation();

  // Any thread. Dropped silently if the link is down (the failure callback has fired, or fires).
  void send_control(int to_worker, ControlMessage message);
  // Set before begin_generation; called on the io thread.
  void on_control(std::function<void(int from_worker, ControlMessage&&)> handler);
  // The first lost connection or missed heartbeat of the current generation (io thread).
  void on_failure(std::function<void(const Status&)> handler);

  // RemoteChannels: used by Engine::create for the current generation.
  Result<std::unique_ptr<ChannelSender>> sender(size_t index, const PlannedChannel& channel,
                                                int to_worker) override;
  Status receiver(size_t index, const PlannedChannel& channel, int from_worker, Inbox& inbox,
                  const Fields* fields, const TupleSource* source = nullptr) override;

  TransportStats stats() const;  // any thread

  class Impl;

 private:
  explicit Transport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sleet::cluster
