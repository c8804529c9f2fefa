// The plugin ABI tag (include/sleet/registry.hpp): derived from the layouts plugins see, compiled
// into libsleet and into each plugin, and compared by load_plugin.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <sleet/registry.hpp>

namespace sleet {
namespace {

std::string hex(uint64_t v) {
  char buf[19];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The golden tag for the supported toolchain (Debian 12 x86_64: GCC 12's libstdc++, Boost 1.74).
// When this fails, a layout plugins see changed (a member added, moved or retyped in Context,
// Tuple, Values, Args, ArgSpec, SourcePosition, ComponentDescriptor, ... or kPluginAbiVersion was
// bumped): plugins built before the change are now refused, which is right. Make the change
// consciously: update kGoldenTag to the value printed below and say in the release notes that
// plugins must be rebuilt. If the layout change is NOT visible here (say, a new public type), add
// it to abi::layout_hash() first.
// ABI version 6: time and named streams (Tuple timestamp and TupleSource, Context::timers,
// StreamDecl, output_streams, emit(stream, ...), emit_at, on_timer, watermark, on_watermark) and
// asynchronous incremental state (Component::keyed_states).
constexpr uint64_t kGoldenTag = 0x81ee80b6d187d876ull;

TEST(PluginAbi, TagMatchesTheGoldenValueForThisToolchain) {
#if defined(__x86_64__) && defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE == 12 && \
    __GLIBCXX__ == 20220819 && _GLIBCXX_USE_CXX11_ABI == 1 && BOOST_VERSION == 107400
  EXPECT_EQ(hex(kPluginAbiTag), hex(kGoldenTag))
      << "the plugin ABI tag changed: a layout plugins see changed; update kGoldenTag in "
         "tests/core/plugin_abi_test.cpp to 0x"
      << hex(kPluginAbiTag) << "ull consciously (see the comment above it)";
#else
  GTEST_SKIP() << "golden tag recorded for Debian 12 x86_64 only; this toolchain: "
               << abi::kAbiBuild << ", tag " << hex(kPluginAbiTag);
#endif
}

TEST(PluginAbi, LibsleetWasBuiltWithTheseHeaders) {
  EXPECT_EQ(hex(plugin_abi_tag()), hex(kPluginAbiTag));
  EXPECT_STREQ(plugin_abi_build(), abi::kAbiBuild);
  EXPECT_NE(std::string(abi::kAbiBuild).find("Boost 1"), std::string::npos) << abi::kAbiBuild;
}

TEST(PluginAbi, EachFactChangesTheTag) {
  const uint64_t h = 1469598103934665603ull;
  EXPECT_NE(abi::mix(h, 1), abi::mix(h, 2));
  EXPECT_NE(abi::mix(abi::mix(h, 1), 2), abi::mix(abi::mix(h, 2), 1));  // order matters
  EXPECT_NE(abi::mix(h, 0), h);                                         // so does a zero
  EXPECT_NE(abi::mix(h, 1ull << 40), abi::mix(h, 1ull << 41));          // every byte counts
}

TEST(PluginAbi, APluginBuiltWithTheseHeadersLoads) {
  Registry r;
  Status s = load_plugin(ABI_GOOD_PLUGIN, r);
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_FALSE(r.list().empty());
  for (auto* d : r.list()) EXPECT_EQ(d->origin, ABI_GOOD_PLUGIN);
}

TEST(PluginAbi, AnotherStringLayoutIsRefusedNamingBothTagsAndTheWayOut) {
  Registry r;
  Status s = load_plugin(ABI_OTHER_LAYOUT_PLUGIN, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::incompatible);
  const std::string m = s.message();
  EXPECT_NE(m.find(std::string("plugin '") + ABI_OTHER_LAYOUT_PLUGIN + "'"), std::string::npos)
      << m;
  EXPECT_NE(m.find("this Sleet has ABI tag " + hex(plugin_abi_tag())), std::string::npos) << m;
  EXPECT_NE(m.find("cxx11 abi 0"), std::string::npos) << m;  // the plugin's toolchain
  EXPECT_NE(m.find("cxx11 abi 1"), std::string::npos) << m;  // ours
  EXPECT_NE(m.find("rebuild the plugin against this Sleet"), std::string::npos) << m;
  EXPECT_TRUE(r.list().empty());
}

TEST(PluginAbi, APluginFromBeforeTheTagIsRefused) {
  Registry r;
  Status s = load_plugin(ABI_OLD_PLUGIN, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::incompatible);
  EXPECT_NE(s.message().find("built against Sleet plugin ABI 3, this Sleet has ABI " +
                             std::to_string(kPluginAbiVersion) + "; rebuild the plugin"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("has no ABI tag; this Sleet's is " + hex(plugin_abi_tag())),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("rebuild the plugin against this Sleet"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace sleet
