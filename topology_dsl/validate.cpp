// Graph and config checks on a TopologySpec (from a file or built in C++), and DOT output.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include <sleet/windowed_bolt.hpp>

#include "core/config.hpp"
#include "topology_dsl/internal.hpp"
#include "topology_dsl/loader.hpp"
#include "topology_dsl/storm_compat.hpp"
#include "topology_dsl/text_util.hpp"
#include "topology_dsl/yaml_reader.hpp"

namespace sleet {

namespace dsl {

namespace {

// A location, or the fallback when the first is unknown (a spec built in C++).
SourceLocation either(const SourceLocation& l, const SourceLocation& fallback) {
  return l.line > 0 ? l : fallback;
}

// " (first defined at FILE:LINE)", or "" for a spec built in code.
std::string first_at(const SourceLocation& l) {
  return l.line > 0 ? " (first defined at " + l.file + ":" + std::to_string(l.line) + ")" : "";
}

bool contains_word(const std::string& text, const std::string& word) {
  for (size_t p = text.find(word); p != std::string::npos; p = text.find(word, p + 1)) {
    auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    bool left = p == 0 || !is_word(text[p - 1]);
    bool right = p + word.size() >= text.size() || !is_word(text[p + word.size()]);
    if (left && right) return true;
  }
  return false;
}

// Where to point for a message about a component's arguments: the argument it names, if any.
SourceLocation arg_location(const ComponentSpec& c, const ComponentLocations& cl,
                            const std::string& message, bool quoted) {
  for (auto& [name, loc] : cl.args) {
    bool named = quoted ? message.find("argument '" + name + "'") != std::string::npos
                        : contains_word(message, name);
    if (named && loc.line > 0) return loc;
  }
  return c.loc;
}

class Validator {
 public:
  Validator(const TopologySpec& spec, const Registry& registry, const ExtraLocations& extra)
      : spec_(spec), registry_(registry), extra_(extra) {
    top_ = {spec.file, spec.file.empty() ? 0 : 1, 1};
  }

  std::vector<Diagnostic> run() {
    check_name();
    check_components();
    check_input_files();
    check_streams();
    check_inputs();
    check_unsubscribed();
    check_cycles();
    return std::move(out_);
  }

 private:
  void error(const SourceLocation& l, std::string m) { out_.push_back({l, std::move(m), true}); }
  void warn(const SourceLocation& l, std::string m) { out_.push_back({l, std::move(m), false}); }

  void check_name() {
    SourceLocation l = either(extra_.name, top_);
    if (spec_.name.empty())
      error(l, "the topology needs a name (name: my-topology); its checkpoints are kept under it");
    else if (!is_plain_name(spec_.name))
      error(l, "name '" + spec_.name +
                   "' may only use letters, digits, '_', '-' and '.' (it names ZooKeeper nodes)");
  }

  void check_components() {
    std::vector<std::string> classes;
    for (auto* d : registry_.list()) classes.push_back(d->name);
    for (size_t i = 0; i < spec_.components.size(); ++i) {
      const ComponentSpec& c = spec_.components[i];
      if (c.id.empty()) {
        error(c.loc, std::string("a ") + (c.kind == ComponentKind::spout ? "spout" : "bolt") +
                         " needs an id");
        continue;
      }
      if (!is_plain_name(c.id))
        error(c.loc, "id '" + c.id +
                         "' may only use letters, digits, '_', '-' and '.' (it names files and "
                         "ZooKeeper nodes)");
      auto [first, fresh] = by_id_.emplace(c.id, &c);
      if (!fresh) {
        error(c.loc, "duplicate id '" + c.id + "'" + first_at(first->second->loc));
        continue;
      }
      if (c.kind == ComponentKind::spout) any_spout_ = true;
      SourceLocation par_loc = either(extra_.map.component(i).parallelism, c.loc);
      if (c.parallelism < 1)
        error(par_loc, "parallelism of '" + c.id + "' is " + std::to_string(c.parallelism) +
                           "; it must be at least 1");
      else if (c.parallelism > kMaxParallelism)
        error(par_loc, "parallelism of '" + c.id + "' is " + std::to_string(c.parallelism) +
                           "; at most " + std::to_string(kMaxParallelism) + " tasks per component");
      if (c.on_error == ErrorPolicy::dead_letter && c.dead_letter_topic.empty())
        error(c.loc, "'" + c.id + "' has on_error: dead_letter but no dead_letter_topic");
      if (c.on_error != ErrorPolicy::dead_letter && !c.dead_letter_topic.empty())
        warn(c.loc, "'" + c.id + "' names a dead_letter_topic but on_error is " +
                        error_policy_name(c.on_error) + "; the topic is not used");
      if (!extra_.unreadable_class.count(i)) check_class(c, extra_.map.component(i), classes);
    }
    // A dead-letter sink's id must not be taken: its state and publish cursor would be shared.
    for (auto& c : spec_.components) {
      if (c.on_error != ErrorPolicy::dead_letter) continue;
      auto taken = by_id_.find(dead_letter_component_id(c.id));
      if (taken != by_id_.end())
        error(taken->second->loc, "id '" + taken->first +
                                      "' is the name of the dead-letter sink of '" + c.id +
                                      "' (on_error: dead_letter); choose another id");
    }
    if (!spec_.components.empty() && !any_spout_)
      error(top_, "the topology has no spout (spouts: ...), so nothing produces tuples");
    if (spec_.components.empty())
      error(top_, "the topology has no components (spouts: and bolts:)");
  }

  void check_class(const ComponentSpec& c, const ComponentLocations& cl,
                   const std::vector<std::string>& classes) {
    SourceLocation class_loc = either(cl.class_name, c.loc);
    if (c.class_name.empty()) {
      error(c.loc, "component '" + c.id + "' needs a class (class: Name)");
      return;
    }
    const ComponentDescriptor* d = registry_.find(c.class_name);
    if (!d) {
      std::string hint = did_you_mean(c.class_name, classes);
      // A Java class name whose last part is a Sleet class: Storm users' habit.
      if (auto simple = java_simple_name(c.class_name); simple && registry_.find(*simple))
        hint = " (did you mean " + *simple + "? Sleet classes have plain names, not Java packages)";
      error(class_loc, "unknown class '" + c.class_name + "'" + hint +
                           "; registered: " + (classes.empty() ? "(none)" : join_some(classes)) +
                           (!hint.empty()          ? ""
                            : extra_.plugin_failed ? " (a plugin that failed to load may hold it)"
                                                   : " (a class from a plugin needs the plugin "
                                                     "under plugins:)"));
      return;
    }
    if ((d->kind == ComponentKind::spout) != (c.kind == ComponentKind::spout)) {
      error(class_loc, "class '" + c.class_name + "' is a " +
                           (d->kind == ComponentKind::spout ? "spout" : "bolt") + ", but '" + c.id +
                           "' is listed under " +
                           (c.kind == ComponentKind::spout ? "spouts" : "bolts"));
      return;
    }
    auto problems = registry_.check_args(*d, c.args);
    for (auto& m : problems) error(arg_location(c, cl, m, true), "component '" + c.id + "': " + m);
    if (!problems.empty()) return;
    auto instance = registry_.create(c.class_name, c.args);
    if (!instance.ok()) {
      const std::string m = instance.status().message();
      error(arg_location(c, cl, m, false), "component '" + c.id + "': " + m);
      return;
    }
    outputs_[c.id] = (*instance)->output_streams();
    // A windowed bolt's `late` side stream is declared whether or not the topology wants late
    // tuples (they are counted either way): unsubscribed, it is no mistake worth a warning.
    if (dynamic_cast<const WindowedBolt*>(instance->get()))
      quiet_streams_[c.id].insert(std::string(WindowedBolt::kLateStream));
    check_name_limits(c, **instance);
  }

  // Names built from a component id that would only fail at run time, and then on every
  // checkpoint or in a restart loop: snapshot task keys and FileSink part file names.
  void check_name_limits(const ComponentSpec& c, const Component& instance) {
    const size_t task_digits = std::to_string(std::max(0, c.parallelism - 1)).size();
    const std::string widest_task = std::to_string(std::max(0, c.parallelism - 1));
    auto key_limit = [&](const std::string& id, const std::string& what) {
      const size_t key = id.size() + 1 + task_digits;  // "<id>-<task>"
      if (key <= kMaxTaskKeyBytes) return;
      const size_t room = kMaxTaskKeyBytes - 1 - task_digits - (id.size() - c.id.size());
      error(c.loc, "id '" + c.id + "' is too long for " + what + ": its task key '" + shorten(id) +
                       "-" + widest_task + "' has " + std::to_string(key) + " bytes, over the " +
                       std::to_string(kMaxTaskKeyBytes) +
                       "-byte limit of checkpoint keys (ZooKeeper node and file names), so every "
                       "checkpoint would abort; use an id of at most " +
                       std::to_string(room) + " bytes");
    };
    if (instance.stateful()) key_limit(c.id, "a stateful component");
    if (c.on_error == ErrorPolicy::dead_letter)
      key_limit(dead_letter_component_id(c.id), "its dead-letter sink (on_error: dead_letter)");
    if (c.class_name == "FileSink") {
      // part-<id>-<task>-<epoch> (exactly once) or part-<id>-<task>-run<ms> (at least once):
      // at most 22 characters after the task's dash for any int64.
      constexpr size_t kWidestSuffix = 3 + 19;
      const size_t name = 5 + c.id.size() + 1 + task_digits + 1 + kWidestSuffix;
      if (name > NAME_MAX)
        error(c.loc, "id '" + shorten(c.id) +
                         "' is too long for a FileSink: its part files 'part-" + shorten(c.id) +
                         "-" + widest_task + "-<epoch>' can reach " + std::to_string(name) +
                         " bytes, over the file name limit of " + std::to_string(NAME_MAX) +
                         "; use an id of at most " +
                         std::to_string(NAME_MAX - (name - c.id.size())) + " bytes");
    }
  }

  static std::string shorten(const std::string& id) {
    return id.size() <= 40 ? id : id.substr(0, 20) + "..." + id.substr(id.size() - 12);
  }

  // `input:` of a topic (loaded by `sleet run`): a regular file it can read. A missing one is only
  // a warning here: `sleet worker` on another host loads the same file without the input, and
  // `sleet run` refuses it before starting anything.
  void check_input_files() {
    for (auto& t : extra_.topics) {
      if (t.input_file.empty()) continue;
      struct stat st {};
      const bool missing = ::stat(t.input_file.c_str(), &st) != 0 && errno == ENOENT;
      if (Status s = check_input_file(t.input_file); !s.ok()) {
        if (missing)
          warn(either(t.loc, top_), "topic '" + t.name + "': " + s.message());
        else
          error(either(t.loc, top_), "topic '" + t.name + "': " + s.message());
      }
    }
  }

  void check_streams() {
    std::vector<std::string> ids;
    for (auto& [id, c] : by_id_) ids.push_back(id);
    // The id an unknown one most likely means, once per unknown id: aliased streams (*s, *s, ...)
    // repeat the same ids hundreds of times, and each search compares against every id (over 5 s
    // per input under the fuzzer; corpus timeout-aliased-streams-*.yaml).
    std::map<std::string, std::string> suggestions;
    auto closest_id = [&](const std::string& id) -> const std::string& {
      auto it = suggestions.find(id);
      if (it == suggestions.end()) it = suggestions.emplace(id, closest(id, ids)).first;
      return it->second;
    };
    std::map<std::tuple<std::string, std::string, std::string>, const StreamSpec*> seen;
    for (size_t i = 0; i < spec_.streams.size(); ++i) {
      const StreamSpec& s = spec_.streams[i];
      const StreamLocations& sl = extra_.map.stream(i);
      SourceLocation from_loc = either(sl.from, s.loc), to_loc = either(sl.to, s.loc);
      SourceLocation grouping_loc = either(sl.grouping, s.loc);
      bool ok = true;
      if (s.from.empty()) {
        error(s.loc, "a stream needs from: (the id of the component it comes from)");
        ok = false;
      } else if (!by_id_.count(s.from)) {
        error(from_loc, "stream from unknown id '" + s.from + "'" +
                            did_you_mean_text(closest_id(s.from)) + "; ids: " + join_some(ids));
        ok = false;
      }
      // Ids named by any stream, valid or not, and the ids a misspelt one most likely means: a
      // bolt behind a broken stream is not "without input" too.
      for (auto [id, set] : {std::pair{&s.from, &sourced_}, std::pair{&s.to, &targeted_}}) {
        set->insert(*id);
        if (!by_id_.count(*id)) set->insert(closest_id(*id));
      }
      if (s.to.empty()) {
        error(s.loc, "a stream needs to: (the id of the component it goes to)");
        ok = false;
      } else if (!by_id_.count(s.to)) {
        error(to_loc, "stream to unknown id '" + s.to + "'" + did_you_mean_text(closest_id(s.to)) +
                          "; ids: " + join_some(ids));
        ok = false;
      }
      if (s.grouping.type == GroupingType::direct)
        error(grouping_loc, "direct grouping is not supported yet");
      if (s.grouping.type == GroupingType::fields && s.grouping.fields.empty())
        error(grouping_loc, "a fields grouping needs fields: [name, ...]");
      if (s.grouping.type != GroupingType::fields && !s.grouping.fields.empty())
        warn(grouping_loc, std::string("fields are ignored by a ") +
                               grouping_name(s.grouping.type) + " grouping");
      if (!ok) continue;
      if (by_id_[s.to]->kind == ComponentKind::spout) {
        error(to_loc, "stream into spout '" + s.to + "': spouts take no input");
        continue;
      }
      auto [prev, fresh] = seen.emplace(std::tuple{s.from, s.to, s.stream}, &s);
      if (!fresh) {
        error(s.loc, "duplicate stream " + s.from + " -> " + s.to +
                         (s.stream == kDefaultStream ? "" : " (stream '" + s.stream + "')") +
                         first_at(prev->second->loc) + "; each tuple would arrive twice");
        continue;
      }
      check_fields(s, grouping_loc, either(sl.stream, s.loc));
      next_[s.from].push_back(&s);
    }
  }

  void check_fields(const StreamSpec& s, const SourceLocation& at,
                    const SourceLocation& stream_at) {
    auto out = outputs_.find(s.from);
    if (out == outputs_.end()) return;  // class or args broken: reported already
    const StreamDecl* d = nullptr;
    std::vector<std::string> names;
    for (const StreamDecl& x : out->second) {
      names.push_back(x.name);
      if (x.name == s.stream) d = &x;
    }
    if (!d) {
      const std::string best = closest(s.stream, names);
      // A misspelt stream counts as subscribing to what it most likely means (no second warning).
      subscribed_[s.from].insert(best.empty() ? s.stream : best);
      error(stream_at, "'" + s.from + "' has no output stream '" + s.stream + "'" +
                           did_you_mean_text(best) + "; it declares [" + join(names) + "]" +
                           (s.stream == kDefaultStream ? " (name one with stream: NAME)" : ""));
      return;
    }
    subscribed_[s.from].insert(s.stream);
    const Fields& f = d->fields;
    const std::string of = s.stream == kDefaultStream
                               ? "'" + s.from + "'"
                               : "stream '" + s.stream + "' of '" + s.from + "'";
    if (f.empty()) {
      warn(at, of + " declares no output fields, so nothing flows to '" + s.to + "'");
      return;
    }
    if (s.grouping.type != GroupingType::fields) return;
    for (auto& name : s.grouping.fields)
      if (!f.contains(name))
        error(at, "fields grouping on '" + name + "', but " + of + " declares only [" +
                      join(f.names()) + "]" + did_you_mean(name, f.names()));
  }

  // A named stream nobody subscribes to: what the component emits on it is dropped. The default
  // stream is exempt (a sink declares it with no fields; a last bolt's output may be for metrics).
  // So is a windowed bolt's `late` (quiet_streams_).
  void check_unsubscribed() {
    for (auto& [id, decls] : outputs_) {
      const ComponentSpec* c = by_id_.count(id) ? by_id_.at(id) : nullptr;
      if (!c) continue;
      for (const StreamDecl& d : decls)
        if (d.name != kDefaultStream && !subscribed_[id].count(d.name) &&
            !quiet_streams_[id].count(d.name))
          warn(c->loc, "output stream '" + d.name + "' of '" + id +
                           "' has no subscriber; what it emits there goes nowhere (streams: - "
                           "{from: " +
                           id + ", stream: " + d.name + ", to: ...})");
    }
  }

  void check_inputs() {
    for (auto& [id, c] : by_id_) {
      // A bolt named by a broken stream has an input once that stream is fixed.
      if (c->kind == ComponentKind::bolt && !targeted_.count(id))
        error(c->loc,
              "bolt '" + id + "' has no input stream (streams: - {from: ..., to: " + id + "})");
      if (c->kind == ComponentKind::spout && !sourced_.count(id))
        warn(c->loc, "spout '" + id + "' has no outgoing stream; what it reads goes nowhere");
    }
  }

  // Kahn's algorithm (iterative: a long chain must not overflow the stack); what remains lies on
  // or behind a cycle. Barriers cannot align on a cycle: a task would wait for a barrier that
  // can only arrive through itself.
  void check_cycles() {
    std::map<std::string, int> indegree;
    for (auto& [id, c] : by_id_) indegree[id] = 0;
    for (auto& [from, edges] : next_)
      for (auto* s : edges) ++indegree[s->to];
    std::vector<std::string> ready;
    for (auto& [id, d] : indegree)
      if (d == 0) ready.push_back(id);
    while (!ready.empty()) {
      std::string v = ready.back();
      ready.pop_back();
      indegree.erase(v);
      for (auto* s : next_[v])
        if (--indegree[s->to] == 0) ready.push_back(s->to);
    }
    if (indegree.empty()) return;
    // Walk forward inside the remaining set until a node repeats: that closes a cycle.
    std::string v = indegree.begin()->first;
    std::vector<std::string> path;
    std::map<std::string, size_t> index;
    std::vector<const StreamSpec*> edges;
    while (!index.count(v)) {
      index[v] = path.size();
      path.push_back(v);
      const StreamSpec* step = nullptr;
      for (auto* s : next_[v])
        if (indegree.count(s->to)) {
          step = s;
          break;
        }
      if (!step) return;  // cannot happen: every remaining node has a remaining successor
      edges.push_back(step);
      v = step->to;
    }
    std::string cycle;
    for (size_t i = index[v]; i < path.size(); ++i) cycle += path[i] + " -> ";
    cycle += v;
    const StreamSpec* closing = edges.back();
    error(closing->loc,
          "the graph has a cycle (" + cycle + "); checkpoint barriers cannot align on a cycle");
  }

  const TopologySpec& spec_;
  const Registry& registry_;
  const ExtraLocations& extra_;
  SourceLocation top_;
  std::vector<Diagnostic> out_;
  std::map<std::string, const ComponentSpec*> by_id_;
  std::map<std::string, std::vector<StreamDecl>> outputs_;
  // Optional side streams that need no subscriber (a windowed bolt's `late`), per component.
  std::map<std::string, std::set<std::string>> quiet_streams_;
  std::map<std::string, std::set<std::string>> subscribed_;  // per component: its read streams
  std::map<std::string, std::vector<const StreamSpec*>> next_;
  std::set<std::string> targeted_;  // named by any stream's to:, valid or not
  std::set<std::string> sourced_;   // named by any stream's from:, valid or not
  bool any_spout_ = false;
};

}  // namespace

std::vector<Diagnostic> validate(const TopologySpec& spec, const Registry& registry,
                                 const ExtraLocations& extra) {
  return Validator(spec, registry, extra).run();
}

std::vector<Diagnostic> check_config(const std::map<std::string, std::string>& config,
                                     const std::map<std::string, SourceLocation>& locs,
                                     const SourceLocation& fallback) {
  std::vector<Diagnostic> out;
  std::vector<std::string> known;
  for (auto& k : config_keys()) known.emplace_back(k.name);
  for (auto& [key, value] : config) {
    auto l = locs.find(key);
    SourceLocation at = l == locs.end() ? fallback : l->second;
    const ConfigKeySpec* spec = find_config_key(key);
    if (!spec) {
      if (is_sleet_config_namespace(key))
        out.push_back(
            {at, "unknown config key '" + key + "'" + did_you_mean(key, known) + "; it is not used",
             false});
      continue;
    }
    // The worker parses the same values with the same function (WorkerConfig::from).
    if (Status st = check_config_value(*spec, value); !st.ok()) out.push_back({at, st.message()});
  }
  return out;
}

}  // namespace dsl

const ComponentLocations& SourceMap::component(size_t i) const {
  static const ComponentLocations unknown;
  return i < components.size() ? components[i] : unknown;
}

const StreamLocations& SourceMap::stream(size_t i) const {
  static const StreamLocations unknown;
  return i < streams.size() ? streams[i] : unknown;
}

SourceLocation SourceMap::plugin(size_t i) const {
  return i < plugins.size() ? plugins[i] : SourceLocation{};
}

Status check_input_file(const std::string& path) {
  const std::string way_out =
      "; give a regular file with one record a line (optional key before a tab)";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::Invalid("input " + path + " cannot be used: " + std::strerror(errno) + way_out);
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISFIFO(st.st_mode) ? "a pipe"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    return Status::Invalid("input " + path + " is " + kind + ", not a regular file" + way_out);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::Invalid("input " + path + " cannot be read: " + std::strerror(errno) + way_out);
  ::close(fd);
  return Status::Ok();
}

std::vector<Diagnostic> validate_topology(const TopologySpec& spec, const Registry& registry) {
  return dsl::validate(spec, registry, {});
}

namespace {

// DOT string literal contents: quotes and backslashes escaped, newlines as \n.
std::string dot_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

std::string to_dot(const TopologySpec& spec) {
  std::string o = "digraph \"" + dot_escape(spec.name) + "\" {\n  rankdir=LR;\n";
  o += "  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (auto& c : spec.components) {
    bool spout = c.kind == ComponentKind::spout;
    o += "  \"" + dot_escape(c.id) + "\" [shape=" + (spout ? "invhouse" : "box") + ", label=\"" +
         dot_escape(c.id) + "\\n" + dot_escape(c.class_name) + " x" +
         std::to_string(c.parallelism) + "\"];\n";
  }
  for (auto& s : spec.streams) {
    std::string label = grouping_name(s.grouping.type);
    if (!s.grouping.fields.empty()) label += "(" + dsl::join(s.grouping.fields) + ")";
    if (s.stream != kDefaultStream) label = s.stream + ": " + label;
    o += "  \"" + dot_escape(s.from) + "\" -> \"" + dot_escape(s.to) + "\" [label=\"" +
         dot_escape(label) + "\"];\n";
  }
  return o + "}\n";
}

}  // namespace sleet
