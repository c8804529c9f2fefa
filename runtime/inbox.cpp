#include "runtime/inbox.hpp"

#include <cassert>
#include <mutex>

namespace sleet {

Inbox::Inbox(size_t inputs, size_t capacity_per_input)
    : queues_(inputs),
      blocked_(inputs, false),
      listeners_(inputs, nullptr),
      capacity_(capacity_per_input) {
  assert(capacity_ > 0);
}

bool Inbox::push(size_t input, Message&& m, std::vector<Tuple>* spare) {
  std::unique_lock lk(mu_);
  assert(input < queues_.size());
  not_full_.wait(lk, [&] { return closed_ || queues_[input].size() < capacity_; });
  if (closed_) return false;
  queues_[input].push_back(std::move(m));
  if (spare && !spare_.empty()) {
    *spare = std::move(spare_.back());
    spare_.pop_back();
  }
  // Wake the consumer only if it could read this channel now; a blocked channel waits for
  // unblock(), which its owner calls before reading again.
  if (!blocked_[input]) not_empty_.notify_one();
  return true;
}

Inbox::PopResult Inbox::pop(size_t& input, Message& out) {
  return pop_impl(input, out, nullptr);
}

Inbox::PopResult Inbox::pop_until(size_t& input, Message& out,
                                  std::chrono::steady_clock::time_point deadline) {
  return pop_impl(input, out, &deadline);
}

Inbox::PopResult Inbox::pop_impl(size_t& input, Message& out,
                                 const std::chrono::steady_clock::time_point* deadline) {
  out.tuples.clear();  // the tuples' destructors run outside the lock
  std::unique_lock lk(mu_);
  const size_t n = queues_.size();
  // Enough spares for every producer to swap one per send; beyond that, let it go.
  if (out.tuples.capacity() > 0 && spare_.size() < 2 * n + 2)
    spare_.push_back(std::move(out.tuples));
  out.tuples = {};
  while (true) {
    if (closed_) return PopResult::closed;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (next_ + k) % n;
      if (blocked_[i] || queues_[i].empty()) continue;
      bool was_full = queues_[i].size() >= capacity_;
      out = std::move(queues_[i].front());
      queues_[i].pop_front();
      input = i;
      next_ = (i + 1) % n;
      // Producers of different channels share one condition variable; notify all only when this
      // channel went from full to not full (rare under normal flow, common under back-pressure).
      if (was_full) not_full_.notify_all();
      // Told outside the lock, so the listener may take its own locks (the transport's) or look
      // at this inbox without deadlocking.
      if (PopListener* l = listeners_[i]) [[unlikely]] {
        lk.unlock();
        l->on_pop(i);
      }
      return PopResult::message;
    }
    if (poked_) {
      poked_ = false;
      return PopResult::poked;
    }
    if (!deadline)
      not_empty_.wait(lk);
    else if (not_empty_.wait_until(lk, *deadline) == boost::fibers::cv_status::timeout)
      return PopResult::timeout;
  }
}

void Inbox::block(size_t input) {
  std::lock_guard lk(mu_);
  blocked_[input] = true;
}

void Inbox::unblock(std::span<const size_t> inputs) {
  if (inputs.empty()) return;
  {
    std::lock_guard lk(mu_);
    for (size_t i : inputs) blocked_[i] = false;
  }
  // Only the owner waits on not_empty_, and it is the caller: nothing to wake.
}

void Inbox::set_pop_listener(size_t input, PopListener* listener) {
  std::lock_guard lk(mu_);
  assert(input < listeners_.size());
  listeners_[input] = listener;
}

void Inbox::poke() {
  {
    std::lock_guard lk(mu_);
    poked_ = true;
  }
  not_empty_.notify_all();
}

void Inbox::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
    for (auto& q : queues_) q.clear();
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

size_t Inbox::queued() {
  std::lock_guard lk(mu_);
  size_t s = 0;
  for (auto& q : queues_) s += q.size();
  return s;
}

}  // namespace sleet
