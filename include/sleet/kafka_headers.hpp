// Kafka record headers inside a tuple. KafkaSpout emits a record's headers as one Bytes field,
// `headers`, in the encoding below, and KafkaSink writes the headers of a Bytes field in it
// (`headers_field`, or the `headers` field of `format: record`). A bolt reads them with
// KafkaHeaders::decode and builds new ones with add() and encode().
//
// Encoding (big-endian, no padding), for each header in record order:
//   u32 name length, the name's bytes, i32 value length (-1: a null value), the value's bytes.
// No headers: empty bytes. Names may repeat (Kafka allows it); order is kept.
//
// Pure value types and functions; any thread. Implemented in core/kafka_headers.cpp.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sleet/status.hpp>
#include <sleet/tuple.hpp>

namespace sleet {

struct KafkaHeader {
  std::string name;
  std::optional<std::string> value;  // nullopt: the header has a null value
  bool operator==(const KafkaHeader&) const = default;
};

class KafkaHeaders {
 public:
  KafkaHeaders() = default;
  explicit KafkaHeaders(std::vector<KafkaHeader> h) : headers_(std::move(h)) {}
  KafkaHeaders(std::initializer_list<KafkaHeader> h) : headers_(h) {}

  // Parses the encoding above; an error (invalid_argument) names the offset where it breaks.
  [[nodiscard]] static Result<KafkaHeaders> decode(std::string_view bytes);
  [[nodiscard]] static Result<KafkaHeaders> decode(const Bytes& b) { return decode(b.data); }
  [[nodiscard]] Bytes encode() const;
  // Appends one header's encoding to `out` without building a KafkaHeaders (KafkaSpout's hot
  // path); encode() is this for each header.
  static void append_encoded(Bytes& out, std::string_view name,
                             std::optional<std::string_view> value);

  void add(std::string name, std::optional<std::string> value) {
    headers_.push_back({std::move(name), std::move(value)});
  }
  // The first header named `name`; nullptr if none.
  const KafkaHeader* find(std::string_view name) const {
    for (const auto& h : headers_)
      if (h.name == name) return &h;
    return nullptr;
  }
  const std::vector<KafkaHeader>& all() const { return headers_; }
  size_t size() const { return headers_.size(); }
  bool empty() const { return headers_.empty(); }
  bool operator==(const KafkaHeaders&) const = default;

 private:
  std::vector<KafkaHeader> headers_;
};

}  // namespace sleet
