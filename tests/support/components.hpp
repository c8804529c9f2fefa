// Components made straight from the global registry, for tests that drive a spout or bolt by hand
// (no runtime). Any thread.
#pragma once

#include <sleet/registry.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace sleet::test {

// A `cls` made with `args`, as a T (Spout, Bolt, or the concrete class). Throws
// std::runtime_error (tests want a failure, not a Status to check) when the class refuses the
// args, or when what it makes is not a T.
template <class T>
std::unique_ptr<T> create_component(const std::string& cls, const Args& args) {
  auto c = Registry::global().create(cls, args);
  if (!c.ok()) throw std::runtime_error(c.status().to_string());
  auto* p = dynamic_cast<T*>(c->get());
  if (!p) throw std::runtime_error(cls + " is not of the type the test asked for");
  (void)c->release();
  return std::unique_ptr<T>(p);
}

}  // namespace sleet::test
