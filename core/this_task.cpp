#include <sleet/this_task.hpp>

#include <boost/fiber/operations.hpp>

namespace sleet::this_task {

void yield() {
  boost::this_fiber::yield();
}
void sleep_for(std::chrono::microseconds d) {
  boost::this_fiber::sleep_for(d);
}

}  // namespace sleet::this_task
