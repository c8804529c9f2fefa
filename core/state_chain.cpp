#include "core/state_chain.hpp"

namespace sleet {

LinkPlan plan_next_link(const std::vector<StateLink>& chain) {
  if (chain.empty()) return {true, CheckpointId{0}, "no committed chain"};
  if (!chain.front().base) return {true, CheckpointId{0}, "the chain has no base"};
  if (chain.size() >= kMaxChainLinks)
    return {true, CheckpointId{0}, "the chain is at its length limit"};
  uint64_t deltas = 0;
  for (size_t i = 1; i < chain.size(); ++i) deltas += chain[i].handle.size;
  if (deltas > chain.front().handle.size)
    return {true, CheckpointId{0}, "the deltas outgrew the base"};
  return {false, chain.back().id, "delta on the chain's tip"};
}

std::vector<StateLink> extend_chain(std::vector<StateLink> chain, const StateLink& link) {
  if (link.base) chain.clear();
  chain.push_back(link);
  return chain;
}

Status check_chain(const std::vector<StateLink>& chain, const std::string& where) {
  if (chain.empty()) return Status::Corruption(where + ": the blob chain is empty");
  if (!chain.front().base)
    return Status::Corruption(where + ": the blob chain starts with delta " +
                              chain.front().handle.location + ", not with a base");
  for (size_t i = 1; i < chain.size(); ++i) {
    const StateLink& l = chain[i];
    if (l.state != chain.front().state)
      return Status::Corruption(where + ": the blob chain mixes states '" + chain.front().state +
                                "' and '" + l.state + "'");
    if (l.base)
      return Status::Corruption(where + ": the blob chain has a second base " + l.handle.location);
    if (l.id <= chain[i - 1].id)
      return Status::Corruption(where + ": the blob chain is out of order at " + l.handle.location +
                                " (checkpoint " + std::to_string(l.id.value) + " after " +
                                std::to_string(chain[i - 1].id.value) + ")");
  }
  return Status::Ok();
}

std::string keyed_state_blob_key(const std::string& task_key, const std::string& state) {
  return task_key + "@" + state;
}

Status check_keyed_state_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.';
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.');
  if (!ok)
    return Status::Invalid("keyed state name '" + name +
                           "' is not usable in a blob name (1 to 64 of [A-Za-z0-9_.-], not "
                           "starting with '.'); rename it in keyed_states()");
  return Status::Ok();
}

}  // namespace sleet
