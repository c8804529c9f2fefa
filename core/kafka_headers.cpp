#include <sleet/kafka_headers.hpp>

#include <cstdint>

namespace sleet {

namespace {
void put32(uint32_t v, std::string& out) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}
bool get32(std::string_view s, size_t& at, uint32_t& v) {
  if (s.size() - at < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  at += 4;
  return true;
}
}  // namespace

void KafkaHeaders::append_encoded(Bytes& out, std::string_view name,
                                  std::optional<std::string_view> value) {
  put32(static_cast<uint32_t>(name.size()), out.data);
  out.data += name;
  put32(value ? static_cast<uint32_t>(value->size()) : 0xFFFFFFFFu, out.data);
  if (value) out.data += *value;
}

Bytes KafkaHeaders::encode() const {
  Bytes b;
  for (const auto& h : headers_)
    append_encoded(b, h.name, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt);
  return b;
}

Result<KafkaHeaders> KafkaHeaders::decode(std::string_view s) {
  KafkaHeaders out;
  size_t at = 0;
  auto bad = [&](const std::string& what) {
    return Status::Invalid("Kafka headers (sleet/kafka_headers.hpp encoding): " + what +
                           " at byte " + std::to_string(at) + " of " + std::to_string(s.size()));
  };
  while (at < s.size()) {
    uint32_t n = 0, v = 0;
    if (!get32(s, at, n)) return bad("truncated name length");
    if (s.size() - at < n) return bad("name longer than the rest");
    std::string name(s.substr(at, n));
    at += n;
    if (!get32(s, at, v)) return bad("truncated value length");
    if (v == 0xFFFFFFFFu) {
      out.add(std::move(name), std::nullopt);
      continue;
    }
    if (s.size() - at < v) return bad("value longer than the rest");
    out.add(std::move(name), std::string(s.substr(at, v)));
    at += v;
  }
  return out;
}

}  // namespace sleet
