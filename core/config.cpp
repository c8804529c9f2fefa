#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace sleet {

namespace {

using K = ConfigKind;

// The one list. docs/topology-file.md ("Config keys") shows the same rows; tests/core/config_test
// fails when a key is missing there.
constexpr ConfigKeySpec kKeys[] = {
    {"kafka.bootstrap.servers", K::text, "", 0,
     "Kafka brokers; empty: `sleet run` starts the embedded Kafka"},
    {"zookeeper.connect", K::text, "", 0, "ZooKeeper ensemble; empty: `sleet run` starts a server"},
    {"zookeeper.root", K::path, "/sleet", 0, "root znode of Sleet's data"},
    {"zookeeper.session.timeout.ms", K::integer, "10000", 1, "ZooKeeper session timeout"},
    {"checkpoint.enabled", K::boolean, "true", 0,
     "false: no barriers, no ZooKeeper, sinks at-least-once"},
    {"checkpoint.interval.ms", K::integer, "1000", 1, "time between checkpoint starts"},
    {"checkpoint.timeout.ms", K::integer, "60000", 1,
     "a checkpoint not complete by then is aborted"},
    {"checkpoint.dir", K::text, "sleet-state/checkpoints", 0,
     "directory for state blobs too large for ZooKeeper"},
    {"checkpoint.inline.bytes", K::integer, "131072", 0,
     "state blobs up to this size are stored in ZooKeeper"},
    {"worker.threads", K::integer, "0", 0, "OS threads running task fibers (0: one per core)",
     std::numeric_limits<int>::max()},
    {"worker.batch.size", K::integer, "512", 1, "tuples per channel message"},
    {"worker.channel.capacity", K::integer, "16", 1,
     "messages per input channel (back-pressure bound)"},
    {"transport.flush.ms", K::integer, "1", 0,
     "cluster mode: longest a batch waits in a connection's buffer before it is written"},
    {"transport.heartbeat.timeout.ms", K::integer, "3000", 100,
     "cluster mode: a connection silent this long is lost (a rollback)"},
    // Empty default: 3 x checkpoint.timeout.ms, so a slow checkpoint is never mistaken for a
    // stuck task.
    {"worker.stall.timeout.ms", K::integer, "", 1,
     "a task that makes no progress while every checkpoint waits for it this long fails the "
     "topology naming the task (default: 3 x checkpoint.timeout.ms)"},
    {"worker.chaining", K::boolean, "true", 0,
     "chain local_or_shuffle streams between equal parallelisms; false: a fiber per task"},
    {"metrics.enabled", K::boolean, "true", 0,
     "execute latency, back-pressure and idle time per task, and the metrics server"},
    {"metrics.port", K::integer, "0", 0,
     "port of the worker's metrics server (/metrics, /api/status, the page); 0: a free port",
     65535},
    {"metrics.address", K::text, "127.0.0.1", 0, "address the metrics server binds"},
};

constexpr std::string_view kOwnPrefixes[] = {"checkpoint.", "worker.",    "zookeeper.",
                                             "kafka.",      "transport.", "metrics."};

// The value of `name` in `config`, else its default (config_keys() has every name used here).
std::string value_of(const std::map<std::string, std::string>& config, std::string_view name) {
  auto it = config.find(std::string(name));
  if (it != config.end()) return it->second;
  return std::string(find_config_key(name)->default_value);
}

}  // namespace

const char* config_kind_name(ConfigKind k) {
  switch (k) {
    case ConfigKind::integer:
      return "integer";
    case ConfigKind::boolean:
      return "boolean";
    case ConfigKind::text:
      return "text";
    case ConfigKind::path:
      return "absolute path";
  }
  return "?";
}

std::span<const ConfigKeySpec> config_keys() {
  return kKeys;
}

const ConfigKeySpec* find_config_key(std::string_view name) {
  for (auto& k : kKeys)
    if (k.name == name) return &k;
  return nullptr;
}

bool is_sleet_config_namespace(std::string_view key) {
  return std::any_of(std::begin(kOwnPrefixes), std::end(kOwnPrefixes),
                     [&](std::string_view p) { return key.substr(0, p.size()) == p; });
}

std::optional<int64_t> parse_whole_number(std::string_view text) {
  const char* p = text.data();
  const char* e = p + text.size();
  if (p == e) return std::nullopt;
  bool neg = false;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  int base = 10;
  if (e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) {
    base = p[1] == 'x' ? 16 : 8;
    p += 2;
  }
  if (p == e || !std::all_of(p, e, [base](char c) {
        return base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                          : c >= '0' && c < static_cast<char>('0' + std::min(base, 10));
      }))
    return std::nullopt;
  uint64_t mag = 0;
  auto r = std::from_chars(p, e, mag, base);
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0);
  if (r.ec != std::errc() || r.ptr != e || mag > limit) return std::nullopt;
  // Negate in unsigned arithmetic: -INT64_MIN does not overflow there.
  return static_cast<int64_t>(neg ? (~mag + 1) : mag);
}

std::string not_a_whole_number(const std::string& what, const std::string& text) {
  size_t digits_from = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  bool decimal = text.size() > digits_from &&
                 std::all_of(text.begin() + static_cast<std::ptrdiff_t>(digits_from), text.end(),
                             [](char c) { return c >= '0' && c <= '9'; });
  if (decimal)
    return what + " is out of range: " +
           (text.size() > 24
                ? text.substr(0, 20) + "... (" + std::to_string(text.size()) + " characters)"
                : text) +
           " does not fit a 64-bit whole number (" +
           std::to_string(std::numeric_limits<int64_t>::min()) + " to " +
           std::to_string(std::numeric_limits<int64_t>::max()) + ")";
  return what + " must be a whole number, got '" + text + "'";
}

Status check_config_value(const ConfigKeySpec& key, const std::string& value) {
  const std::string what = "config " + std::string(key.name);
  switch (key.kind) {
    case ConfigKind::integer: {
      auto n = parse_whole_number(value);
      if (!n) return Status::Invalid(not_a_whole_number(what, value));
      if (*n < key.min)
        return Status::Invalid(what + " must be at least " + std::to_string(key.min) + ", got " +
                               value);
      if (*n > key.max)
        return Status::Invalid(what + " must be at most " + std::to_string(key.max) + ", got " +
                               value);
      return Status::Ok();
    }
    case ConfigKind::boolean:
      if (value != "true" && value != "false")
        return Status::Invalid(what + " must be true or false, got '" + value + "'");
      return Status::Ok();
    case ConfigKind::path:
      if (value.empty() || value.front() != '/')
        return Status::Invalid(what + " must be an absolute path like /sleet, got '" + value + "'");
      return Status::Ok();
    case ConfigKind::text:
      return Status::Ok();
  }
  return Status::Ok();
}

Result<WorkerConfig> WorkerConfig::from(const std::map<std::string, std::string>& config) {
  // Every key is checked, present or not: a default that does not parse is a bug in kKeys.
  for (auto& k : kKeys) {
    if (!config.count(std::string(k.name)) && k.default_value.empty()) continue;  // unset/derived
    SLEET_RETURN_IF_ERROR(check_config_value(k, value_of(config, k.name)));
  }
  auto integer = [&](std::string_view name) { return *parse_whole_number(value_of(config, name)); };
  auto boolean = [&](std::string_view name) { return value_of(config, name) == "true"; };
  auto ms = [&](std::string_view name) { return std::chrono::milliseconds(integer(name)); };

  WorkerConfig c;
  c.checkpoint_enabled = boolean("checkpoint.enabled");
  c.checkpoint_interval = ms("checkpoint.interval.ms");
  c.checkpoint_timeout = ms("checkpoint.timeout.ms");
  c.checkpoint_inline_bytes = static_cast<size_t>(integer("checkpoint.inline.bytes"));
  c.checkpoint_dir = value_of(config, "checkpoint.dir");
  c.kafka_bootstrap_servers = value_of(config, "kafka.bootstrap.servers");
  c.zookeeper_connect = value_of(config, "zookeeper.connect");
  c.zookeeper_root = value_of(config, "zookeeper.root");
  c.zookeeper_session_timeout = ms("zookeeper.session.timeout.ms");
  c.worker_threads = static_cast<int>(integer("worker.threads"));
  c.worker_batch_size = static_cast<size_t>(integer("worker.batch.size"));
  c.worker_channel_capacity = static_cast<size_t>(integer("worker.channel.capacity"));
  c.transport_flush = ms("transport.flush.ms");
  c.transport_heartbeat_timeout = ms("transport.heartbeat.timeout.ms");
  c.worker_chaining = boolean("worker.chaining");
  c.metrics_enabled = boolean("metrics.enabled");
  c.metrics_port = static_cast<int>(integer("metrics.port"));
  c.metrics_address = value_of(config, "metrics.address");
  c.worker_stall_timeout = config.count("worker.stall.timeout.ms") ? ms("worker.stall.timeout.ms")
                                                                   : 3 * c.checkpoint_timeout;
  return c;
}

}  // namespace sleet
