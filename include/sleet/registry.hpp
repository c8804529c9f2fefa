// Components are found by class name in a Registry. Built-ins register themselves when libsleet
// loads; plugins (shared libraries named in the topology file) register theirs from
// sleet_plugin_register(), which the loader calls after checking the plugin's ABI tag
// (kPluginAbiTag below: the layouts the plugin was compiled against must be the ones libsleet
// was compiled with).
//
// Thread-safety: register and load plugins before the topology starts; lookups afterwards are
// read-only and may happen from any thread.
#pragma once

#include <boost/version.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <sleet/args.hpp>
#include <sleet/component.hpp>
#include <sleet/status.hpp>

namespace sleet {

// Hand-bumped for what no layout shows: vtable order (a virtual added, removed or reordered in
// Component/Spout/Bolt/Collector/CursorStore/SideEffectGate), changed meaning of a field, the
// plugin entry points. It is one input of kPluginAbiTag, which also covers every layout
// automatically.
// 2: Values became an inline small vector (tuple layout changed).
// 3: SourcePosition gained `cluster` (the Kafka cluster id a position belongs to); Context carries
//    generation and restored_generation (sinks tell fenced writers apart).
// 4: plugins export sleet_plugin_abi_tag() (the derived tag) and sleet_plugin_abi_build(); the
//    Registry's members moved behind a pointer.
// 5: Context carries side_effects, a SideEffectGate (a new interface with a virtual allow()) that
//    sinks ask before a side effect ZooKeeper cannot fence.
// 6: time and named streams (issue 14): Tuple carries a timestamp and a pointer to its
//    TupleSource (component, task, stream); Context::timers (schedule_every); StreamDecl; virtuals
//    Collector::emit_at, Collector::emit(stream, values), Component::output_streams,
//    Component::on_timer, Spout::watermark, Bolt::on_watermark.
//    Also Component::keyed_states() (a new virtual): managed KeyedState (KeyedStateBase,
//    KeyedStateView interfaces), checkpointed asynchronously and incrementally by the runtime.
inline constexpr uint32_t kPluginAbiVersion = 6;
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

// --- The plugin ABI tag ---------------------------------------------------------------------
// A plugin and libsleet share C++ objects (Context, Tuple, Values, Args, descriptors, std::string,
// std::function, Boost's small_vector) by layout. The tag is a hash of every layout a plugin sees
// (sizes, alignments, offsets of public members), of the standard library's and Boost's versions
// and of kPluginAbiVersion. It is computed from the headers at compile time: SLEET_PLUGIN exports
// the value the plugin was built with; load_plugin compares it with plugin_abi_tag(), the value
// libsleet was built with, and refuses a mismatch naming both. tests/core/plugin_abi_test.cpp holds
// the golden value for the supported toolchain: a layout change fails it until the golden is
// updated (and a release note says plugins must be rebuilt).
namespace abi {

constexpr uint64_t mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {  // FNV-1a over the value's 8 bytes, little end first
    h ^= (v >> (8 * i)) & 0xff;
    h *= 1099511628211ull;
  }
  return h;
}

#if defined(_GLIBCXX_RELEASE)
#define SLEET_ABI_STDLIB_NAME "libstdc++"
#define SLEET_ABI_STDLIB_RELEASE _GLIBCXX_RELEASE
#define SLEET_ABI_STDLIB_DATE __GLIBCXX__
#define SLEET_ABI_STDLIB_DUAL _GLIBCXX_USE_CXX11_ABI
#elif defined(_LIBCPP_VERSION)
#define SLEET_ABI_STDLIB_NAME "libc++"
#define SLEET_ABI_STDLIB_RELEASE _LIBCPP_VERSION
#define SLEET_ABI_STDLIB_DATE 0
#define SLEET_ABI_STDLIB_DUAL 0
#else
#error "Sleet's plugin ABI tag knows libstdc++ and libc++ only"
#endif
#define SLEET_ABI_STR2(x) #x
#define SLEET_ABI_STR(x) SLEET_ABI_STR2(x)

// The toolchain part, readable: shown beside the tags when a plugin is refused.
// clang-format off
inline constexpr const char* kAbiBuild =
    SLEET_ABI_STDLIB_NAME " " SLEET_ABI_STR(SLEET_ABI_STDLIB_RELEASE)
    " (" SLEET_ABI_STR(SLEET_ABI_STDLIB_DATE) ", cxx11 abi " SLEET_ABI_STR(SLEET_ABI_STDLIB_DUAL)
    "), Boost " SLEET_ABI_STR(BOOST_VERSION);
// clang-format on

// Converts to any member type: counts an aggregate's members by how many it takes in braces.
struct AnyMember {
  template <class U>
  operator U() const;
};
template <class T, class... A>
constexpr size_t member_count() {
  if constexpr (requires { T{A{}..., AnyMember{}}; })
    return member_count<T, A..., AnyMember>();
  else
    return sizeof...(A);
}

// One entry per fact; a new public type plugins see gets a line here. For the aggregates
// (Context, SourcePosition, ArgSpec, ComponentDescriptor) SLEET_ABI_MEMBERS fails to compile when a
// member is added without its SLEET_ABI_FIELD line (a new bool can hide in padding and leave every
// size and offset as it was).
#define SLEET_ABI_TYPE(T) h = mix(mix(h, sizeof(T)), alignof(T))
#define SLEET_ABI_FIELD(T, m) h = mix(h, offsetof(T, m))
#define SLEET_ABI_MEMBERS(T, n)                              \
  static_assert(member_count<T>() == (n), #T                 \
                " has a member abi::layout_hash() does not " \
                "list: add its SLEET_ABI_FIELD line");       \
  h = mix(h, n)
#pragma GCC diagnostic push
// offsetof on types that are not standard-layout (they hold std::map, std::function): GCC and
// Clang compute it for classes without virtual bases, which is all that is used here.
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
constexpr uint64_t layout_hash() {
  uint64_t h = 1469598103934665603ull;
  h = mix(h, kPluginAbiVersion);
  h = mix(h, sizeof(void*));
  // Toolchain: the standard library's and Boost's layouts of everything below.
  h = mix(h, SLEET_ABI_STDLIB_RELEASE);
  h = mix(h, SLEET_ABI_STDLIB_DATE);
  h = mix(h, SLEET_ABI_STDLIB_DUAL);
  h = mix(h, BOOST_VERSION);
  // tuple.hpp
  SLEET_ABI_TYPE(Bytes);
  SLEET_ABI_TYPE(Value);
  h = mix(h, std::variant_size_v<Value>);
  SLEET_ABI_TYPE(Values);
  h = mix(h, kInlineValues);
  SLEET_ABI_TYPE(Fields);
  SLEET_ABI_TYPE(Tuple);
  SLEET_ABI_TYPE(TupleSource);
  SLEET_ABI_MEMBERS(TupleSource, 3);
  SLEET_ABI_FIELD(TupleSource, component);
  SLEET_ABI_FIELD(TupleSource, task);
  SLEET_ABI_FIELD(TupleSource, stream);
  // args.hpp
  SLEET_ABI_TYPE(Arg);
  SLEET_ABI_TYPE(Args);
  SLEET_ABI_TYPE(ArgSpec);
  SLEET_ABI_MEMBERS(ArgSpec, 5);
  SLEET_ABI_FIELD(ArgSpec, name);
  SLEET_ABI_FIELD(ArgSpec, kind);
  SLEET_ABI_FIELD(ArgSpec, required);
  SLEET_ABI_FIELD(ArgSpec, help);
  SLEET_ABI_FIELD(ArgSpec, default_value);
  // status.hpp, ids.hpp
  SLEET_ABI_TYPE(Status);
  SLEET_ABI_TYPE(PartitionId);
  SLEET_ABI_TYPE(Offset);
  SLEET_ABI_TYPE(CheckpointId);
  SLEET_ABI_TYPE(TaskIndex);
  SLEET_ABI_TYPE(Generation);
  // component.hpp
  SLEET_ABI_TYPE(SourcePosition);
  SLEET_ABI_MEMBERS(SourcePosition, 4);
  SLEET_ABI_FIELD(SourcePosition, topic);
  SLEET_ABI_FIELD(SourcePosition, partition);
  SLEET_ABI_FIELD(SourcePosition, next);
  SLEET_ABI_FIELD(SourcePosition, cluster);
  SLEET_ABI_TYPE(Context);
  SLEET_ABI_MEMBERS(Context, 12);
  SLEET_ABI_FIELD(Context, topology);
  SLEET_ABI_FIELD(Context, component);
  SLEET_ABI_FIELD(Context, task);
  SLEET_ABI_FIELD(Context, parallelism);
  SLEET_ABI_FIELD(Context, config);
  SLEET_ABI_FIELD(Context, checkpointing);
  SLEET_ABI_FIELD(Context, cursors);
  SLEET_ABI_FIELD(Context, generation);
  SLEET_ABI_FIELD(Context, restored_generation);
  SLEET_ABI_FIELD(Context, side_effects);
  SLEET_ABI_FIELD(Context, counter);
  SLEET_ABI_FIELD(Context, timers);
  SLEET_ABI_TYPE(StreamDecl);
  SLEET_ABI_MEMBERS(StreamDecl, 2);
  SLEET_ABI_FIELD(StreamDecl, name);
  SLEET_ABI_FIELD(StreamDecl, fields);
  SLEET_ABI_TYPE(Counter);
  SLEET_ABI_TYPE(Collector);
  SLEET_ABI_TYPE(CursorStore);
  SLEET_ABI_TYPE(SideEffectGate);
  SLEET_ABI_TYPE(Component);
  SLEET_ABI_TYPE(Spout);
  SLEET_ABI_TYPE(Bolt);
  SLEET_ABI_TYPE(FatalError);
  // keyed_state.hpp (interfaces the runtime calls on a plugin's KeyedState)
  SLEET_ABI_TYPE(KeyedStateBase);
  SLEET_ABI_TYPE(KeyedStateView);
  SLEET_ABI_TYPE(KeyedStateRef);
  // registry.hpp
  SLEET_ABI_TYPE(ComponentDescriptor);
  SLEET_ABI_MEMBERS(ComponentDescriptor, 6);
  SLEET_ABI_FIELD(ComponentDescriptor, name);
  SLEET_ABI_FIELD(ComponentDescriptor, kind);
  SLEET_ABI_FIELD(ComponentDescriptor, help);
  SLEET_ABI_FIELD(ComponentDescriptor, args);
  SLEET_ABI_FIELD(ComponentDescriptor, factory);
  SLEET_ABI_FIELD(ComponentDescriptor, origin);
  return h;
}
#pragma GCC diagnostic pop
#undef SLEET_ABI_TYPE
#undef SLEET_ABI_FIELD
#undef SLEET_ABI_MEMBERS

}  // namespace abi

// The tag of the headers being compiled (a plugin's, via SLEET_PLUGIN).
inline constexpr uint64_t kPluginAbiTag = abi::layout_hash();

// The tag and toolchain libsleet itself was compiled with (not the caller's headers).
uint64_t plugin_abi_tag();
const char* plugin_abi_build();

// The process-wide registry holding built-ins and loaded plugins. Its members live behind a
// pointer (core/registry.cpp), so they are not part of the plugin ABI.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;

  static Registry& global();

  Status add(ComponentDescriptor d);
  const ComponentDescriptor* find(std::string_view name) const;
  std::vector<const ComponentDescriptor*> list() const;  // sorted by name
  // Checks args against the descriptor: missing required, wrong kinds. Undeclared args are errors
  // only when the descriptor declares any args at all. One message per problem.
  std::vector<std::string> check_args(const ComponentDescriptor& d, const Args& args) const;
  Result<std::unique_ptr<Component>> create(std::string_view name, const Args& args) const;

 private:
  friend Status load_plugin(const std::string& path, Registry& registry);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// dlopen()s a plugin, checks its ABI tag against plugin_abi_tag() and calls
// sleet_plugin_register(). A plugin built against other Sleet headers (or another standard
// library or Boost) is refused as incompatible, naming both tags. The library stays loaded for
// the life of the process.
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
#define SLEET_PLUGIN(REG)                                                                  \
  extern "C" __attribute__((visibility("default"))) uint32_t sleet_plugin_abi_version() {  \
    return ::sleet::kPluginAbiVersion;                                                     \
  }                                                                                        \
  extern "C" __attribute__((visibility("default"))) uint64_t sleet_plugin_abi_tag() {      \
    return ::sleet::kPluginAbiTag;                                                         \
  }                                                                                        \
  extern "C" __attribute__((visibility("default"))) const char* sleet_plugin_abi_build() { \
    return ::sleet::abi::kAbiBuild;                                                        \
  }                                                                                        \
  extern "C" __attribute__((visibility("default"))) void sleet_plugin_register(            \
      ::sleet::Registry& REG)
