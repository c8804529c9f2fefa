# Package export: lets a user's own project build a plugin with
#   find_package(Sleet REQUIRED)                    # Sleet_DIR = a build tree or <prefix>/lib/cmake/Sleet
#   add_library(my_plugin MODULE my_bolts.cpp)
#   target_link_libraries(my_plugin PRIVATE Sleet::sleet)
# against either this build tree (export()) or an install (install(EXPORT)); see
# examples/plugin/README.md. Included at the end of the top-level CMakeLists.txt.
#
# What a plugin sees (Sleet::sleet): libsleet, the public include root (include/, <sleet/...>),
# THREADED, C++20, and the third-party headers include/sleet/*.hpp use: cereal, Boost.Container
# (Values) and Boost.Fiber's future (this_task::run_blocking), all from Debian's -dev packages;
# the Boost.Fiber symbols resolve through libsleet at load time.
# None of sleet_deps (rdkafka, Boost.Fiber, spdlog, yaml-cpp, ZooKeeper, the source root include
# path, warning flags) leaks out: the top-level CMakeLists links sleet_deps as
# $<BUILD_INTERFACE:$<$<TARGET_EXISTS:sleet_deps>:sleet_deps>>, which in-tree consumers (the CLI,
# tests, benches, examples) resolve to sleet_deps, while in another project no sleet_deps target
# exists, so it resolves to nothing, and an install drops it altogether.
# Also exported: the CLI as Sleet::cli (e.g. add_test(COMMAND Sleet::cli validate my.yaml)).
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

find_package(cereal CONFIG REQUIRED)  # libcereal-dev: cereal::cereal (header-only)

target_include_directories(sleet INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_definitions(sleet INTERFACE THREADED)
target_compile_features(sleet INTERFACE cxx_std_20)
target_link_libraries(sleet INTERFACE cereal::cereal)
set_target_properties(sleet_cli PROPERTIES EXPORT_NAME cli
  INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")

set(SLEET_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Sleet)
# 0.x: a minor version may change the plugin ABI (load_plugin checks the plugin ABI tag anyway).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SleetConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
configure_file(${CMAKE_CURRENT_LIST_DIR}/SleetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SleetConfig.cmake @ONLY)

# Build tree: -DSleet_DIR=<this build dir>.
export(TARGETS sleet sleet_cli NAMESPACE Sleet:: FILE ${PROJECT_BINARY_DIR}/SleetTargets.cmake)

# Install: cmake --install <build> --prefix <prefix>; then -DCMAKE_PREFIX_PATH=<prefix>.
install(TARGETS sleet sleet_cli EXPORT SleetTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/sleet
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT SleetTargets NAMESPACE Sleet:: DESTINATION ${SLEET_CMAKE_INSTALL_DIR})
install(FILES ${PROJECT_BINARY_DIR}/SleetConfig.cmake ${PROJECT_BINARY_DIR}/SleetConfigVersion.cmake
  DESTINATION ${SLEET_CMAKE_INSTALL_DIR})
