#include <sleet/registry.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace sleet {

struct Registry::Impl {
  std::vector<ComponentDescriptor> items;
  std::string origin;  // set by load_plugin while a plugin registers its components
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

// This translation unit's view of the headers is libsleet's: what every plugin is compared with.
uint64_t plugin_abi_tag() {
  return kPluginAbiTag;
}
const char* plugin_abi_build() {
  return abi::kAbiBuild;
}

Registry& Registry::global() {
  static Registry r;
  return r;
}

Status Registry::add(ComponentDescriptor d) {
  if (d.name.empty() || !d.factory)
    return Status::Invalid("component descriptor needs a name and a factory");
  if (find(d.name))
    return Status(Code::already_exists, "component class '" + d.name + "' is already registered");
  if (!impl_->origin.empty()) d.origin = impl_->origin;
  impl_->items.push_back(std::move(d));
  return Status::Ok();
}

const ComponentDescriptor* Registry::find(std::string_view name) const {
  for (auto& d : impl_->items)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<const ComponentDescriptor*> Registry::list() const {
  std::vector<const ComponentDescriptor*> out;
  for (auto& d : impl_->items) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

std::vector<std::string> Registry::check_args(const ComponentDescriptor& d,
                                              const Args& args) const {
  std::vector<std::string> errors;
  for (auto& spec : d.args) {
    const Arg* a = args.find(spec.name);
    if (!a) {
      if (spec.required)
        errors.push_back(d.name + " requires argument '" + spec.name + "' (" +
                         arg_kind_name(spec.kind) + ")" +
                         (spec.help.empty() ? "" : ": " + spec.help));
      continue;
    }
    if (!a->fits(spec.kind))
      errors.push_back(d.name + " argument '" + spec.name + "' must be " +
                       arg_kind_name(spec.kind) + ", got " + arg_kind_name(a->kind()) + " '" +
                       a->to_string() + "'");
  }
  if (!d.args.empty()) {
    for (auto& [name, value] : args.all()) {
      bool known =
          std::any_of(d.args.begin(), d.args.end(), [&](auto& s) { return s.name == name; });
      if (!known) {
        std::string names;
        for (auto& s : d.args) names += (names.empty() ? "" : ", ") + s.name;
        errors.push_back(d.name + " has no argument '" + name + "' (it takes: " + names + ")");
      }
    }
  }
  return errors;
}

Result<std::unique_ptr<Component>> Registry::create(std::string_view name, const Args& args) const {
  const ComponentDescriptor* d = find(name);
  if (!d) {
    std::string known;
    for (auto* x : list()) known += (known.empty() ? "" : ", ") + x->name;
    return Status::NotFound("unknown component class '" + std::string(name) +
                            "' (registered: " + known + ")");
  }
  auto errors = check_args(*d, args);
  if (!errors.empty()) {
    std::string m;
    for (auto& e : errors) m += (m.empty() ? "" : "; ") + e;
    return Status::Invalid(m);
  }
  // Fill declared defaults so components see one consistent view.
  Args full = args;
  for (auto& spec : d->args)
    if (!full.has(spec.name) && spec.default_value) full.set(spec.name, *spec.default_value);
  try {
    auto c = d->factory(full);
    if (!c) return Status::Internal("factory of '" + d->name + "' returned null");
    return c;
  } catch (const std::exception& e) {
    return Status::Invalid(d->name + ": " + e.what());
  }
}

Status load_plugin(const std::string& path, Registry& registry) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::NotFound("plugin file '" + path + "' does not exist");
  std::string abs = fs::absolute(path, ec).string();
  void* h = dlopen(abs.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return Status::Invalid("cannot load plugin '" + path + "': " + dlerror());
  using VersionFn = uint32_t (*)();
  using TagFn = uint64_t (*)();
  using BuildFn = const char* (*)();
  using RegFn = void (*)(Registry&);
  auto version = reinterpret_cast<VersionFn>(dlsym(h, "sleet_plugin_abi_version"));
  auto tag = reinterpret_cast<TagFn>(dlsym(h, "sleet_plugin_abi_tag"));
  auto build = reinterpret_cast<BuildFn>(dlsym(h, "sleet_plugin_abi_build"));
  auto reg = reinterpret_cast<RegFn>(dlsym(h, "sleet_plugin_register"));
  if (!version || !reg) {
    dlclose(h);
    return Status::Invalid("'" + path +
                           "' is not a Sleet plugin (no "
                           "sleet_plugin_abi_version/sleet_plugin_register; use SLEET_PLUGIN)");
  }
  // "; rebuild the plugin" is what `sleet validate` users and tests have always seen.
  const std::string way_out =
      "; rebuild the plugin against this Sleet (find_package(Sleet) of this installation, same "
      "compiler, standard library and Boost)";
  auto hex = [](uint64_t v) {
    char buf[19];
    snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  const std::string ours = hex(plugin_abi_tag()) + " (plugin ABI " +
                           std::to_string(kPluginAbiVersion) + ", " + plugin_abi_build() + ")";
  if (!tag || !build) {
    // Built by a Sleet before the derived tag (plugin ABI 3 or older): its layouts are unknown.
    const uint32_t v = version();
    dlclose(h);
    return Status::Incompatible("plugin '" + path + "' was built against Sleet plugin ABI " +
                                std::to_string(v) + ", this Sleet has ABI " +
                                std::to_string(kPluginAbiVersion) + way_out +
                                ". The plugin has no ABI tag; this Sleet's is " + ours);
  }
  if (tag() != plugin_abi_tag()) {
    const std::string theirs =
        hex(tag()) + " (plugin ABI " + std::to_string(version()) + ", " + build() + ")";
    dlclose(h);
    return Status::Incompatible("plugin '" + path + "' was built with Sleet ABI tag " + theirs +
                                ", this Sleet has ABI tag " + ours +
                                ": the layouts of the types they share differ" + way_out);
  }
  registry.impl_->origin = path;
  reg(registry);
  registry.impl_->origin.clear();
  return Status::Ok();
}

}  // namespace sleet
