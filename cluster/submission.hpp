// Submitted topologies in ZooKeeper (cluster mode, issue 12): `sleet submit` stores a topology's
// definition so that `sleet worker --zookeeper Z --topology NAME` on any host runs exactly the same
// topology; `sleet list` reads what runs; `sleet kill` asks every worker of a topology to stop.
//
// Layout under <root>/topologies/<name>/ (root = zookeeper.root; the rest is CheckpointStore's):
//   definition   the topology as canonical YAML after ${VAR} substitution, includes and --set
//                (definition_yaml), preceded by comment lines naming each plugin with its size and
//                CRC-32C (encode_definition): every worker loads the same graph, config and args,
//                and refuses a plugin whose bytes differ on its host.
//   kill         present: a kill was requested (request_kill). The leader takes a final
//                checkpoint and every worker stops with exit 0 (the lead's Worker watches it
//                through kill_requested()). submit() removes it, so a resubmitted topology runs.
//   workers/     EPHEMERAL <id> per live worker (coordination/membership.hpp); read here only.
//
// Threading: every function may be called from any thread or fiber (zk::Client is); ZooKeeper
// calls suspend only the calling fiber. Pure functions (definition_yaml, encode/decode) anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sleet/status.hpp>

#include "coordination/zk_client.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cluster {

// A plugin shared library as submitted: its absolute path, size and CRC-32C of its bytes.
struct PluginChecksum {
  std::string path;
  int64_t size = 0;
  uint32_t crc32c = 0;
  bool operator==(const PluginChecksum&) const = default;
};
// Reads the file (not_found / io_error naming it).
Result<PluginChecksum> checksum_plugin(const std::string& path);
// "crc32c:1a2b3c4d, 123456 bytes".
std::string describe_checksum(const PluginChecksum& c);

struct Definition {
  std::string name;
  std::string yaml;                     // definition_yaml(): what every worker loads
  std::vector<PluginChecksum> plugins;  // spec.plugins, in order
  std::string submitted_by;             // "host pid N at <unix ms>" (informational)
  // Same topology: the YAML and every plugin's bytes (not who submitted it, or when).
  bool same_as(const Definition& o) const { return yaml == o.yaml && plugins == o.plugins; }
};

// The loaded topology as YAML that load_topology_file_text() reads back into the same spec
// (name, config, plugins as absolute paths, topics, components with their args, streams): every
// string is double-quoted (JSON escapes, valid YAML) and "${" is written "$${", so nothing is
// substituted a second time on the worker's host.
std::string definition_yaml(const LoadedTopology& t);
// definition_yaml plus the plugins' checksums (read from this host's files).
Result<Definition> make_definition(const LoadedTopology& t);
std::string encode_definition(const Definition& d);
// corruption when the header lines are malformed.
Result<Definition> decode_definition(const std::string& name, const std::string& data);

// Checks every plugin of `d` against this host's file at the same path: not_found when missing,
// incompatible when its size or CRC-32C differ; the message names the plugin, both checksums and
// the way out (the same build at the same path on every host, e.g. a directory on the shared
// filesystem beside checkpoint.dir; `sleet submit --replace` after a rebuild).
Status verify_plugins(const Definition& d, const std::string& host);

// <root>/topologies/<name> and its parts.
std::string topology_znode(const std::string& root, const std::string& name);
std::string definition_znode(const std::string& root, const std::string& name);
std::string kill_znode(const std::string& root, const std::string& name);
std::string workers_znode(const std::string& root, const std::string& name);

enum class SubmitResult { created, unchanged, replaced };
const char* submit_result_name(SubmitResult r);

// Stores `d` as the definition of d.name and clears a previous kill request. A definition that
// differs from the stored one while workers are live is refused (already_exists, naming the live
// workers and the ways out: `sleet kill` first, or `replace`); with no live worker, or with
// `replace`, it is overwritten (live workers keep the definition they loaded until they restart).
// invalid_argument for a definition over ZooKeeper's request limit.
Result<SubmitResult> submit(zk::Client& zk, const std::string& root, const Definition& d,
                            bool replace);

// The stored definition; not_found (naming the topology, the root and `sleet submit`) if none.
Result<Definition> load_definition(zk::Client& zk, const std::string& root,
                                   const std::string& name);

// What `sleet list` shows of one topology under <root>/topologies.
struct TopologyListing {
  std::string name;
  bool submitted = false;            // has a definition (not only checkpoints of `sleet run`)
  int64_t generation = 0;            // the generation znode's version (0: never claimed)
  std::vector<std::string> workers;  // live worker ids, sorted
  int64_t latest_checkpoint = 0;     // 0: none committed
  bool kill_requested = false;
};
Result<std::vector<TopologyListing>> list_topologies(zk::Client& zk, const std::string& root);
// JSON array of the listings (for `sleet list --json`).
std::string listings_json(const std::vector<TopologyListing>& l);

// Creates <topology>/kill (idempotent); not_found if the topology does not exist under root.
Status request_kill(zk::Client& zk, const std::string& root, const std::string& name);
// Whether a kill was requested; with `watch`, an exists watch is armed on the kill znode (it fires
// when the kill is requested or withdrawn). For the cluster-mode Worker.
Result<bool> kill_requested(zk::Client& zk, const std::string& root, const std::string& name,
                            zk::Watch* watch = nullptr);
// Live worker ids (sorted); empty when workers/ does not exist. With `watch`, a children watch.
Result<std::vector<std::string>> live_workers(zk::Client& zk, const std::string& root,
                                              const std::string& name, zk::Watch* watch = nullptr);

}  // namespace sleet::cluster
