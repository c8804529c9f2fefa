// Components are found by class name in a Registry. Built-ins register themselves when libsleet
// loads; plugins (shared libraries named in the topology file) register theirs from
// sleet_plugin_register(), which the loader calls after checking the plugin's ABI version.
//
// Thread-safety: register and load plugins before the topology starts; lookups afterwards are
// read-only and may happen from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sleet/args.hpp>
#include <sleet/component.hpp>
#include <sleet/status.hpp>

namespace sleet {

// Bumped whenever the Component/Spout/Bolt/Collector/Context layout or vtables change.
// 2: Values became an inline small vector (tuple layout changed).
// 3: SourcePosition gained `cluster` (the Kafka cluster id a position belongs to); Context carries
//    generation and restored_generation (sinks tell fenced writers apart).
inline constexpr uint32_t kPluginAbiVersion = 3;
inline constexpr const char* kVersion = "0.1.0";

enum class ComponentKind { spout, bolt };

struct ComponentDescriptor {
  std::string name;  // class name used in topology files
  ComponentKind kind = ComponentKind::bolt;
  std::string help;
  std::vector<ArgSpec> args;
  // Creates an instance from checked args. May throw std::invalid_argument for a bad value the
  // spec cannot express; the registry turns it into a Status.
  std::function<std::unique_ptr<Component>(const Args&)> factory;
  std::string origin = "built-in";  // or the plugin path
};

class Registry {
 public:
  // The process-wide registry holding built-ins and loaded plugins.
  static Registry& global();

  Status add(ComponentDescriptor d);
  const ComponentDescriptor* find(std::string_view name) const;
  std::vector<const ComponentDescriptor*> list() const;  // sorted by name
  // Checks args against the descriptor: missing required, wrong kinds. Undeclared args are errors
  // only when the descriptor declares any args at all. One message per problem.
  std::vector<std::string> check_args(const ComponentDescriptor& d, const Args& args) const;
  Result<std::unique_ptr<Component>> create(std::string_view name, const Args& args) const;

  // Used by load_plugin: components added in between are marked as coming from `origin`.
  void begin_plugin(std::string origin) { origin_ = std::move(origin); }
  void end_plugin() { origin_.clear(); }

 private:
  std::vector<ComponentDescriptor> items_;
  std::string origin_;
};

// dlopen()s a plugin, checks sleet_plugin_abi_version() and calls sleet_plugin_register().
// The library stays loaded for the life of the process.
Status load_plugin(const std::string& path, Registry& registry);

// Registration helper for one component class with a constructor taking `const Args&`.
template <class T>
ComponentDescriptor describe(std::string name, std::string help, std::vector<ArgSpec> args = {}) {
  ComponentDescriptor d;
  d.name = std::move(name);
  d.kind = std::is_base_of_v<Spout, T> ? ComponentKind::spout : ComponentKind::bolt;
  d.help = std::move(help);
  d.args = std::move(args);
  d.factory = [](const Args& a) -> std::unique_ptr<Component> { return std::make_unique<T>(a); };
  return d;
}

}  // namespace sleet

// In a plugin's one .cpp file:
//   SLEET_PLUGIN(registry) {
//     (void)registry.add(sleet::describe<MyBolt>("MyBolt", "what it does", {...}));
//   }
#define SLEET_PLUGIN(REG)                                                                 \
  extern "C" __attribute__((visibility("default"))) uint32_t sleet_plugin_abi_version() { \
    return ::sleet::kPluginAbiVersion;                                                    \
  }                                                                                       \
  extern "C" __attribute__((visibility("default"))) void sleet_plugin_register(           \
      ::sleet::Registry& REG)
