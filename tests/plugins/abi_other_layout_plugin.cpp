// Built with -D_GLIBCXX_USE_CXX11_ABI=0 (tests/core/CMakeLists.txt): std::string has another
// layout, so Context, Args and the descriptors do too. A real layout difference, not a forged
// tag: plugin_abi_test expects load_plugin to refuse it before calling its register function.
#include <sleet/registry.hpp>

SLEET_PLUGIN(registry) {
  (void)registry;
  __builtin_trap();  // never called: the loader refuses the plugin first
}
