// Barrier alignment of one task with several input channels (Flink's aligned barriers, DESIGN.md
// exactly-once step 3), as a pure class: the task tells it what arrived on which input (a barrier,
// the end of the stream) and it answers with a decision the task carries out (block that input,
// or snapshot and forward a checkpoint, and which inputs to read again). No fibers, no channels,
// no clock: the decision table is in runtime/README.md and tests/runtime/barrier_aligner_test.cpp
// checks it row by row.
//
// Threading: not synchronized; one owner (the task's fiber in Task::run_bolt). A transport that
// feeds the task's inbox never calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <sleet/ids.hpp>

#include "core/state_machine.hpp"

namespace sleet {

class BarrierAligner {
 public:
  enum class State : uint8_t { idle, aligning };
  static const char* name(State s);
  // idle <-> aligning; aligning -> aligning when a newer checkpoint abandons the one in progress.
  static std::span<const Transition<State>> transitions();

  enum class Action : uint8_t {
    none,      // nothing to do (a stale barrier, an end that completes nothing)
    block,     // stop reading `input` (the one the barrier came on) until a later decision
    complete,  // `checkpoint` is aligned: snapshot, forward the barrier, then unblock `unblock`
  };
  static const char* name(Action a);

  struct Decision {
    Action action = Action::none;
    CheckpointId checkpoint{0};  // block: the checkpoint being aligned; complete: the one aligned
    // Non-zero: the alignment of this checkpoint was given up (a newer barrier overtook it, or
    // every input ended before it aligned). The task never snapshots it; the coordinator times
    // it out or has already moved on.
    CheckpointId abandoned{0};
    // Inputs to read again, in increasing order. For complete, after the snapshot and forward.
    std::vector<size_t> unblock;
    bool operator==(const Decision&) const = default;
  };

  // `last_completed`: the checkpoint the task restored from; barriers up to it are stale.
  // `owner` names the task in the state machine's log lines.
  explicit BarrierAligner(size_t inputs, CheckpointId last_completed = CheckpointId{0},
                          std::string_view owner = "barrier aligner");

  // Barrier `id` was read from `input`.
  [[nodiscard]] Decision on_barrier(size_t input, CheckpointId id);
  // The end of the stream was read from `input`: it no longer takes part in any alignment.
  [[nodiscard]] Decision on_end(size_t input);

  size_t inputs() const { return got_.size(); }
  // Inputs whose stream has not ended; the task reads until this is 0.
  size_t live() const { return live_; }
  bool ended(size_t input) const { return ended_[input]; }
  // The aligner asked the task to stop reading `input` and has not released it yet.
  bool blocked(size_t input) const { return got_[input]; }
  State state() const { return sm_.state(); }
  // The checkpoint being aligned (0 when idle).
  CheckpointId aligning() const { return aligning_; }
  CheckpointId last_completed() const { return last_completed_; }

 private:
  // Every input this alignment blocked, released (returned for the decision).
  std::vector<size_t> release();
  Decision complete();
  void transition(State to, const char* why);

  StateMachine<State> sm_;
  std::vector<bool> got_;  // barrier `aligning_` arrived on this input (it is blocked)
  std::vector<bool> ended_;
  size_t live_ = 0;
  size_t arrived_ = 0;  // count of got_
  CheckpointId aligning_{0};
  CheckpointId last_completed_{0};
};

}  // namespace sleet
