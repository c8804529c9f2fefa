#include "coordination/membership.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>

namespace sleet::zk {

using Clock = std::chrono::steady_clock;

std::string encode_worker_info(const WorkerInfo& w) {
  return "address=" + w.address + "\nslots=" + std::to_string(w.slots) +
         "\npid=" + std::to_string(w.pid) + "\nhost=" + w.host + "\n" +
         (w.metrics.empty() ? std::string() : "metrics=" + w.metrics + "\n");
}

Result<WorkerInfo> decode_worker_info(const std::string& id, const std::string& data) {
  std::map<std::string, std::string> kv;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos)
      return Status::Corruption("worker '" + id + "': bad line '" + line + "' in its znode");
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto field = [&](const char* k) -> Result<std::string> {
    auto it = kv.find(k);
    if (it == kv.end())
      return Status::Corruption("worker '" + id + "': its znode has no '" + k + "'");
    return it->second;
  };
  auto number = [&](const char* k, int64_t& out) -> Status {
    auto v = field(k);
    if (!v.ok()) return v.status();
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size())
      return Status::Corruption("worker '" + id + "': '" + k + "' is not a number: '" + *v + "'");
    return Status::Ok();
  };
  WorkerInfo w;
  w.id = id;
  auto a = field("address");
  if (!a.ok()) return a.status();
  w.address = *a;
  auto h = field("host");
  if (!h.ok()) return h.status();
  w.host = *h;
  if (auto m = kv.find("metrics"); m != kv.end()) w.metrics = m->second;
  int64_t slots = 0;
  SLEET_RETURN_IF_ERROR(number("slots", slots));
  SLEET_RETURN_IF_ERROR(number("pid", w.pid));
  if (slots < 0 || slots > 1'000'000)
    return Status::Corruption("worker '" + id + "': slots " + std::to_string(slots));
  w.slots = static_cast<int>(slots);
  return w;
}

Membership::Membership(Client& client, std::string dir, WorkerInfo self)
    : client_(client), dir_(std::move(dir)), self_(std::move(self)) {}

bool Membership::joined() const {
  return joined_epoch_ != 0 && joined_epoch_ == client_.session_epoch() &&
         !client_.session_expired();
}

Status Membership::join() {
  if (self_.id.empty() || self_.id.find('/') != std::string::npos || self_.id == "." ||
      self_.id == "..")
    return Status::Invalid("worker id '" + self_.id + "' cannot name a znode (no '/', not empty)");
  SLEET_RETURN_IF_ERROR(client_.ensure_path(dir_));
  want_joined_ = true;
  std::string path = node_path();
  Status st = client_.create(path, encode_worker_info(self_), /*ephemeral=*/true);
  // Read after the reply: a request runs on a connected, unexpired session, i.e. the one whose
  // number session_epoch() shows by then.
  uint64_t epoch = client_.session_epoch();
  if (st.ok()) {
    joined_epoch_ = epoch;
    return st;
  }
  if (st.code() != Code::already_exists && st.code() != Code::unavailable) return st;
  // Exists, or unknown outcome: whose is it? Ours if its owner is this session (a create whose
  // reply was lost, or a second join()).
  auto s = client_.stat(path);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return st.code() == Code::unavailable ? st : join();  // gone meanwhile
  if ((*s)->ephemeral_owner == client_.session_id()) {
    joined_epoch_ = client_.session_epoch();
    return Status::Ok();
  }
  std::string other_address;
  if (auto d = client_.get(path); d.ok())
    if (auto w = decode_worker_info(self_.id, *d); w.ok()) other_address = w->address;
  char sid[32];
  std::snprintf(sid, sizeof sid, "0x%llx", static_cast<unsigned long long>((*s)->ephemeral_owner));
  return Status(Code::already_exists,
                "worker id '" + self_.id + "' is already live in ZooKeeper session " + sid +
                    (other_address.empty() ? "" : " (address " + other_address + ")") + " at " +
                    path + "; give every worker its own --id, or wait for that session to end");
}

Status Membership::ensure_joined() {
  if (!want_joined_) return Status::Invalid("worker '" + self_.id + "' has not joined");
  if (joined()) return Status::Ok();
  if (joined_epoch_ != 0)
    spdlog::warn("worker '{}': ZooKeeper session replaced (epoch {}), re-creating {}", self_.id,
                 client_.session_epoch(), node_path());
  return join();
}

Status Membership::leave() {
  want_joined_ = false;
  joined_epoch_ = 0;
  Status st = client_.remove(node_path());
  return st.code() == Code::not_found ? Status::Ok() : st;
}

Result<std::vector<WorkerInfo>> Membership::live(Watch* watch) {
  auto kids = watch ? client_.children(dir_, *watch) : client_.children(dir_);
  if (!kids.ok()) return kids.status();
  std::sort(kids->begin(), kids->end());
  std::vector<WorkerInfo> out;
  for (const auto& id : *kids) {
    auto d = client_.get(dir_ + "/" + id);
    if (d.status().code() == Code::not_found) continue;  // left while we read
    if (!d.ok()) return d.status();
    auto w = decode_worker_info(id, *d);
    if (!w.ok()) {
      // Not a Sleet worker node (or a newer format): not a member, but say so.
      spdlog::warn("ignoring {}/{}: {}", dir_, id, w.status().to_string());
      continue;
    }
    out.push_back(std::move(w).value());
  }
  return out;
}

Result<std::vector<WorkerInfo>> Membership::wait_for_change(Clock::time_point until) {
  if (watch_.armed()) {
    auto ev = watch_.wait_until(until);
    if (!ev.ok() && ev.status().code() == Code::timeout) return ev.status();
    // An event, or the session was lost (the list is re-read on the new session).
  }
  // The session may be replaced while we read (the client may learn of an expiry only at its next
  // ping): if the list was read on a session this node was not created in, join and read again.
  while (true) {
    if (want_joined_) SLEET_RETURN_IF_ERROR(ensure_joined());
    SLEET_RETURN_IF_ERROR(client_.ensure_path(dir_));
    auto list = live(&watch_);
    if (!list.ok()) return list;
    if (want_joined_ && !joined()) continue;
    return list;
  }
}

}  // namespace sleet::zk
