// A SideEffectGate (include/sleet/component.hpp) that a test opens and closes by hand, and that
// records every side effect it was asked about: the stand-in for the worker's lease
// (cluster/lease.hpp) in sink and snapshot tests. Thread-safe (tasks ask from their fibers).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <sleet/component.hpp>

namespace sleet::test {

class SwitchGate : public SideEffectGate {
 public:
  // Refuses from now on, with "side effects suspended: <why>; refused: <what>" (unavailable).
  void close(std::string why = "test lease closed") {
    std::lock_guard lk(mu_);
    closed_ = std::move(why);
  }
  // Refuses only the side effects whose description contains `part` (one step of a protocol).
  void close_when(std::string part, std::string why = "test lease closed") {
    std::lock_guard lk(mu_);
    closed_ = std::move(why);
    only_ = std::move(part);
  }
  void open() {
    std::lock_guard lk(mu_);
    closed_.clear();
    only_.clear();
  }
  Status allow(std::string_view what) const override {
    std::lock_guard lk(mu_);
    asked_.emplace_back(what);
    if (closed_.empty()) return Status::Ok();
    if (!only_.empty() && what.find(only_) == std::string_view::npos) return Status::Ok();
    ++refused_;
    return Status::Unavailable("side effects suspended: " + closed_ +
                               "; refused: " + std::string(what));
  }
  std::vector<std::string> asked() const {
    std::lock_guard lk(mu_);
    return asked_;
  }
  int refused() const {
    std::lock_guard lk(mu_);
    return refused_;
  }

 private:
  mutable std::mutex mu_;
  std::string closed_;  // empty: open
  std::string only_;    // non-empty: refuse only what contains it
  mutable std::vector<std::string> asked_;
  mutable int refused_ = 0;
};

}  // namespace sleet::test
