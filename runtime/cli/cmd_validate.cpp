// `sleet validate FILE`, `sleet graph FILE`, `sleet list-components`: the dry-run commands.
#include <iostream>

#include "runtime/cli/cli_util.hpp"
#include "runtime/cli/commands.hpp"
#include "topology_dsl/loader.hpp"

namespace sleet::cli {

namespace {

void print_summary(const TopologySpec& spec) {
  std::cout << "topology " << spec.name << ": " << spec.components.size() << " components, "
            << spec.streams.size() << " streams\n";
  for (auto& c : spec.components) {
    std::cout << "  " << (c.kind == ComponentKind::spout ? "spout " : "bolt  ") << c.id << " ("
              << c.class_name << ") x" << c.parallelism;
    if (c.on_error != ErrorPolicy::fail) std::cout << " on_error=" << error_policy_name(c.on_error);
    std::cout << "\n";
  }
  for (auto& s : spec.streams) {
    std::cout << "  " << s.from << " -> " << s.to << " [" << grouping_name(s.grouping.type);
    for (size_t i = 0; i < s.grouping.fields.size(); ++i)
      std::cout << (i ? "," : " ") << s.grouping.fields[i];
    std::cout << "]\n";
  }
  if (!spec.plugins.empty()) {
    std::cout << "  plugins:";
    for (auto& p : spec.plugins) std::cout << " " << p;
    std::cout << "\n";
  }
}

}  // namespace

void register_validate(CLI::App& app) {
  auto v = std::make_shared<TopologyArgs>();
  auto* validate = app.add_subcommand(
      "validate", "Dry run: substitute, include, load plugins, check the graph; exit 2 on errors");
  add_topology_args(validate, *v);
  validate->callback([v] {
    auto spec = load_or_exit(*v);
    print_summary(spec);
    std::cout << "ok\n";
  });

  auto g = std::make_shared<TopologyArgs>();
  auto* graph = app.add_subcommand("graph", "Print the topology as Graphviz DOT");
  add_topology_args(graph, *g);
  graph->callback([g] { std::cout << to_dot(load_or_exit(*g)); });

  auto plugins = std::make_shared<std::vector<std::string>>();
  auto* list = app.add_subcommand("list-components",
                                  "List built-in components and those of the given plugins");
  list->add_option("--plugin", *plugins, "Also load this plugin (repeatable)");
  list->callback([plugins] {
    for (auto& p : *plugins) {
      if (Status s = load_plugin(p, Registry::global()); !s.ok()) {
        std::cerr << "sleet: " << s.message() << "\n";
        throw CLI::RuntimeError(kExitUsage);
      }
    }
    for (auto* d : Registry::global().list()) {
      std::cout << d->name << " (" << (d->kind == ComponentKind::spout ? "spout" : "bolt") << ", "
                << d->origin << ")\n    " << d->help << "\n";
      for (auto& a : d->args) {
        std::cout << "    " << a.name << ": " << arg_kind_name(a.kind)
                  << (a.required ? ", required" : "");
        if (a.default_value) std::cout << ", default " << a.default_value->to_string();
        if (!a.help.empty()) std::cout << " - " << a.help;
        std::cout << "\n";
      }
    }
  });
}

}  // namespace sleet::cli
