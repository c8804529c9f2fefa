#include "cluster/submission.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "checkpointing/checkpoint_store.hpp"
#include "core/crc32c.hpp"
#include "core/format.hpp"

namespace sleet::cluster {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHeader = "# sleet definition v1";
constexpr const char* kPluginTag = "# plugin ";
constexpr const char* kSubmittedTag = "# submitted ";

// A value the DSL substitutes on reading: JSON-quoted, "${" escaped as "$${" (the reader turns
// "$${" back into a literal "${").
std::string value_string(const std::string& s) {
  std::string escaped;
  escaped.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "${") == 0) escaped += '$';
    escaped += s[i];
  }
  std::string out;
  json_string(escaped, out);
  return out;
}

// A key: never substituted by the reader, so only quoted.
std::string key_string(const std::string& s) {
  std::string out;
  json_string(s, out);
  return out;
}

std::string number_text(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", d);
  std::string s = buf;
  // Keep it a number, not an integer, when read back.
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// An argument value in flow style.
void arg_yaml(const Arg& a, std::string& out) {
  switch (a.kind()) {
    case ArgKind::null:
      out += "null";
      return;
    case ArgKind::boolean:
      out += a.as_bool() ? "true" : "false";
      return;
    case ArgKind::integer:
      out += std::to_string(a.as_int());
      return;
    case ArgKind::number:
      out += number_text(a.as_double());
      return;
    case ArgKind::string:
      out += value_string(a.as_string());
      return;
    case ArgKind::list: {
      out += '[';
      bool first = true;
      for (auto& e : a.as_list()) {
        if (!first) out += ", ";
        first = false;
        arg_yaml(e, out);
      }
      out += ']';
      return;
    }
    case ArgKind::map: {
      out += '{';
      bool first = true;
      for (auto& [k, v] : a.as_map()) {
        if (!first) out += ", ";
        first = false;
        out += key_string(k) + ": ";
        arg_yaml(v, out);
      }
      out += '}';
      return;
    }
  }
}

void component_yaml(const ComponentSpec& c, std::string& out) {
  out += "  - id: " + value_string(c.id) + "\n";
  out += "    class: " + value_string(c.class_name) + "\n";
  out += "    parallelism: " + std::to_string(c.parallelism) + "\n";
  if (!c.args.all().empty()) {
    out += "    args:\n";
    for (auto& [k, v] : c.args.all()) {
      out += "      " + key_string(k) + ": ";
      arg_yaml(v, out);
      out += "\n";
    }
  }
  if (c.on_error != ErrorPolicy::fail)
    out += std::string("    on_error: ") + error_policy_name(c.on_error) + "\n";
  if (!c.dead_letter_topic.empty())
    out += "    dead_letter_topic: " + value_string(c.dead_letter_topic) + "\n";
}

std::string hostname() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

Status check_name(const std::string& root, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    return Status::Invalid("'" + name + "' is not a topology name (not empty, no '/')");
  return zk::validate_path(topology_znode(root, name)).with_context("zookeeper.root " + root);
}

Result<bool> exists(zk::Client& zk, const std::string& path) {
  auto v = zk.exists(path);
  if (!v.ok()) return v.status();
  return v->has_value();
}

}  // namespace

Result<PluginChecksum> checksum_plugin(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return Status::NotFound("plugin '" + path + "' does not exist (or is not a file)");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::IoError("plugin '" + path + "' cannot be opened: " + std::strerror(errno));
  PluginChecksum c;
  c.path = path;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    c.crc32c = crc32c(std::string_view(buf, static_cast<size_t>(in.gcount())), c.crc32c);
    c.size += in.gcount();
  }
  if (in.bad()) return Status::IoError("plugin '" + path + "' cannot be read");
  return c;
}

std::string describe_checksum(const PluginChecksum& c) {
  char buf[64];
  snprintf(buf, sizeof buf, "crc32c:%08x, %lld bytes", c.crc32c, static_cast<long long>(c.size));
  return buf;
}

std::string definition_yaml(const LoadedTopology& t) {
  const TopologySpec& s = t.spec;
  std::string out = "name: " + value_string(s.name) + "\n";
  if (!s.config.empty()) {
    out += "config:\n";
    for (auto& [k, v] : s.config) out += "  " + key_string(k) + ": " + value_string(v) + "\n";
  }
  if (!s.plugins.empty()) {
    out += "plugins:\n";
    for (auto& p : s.plugins) out += "  - " + value_string(fs::absolute(p).string()) + "\n";
  }
  if (!t.topics.empty()) {
    // Only what names a topic: input files are `sleet run`'s, loaded on the submitting host.
    out += "topics:\n";
    for (auto& tp : t.topics)
      out += "  - name: " + value_string(tp.name) +
             "\n    partitions: " + std::to_string(tp.partitions) + "\n";
  }
  for (auto [key, kind] :
       {std::pair{"spouts", ComponentKind::spout}, std::pair{"bolts", ComponentKind::bolt}}) {
    bool any = false;
    for (auto& c : s.components) {
      if (c.kind != kind) continue;
      if (!any) out += std::string(key) + ":\n";
      any = true;
      component_yaml(c, out);
    }
  }
  if (!s.streams.empty()) {
    out += "streams:\n";
    for (auto& st : s.streams) {
      out += "  - from: " + value_string(st.from) + "\n    to: " + value_string(st.to);
      if (st.stream != kDefaultStream) out += "\n    stream: " + value_string(st.stream);
      out += std::string("\n    grouping: {type: ") + grouping_name(st.grouping.type);
      if (!st.grouping.fields.empty()) {
        out += ", fields: [";
        for (size_t i = 0; i < st.grouping.fields.size(); ++i)
          out += (i ? ", " : "") + value_string(st.grouping.fields[i]);
        out += "]";
      }
      out += "}\n";
    }
  }
  return out;
}

Result<Definition> make_definition(const LoadedTopology& t) {
  Definition d;
  d.name = t.spec.name;
  d.yaml = definition_yaml(t);
  for (auto& p : t.spec.plugins) {
    auto c = checksum_plugin(fs::absolute(p).string());
    if (!c.ok()) return c.status();
    d.plugins.push_back(std::move(c).value());
  }
  d.submitted_by = hostname() + " pid " + std::to_string(getpid()) + " at " +
                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  return d;
}

std::string encode_definition(const Definition& d) {
  std::string out = std::string(kHeader) + "\n";
  for (auto& p : d.plugins) {
    char buf[64];
    snprintf(buf, sizeof buf, "%08x %lld ", p.crc32c, static_cast<long long>(p.size));
    out += kPluginTag + std::string(buf) + p.path + "\n";
  }
  if (!d.submitted_by.empty()) out += kSubmittedTag + d.submitted_by + "\n";
  return out + d.yaml;
}

Result<Definition> decode_definition(const std::string& name, const std::string& data) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("the stored definition of topology '" + name + "' " + why +
                              " (submit it again with sleet submit --replace)");
  };
  if (data.rfind(std::string(kHeader) + "\n", 0) != 0)
    return bad("does not start with '" + std::string(kHeader) + "'");
  Definition d;
  d.name = name;
  size_t pos = std::strlen(kHeader) + 1;
  while (pos < data.size()) {
    size_t eol = data.find('\n', pos);
    if (eol == std::string::npos) eol = data.size();
    std::string line = data.substr(pos, eol - pos);
    if (line.rfind(kPluginTag, 0) == 0) {
      std::string rest = line.substr(std::strlen(kPluginTag));
      unsigned crc = 0;
      long long size = -1;
      int used = 0;
      if (std::sscanf(rest.c_str(), "%8x %lld %n", &crc, &size, &used) != 2 || used <= 0 ||
          size < 0 || static_cast<size_t>(used) >= rest.size())
        return bad("has a malformed plugin line '" + line + "'");
      d.plugins.push_back({rest.substr(static_cast<size_t>(used)), size, crc});
    } else if (line.rfind(kSubmittedTag, 0) == 0) {
      d.submitted_by = line.substr(std::strlen(kSubmittedTag));
    } else {
      break;
    }
    pos = eol + 1;
  }
  d.yaml = pos < data.size() ? data.substr(pos) : "";
  if (d.yaml.empty()) return bad("holds no topology");
  return d;
}

Status verify_plugins(const Definition& d, const std::string& host) {
  const std::string way_out =
      "every worker must load the same build of each plugin: install the same file at the same "
      "path on every host (e.g. a directory on the shared filesystem beside checkpoint.dir), or "
      "rebuild and `sleet submit --replace` the topology";
  for (auto& want : d.plugins) {
    auto have = checksum_plugin(want.path);
    if (!have.ok()) {
      if (have.status().code() != Code::not_found) return have.status();
      return Status::NotFound("plugin " + want.path + " of topology '" + d.name +
                              "' does not exist on host " + host + " (submitted from " +
                              d.submitted_by + " with " + describe_checksum(want) + "); " +
                              way_out);
    }
    if (have->size != want.size || have->crc32c != want.crc32c)
      return Status::Incompatible("plugin " + want.path + " of topology '" + d.name +
                                  "' differs on host " + host + ": " + describe_checksum(*have) +
                                  " here, " + describe_checksum(want) + " as submitted (from " +
                                  d.submitted_by + "); " + way_out);
  }
  return Status::Ok();
}

std::string topology_znode(const std::string& root, const std::string& name) {
  return (root == "/" ? "" : root) + "/topologies/" + name;
}
std::string definition_znode(const std::string& root, const std::string& name) {
  return topology_znode(root, name) + "/definition";
}
std::string kill_znode(const std::string& root, const std::string& name) {
  return topology_znode(root, name) + "/kill";
}
std::string workers_znode(const std::string& root, const std::string& name) {
  return topology_znode(root, name) + "/workers";
}

const char* submit_result_name(SubmitResult r) {
  switch (r) {
    case SubmitResult::created:
      return "created";
    case SubmitResult::unchanged:
      return "unchanged";
    case SubmitResult::replaced:
      return "replaced";
  }
  return "?";
}

Result<std::vector<std::string>> live_workers(zk::Client& zk, const std::string& root,
                                              const std::string& name, zk::Watch* watch) {
  const std::string dir = workers_znode(root, name);
  auto c = watch ? zk.children(dir, *watch) : zk.children(dir);
  if (!c.ok()) {
    if (c.status().code() == Code::not_found) return std::vector<std::string>{};
    return c.status();
  }
  std::vector<std::string> ids = std::move(c).value();
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<SubmitResult> submit(zk::Client& zk, const std::string& root, const Definition& d,
                            bool replace) {
  const std::string data = encode_definition(d);
  // The client would refuse it too; say which limit and what to do.
  if (data.size() + 1024 > zk::kMaxRequestBytes)
    return Status::Invalid("the definition of topology '" + d.name + "' is " +
                           std::to_string(data.size()) +
                           " bytes, over ZooKeeper's 1 MB request limit; move large argument "
                           "values into files the components read");
  CheckpointStore store(zk, root, d.name);
  SLEET_RETURN_IF_ERROR(store.init().with_context("preparing " + topology_znode(root, d.name)));
  const std::string path = definition_znode(root, d.name);
  int version = -1;
  auto old = zk.get(path, &version);
  SubmitResult result = SubmitResult::created;
  if (old.ok()) {
    auto prev = decode_definition(d.name, *old);
    if (prev.ok() && prev->same_as(d)) {
      result = SubmitResult::unchanged;
    } else {
      auto live = live_workers(zk, root, d.name);
      if (!live.ok()) return live.status();
      if (!live->empty() && !replace) {
        std::string ids;
        for (auto& w : *live) ids += (ids.empty() ? "" : ", ") + w;
        return Status(Code::already_exists,
                      "topology '" + d.name + "' is already submitted and running on " +
                          std::to_string(live->size()) + " worker(s) (" + ids +
                          ") with a different definition; `sleet kill " + d.name +
                          "` first, or submit with --replace (running workers keep the "
                          "definition they loaded until they restart)");
      }
      auto v = zk.set(path, data, version);
      if (!v.ok())
        return v.status().with_context("replacing the definition of topology '" + d.name +
                                       "' (someone else submitted it at the same time?)");
      result = SubmitResult::replaced;
    }
  } else if (old.status().code() == Code::not_found) {
    Status c = zk.create(path, data);
    if (!c.ok())
      return c.with_context("storing the definition of topology '" + d.name +
                            "' (someone else submitted it at the same time?)");
  } else {
    return old.status().with_context("reading the definition of topology '" + d.name + "'");
  }
  // A new submission runs: an earlier kill request must not stop its workers.
  Status k = zk.remove(kill_znode(root, d.name));
  if (!k.ok() && k.code() != Code::not_found)
    return k.with_context("clearing the earlier kill request of topology '" + d.name + "'");
  return result;
}

Result<Definition> load_definition(zk::Client& zk, const std::string& root,
                                   const std::string& name) {
  SLEET_RETURN_IF_ERROR(check_name(root, name));
  auto data = zk.get(definition_znode(root, name));
  if (!data.ok()) {
    if (data.status().code() == Code::not_found)
      return Status::NotFound("no topology '" + name + "' was submitted under " + root +
                              " on ZooKeeper " + zk.options().connect + " (`sleet list` shows " +
                              "what there is; `sleet submit FILE` stores one)");
    return data.status().with_context("reading the definition of topology '" + name + "'");
  }
  return decode_definition(name, *data);
}

Result<std::vector<TopologyListing>> list_topologies(zk::Client& zk, const std::string& root) {
  const std::string dir = (root == "/" ? "" : root) + "/topologies";
  auto names = zk.children(dir);
  if (!names.ok()) {
    if (names.status().code() == Code::not_found) return std::vector<TopologyListing>{};
    return names.status().with_context("listing " + dir);
  }
  std::sort(names->begin(), names->end());
  std::vector<TopologyListing> out;
  for (auto& name : *names) {
    TopologyListing l;
    l.name = name;
    auto def = exists(zk, definition_znode(root, name));
    if (!def.ok()) return def.status();
    l.submitted = *def;
    CheckpointStore store(zk, root, name);
    if (auto g = zk.exists(store.generation_path()); g.ok() && g->has_value())
      l.generation = **g;
    else if (!g.ok())
      return g.status();
    auto w = live_workers(zk, root, name);
    if (!w.ok()) return w.status();
    l.workers = std::move(w).value();
    auto latest = store.latest_id();
    if (latest.ok() && latest->has_value())
      l.latest_checkpoint = (**latest).value;
    else if (!latest.ok() && latest.status().code() != Code::not_found)
      return latest.status();
    auto k = exists(zk, kill_znode(root, name));
    if (!k.ok()) return k.status();
    l.kill_requested = *k;
    out.push_back(std::move(l));
  }
  return out;
}

std::string listings_json(const std::vector<TopologyListing>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    const TopologyListing& l = list[i];
    if (i) out += ",";
    out += "{\"name\":";
    json_string(l.name, out);
    out += std::string(",\"submitted\":") + (l.submitted ? "true" : "false") +
           ",\"generation\":" + std::to_string(l.generation) + ",\"workers\":[";
    for (size_t j = 0; j < l.workers.size(); ++j) {
      if (j) out += ",";
      json_string(l.workers[j], out);
    }
    out += "],\"latest_checkpoint\":" + std::to_string(l.latest_checkpoint) +
           ",\"kill_requested\":" + (l.kill_requested ? "true" : "false") + "}";
  }
  return out + "]";
}

Status request_kill(zk::Client& zk, const std::string& root, const std::string& name) {
  SLEET_RETURN_IF_ERROR(check_name(root, name));
  auto t = exists(zk, topology_znode(root, name));
  if (!t.ok()) return t.status();
  if (!*t)
    return Status::NotFound("no topology '" + name + "' under " + root + " on ZooKeeper " +
                            zk.options().connect + " (`sleet list` shows what there is)");
  Status s = zk.create(kill_znode(root, name), hostname() + " pid " + std::to_string(getpid()));
  if (s.code() == Code::already_exists) return Status::Ok();
  return s.with_context("requesting the kill of topology '" + name + "'");
}

Result<bool> kill_requested(zk::Client& zk, const std::string& root, const std::string& name,
                            zk::Watch* watch) {
  auto v = watch ? zk.exists(kill_znode(root, name), *watch) : zk.exists(kill_znode(root, name));
  if (!v.ok()) return v.status();
  return v->has_value();
}

}  // namespace sleet::cluster
