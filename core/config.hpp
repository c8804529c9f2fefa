// The worker's configuration: the one table of config keys Sleet reads (name, kind, default, doc)
// and the typed WorkerConfig parsed from a topology's `config:` map. The validator
// (topology_dsl/validate.cpp, `sleet validate`) and the worker (cluster/worker.cpp) both go
// through here, so a key's kind, range and default live in one place, and a value the validator
// accepts is exactly a value the worker reads the same way.
//
// Pure functions; any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sleet/status.hpp>

namespace sleet {

enum class ConfigKind {
  integer,  // a whole number: [-+]digits, 0x hex or 0o octal, at least `min`
  boolean,  // true or false
  text,     // any string
  path,     // an absolute path (/sleet): it names ZooKeeper nodes
};
const char* config_kind_name(ConfigKind k);

struct ConfigKeySpec {
  std::string_view name;
  ConfigKind kind = ConfigKind::text;
  // The value used when the key is absent, as text in the key's kind. Empty for a text key means
  // "unset"; worker.stall.timeout.ms is empty too: its default is derived (see doc).
  std::string_view default_value;
  int64_t min = 0;  // integers only
  std::string_view doc;
  int64_t max = std::numeric_limits<int64_t>::max();  // integers only
};

// Every key the runtime reads, in the order docs/topology-file.md lists them ("Config keys").
std::span<const ConfigKeySpec> config_keys();
const ConfigKeySpec* find_config_key(std::string_view name);
// checkpoint., worker., zookeeper., kafka.: namespaces that belong to Sleet, where an unknown key
// is most likely a typo. Other keys (Storm's topology.*, the user's own) reach components as is.
bool is_sleet_config_namespace(std::string_view key);

// A whole number in the config/argument grammar ([-+]digits, 0x hex, 0o octal); nullopt when the
// text is not one or does not fit int64.
std::optional<int64_t> parse_whole_number(std::string_view text);
// "WHAT must be a whole number, got 'TEXT'", or "WHAT is out of range: ..." for decimal digits
// that do not fit 64 bits. Shared with the DSL's argument checks.
std::string not_a_whole_number(const std::string& what, const std::string& text);

// Checks one value against its key's kind and range. The message names the key, the value and
// the expected kind ("config checkpoint.enabled must be true or false, got 'yes'").
[[nodiscard]] Status check_config_value(const ConfigKeySpec& key, const std::string& value);

// What the worker reads from the config, typed. Defaults come from config_keys().
struct WorkerConfig {
  bool checkpoint_enabled = true;
  std::chrono::milliseconds checkpoint_interval{0};
  std::chrono::milliseconds checkpoint_timeout{0};
  size_t checkpoint_inline_bytes = 0;
  std::string checkpoint_dir;
  std::string kafka_bootstrap_servers;
  std::string zookeeper_connect;
  std::string zookeeper_root;
  std::chrono::milliseconds zookeeper_session_timeout{0};
  int worker_threads = 0;  // 0: one per core
  size_t worker_batch_size = 0;
  size_t worker_channel_capacity = 0;
  std::chrono::milliseconds transport_flush{1};
  std::chrono::milliseconds transport_heartbeat_timeout{3000};
  bool worker_chaining = true;
  bool metrics_enabled = true;
  int metrics_port = 0;  // 0: a free port
  std::string metrics_address = "127.0.0.1";
  std::chrono::milliseconds worker_stall_timeout{0};  // absent: 3 x checkpoint_timeout

  // Parses every known key (absent ones take their default); refuses the first bad value with
  // the message of check_config_value. Unknown keys are ignored (components may read them).
  static Result<WorkerConfig> from(const std::map<std::string, std::string>& config);
};

}  // namespace sleet
