#include "tests/support/engine_support.hpp"

#include <gtest/gtest.h>

#include <boost/fiber/operations.hpp>

#include <stdexcept>

namespace sleet::test {

Registry builtin_registry() {
  Registry r;
  for (auto* d : Registry::global().list()) (void)r.add(*d);
  return r;
}

std::unique_ptr<Engine> make_engine(const TopologySpec& spec, const Registry& reg,
                                    EngineOptions o) {
  auto e = Engine::create(spec, reg, o);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  if (!e.ok()) throw std::runtime_error("Engine::create failed: " + e.status().to_string());
  return std::move(e).value();
}

EngineOptions collecting_options(CollectingListener& listener) {
  EngineOptions o;
  o.threads = 2;
  o.listener = &listener;
  o.snapshots = &listener;
  return o;
}

::testing::AssertionResult run_checkpoints(Engine& e, CollectingListener& listener, int64_t n) {
  const size_t tasks = e.task_count();
  for (int64_t id = 1; id <= n; ++id) {
    e.trigger_checkpoint(CheckpointId{id});
    if (!wait_until([&] { return listener.of(id).size() == tasks; }, std::chrono::seconds(20)))
      return ::testing::AssertionFailure() << "checkpoint " << id << " did not complete";
  }
  return ::testing::AssertionSuccess();
}

Status Recorder::open(Context& ctx) {
  task_ = ctx.task.value;
  return Status::Ok();
}

void Recorder::execute(const Tuple& t, Collector&) {
  std::lock_guard lk(g_seen->mu);
  g_seen->items.emplace_back(task_, t.get_int("n"));
  g_seen->threads.push_back(std::this_thread::get_id());
  g_seen->fibers.push_back(boost::this_fiber::get_id());
}

}  // namespace sleet::test
