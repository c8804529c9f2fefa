// A small JSON value (parse and write) for the status documents `sleet status` reads from the
// workers' status files and their /api/status endpoints and merges into its own --json output.
// The status documents are small (kilobytes), so a tree of values is fine; the hot path never
// sees this. Pure functions and values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sleet/status.hpp>

namespace sleet::cluster {

struct JsonValue {
  enum class Type { null, boolean, number, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in document order

  static JsonValue null_value() { return {}; }
  static JsonValue of(double v);
  static JsonValue of(int64_t v) { return of(static_cast<double>(v)); }
  static JsonValue of(int v) { return of(static_cast<double>(v)); }
  static JsonValue of(bool v);
  static JsonValue of(std::string v);
  static JsonValue of(const char* v) { return of(std::string(v)); }
  static JsonValue new_array();
  static JsonValue new_object();

  bool is_null() const { return type == Type::null; }
  bool is_number() const { return type == Type::number; }
  bool is_string() const { return type == Type::string; }
  bool is_array() const { return type == Type::array; }
  bool is_object() const { return type == Type::object; }
  // The member `key` of an object; null when absent or when this is no object.
  const JsonValue* get(std::string_view key) const;
  // Typed reads of a member: nullopt when absent, null or of another type (the caller prints "-").
  std::optional<double> number_at(std::string_view key) const;
  std::optional<std::string> string_at(std::string_view key) const;
  std::optional<bool> bool_at(std::string_view key) const;
  // Sets (replaces or appends) member `key` of an object.
  void set(const std::string& key, JsonValue v);
  void push(JsonValue v) { array.push_back(std::move(v)); }
};

// corruption naming the offset when `text` is not one JSON value (trailing blanks are fine).
[[nodiscard]] Result<JsonValue> parse_json(std::string_view text);
// Compact JSON; whole numbers are written without a fraction.
std::string write_json(const JsonValue& v);

}  // namespace sleet::cluster
