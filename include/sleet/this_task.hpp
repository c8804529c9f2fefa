// Waiting without blocking the OS thread. Components run as fibers that share a few threads; these
// helpers suspend only the calling fiber. Call them only from a task's fiber (or any thread that
// runs Boost.Fiber, e.g. a plain thread, where they fall back to a thread sleep).
#pragma once

#include <chrono>

namespace sleet::this_task {

void yield();
void sleep_for(std::chrono::microseconds d);

}  // namespace sleet::this_task
