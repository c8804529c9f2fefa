#include "runtime/barrier_aligner.hpp"

#include <algorithm>
#include <cassert>
#include <string>

namespace sleet {

namespace {

using S = BarrierAligner::State;

constexpr Transition<S> kTransitions[] = {
    {S::idle, S::aligning, "barrier n on one of several live inputs"},
    {S::aligning, S::idle,
     "barrier n on the last input without it, or an end leaves only inputs with it"},
    {S::aligning, S::aligning, "barrier m > n: checkpoint n is abandoned"},
    {S::aligning, S::idle, "every input ended: checkpoint n is abandoned"},
};

}  // namespace

const char* BarrierAligner::name(State s) {
  switch (s) {
    case State::idle:
      return "idle";
    case State::aligning:
      return "aligning";
  }
  return "?";
}

const char* BarrierAligner::name(Action a) {
  switch (a) {
    case Action::none:
      return "none";
    case Action::block:
      return "block";
    case Action::complete:
      return "complete";
  }
  return "?";
}

std::span<const Transition<BarrierAligner::State>> BarrierAligner::transitions() {
  return kTransitions;
}

BarrierAligner::BarrierAligner(size_t inputs, CheckpointId last_completed, std::string_view owner)
    : sm_(owner, State::idle, kTransitions, &BarrierAligner::name),
      got_(inputs, false),
      ended_(inputs, false),
      live_(inputs),
      last_completed_(last_completed) {}

void BarrierAligner::transition(State to, const char* why) {
  // Every call site follows the table above, so a refusal is a bug here: the state machine logs
  // it, and the assertion stops a debug build.
  [[maybe_unused]] Status s = sm_.transition(to, why);
  assert(s.ok());
}

std::vector<size_t> BarrierAligner::release() {
  std::vector<size_t> out;
  for (size_t i = 0; i < got_.size(); ++i)
    if (got_[i]) {
      got_[i] = false;
      out.push_back(i);
    }
  arrived_ = 0;
  return out;
}

BarrierAligner::Decision BarrierAligner::complete() {
  Decision d;
  d.action = Action::complete;
  d.checkpoint = aligning_;
  d.unblock = release();
  last_completed_ = aligning_;
  aligning_ = CheckpointId{0};
  if (sm_.state() == State::aligning) transition(State::idle, "aligned");
  return d;
}

BarrierAligner::Decision BarrierAligner::on_barrier(size_t input, CheckpointId id) {
  assert(input < got_.size());
  // After its end an input delivers nothing; a barrier up to the last completed checkpoint, or
  // older than the one aligning, belongs to a checkpoint this task finished or gave up.
  if (ended_[input] || id <= last_completed_) return {};
  if (sm_.state() == State::aligning && id < aligning_) return {};
  Decision d;
  if (sm_.state() == State::aligning && id > aligning_) {
    d.abandoned = aligning_;
    d.unblock = release();
    transition(State::aligning, "a newer barrier overtook the one aligning");
  }
  aligning_ = id;
  if (!got_[input]) {
    got_[input] = true;
    ++arrived_;
  }
  if (arrived_ == live_) {
    // The input the barrier came on was never blocked: keep it out of the list.
    got_[input] = false;
    Decision c = complete();
    c.abandoned = d.abandoned;
    c.unblock.insert(c.unblock.end(), d.unblock.begin(), d.unblock.end());
    std::sort(c.unblock.begin(), c.unblock.end());
    return c;
  }
  if (sm_.state() == State::idle) transition(State::aligning, "first barrier of the checkpoint");
  d.action = Action::block;
  d.checkpoint = aligning_;
  return d;
}

BarrierAligner::Decision BarrierAligner::on_end(size_t input) {
  assert(input < got_.size());
  if (ended_[input]) return {};
  ended_[input] = true;
  --live_;
  if (got_[input]) {
    got_[input] = false;
    --arrived_;
  }
  if (sm_.state() == State::idle) return {};
  if (live_ == 0) {
    Decision d;
    d.abandoned = aligning_;
    d.unblock = release();
    aligning_ = CheckpointId{0};
    transition(State::idle, "every input ended");
    return d;
  }
  if (arrived_ == live_) return complete();
  return {};
}

}  // namespace sleet
