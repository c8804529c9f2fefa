#include "coordination/election.hpp"

#include <spdlog/spdlog.h>
#include <boost/fiber/operations.hpp>

#include <algorithm>
#include <random>

namespace sleet::zk {

using Clock = std::chrono::steady_clock;

namespace {
constexpr const char* kSeqMark = "-n_";

std::string random_token() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

bool has_token(const std::string& name, const std::string& token) {
  return name.rfind("c_" + token + kSeqMark, 0) == 0;
}
}  // namespace

Election::Election(Client& client, std::string dir, std::string owner)
    : client_(client), dir_(std::move(dir)), owner_(std::move(owner)), token_(random_token()) {}

int64_t Election::sequence_of(const std::string& name) {
  size_t at = name.rfind(kSeqMark);
  if (at == std::string::npos) return -1;
  std::string digits = name.substr(at + 3);
  if (digits.empty() || digits.size() > 10) return -1;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::vector<std::string> Election::sorted_candidates(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names)
    if (sequence_of(n) >= 0) out.push_back(n);
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    int64_t sa = sequence_of(a), sb = sequence_of(b);
    return sa != sb ? sa < sb : a < b;
  });
  return out;
}

bool Election::is_leader() const {
  return leader_ && epoch_ == client_.session_epoch() && !client_.session_expired();
}

Result<bool> Election::check() {
  if (!dir_ready_) {
    SLEET_RETURN_IF_ERROR(client_.ensure_path(dir_));
    dir_ready_ = true;
  }
  leader_ = false;
  // A few rounds: a create with an unknown outcome, or a predecessor that left while we looked,
  // each cost one more listing.
  for (int round = 0; round < 8; ++round) {
    auto kids = client_.children(dir_);
    if (!kids.ok()) return kids.status();
    // Read after the reply: the listing ran on a connected, unexpired session, the one whose
    // number session_epoch() shows by then.
    uint64_t epoch = client_.session_epoch();
    auto candidates = sorted_candidates(*kids);
    std::vector<std::string> mine;
    for (const auto& c : candidates)
      if (has_token(c, token_)) mine.push_back(c);
    if (mine.empty()) {
      // Never created, or gone with an expired session (or deleted by someone): enter (again).
      if (!node_.empty())
        spdlog::info("election {}: candidate {} of '{}' is gone; entering again", dir_, node_,
                     owner_);
      node_.clear();
      auto created = client_.create_node(dir_ + "/c_" + token_ + kSeqMark, owner_,
                                         CreateMode::ephemeral_sequential);
      if (!created.ok() && created.status().code() != Code::unavailable) return created.status();
      // Created or unknown: the next listing tells (a lost reply's node carries our token).
      if (!created.ok()) boost::this_fiber::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    // Ours, possibly more than one (a lost reply and a retry): keep the lowest.
    for (size_t i = 1; i < mine.size(); ++i) {
      Status st = client_.remove(dir_ + "/" + mine[i]);
      if (!st.ok() && st.code() != Code::not_found) return st;
    }
    node_ = mine.front();
    epoch_ = epoch;
    auto at = std::find(candidates.begin(), candidates.end(), node_);
    if (at == candidates.begin()) {
      // Leading: watch the own node, so wait_while_leader() learns of its loss. A watch still
      // armed on it is kept (re-arming on every check would pile up watches on the server).
      if (!(own_.armed() && !own_.fired() && own_for_ == node_)) {
        auto own = client_.get(dir_ + "/" + node_, own_);
        if (own.status().code() == Code::not_found) continue;
        if (!own.ok()) return own.status();
        own_for_ = node_;
      }
      leader_ = epoch_ == client_.session_epoch();
      if (!leader_) continue;
      return true;
    }
    // Watch only the predecessor. A get watch (not exists): a predecessor already gone arms
    // nothing and we look again. A watch still armed on the same predecessor is kept.
    const std::string& before = *(at - 1);
    if (!(predecessor_.armed() && !predecessor_.fired() && predecessor_for_ == before)) {
      auto pred = client_.get(dir_ + "/" + before, predecessor_);
      if (pred.status().code() == Code::not_found) continue;
      if (!pred.ok()) return pred.status();
      predecessor_for_ = before;
    }
    return false;
  }
  return Status::Unavailable("election " + dir_ + ": candidate '" + owner_ +
                             "' could not settle its place (candidates kept changing)");
}

Status Election::wait_for_leadership(Clock::time_point until) {
  while (true) {
    auto r = check();
    if (r.ok() && *r) return Status::Ok();
    if (!r.ok() && r.status().code() != Code::unavailable) return r.status();
    if (Clock::now() >= until) break;
    if (!r.ok()) {
      // ZooKeeper unreachable for a whole request timeout: try again, within the deadline.
      continue;
    }
    auto ev = predecessor_.wait_until(until);
    if (ev.ok()) {
      ++wakeups_;
      continue;
    }
    if (ev.status().code() == Code::timeout) break;
    // The session was lost: the next check() enters again.
  }
  return Status::Timeout("election " + dir_ + ": '" + owner_ + "' (candidate " +
                         (node_.empty() ? "none" : node_) + ") is not the leader by the deadline");
}

Status Election::wait_while_leader(Clock::time_point until) {
  if (!is_leader())
    return Status::Invalid("election " + dir_ + ": '" + owner_ + "' is not the leader");
  while (true) {
    auto ev = own_.wait_until(until);
    if (!ev.ok() && ev.status().code() == Code::timeout) return ev.status();
    if (ev.ok() && ev->type == WatchEvent::Type::changed) {
      // Someone rewrote our data: still ours; watch again.
      auto again = client_.get(dir_ + "/" + node_, own_);
      if (again.ok()) continue;
    }
    leader_ = false;
    return Status::Ok();
  }
}

Status Election::resign() {
  leader_ = false;
  if (node_.empty()) return Status::Ok();
  Status st = client_.remove(dir_ + "/" + node_);
  node_.clear();
  return st.code() == Code::not_found ? Status::Ok() : st;
}

Result<std::string> Election::leader() {
  auto kids = client_.children(dir_);
  if (!kids.ok()) return kids.status();
  for (const auto& c : sorted_candidates(*kids)) {
    auto d = client_.get(dir_ + "/" + c);
    if (d.status().code() == Code::not_found) continue;  // left while we read
    return d;
  }
  return Status::NotFound("election " + dir_ + ": no candidate");
}

}  // namespace sleet::zk
