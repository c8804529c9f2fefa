// A plugin as Sleet before the derived ABI tag built it (plugin ABI 3): it exports the version and
// the register function only. plugin_abi_test loads it and expects a refusal naming the way out.
#include <cstdint>

namespace sleet {
class Registry;
}

extern "C" __attribute__((visibility("default"))) uint32_t sleet_plugin_abi_version() {
  return 3;
}
extern "C" __attribute__((visibility("default"))) void sleet_plugin_register(sleet::Registry&) {}
