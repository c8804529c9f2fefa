// Precompiled once for sleet_test_support and reused by every test executable (sleet_test in
// tests/CMakeLists.txt): GoogleTest, the standard headers the tests include most, Boost.Fiber and
// the public <sleet/...> headers. No header of a Sleet folder or of tests/support: a change to
// one of those would rebuild every test. SLEET_PCH=OFF builds without this file.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/fiber/all.hpp>

#include <sleet/registry.hpp>
#include <sleet/this_task.hpp>
#include <sleet/topology.hpp>
