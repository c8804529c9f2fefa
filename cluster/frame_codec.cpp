#include "cluster/frame_codec.hpp"

#include <cereal/archives/binary.hpp>
#include <cereal/cereal.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <bit>
#include <cstring>
#include <sstream>

namespace sleet::cluster::detail {

// cereal's binary input archive over a byte range that refuses to read past it, and refuses any
// container length larger than the bytes left (every element takes at least one byte), so a
// corrupt length is an exception, not a huge allocation. Only decode_control uses it.
class BoundedInputArchive
    : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(std::string_view in)
      : InputArchive(this), p_(in.data()), end_(in.data() + in.size()) {}
  void loadBinary(void* data, std::size_t size) {
    if (size > remaining())
      throw cereal::Exception("needs " + std::to_string(size) + " bytes, " +
                              std::to_string(remaining()) + " left");
    std::memcpy(data, p_, size);
    p_ += size;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  const char* p_;
  const char* end_;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar,
                                                                           T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}
template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  if (static_cast<uint64_t>(t.size) > ar.remaining())
    throw cereal::Exception("a length of " + std::to_string(static_cast<uint64_t>(t.size)) +
                            " exceeds the " + std::to_string(ar.remaining()) + " bytes left");
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace sleet::cluster::detail

// What cereal's load_minimal checks pair the archive with (BinaryOutputArchive already names
// BinaryInputArchive as its input, so only this direction).
namespace cereal::traits::detail {
template <>
struct get_output_from_input<sleet::cluster::detail::BoundedInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail

namespace sleet::cluster {

static_assert(std::endian::native == std::endian::little,
              "the wire format writes doubles and the frame length in host order");

const char* frame_type_name(FrameType t) {
  switch (t) {
    case FrameType::hello:
      return "hello";
    case FrameType::hello_reply:
      return "hello_reply";
    case FrameType::data:
      return "data";
    case FrameType::barrier:
      return "barrier";
    case FrameType::end:
      return "end";
    case FrameType::credit:
      return "credit";
    case FrameType::control:
      return "control";
    case FrameType::heartbeat:
      return "heartbeat";
    case FrameType::watermark:
      return "watermark";
    case FrameType::data_ts:
      return "data_ts";
  }
  return "unknown";
}

const char* hello_result_name(HelloResult r) {
  switch (r) {
    case HelloResult::ok:
      return "ok";
    case HelloResult::wrong_topology:
      return "wrong topology";
    case HelloResult::older_generation:
      return "older generation";
    case HelloResult::newer_generation:
      return "newer generation";
    case HelloResult::no_generation:
      return "no generation";
    case HelloResult::unknown_worker:
      return "unknown worker";
    case HelloResult::bad_version:
      return "bad version";
    case HelloResult::duplicate:
      return "duplicate";
  }
  return "unknown";
}

FrameType frame_type_of(const Frame& f) {
  static constexpr FrameType kTypes[] = {
      FrameType::hello,   FrameType::hello_reply, FrameType::data,
      FrameType::barrier, FrameType::end,         FrameType::credit,
      FrameType::control, FrameType::heartbeat,   FrameType::watermark};
  if (auto* d = std::get_if<DataFrame>(&f); d && has_timestamps(d->tuples))
    return FrameType::data_ts;
  return kTypes[f.index()];
}

Generation frame_generation(const Frame& f) {
  return std::visit([](const auto& x) { return x.generation; }, f);
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

namespace {

inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline char* put_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
inline void put_varint(std::string& out, uint64_t v) {
  char buf[10];
  out.append(buf, static_cast<size_t>(put_varint(buf, v) - buf));
}
inline void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
inline void put_u32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

// Appends the header with a zero length; end_frame patches it.
inline size_t begin_frame(std::string& out, FrameType t) {
  size_t start = out.size();
  out.append(4, '\0');
  out.push_back(static_cast<char>(t));
  return start;
}
inline void end_frame(std::string& out, size_t start) {
  uint32_t len = static_cast<uint32_t>(out.size() - start - 4);
  std::memcpy(out.data() + start, &len, 4);
}

// Reads a payload; the first failure is kept (with what and where) and every later read fails.
class Reader {
 public:
  Reader(std::string_view in, FrameType type) : p_(in.data()), begin_(p_), end_(p_ + in.size()) {
    type_ = type;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool ok() const { return error_.ok(); }
  const Status& status() const { return error_; }

  bool fail(const std::string& what) {
    if (error_.ok())
      error_ =
          Status::Corruption(std::string("corrupt ") + frame_type_name(type_) + " frame: " + what +
                             " (at payload byte " + std::to_string(p_ - begin_) + " of " +
                             std::to_string(end_ - begin_) + ")");
    return false;
  }
  // The common one-byte case inline (the tuple hot path); the first error still wins, as
  // fail() keeps only the first.
  [[gnu::always_inline]] bool varint(uint64_t& v, const char* what) {
    if (p_ != end_ && static_cast<uint8_t>(*p_) < 0x80) [[likely]] {
      v = static_cast<uint8_t>(*p_++);
      return true;
    }
    return varint_slow(v, what);
  }
  bool varint_slow(uint64_t& v, const char* what) {
    if (!ok()) return false;
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return fail(std::string("truncated ") + what);
      uint8_t b = static_cast<uint8_t>(*p_++);
      if (shift == 63 && b > 1) return fail(std::string("overlong varint for ") + what);
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        v = r;
        return true;
      }
    }
    return fail(std::string("overlong varint for ") + what);
  }
  bool u32v(uint32_t& v, const char* what) {
    uint64_t x = 0;
    if (!varint(x, what)) return false;
    if (x > UINT32_MAX) return fail(std::string(what) + " " + std::to_string(x) + " out of range");
    v = static_cast<uint32_t>(x);
    return true;
  }
  [[gnu::always_inline]] bool i64(int64_t& v, const char* what) {
    uint64_t x = 0;
    if (!varint(x, what)) return false;
    v = unzigzag(x);
    return true;
  }
  bool i32(int32_t& v, const char* what) {
    int64_t x = 0;
    if (!i64(x, what)) return false;
    if (x < INT32_MIN || x > INT32_MAX)
      return fail(std::string(what) + " " + std::to_string(x) + " out of range");
    v = static_cast<int32_t>(x);
    return true;
  }
  [[gnu::always_inline]] bool u8(uint8_t& v, const char* what) {
    if (p_ == end_) [[unlikely]]
      return fail(std::string("truncated ") + what);
    v = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool fixed(void* dst, size_t n, const char* what) {
    if (!ok()) return false;
    if (remaining() < n) return fail(std::string("truncated ") + what);
    std::memcpy(dst, p_, n);
    p_ += n;
    return true;
  }
  // A varint length + that many bytes, viewed in place.
  [[gnu::always_inline]] bool view(std::string_view& s, const char* what) {
    uint64_t n = 0;
    if (!varint(n, what)) return false;
    if (n > remaining()) [[unlikely]]
      return fail(std::string(what) + " length " + std::to_string(n) + " exceeds the " +
                  std::to_string(remaining()) + " bytes left");
    s = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  bool string(std::string& s, const char* what) {
    std::string_view v;
    if (!view(v, what)) return false;
    s.assign(v);
    return true;
  }
  bool generation(Generation& g) { return i32(g.value, "generation"); }
  std::string_view rest() const { return std::string_view(p_, remaining()); }
  void skip(size_t n) { p_ += n; }
  // Everything read: refuses trailing bytes.
  Status finish() {
    if (ok() && p_ != end_) fail(std::to_string(remaining()) + " trailing bytes");
    return error_;
  }

 private:
  const char* p_;
  const char* begin_;
  const char* end_;
  FrameType type_;
  Status error_;
};

// The source task and stream a data frame names, checked against the channel's binding.
bool read_source(Reader& r, const ChannelBinding& b, TaskIndex& task, std::string& stream) {
  if (!r.i32(task.value, "source task") || !r.string(stream, "source stream")) return false;
  if (b.source && (b.source->task != task || b.source->stream != stream))
    return r.fail("source: the batch comes from task " + std::to_string(task.value) + " stream '" +
                  stream + "', but this worker's plan has task " +
                  std::to_string(b.source->task.value) + " of '" + b.source->component +
                  "' stream '" + b.source->stream +
                  "' on that channel (do the workers run the same topology?)");
  return true;
}

bool read_tuples(Reader& r, const ChannelBinding& b, std::vector<Tuple>& out,
                 bool timestamps = false) {
  const Fields* fields = b.fields;
  uint64_t count = 0;
  if (!r.varint(count, "tuple count")) return false;
  // Every tuple takes at least its value count byte.
  if (count > r.remaining())
    return r.fail("tuple count " + std::to_string(count) + " exceeds the " +
                  std::to_string(r.remaining()) + " bytes left");
  out.reserve(out.size() + static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    int64_t ts = kNoTimestamp;
    if (timestamps && !r.i64(ts, "timestamp")) return false;
    uint64_t nv = 0;
    if (!r.varint(nv, "value count")) return false;
    // Every value takes at least two bytes (type and payload).
    if (nv > r.remaining() / 2)
      return r.fail("value count " + std::to_string(nv) + " of tuple " + std::to_string(i) +
                    " exceeds the bytes left");
    out.emplace_back(fields, Values{}, b.source).set_timestamp(ts);
    Values& vals = out.back().mutable_values();
    if (nv > kInlineValues) vals.reserve(static_cast<size_t>(nv));
    for (uint64_t k = 0; k < nv; ++k) {
      uint8_t type = 0;
      if (!r.u8(type, "value type")) return false;
      switch (static_cast<ValueType>(type)) {
        case ValueType::int64: {
          int64_t v = 0;
          if (!r.i64(v, "int64 value")) return false;
          vals.emplace_back(std::in_place_index<0>, v);
          break;
        }
        case ValueType::float64: {
          double d = 0;
          if (!r.fixed(&d, 8, "double value")) return false;
          vals.emplace_back(std::in_place_index<1>, d);
          break;
        }
        case ValueType::string: {
          std::string_view s;
          if (!r.view(s, "string value")) return false;
          vals.emplace_back(std::in_place_index<2>, s);
          break;
        }
        case ValueType::bytes: {
          std::string_view s;
          if (!r.view(s, "bytes value")) return false;
          vals.emplace_back(std::in_place_index<3>, Bytes{std::string(s)});
          break;
        }
        case ValueType::boolean: {
          uint8_t b = 0;
          if (!r.u8(b, "bool value")) return false;
          if (b > 1) return r.fail("bool value byte " + std::to_string(b) + " is neither 0 nor 1");
          vals.emplace_back(std::in_place_index<4>, b == 1);
          break;
        }
        default:
          return r.fail("value type byte " + std::to_string(type) + " unknown (tuple " +
                        std::to_string(i) + ", value " + std::to_string(k) + ")");
      }
    }
  }
  return true;
}

// cereal's binary archive of a ControlMessage, field by field (the snapshot's Status as code and
// message; bools as bytes so decoding can check them).
template <class A>
void save_control(A& ar, const ControlMessage& m) {
  const TaskSnapshotData& s = m.snapshot;
  ar(static_cast<uint8_t>(m.kind), m.id.value, m.reason);
  ar(s.component, s.task.value, s.id.value, static_cast<uint8_t>(s.stateful), s.state_version);
  ar(s.handle);
  ar(static_cast<int32_t>(s.error.code()), s.error.message());
  ar(s.positions, static_cast<uint8_t>(s.source), static_cast<uint8_t>(s.drained));
  ar(s.links);        // since protocol version 2 (issue 15): the keyed-state chains of the ack
  ar(s.event_times);  // since protocol version 3: the spout's event times
}

Status load_control(std::string_view bytes, ControlMessage& m) {
  auto corrupt = [&](const std::string& what) {
    return Status::Corruption("corrupt control frame: " + what + " (" +
                              std::to_string(bytes.size()) + " bytes)");
  };
  try {
    detail::BoundedInputArchive ar(bytes);
    TaskSnapshotData& s = m.snapshot;
    uint8_t kind = 0, stateful = 0, source = 0, drained = 0;
    int32_t code = 0;
    std::string message;
    ar(kind, m.id.value, m.reason);
    ar(s.component, s.task.value, s.id.value, stateful, s.state_version);
    ar(s.handle);
    ar(code, message);
    ar(s.positions, source, drained);
    ar(s.links);
    ar(s.event_times);
    if (ar.remaining() != 0) return corrupt(std::to_string(ar.remaining()) + " trailing bytes");
    if (kind > static_cast<uint8_t>(ControlMessage::Kind::failure))
      return corrupt("message kind " + std::to_string(kind) + " unknown");
    if (static_cast<uint8_t>(s.handle.kind) > static_cast<uint8_t>(BlobHandle::Kind::file))
      return corrupt("blob handle kind " + std::to_string(static_cast<int>(s.handle.kind)) +
                     " unknown");
    if (code < 0 || code > static_cast<int32_t>(Code::internal))
      return corrupt("status code " + std::to_string(code) + " unknown");
    if (stateful > 1 || source > 1 || drained > 1) return corrupt("a flag byte is neither 0 nor 1");
    if (code == 0 && !message.empty()) return corrupt("an ok status with a message");
    m.kind = static_cast<ControlMessage::Kind>(kind);
    s.stateful = stateful == 1;
    s.source = source == 1;
    s.drained = drained == 1;
    s.error = code == 0 ? Status::Ok() : Status(static_cast<Code>(code), std::move(message));
    return Status::Ok();
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
}

}  // namespace

void encode_hello(std::string& out, const Hello& h) {
  size_t start = begin_frame(out, FrameType::hello);
  put_u32(out, kHelloMagic);
  put_u32(out, h.version);
  put_string(out, h.topology);
  put_varint(out, zigzag(h.generation.value));
  put_string(out, h.worker_id);
  put_varint(out, zigzag(h.worker_index));
  end_frame(out, start);
}

void encode_hello_reply(std::string& out, const HelloReply& r) {
  size_t start = begin_frame(out, FrameType::hello_reply);
  out.push_back(static_cast<char>(r.result));
  put_string(out, r.reason);
  put_varint(out, zigzag(r.generation.value));
  put_string(out, r.worker_id);
  end_frame(out, start);
}

bool has_timestamps(std::span<const Tuple> tuples) {
  for (const Tuple& t : tuples)
    if (t.timestamp() != kNoTimestamp) return true;
  return false;
}

void encode_data(std::string& out, Generation gen, uint32_t channel,
                 std::span<const Tuple> tuples) {
  encode_data(out, gen, channel, tuples,
              tuples.empty() ? kUnknownTupleSource : tuples.front().source());
}

void encode_data(std::string& out, Generation gen, uint32_t channel, std::span<const Tuple> tuples,
                 const TupleSource& source) {
  const bool ts = has_timestamps(tuples);
  size_t start = begin_frame(out, ts ? FrameType::data_ts : FrameType::data);
  put_varint(out, zigzag(gen.value));
  put_varint(out, channel);
  put_varint(out, zigzag(source.task.value));
  put_string(out, source.stream);
  put_varint(out, tuples.size());
  // One resize for the batch (an upper bound), then raw writes: the per-tuple hot path.
  size_t bound = 0;
  for (const Tuple& t : tuples) {
    bound += ts ? 20 : 10;
    for (const Value& v : t.values()) {
      bound += 11;
      if (auto* s = std::get_if<std::string>(&v))
        bound += s->size();
      else if (auto* b = std::get_if<Bytes>(&v))
        bound += b->data.size();
    }
  }
  size_t at = out.size();
  out.resize(at + bound);
  char* p = out.data() + at;
  for (const Tuple& t : tuples) {
    if (ts) p = put_varint(p, zigzag(t.timestamp()));
    p = put_varint(p, t.size());
    for (const Value& v : t.values()) {
      *p++ = static_cast<char>(v.index());
      switch (v.index()) {
        case 0:
          p = put_varint(p, zigzag(*std::get_if<0>(&v)));
          break;
        case 1:
          std::memcpy(p, std::get_if<1>(&v), 8);
          p += 8;
          break;
        case 2: {
          const std::string& s = *std::get_if<2>(&v);
          p = put_varint(p, s.size());
          std::memcpy(p, s.data(), s.size());
          p += s.size();
          break;
        }
        case 3: {
          const std::string& s = std::get_if<3>(&v)->data;
          p = put_varint(p, s.size());
          std::memcpy(p, s.data(), s.size());
          p += s.size();
          break;
        }
        default:
          *p++ = *std::get_if<4>(&v) ? 1 : 0;
      }
    }
  }
  out.resize(static_cast<size_t>(p - out.data()));
  end_frame(out, start);
}

void encode_barrier(std::string& out, Generation gen, uint32_t channel, CheckpointId id) {
  size_t start = begin_frame(out, FrameType::barrier);
  put_varint(out, zigzag(gen.value));
  put_varint(out, channel);
  put_varint(out, zigzag(id.value));
  end_frame(out, start);
}

void encode_watermark(std::string& out, Generation gen, uint32_t channel, int64_t watermark) {
  size_t start = begin_frame(out, FrameType::watermark);
  put_varint(out, zigzag(gen.value));
  put_varint(out, channel);
  put_varint(out, zigzag(watermark));
  end_frame(out, start);
}

void encode_end(std::string& out, Generation gen, uint32_t channel) {
  size_t start = begin_frame(out, FrameType::end);
  put_varint(out, zigzag(gen.value));
  put_varint(out, channel);
  end_frame(out, start);
}

void encode_credit(std::string& out, Generation gen, uint32_t channel, uint32_t n) {
  size_t start = begin_frame(out, FrameType::credit);
  put_varint(out, zigzag(gen.value));
  put_varint(out, channel);
  put_varint(out, n);
  end_frame(out, start);
}

void encode_control(std::string& out, Generation gen, const ControlMessage& m) {
  size_t start = begin_frame(out, FrameType::control);
  put_varint(out, zigzag(gen.value));
  std::ostringstream os(std::ios::binary);
  {
    cereal::BinaryOutputArchive ar(os);
    save_control(ar, m);
  }
  out.append(std::move(os).str());
  end_frame(out, start);
}

void encode_heartbeat(std::string& out, Generation gen) {
  size_t start = begin_frame(out, FrameType::heartbeat);
  put_varint(out, zigzag(gen.value));
  end_frame(out, start);
}

void encode_message(std::string& out, Generation gen, uint32_t channel, const Message& m) {
  switch (m.kind) {
    case Message::Kind::data:
      encode_data(out, gen, channel, m.tuples);
      break;
    case Message::Kind::barrier:
      encode_barrier(out, gen, channel, m.barrier);
      break;
    case Message::Kind::end:
      encode_end(out, gen, channel);
      break;
    case Message::Kind::watermark:
      encode_watermark(out, gen, channel, m.watermark);
      break;
  }
}

void encode_frame(std::string& out, const Frame& f) {
  struct V {
    std::string& out;
    void operator()(const Hello& h) { encode_hello(out, h); }
    void operator()(const HelloReply& r) { encode_hello_reply(out, r); }
    void operator()(const DataFrame& d) {
      encode_data(out, d.generation, d.channel, d.tuples, TupleSource{{}, d.source_task, d.stream});
    }
    void operator()(const BarrierFrame& b) { encode_barrier(out, b.generation, b.channel, b.id); }
    void operator()(const EndFrame& e) { encode_end(out, e.generation, e.channel); }
    void operator()(const CreditFrame& c) { encode_credit(out, c.generation, c.channel, c.n); }
    void operator()(const ControlFrame& c) { encode_control(out, c.generation, c.message); }
    void operator()(const HeartbeatFrame& h) { encode_heartbeat(out, h.generation); }
    void operator()(const WatermarkFrame& w) {
      encode_watermark(out, w.generation, w.channel, w.watermark);
    }
  };
  std::visit(V{out}, f);
}

Status decode_message(const FrameView& view, const FieldsResolver* fields, Generation& gen,
                      uint32_t& channel, Message& out) {
  Reader r(view.payload, view.type);
  if (!is_channel_message(view.type))
    return Status::Corruption(std::string("a ") + frame_type_name(view.type) +
                              " frame is not a channel message");
  r.generation(gen);
  r.u32v(channel, "channel");
  if (!r.ok()) return r.status();
  out.barrier = CheckpointId{0};
  out.watermark = 0;
  out.tuples.clear();
  switch (view.type) {
    case FrameType::data:
    case FrameType::data_ts: {
      out.kind = Message::Kind::data;
      const ChannelBinding b = fields && *fields ? (*fields)(channel) : ChannelBinding{};
      TaskIndex task;
      std::string stream;
      if (read_source(r, b, task, stream))
        read_tuples(r, b, out.tuples, view.type == FrameType::data_ts);
      break;
    }
    case FrameType::watermark: {
      out.kind = Message::Kind::watermark;
      r.i64(out.watermark, "watermark");
      break;
    }
    case FrameType::barrier:
      out.kind = Message::Kind::barrier;
      r.i64(out.barrier.value, "checkpoint id");
      break;
    default:
      out.kind = Message::Kind::end;
  }
  return r.finish();
}

Status peek_channel(const FrameView& view, Generation& gen, uint32_t& channel) {
  Reader r(view.payload, view.type);
  if (!is_channel_message(view.type))
    return Status::Corruption(std::string("a ") + frame_type_name(view.type) +
                              " frame is not a channel message");
  r.generation(gen);
  r.u32v(channel, "channel");
  return r.status();
}

Result<Frame> decode_frame(const FrameView& view, const FieldsResolver* fields,
                           std::vector<Tuple>* reuse) {
  Reader r(view.payload, view.type);
  switch (view.type) {
    case FrameType::hello: {
      Hello h;
      uint32_t magic = 0;
      if (!r.fixed(&magic, 4, "magic")) return r.status();
      if (magic != kHelloMagic) {
        r.fail("not a Sleet handshake (magic " + std::to_string(magic) + ")");
        return r.status();
      }
      r.fixed(&h.version, 4, "version");
      r.string(h.topology, "topology");
      r.generation(h.generation);
      r.string(h.worker_id, "worker id");
      r.i32(h.worker_index, "worker index");
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{std::move(h)};
    }
    case FrameType::hello_reply: {
      HelloReply h;
      uint8_t result = 0;
      r.u8(result, "result");
      if (r.ok() && result > static_cast<uint8_t>(HelloResult::duplicate))
        r.fail("hello result " + std::to_string(result) + " unknown");
      h.result = static_cast<HelloResult>(result);
      r.string(h.reason, "reason");
      r.generation(h.generation);
      r.string(h.worker_id, "worker id");
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{std::move(h)};
    }
    case FrameType::data:
    case FrameType::data_ts: {
      DataFrame d;
      if (reuse) {
        reuse->clear();
        d.tuples = std::move(*reuse);
      }
      r.generation(d.generation);
      r.u32v(d.channel, "channel");
      if (r.ok()) {
        const ChannelBinding b = fields && *fields ? (*fields)(d.channel) : ChannelBinding{};
        if (read_source(r, b, d.source_task, d.stream))
          read_tuples(r, b, d.tuples, view.type == FrameType::data_ts);
      }
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{std::move(d)};
    }
    case FrameType::barrier: {
      BarrierFrame b;
      r.generation(b.generation);
      r.u32v(b.channel, "channel");
      r.i64(b.id.value, "checkpoint id");
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{b};
    }
    case FrameType::end: {
      EndFrame e;
      r.generation(e.generation);
      r.u32v(e.channel, "channel");
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{e};
    }
    case FrameType::credit: {
      CreditFrame c;
      r.generation(c.generation);
      r.u32v(c.channel, "channel");
      r.u32v(c.n, "credit count");
      if (r.ok() && c.n == 0) r.fail("a credit of 0");
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{c};
    }
    case FrameType::control: {
      ControlFrame c;
      if (!r.generation(c.generation)) return r.status();
      SLEET_RETURN_IF_ERROR(load_control(r.rest(), c.message));
      return Frame{std::move(c)};
    }
    case FrameType::watermark: {
      WatermarkFrame w;
      r.generation(w.generation);
      r.u32v(w.channel, "channel");
      r.i64(w.watermark, "watermark");
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{w};
    }
    case FrameType::heartbeat: {
      HeartbeatFrame h;
      r.generation(h.generation);
      if (Status st = r.finish(); !st.ok()) return st;
      return Frame{h};
    }
  }
  return Status::Corruption("unknown frame type " + std::to_string(static_cast<int>(view.type)));
}

void FrameDecoder::compact() {
  if (pos_ == 0) return;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void FrameDecoder::feed(std::string_view bytes) {
  compact();
  buf_.append(bytes);
}

std::span<char> FrameDecoder::prepare(size_t n) {
  compact();
  prepared_ = buf_.size();
  buf_.resize(prepared_ + n);
  return {buf_.data() + prepared_, n};
}

void FrameDecoder::commit(size_t k) {
  if (prepared_ + k <= buf_.size()) buf_.resize(prepared_ + k);
}

Result<std::optional<FrameView>> FrameDecoder::next() {
  if (!error_.ok()) return error_;
  size_t avail = buf_.size() - pos_;
  if (avail < 4) return std::optional<FrameView>();
  uint32_t len = 0;
  std::memcpy(&len, buf_.data() + pos_, 4);
  if (len == 0) {
    error_ = Status::Corruption("corrupt stream: a frame of length 0 (no type byte)");
    return error_;
  }
  if (len > max_frame_) {
    error_ = Status::Corruption("corrupt stream: frame length " + std::to_string(len) +
                                " exceeds the limit of " + std::to_string(max_frame_) + " bytes");
    return error_;
  }
  if (avail >= 5) {
    uint8_t type = static_cast<uint8_t>(buf_[pos_ + 4]);
    if (type < static_cast<uint8_t>(FrameType::hello) ||
        type > static_cast<uint8_t>(FrameType::data_ts)) {
      error_ = Status::Corruption("corrupt stream: unknown frame type " + std::to_string(type));
      return error_;
    }
  }
  if (avail < 4 + static_cast<size_t>(len)) return std::optional<FrameView>();
  FrameView v{static_cast<FrameType>(buf_[pos_ + 4]),
              std::string_view(buf_.data() + pos_ + kFrameHeaderBytes, len - 1)};
  pos_ += 4 + static_cast<size_t>(len);
  return std::optional<FrameView>(v);
}

}  // namespace sleet::cluster
