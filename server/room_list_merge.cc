#include "server/room_list_merge.h"

#include <utility>

namespace tutti::server {

void RoomListMerge::SetLocal(const std::string& room_id, std::optional<proto::RoomInfo> info) {
  if (info) {
    local_[room_id] = std::move(*info);
  } else {
    local_.erase(room_id);
  }
  changed_.insert(room_id);
}

void RoomListMerge::Hear(const std::string& node, proto::RoomInfo info) {
  const std::string room_id = info.room_id();
  std::string bytes = info.SerializeAsString();
  Heard& h = remote_[room_id][node];
  by_node_[node].insert(room_id);
  if (h.order != 0 && h.bytes == bytes) return;  // a repeat is not news
  h.info = std::move(info);
  h.bytes = std::move(bytes);
  h.order = ++heard_;
  changed_.insert(room_id);
}

void RoomListMerge::Forget(const std::string& node, const std::string& room_id) {
  auto it = remote_.find(room_id);
  if (it == remote_.end() || it->second.erase(node) == 0) return;
  if (it->second.empty()) remote_.erase(it);
  changed_.insert(room_id);
}

void RoomListMerge::SetRemote(const std::string& node, const std::string& room_id,
                              std::optional<proto::RoomInfo> info) {
  if (info) {
    info->set_room_id(room_id);
    return Hear(node, std::move(*info));
  }
  Forget(node, room_id);
  auto n = by_node_.find(node);
  if (n != by_node_.end()) n->second.erase(room_id);
}

void RoomListMerge::ReplaceRemote(
    const std::unordered_map<std::string, std::vector<proto::RoomInfo>>& by_node) {
  // What each node no longer lists goes; what it lists is heard (repeats keep their order).
  std::unordered_map<std::string, std::unordered_set<std::string>> next;
  for (const auto& [node, rooms] : by_node) {
    auto& ids = next[node];
    for (const proto::RoomInfo& info : rooms) ids.insert(info.room_id());
  }
  for (const auto& [node, ids] : by_node_) {
    auto keep = next.find(node);
    for (const std::string& id : ids) {
      if (keep == next.end() || keep->second.count(id) == 0) Forget(node, id);
    }
  }
  by_node_.clear();
  for (const auto& [node, rooms] : by_node) {
    by_node_[node];
    for (const proto::RoomInfo& info : rooms) Hear(node, info);
  }
}

void RoomListMerge::DropNode(const std::string& node) {
  auto n = by_node_.find(node);
  if (n == by_node_.end()) return;
  for (const std::string& id : n->second) Forget(node, id);
  by_node_.erase(n);
}

std::vector<std::string> RoomListMerge::TakeChanged() {
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  return out;
}

const proto::RoomInfo* RoomListMerge::Local(const std::string& room_id) const {
  auto it = local_.find(room_id);
  return it == local_.end() ? nullptr : &it->second;
}

const proto::RoomInfo* RoomListMerge::Newest(const std::string& room_id) const {
  auto it = remote_.find(room_id);
  if (it == remote_.end()) return nullptr;
  const Heard* newest = nullptr;
  for (const auto& [node, h] : it->second) {
    if (newest == nullptr || h.order > newest->order) newest = &h;
  }
  return newest == nullptr ? nullptr : &newest->info;
}

const proto::RoomInfo* RoomListMerge::Merged(const std::string& room_id) const {
  if (const proto::RoomInfo* mine = Local(room_id)) return mine;
  return Newest(room_id);
}

std::vector<proto::RoomInfo> RoomListMerge::RemoteOnly() const {
  std::vector<proto::RoomInfo> out;
  for (const auto& [id, nodes] : remote_) {
    if (local_.count(id)) continue;
    if (const proto::RoomInfo* info = Newest(id)) out.push_back(*info);
  }
  return out;
}

}  // namespace tutti::server
