// Explicit state machines whose transitions are validated by one function (librdkafka's
// rd_kafka_broker_set_state, Heron's checkpoint gateway): each machine has an enum of states, a
// table of allowed (from, to) pairs, and changes state only through transition(), which refuses a
// pair the table lacks and logs one line per transition. The tables are data, so the tests check
// them exhaustively and docs/architecture.md prints them.
//
// Usage:
//   enum class S { idle, collecting, committing };
//   constexpr const char* name(S s) { ... }
//   constexpr Transition<S> kAllowed[] = {{S::idle, S::collecting, "interval"}, ...};
//   StateMachine<S> sm("coordinator", S::idle, kAllowed, name);
//   SLEET_RETURN_IF_ERROR(sm.transition(S::collecting, "checkpoint 7"));
//
// Threading: not synchronized. Each machine has one owner (a thread, a fiber, or a lock that its
// owner names next to the member); state() may be read by that owner only.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include <sleet/status.hpp>

namespace sleet {

template <class State>
struct Transition {
  State from;
  State to;
  // The event that takes this edge, for the docs and the log ("all acks", "timeout").
  const char* on = "";
};

template <class State>
class StateMachine {
 public:
  using NameFn = const char* (*)(State);

  // `allowed` must outlive the machine (a constexpr table at namespace scope). Transitions log at
  // `level` (debug for machines that cycle every checkpoint, info for rare lifecycle changes).
  StateMachine(std::string_view machine, State initial, std::span<const Transition<State>> allowed,
               NameFn name, spdlog::level::level_enum level = spdlog::level::debug)
      : machine_(machine), state_(initial), allowed_(allowed), name_(name), level_(level) {}

  State state() const { return state_; }
  const char* state_name() const { return name_(state_); }

  static bool allowed(std::span<const Transition<State>> table, State from, State to) {
    for (const auto& t : table)
      if (t.from == from && t.to == to) return true;
    return false;
  }
  bool allowed(State to) const { return allowed(allowed_, state_, to); }

  // The one way to change state. A pair outside the table is a bug in the caller: the state stays,
  // and the error names the machine, both states and why the caller tried.
  [[nodiscard]] Status transition(State to, std::string_view why = {}) {
    if (!allowed(to)) {
      std::string msg = machine_ + ": illegal transition " + name_(state_) + " -> " + name_(to);
      if (!why.empty()) msg += " (" + std::string(why) + ")";
      spdlog::error("{}", msg);
      return Status::Internal(std::move(msg));
    }
    if (why.empty())
      spdlog::log(level_, "{}: {} -> {}", machine_, name_(state_), name_(to));
    else
      spdlog::log(level_, "{}: {} -> {} ({})", machine_, name_(state_), name_(to), why);
    state_ = to;
    return Status::Ok();
  }

 private:
  std::string machine_;
  State state_;
  std::span<const Transition<State>> allowed_;
  NameFn name_;
  spdlog::level::level_enum level_;
};

}  // namespace sleet
