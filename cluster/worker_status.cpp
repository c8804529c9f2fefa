// The parts of the worker's status line (`--status-file`) about failures and errors: per-component
// skip and dead-letter counts, the last checkpoint abort reason, and a failed worker's error.
// Written by WorkerProgress::to_json (worker.cpp), read by the supervisor
// (cli/cmd_run.cpp). Pure string functions; any thread.
#include <cstdio>
#include <cstdlib>

#include "cluster/worker.hpp"
#include "core/format.hpp"

namespace sleet {

namespace {

std::string quoted(const std::string& s) {
  std::string out;
  json_string(s, out);
  return out;
}

// Reads the JSON string starting at json[p] (the opening quote); p ends past the closing quote.
std::string read_quoted(const std::string& json, size_t& p) {
  std::string out;
  if (p >= json.size() || json[p] != '"') return out;
  for (++p; p < json.size() && json[p] != '"'; ++p) {
    if (json[p] != '\\' || p + 1 >= json.size()) {
      out += json[p];
      continue;
    }
    char e = json[++p];
    if (e == 'n')
      out += '\n';
    else if (e == 't')
      out += '\t';
    else if (e == 'r')
      out += '\r';
    else if (e == 'u' && p + 4 < json.size()) {
      out += static_cast<char>(std::strtol(json.substr(p + 1, 4).c_str(), nullptr, 16));
      p += 4;
    } else
      out += e;
  }
  ++p;
  return out;
}

}  // namespace

std::string WorkerProgress::extra_json() const {
  std::string s = ",\"errors\":{";
  bool first = true;
  for (auto& [id, e] : errors) {
    if (!first) s += ",";
    first = false;
    s += quoted(id) + ":{\"skipped\":" + std::to_string(e.skipped) +
         ",\"dead_lettered\":" + std::to_string(e.dead_lettered) + "}";
  }
  s += "},\"last_abort_reason\":" + quoted(last_abort_reason);
  s += ",\"failure\":" + quoted(failure);
  s += std::string(",\"failure_transient\":") + (failure_transient ? "true" : "false");
  if (!worker_id.empty()) {
    s += ",\"worker_id\":" + quoted(worker_id);
    s += std::string(",\"leader\":") + (leader ? "true" : "false");
    s += ",\"generation\":" + std::to_string(generation);
    s += ",\"cluster_state\":" + quoted(cluster_state);
    s += ",\"local_tasks\":" + std::to_string(local_tasks);
    s += ",\"cluster_visible\":" + std::to_string(cluster_visible);
    s += ",\"transport_bytes_sent\":" + std::to_string(transport_bytes_sent);
    s += ",\"transport_tuples_sent\":" + std::to_string(transport_tuples_sent);
  }
  return s;
}

std::string status_string(const std::string& json, const std::string& key) {
  auto p = json.find("\"" + key + "\":\"");
  if (p == std::string::npos) return "";
  p += key.size() + 3;
  return read_quoted(json, p);
}

std::map<std::string, WorkerProgress::ComponentErrors> status_errors(const std::string& json) {
  std::map<std::string, WorkerProgress::ComponentErrors> out;
  auto p = json.find("\"errors\":{");
  if (p == std::string::npos) return out;
  p += 10;
  // {"id":{"skipped":N,"dead_lettered":M},...}: ids are the only strings, numbers follow keys.
  while (p < json.size() && json[p] == '"') {
    std::string id = read_quoted(json, p);
    auto end = json.find('}', p);
    if (end == std::string::npos) break;
    std::string body = json.substr(p, end - p + 1);
    out[id] = {static_cast<int64_t>(status_number(body, "skipped")),
               static_cast<int64_t>(status_number(body, "dead_lettered"))};
    p = end + 1;
    if (p < json.size() && json[p] == ',') ++p;
  }
  return out;
}

}  // namespace sleet
