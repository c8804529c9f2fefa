// `sleet validate FILE`, `sleet graph FILE`, `sleet list-components`: the dry-run commands.
// Diagnostics go to stderr one per line (`FILE:LINE:COL: error: MESSAGE`), exit status 2 on any
// error; results go to stdout.
#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cli {

namespace {

struct FileArgs {
  std::string file;
  std::vector<std::string> sets;     // --set key=value
  std::vector<std::string> plugins;  // list-components --plugin
};

void add_file_args(CLI::App* cmd, FileArgs& a, bool file_required) {
  auto* f = cmd->add_option("FILE", a.file, "Topology file (YAML)");
  if (file_required) f->required();
  cmd->add_option("--set", a.sets,
                  "Override a config value of the file: --set key=value (repeatable)")
      ->type_name("KEY=VALUE");
}

// Loads with diagnostics printed to stderr; throws CLI::RuntimeError(kExitUsage) on any error.
// Returns what the file holds and the number of warnings.
std::pair<LoadedTopology, size_t> load_or_fail(const FileArgs& a, bool validate) {
  LoadOptions opts;
  opts.validate = validate;
  for (auto& s : a.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "sleet: --set takes key=value, got '" << s << "'\n";
      throw CLI::RuntimeError(kExitUsage);
    }
    opts.overrides[s.substr(0, eq)] = s.substr(eq + 1);
  }
  std::vector<Diagnostic> diags;
  auto spec = load_topology_file(a.file, opts, diags);
  size_t warnings = 0;
  for (auto& d : diags) {
    std::cerr << d.to_string() << "\n";
    warnings += d.error ? 0 : 1;
  }
  if (!spec.ok()) {
    if (diags.empty()) std::cerr << a.file << ": error: " << spec.status().message() << "\n";
    size_t errors = diags.size() - warnings;
    std::cerr << a.file << ": " << errors << (errors == 1 ? " error" : " errors") << "\n";
    throw CLI::RuntimeError(kExitUsage);
  }
  return {std::move(spec).value(), warnings};
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

void print_summary(const LoadedTopology& file, size_t warnings) {
  const TopologySpec& spec = file.spec;
  std::ostream& o = std::cout;
  o << "topology " << spec.name << " (" << spec.file << ")\n";
  if (!spec.plugins.empty()) {
    o << "plugins:\n";
    for (auto& p : spec.plugins) o << "  " << p << "\n";
  }
  if (!spec.config.empty()) {
    o << "config:\n";
    for (auto& [k, v] : spec.config) o << "  " << k << " = " << v << "\n";
  }
  size_t id_w = 0, class_w = 0;
  int tasks = 0;
  for (auto& c : spec.components) {
    id_w = std::max(id_w, c.id.size());
    class_w = std::max(class_w, c.class_name.size());
    tasks += c.parallelism;
  }
  o << "components: " << spec.components.size() << " (" << tasks << " tasks)\n";
  for (auto& c : spec.components) {
    o << "  " << (c.kind == ComponentKind::spout ? "spout " : "bolt  ") << pad(c.id, id_w + 1)
      << pad(c.class_name, class_w + 1) << pad("x" + std::to_string(c.parallelism), 5);
    // The registry built every component during validation, so this cannot fail here.
    auto inst = Registry::global().create(c.class_name, c.args);
    if (inst.ok()) {
      Fields f = (*inst)->output_fields();
      auto streams = (*inst)->output_streams();
      if (streams.size() == 1 && streams[0].name == kDefaultStream)
        o << (f.empty() ? std::string("(emits nothing)") : "emits " + join(f.names()));
      else
        for (size_t i = 0; i < streams.size(); ++i)  // named streams: "emits ok [a, b]; errors [c]"
          o << (i ? "; " : "emits ") << streams[i].name << " [" << join(streams[i].fields.names())
            << "]";
      if ((*inst)->stateful()) o << ", stateful";
    }
    if (c.on_error != ErrorPolicy::fail) {
      o << ", on_error " << error_policy_name(c.on_error);
      if (!c.dead_letter_topic.empty()) o << " -> " << c.dead_letter_topic;
    }
    o << "\n";
  }
  o << "streams: " << spec.streams.size() << "\n";
  for (auto& s : spec.streams) {
    o << "  " << s.from << (s.stream == kDefaultStream ? "" : "." + s.stream) << " -> " << s.to
      << " [" << grouping_name(s.grouping.type);
    if (!s.grouping.fields.empty()) o << " " << join(s.grouping.fields, ",");
    o << "]\n";
  }
  if (!file.topics.empty()) {
    o << "topics:\n";
    for (auto& t : file.topics) {
      o << "  " << t.name << " (" << t.partitions << " partitions)";
      if (!t.input_file.empty()) o << " <- " << t.input_file;
      o << "\n";
    }
  }
  o << "ok";
  if (warnings) o << " (" << warnings << (warnings == 1 ? " warning)" : " warnings)");
  o << "\n";
}

// The output fields of class `d`, from an instance made with its defaults and a placeholder for
// each required argument (output fields that depend on arguments show those of the placeholder
// values). Constructors only check their arguments (docs/writing-bolts.md), so this does no I/O.
std::string output_fields_line(const Registry& registry, const ComponentDescriptor& d) {
  Args args;
  for (auto& a : d.args) {
    if (!a.required) continue;
    switch (a.kind) {
      case ArgKind::integer:
        args.set(a.name, Arg(int64_t{1}));
        break;
      case ArgKind::number:
        args.set(a.name, Arg(1.0));
        break;
      case ArgKind::boolean:
        args.set(a.name, Arg(true));
        break;
      default:
        args.set(a.name, Arg(std::string("x")));
    }
  }
  auto c = registry.create(d.name, args);
  if (!c.ok()) return "(depend on its arguments)";
  const Fields f = (*c)->output_fields();
  if (f.empty()) return "(none)";
  std::string out;
  for (auto& n : f.names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A component with named output streams: one line per stream with its fields. Shown only when
// the class builds without arguments (its streams may depend on them otherwise) and declares more
// than the default stream.
void print_output_streams(const Registry& registry, const ComponentDescriptor& d) {
  auto c = registry.create(d.name, {});
  if (!c.ok()) return;
  const auto streams = (*c)->output_streams();
  if (streams.size() == 1 && streams[0].name == kDefaultStream) return;
  std::cout << "    output streams:\n";
  for (auto& st : streams) {
    std::cout << "      " << st.name << " [";
    for (size_t i = 0; i < st.fields.size(); ++i)
      std::cout << (i ? ", " : "") << st.fields.names()[i];
    std::cout << "]\n";
  }
}

void print_components(const Registry& registry) {
  std::string origin;
  for (auto* d : registry.list()) {
    std::cout << d->name << " (" << (d->kind == ComponentKind::spout ? "spout" : "bolt") << ", "
              << d->origin << ")\n";
    if (!d->help.empty()) std::cout << "    " << d->help << "\n";
    std::cout << "    output fields: " << output_fields_line(registry, *d) << "\n";
    size_t w = 0;
    for (auto& a : d->args) w = std::max(w, a.name.size());
    for (auto& a : d->args) {
      std::cout << "    " << pad(a.name + ":", w + 2) << arg_kind_name(a.kind);
      if (a.required) std::cout << ", required";
      if (a.default_value) std::cout << ", default " << a.default_value->to_string();
      if (!a.help.empty()) std::cout << " - " << a.help;
      std::cout << "\n";
    }
    print_output_streams(registry, *d);
  }
}

const char* kFooter =
    "Exit status: 0 when the topology is valid (warnings allowed), 2 when any error was found.\n"
    "Errors are printed to stderr as FILE:LINE:COL: error: MESSAGE, every one found.\n"
    "File format: docs/topology-file.md";

}  // namespace

void register_validate(CLI::App& app) {
  auto v = std::make_shared<FileArgs>();
  auto* validate = app.add_subcommand(
      "validate",
      "Dry run: substitute ${VAR}s, read includes, load plugins, build and check the graph, and "
      "print a summary of components, parallelism and streams");
  add_file_args(validate, *v, true);
  validate->footer(kFooter);
  validate->callback([v] {
    auto [spec, warnings] = load_or_fail(*v, true);
    print_summary(spec, warnings);
  });

  auto g = std::make_shared<FileArgs>();
  auto* graph = app.add_subcommand(
      "graph",
      "Print the (valid) topology as Graphviz DOT: sleet graph t.yaml | dot -Tsvg > t.svg");
  add_file_args(graph, *g, true);
  graph->footer(kFooter);
  graph->callback([g] { std::cout << to_dot(load_or_fail(*g, true).first.spec); });

  auto l = std::make_shared<FileArgs>();
  auto* list = app.add_subcommand(
      "list-components",
      "List the component classes a topology can use, with their arguments: built-ins, plus the "
      "plugins named by --plugin or by FILE's plugins:");
  add_file_args(list, *l, false);
  list->add_option("--plugin", l->plugins, "Also load this plugin (repeatable)")->type_name("PATH");
  list->callback([l] {
    bool failed = false;
    for (auto& p : l->plugins) {
      if (Status s = load_plugin(p, Registry::global()); !s.ok()) {
        std::cerr << p << ": error: " << s.message() << "\n";
        failed = true;
      }
    }
    if (!l->file.empty()) (void)load_or_fail(*l, false);  // loads the file's plugins
    if (failed) throw CLI::RuntimeError(kExitUsage);
    print_components(Registry::global());
  });
}

}  // namespace sleet::cli
