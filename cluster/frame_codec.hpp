// The transport's wire format (cluster/transport.hpp), pure: no sockets, no threads, no clock.
//
// Every frame is `[u32 length LE][u8 type][payload]`, length counting the type byte and the
// payload (so 1 .. kMaxFrameBytes). Integers in payloads are LEB128 varints (signed ones
// zigzagged) unless said otherwise. Frames after the handshake carry the connection's generation,
// so a frame of another generation is recognised and refused even on a live socket.
//
//   hello        u32 magic "SLET", u32 version, topology, generation, worker id, worker index
//   hello_reply  u8 HelloResult, reason, generation and worker id of the replying worker
//   data         generation, channel, source task, source stream (the upstream task and the
//                output stream the channel carries: a receiver refuses a batch whose origin is
//                not its channel's, i.e. two workers planned different graphs), tuple count,
//                per tuple: value count, per value: a
//                ValueType byte and its payload (int64: zigzag varint; double: 8 bytes LE;
//                string/bytes: varint length + bytes; bool: 1 byte 0/1)
//   barrier      generation, channel, checkpoint id
//   end          generation, channel
//   credit       generation, channel, n (> 0)
//   control      generation, ControlMessage in cereal's binary archive (rare: no flat layout)
//   heartbeat    generation
//   watermark    generation, channel, watermark (zigzag; kIdleWatermark: the sender is idle)
//   data_ts      a data frame whose tuples carry event time: per tuple, its timestamp (zigzag
//                varint) before its value count. encode_data picks it when any tuple of the
//                batch has a timestamp, so batches without event time cost what they did.
// Strings are a varint length + bytes. A (word, count) tuple of a 6-letter word costs 11 bytes
// inside a data frame with a count below 64, 12 below 8192.
//
// Decoding never trusts the input: every length is checked against what is left, every enum and
// bool against its range, trailing bytes are refused, and each refusal is a corruption Status
// naming the frame and the field. FrameDecoder splits an arbitrary chunked byte stream into
// frames. Threading: none (each object belongs to one thread at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <sleet/ids.hpp>
#include <sleet/status.hpp>
#include <sleet/tuple.hpp>

#include "cluster/transport.hpp"
#include "runtime/channel.hpp"

namespace sleet::cluster {

inline constexpr uint32_t kHelloMagic = 0x54454c53;  // "SLET" little-endian
// 2: data frames carry their source task and stream (named streams), event-time frames
//    (data_ts, watermark), and a control frame's snapshot carries its keyed-state chains
//    (TaskSnapshotData::links).
// 3: a control frame's snapshot carries the spout's event times (TaskSnapshotData::event_times).
inline constexpr uint32_t kProtocolVersion = 3;
// A frame longer than this is corruption (a batch of 512 tuples of a few KiB each still fits).
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;
inline constexpr size_t kFrameHeaderBytes = 5;  // u32 length + u8 type

enum class FrameType : uint8_t {
  hello = 1,
  hello_reply = 2,
  data = 3,
  barrier = 4,
  end = 5,
  credit = 6,
  control = 7,
  heartbeat = 8,
  watermark = 9,
  data_ts = 10,
};
// data, data_ts, barrier, end and watermark: what a channel carries (decode_message).
constexpr bool is_channel_message(FrameType t) {
  return t == FrameType::data || t == FrameType::data_ts || t == FrameType::barrier ||
         t == FrameType::end || t == FrameType::watermark;
}
const char* frame_type_name(FrameType t);

// Why the accepting worker refused a hello (ok: accepted).
enum class HelloResult : uint8_t {
  ok = 0,
  wrong_topology = 1,
  older_generation = 2,  // the hello's generation is older than the acceptor's current one
  newer_generation = 3,  // ... newer (the acceptor has not begun it yet)
  no_generation = 4,     // the acceptor is between generations
  unknown_worker = 5,    // no such worker (index, id) in the acceptor's generation
  bad_version = 6,
  duplicate = 7,  // that worker is connected already in this generation
};
const char* hello_result_name(HelloResult r);

struct Hello {
  uint32_t version = kProtocolVersion;
  std::string topology;
  Generation generation{0};
  std::string worker_id;
  int32_t worker_index = 0;
  bool operator==(const Hello&) const = default;
};

struct HelloReply {
  HelloResult result = HelloResult::ok;
  std::string reason;  // refusals: what the acceptor saw
  Generation generation{0};
  std::string worker_id;
  bool operator==(const HelloReply&) const = default;
};

struct DataFrame {
  Generation generation{0};
  uint32_t channel = 0;
  TaskIndex source_task{0};
  std::string stream{kDefaultStream};
  std::vector<Tuple> tuples;  // bound to the channel's fields (FieldsResolver), else null
};
struct BarrierFrame {
  Generation generation{0};
  uint32_t channel = 0;
  CheckpointId id{0};
  bool operator==(const BarrierFrame&) const = default;
};
struct EndFrame {
  Generation generation{0};
  uint32_t channel = 0;
  bool operator==(const EndFrame&) const = default;
};
struct CreditFrame {
  Generation generation{0};
  uint32_t channel = 0;
  uint32_t n = 0;
  bool operator==(const CreditFrame&) const = default;
};
struct ControlFrame {
  Generation generation{0};
  ControlMessage message;
};
struct HeartbeatFrame {
  Generation generation{0};
  bool operator==(const HeartbeatFrame&) const = default;
};
struct WatermarkFrame {
  Generation generation{0};
  uint32_t channel = 0;
  int64_t watermark = 0;
  bool operator==(const WatermarkFrame&) const = default;
};

// A data frame encodes as data_ts when a tuple has a timestamp (frame_type_of says which).
using Frame = std::variant<Hello, HelloReply, DataFrame, BarrierFrame, EndFrame, CreditFrame,
                           ControlFrame, HeartbeatFrame, WatermarkFrame>;
FrameType frame_type_of(const Frame& f);
// The generation a frame carries (hello: the one it asks for).
Generation frame_generation(const Frame& f);

// Encoders append exactly one whole frame to `out`.
void encode_hello(std::string& out, const Hello& h);
void encode_hello_reply(std::string& out, const HelloReply& r);
// The batch's origin is its first tuple's source() (a channel carries one upstream task's one
// stream), or `source` given explicitly.
void encode_data(std::string& out, Generation gen, uint32_t channel, std::span<const Tuple> tuples);
void encode_data(std::string& out, Generation gen, uint32_t channel, std::span<const Tuple> tuples,
                 const TupleSource& source);
void encode_barrier(std::string& out, Generation gen, uint32_t channel, CheckpointId id);
void encode_end(std::string& out, Generation gen, uint32_t channel);
void encode_watermark(std::string& out, Generation gen, uint32_t channel, int64_t watermark);
// Any tuple of the batch has event time (encode_data then writes a data_ts frame).
bool has_timestamps(std::span<const Tuple> tuples);
void encode_credit(std::string& out, Generation gen, uint32_t channel, uint32_t n);
void encode_control(std::string& out, Generation gen, const ControlMessage& m);
void encode_heartbeat(std::string& out, Generation gen);
// A channel message as its data, barrier or end frame.
void encode_message(std::string& out, Generation gen, uint32_t channel, const Message& m);
// Any frame (tests; the transport uses the specific encoders).
void encode_frame(std::string& out, const Frame& f);

// One complete frame as it arrived; `payload` excludes the header.
struct FrameView {
  FrameType type = FrameType::heartbeat;
  std::string_view payload;
};

// What the tuples of a data frame on one channel are bound to: the fields of the stream it
// carries and its source record (null: none, or an unknown channel). With a source, a frame whose
// source task or stream differs from it is refused as corruption.
struct ChannelBinding {
  ChannelBinding() = default;
  ChannelBinding(const Fields* f, const TupleSource* s = nullptr) : fields(f), source(s) {}
  const Fields* fields = nullptr;
  const TupleSource* source = nullptr;
};
using FieldsResolver = std::function<ChannelBinding(uint32_t channel)>;

// Decodes one frame. `fields` binds data tuples; `reuse`, if given, is an emptied vector whose
// capacity the data frame's tuples take over. Corruption names the frame type and the field.
Result<Frame> decode_frame(const FrameView& view, const FieldsResolver* fields = nullptr,
                           std::vector<Tuple>* reuse = nullptr);
// Payload -> Message (channel message frames only, is_channel_message): the receive path's
// shortcut, which skips the Frame variant. Fills `channel` and `gen`.
Status decode_message(const FrameView& view, const FieldsResolver* fields, Generation& gen,
                      uint32_t& channel, Message& out);

// The generation and channel of a data, barrier or end frame, without decoding its tuples.
Status peek_channel(const FrameView& view, Generation& gen, uint32_t& channel);

// Splits a byte stream into frames. Feed it whatever arrived (or read straight into prepare());
// next() returns each complete frame, nullopt when it needs more bytes, or corruption (then
// every later call returns the same error: the stream cannot be resynchronised).
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame = kMaxFrameBytes) : max_frame_(max_frame) {}

  void feed(std::string_view bytes);
  // Zero-copy feeding: room for up to `n` bytes at the end of the buffer; commit(k) keeps the
  // first k of them. Invalidates views previously returned by next().
  std::span<char> prepare(size_t n);
  void commit(size_t k);

  // The view stays valid until the next feed()/prepare().
  Result<std::optional<FrameView>> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  void compact();
  std::string buf_;
  size_t pos_ = 0;
  size_t prepared_ = 0;  // size of buf_ before prepare()
  uint32_t max_frame_;
  Status error_;
};

// The size of the varint encoding of `v` (tests and the size goal).
size_t varint_size(uint64_t v);

}  // namespace sleet::cluster
