// Built-in components register themselves into Registry::global() when libsleet is loaded.
// Usage at namespace scope in the component's .cpp:
//   SLEET_BUILTIN(sleet::describe<FileSink>("FileSink", "help", {...}));
#pragma once

#include <sleet/registry.hpp>

#define SLEET_BUILTIN_CAT2(a, b) a##b
#define SLEET_BUILTIN_CAT(a, b) SLEET_BUILTIN_CAT2(a, b)
#define SLEET_BUILTIN(DESCRIPTOR)                                                \
  namespace {                                                                    \
  [[maybe_unused]] const bool SLEET_BUILTIN_CAT(sleet_builtin_, __LINE__) = [] { \
    (void)::sleet::Registry::global().add(DESCRIPTOR);                           \
    return true;                                                                 \
  }();                                                                           \
  }
