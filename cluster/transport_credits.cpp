#include "cluster/transport_credits.hpp"

#include <string>

namespace sleet::cluster {

Status SendCredits::grant(size_t n) {
  if (n > capacity_ - available_)
    return Status::Corruption("credit protocol violation: the receiver returned " +
                              std::to_string(n) + " credits with only " +
                              std::to_string(capacity_ - available_) + " spent (capacity " +
                              std::to_string(capacity_) + ")");
  available_ += n;
  return Status::Ok();
}

Status ReceiveCredits::received() {
  if (outstanding_ >= capacity_)
    return Status::Corruption("credit protocol violation: a message arrived with " +
                              std::to_string(outstanding_) + " already outstanding (capacity " +
                              std::to_string(capacity_) + "): the sender had no credit");
  ++outstanding_;
  return Status::Ok();
}

void ReceiveCredits::popped() {
  // A pop without a matching receive would be an engine bug; never give back more than came in.
  if (pending_ < outstanding_) ++pending_;
}

uint32_t ReceiveCredits::take() {
  uint32_t n = static_cast<uint32_t>(pending_);
  outstanding_ -= pending_;
  pending_ = 0;
  return n;
}

}  // namespace sleet::cluster
