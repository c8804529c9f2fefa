// Inbox on its own: pop listeners (cluster mode's credit return) and close() waking a producer
// parked on a full FIFO (what Engine::abort relies on). Fibers on the test's thread only.
#include <gtest/gtest.h>

#include <boost/fiber/all.hpp>

#include "runtime/inbox.hpp"

using namespace sleet;

namespace {

Message data(int64_t n) {
  Message m;
  m.tuples.emplace_back(nullptr, Values{n});
  return m;
}

// Counts pops per input, and looks at the inbox from inside on_pop: queued() takes the inbox's
// lock, which throws (Boost.Fiber: resource_deadlock_would_occur) if on_pop ran under it.
struct CountingListener : PopListener {
  Inbox* inbox = nullptr;
  std::vector<size_t> pops = std::vector<size_t>(2, 0);
  std::vector<size_t> queued_seen;
  void on_pop(size_t input) override {
    ++pops.at(input);
    queued_seen.push_back(inbox->queued());
  }
};

}  // namespace

TEST(Inbox, PopListenerHearsOfEveryPopOutsideTheLock) {
  Inbox inbox(2, 4);
  CountingListener l;
  l.inbox = &inbox;
  inbox.set_pop_listener(0, &l);
  inbox.set_pop_listener(1, &l);
  for (int64_t n = 0; n < 3; ++n) ASSERT_TRUE(inbox.push(0, data(n)));
  for (int64_t n = 0; n < 2; ++n) ASSERT_TRUE(inbox.push(1, data(n)));
  size_t input = 0;
  Message m;
  for (int k = 0; k < 5; ++k) ASSERT_EQ(inbox.pop(input, m), Inbox::PopResult::message);
  EXPECT_EQ(l.pops, (std::vector<size_t>{3, 2}));
  // After each pop, one message fewer queued: the listener ran after the message left the FIFO.
  EXPECT_EQ(l.queued_seen, (std::vector<size_t>{4, 3, 2, 1, 0}));

  // Cleared on input 1: only input 0's pops are heard; a poke is not a pop.
  inbox.set_pop_listener(1, nullptr);
  ASSERT_TRUE(inbox.push(0, data(9)));
  ASSERT_TRUE(inbox.push(1, data(9)));
  inbox.poke();
  size_t messages = 0;
  for (int k = 0; k < 3; ++k) messages += inbox.pop(input, m) == Inbox::PopResult::message;
  EXPECT_EQ(messages, 2u);
  EXPECT_EQ(l.pops, (std::vector<size_t>{4, 2}));
}

TEST(Inbox, CloseWakesAProducerParkedOnAFullFifo) {
  Inbox inbox(1, 1);
  ASSERT_TRUE(inbox.push(0, data(1)));
  bool pushed = true, returned = false;
  boost::fibers::fiber producer([&] {
    pushed = inbox.push(0, data(2));  // full: parks until close()
    returned = true;
  });
  boost::this_fiber::yield();  // the producer runs until it parks
  ASSERT_FALSE(returned) << "the FIFO was not full";
  inbox.close();
  producer.join();
  EXPECT_TRUE(returned);
  EXPECT_FALSE(pushed) << "a push into a closed inbox reports the drop";
  size_t input = 0;
  Message m;
  EXPECT_EQ(inbox.pop(input, m), Inbox::PopResult::closed);
}
