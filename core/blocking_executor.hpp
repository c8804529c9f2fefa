// Runs blocking work (file writes with fsync, file reads) on a few dedicated OS threads, so a task
// fiber that needs it suspends only itself instead of stalling every fiber of its worker thread.
// run() waits on a boost::fibers::future: it suspends the calling fiber, or blocks a plain thread.
//
// Threading: run() may be called from any thread or fiber. The destructor finishes queued work and
// joins the threads; no run() may be in progress then.
#pragma once

#include <boost/fiber/future.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace sleet {

class BlockingExecutor {
 public:
  explicit BlockingExecutor(size_t threads = 2) : threads_(threads == 0 ? 1 : threads) {}
  ~BlockingExecutor() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // Runs f() on an executor thread and returns its result. f must not throw.
  template <class F>
  auto run(F&& f) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    // The promise lives in the job; the job lives until it ran, whatever the caller does.
    auto promise = std::make_shared<boost::fibers::promise<R>>();
    auto future = promise->get_future();
    post([promise, fn = std::forward<F>(f)]() mutable { promise->set_value(fn()); });
    return future.get();
  }

 private:
  void post(std::function<void()> job) {
    {
      std::lock_guard lk(mu_);
      // Threads start on first use: a store that only writes inline blobs never has any.
      if (workers_.empty())
        for (size_t i = 0; i < threads_; ++i) workers_.emplace_back([this] { loop(); });
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  void loop() {
    std::unique_lock lk(mu_);
    while (true) {
      cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stop_ and drained
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lk.unlock();
      job();
      lk.lock();
    }
  }

  size_t threads_;
  std::mutex mu_;  // guards jobs_, stop_, workers_ (creation); never held while a job runs
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

}  // namespace sleet
