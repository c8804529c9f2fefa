// Helpers for runtime tests that run an Engine in the test process (no Kafka, no ZooKeeper): the
// built-ins' registry, engine creation, checkpoints driven by a CollectingListener, and the two
// test components several engine tests register (Recorder, CountAll).
//
// Threading: Recorder's execute runs on engine threads (it locks Seen::mu); everything else is
// for the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/fiber/fiber.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/engine.hpp"
#include "tests/support/support.hpp"

namespace sleet::test {

// A registry holding every component of the global one (the built-ins), for a test to add its
// own to.
Registry builtin_registry();

// Engine::create; when it fails, a test failure with the reason and a std::runtime_error (which
// ends the test). Never nullptr.
std::unique_ptr<Engine> make_engine(const TopologySpec& spec, const Registry& reg, EngineOptions o);

// Options for a test that plays the coordinator: 2 engine threads, every task snapshot handed to
// `listener`, state blobs written into it (the rest default; set more on the result).
EngineOptions collecting_options(CollectingListener& listener);

// Triggers checkpoints 1..n one after the other, each awaited (20 s) until every task of `e`
// reported it to `listener`.
::testing::AssertionResult run_checkpoints(Engine& e, CollectingListener& listener, int64_t n);

// Which task saw which value, shared by all tasks of all Recorders of a test (g_seen points at
// the test's own).
struct Seen {
  std::mutex mu;
  std::vector<std::pair<int, int64_t>> items;  // (task, n)
  // The OS thread each item was executed on (parallel to items), and the threads the producing
  // spout ran next_batch on (filled by a test's own spout): tasks are fibers pinned to one engine
  // thread (Engine::start), so this shows which tasks local_or_shuffle treated as local.
  std::vector<std::thread::id> threads;
  std::set<std::thread::id> producer_threads;
  // The same for fibers: a chained bolt (EngineOptions::chaining) runs in its producer's fiber.
  std::vector<boost::fibers::fiber::id> fibers;
  std::set<boost::fibers::fiber::id> producer_fibers;
  size_t size() {
    std::lock_guard lk(mu);
    return items.size();
  }
};
inline Seen* g_seen = nullptr;

// Notes (task, field "n"), thread and fiber of every tuple in *g_seen.
class Recorder : public Bolt {
 public:
  explicit Recorder(const Args&) {}
  Status open(Context& ctx) override;
  void execute(const Tuple& t, Collector&) override;
  int task_ = 0;
};

// Counts tuples; stateful, so its count is in every checkpoint.
class CountAll : public Bolt {
 public:
  explicit CountAll(const Args&) {}
  void execute(const Tuple&, Collector&) override { ++count_; }
  bool stateful() const override { return true; }
  void snapshot_state(StateWriter& w) const override { w(count_); }
  Status restore_state(StateReader& r, uint32_t) override {
    r(count_);
    return Status::Ok();
  }
  int64_t count_ = 0;
};

}  // namespace sleet::test
