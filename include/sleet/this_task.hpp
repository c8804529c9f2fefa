// Waiting without blocking the OS thread. Components run as fibers that share a few threads; these
// helpers suspend only the calling fiber. Call them only from a task's fiber (or any thread that
// runs Boost.Fiber, e.g. a plain thread, where they fall back to blocking that thread).
#pragma once

#include <boost/fiber/future.hpp>

#include <chrono>
#include <thread>
#include <type_traits>
#include <utility>

namespace sleet::this_task {

void yield();
void sleep_for(std::chrono::microseconds d);

// Runs f() on a fresh helper OS thread and suspends only the calling fiber until it returns; its
// result, or the exception it threw, comes back here. For the occasional blocking call from
// execute() or next_batch() (a synchronous client library, a large file read): the other tasks on
// this worker thread keep running meanwhile. Costs a thread start (tens of microseconds): not for
// every tuple. f must not emit or touch the component's Collector. A thread per call, not the
// bounded BlockingExecutor pool of checkpointing/: calls may block for long (a Kafka metadata query
// waiting out a broker outage), and in a shared pool one of them would hold up another task's
// fsync.
template <class F>
auto run_blocking(F&& f) -> std::invoke_result_t<std::decay_t<F>&> {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  boost::fibers::packaged_task<R()> task(std::forward<F>(f));
  auto result = task.get_future();
  std::thread helper(std::move(task));
  result.wait();  // suspends the fiber; the helper fulfils the shared state from its own thread
  helper.join();  // already returning: joins at once
  return result.get();
}

}  // namespace sleet::this_task
