#include "server/room_directory.h"

#include <algorithm>
#include <utility>

namespace tutti::server {

bool ListedInDirectory(const proto::RoomInfo& info) {
  return info.room_type() == proto::PUBLIC || info.room_type() == proto::LOBBY;
}

bool MaySeeRoom(const proto::RoomInfo& info, const RoomViewer& viewer) {
  if (info.room_type() != proto::PRIVATE) return true;
  if (viewer.in_room || viewer.server_staff) return true;
  return !viewer.user_id.empty() && viewer.user_id == info.owner_id();
}

bool ListOrder(const proto::RoomInfo& a, const proto::RoomInfo& b) {
  if (a.user_count() != b.user_count()) return a.user_count() > b.user_count();
  return a.room_id() < b.room_id();
}

void SortAndCap(std::vector<proto::RoomInfo>* rooms, size_t cap) {
  if (cap > 0 && rooms->size() > cap) {
    std::partial_sort(rooms->begin(), rooms->begin() + static_cast<std::ptrdiff_t>(cap),
                      rooms->end(), ListOrder);
    rooms->resize(cap);
  } else {
    std::sort(rooms->begin(), rooms->end(), ListOrder);
  }
}

void RoomDirectory::Apply(const proto::RoomInfo& info) {
  if (!ListedInDirectory(info)) return Remove(info.room_id());
  rooms_[info.room_id()] = info;
  dirty_.insert(info.room_id());
}

void RoomDirectory::Remove(const std::string& room_id) {
  rooms_.erase(room_id);
  dirty_.insert(room_id);
}

std::vector<const proto::RoomInfo*> RoomDirectory::Visible() const {
  std::vector<const proto::RoomInfo*> all;
  all.reserve(rooms_.size());
  for (const auto& [id, info] : rooms_) all.push_back(&info);
  auto order = [](const proto::RoomInfo* a, const proto::RoomInfo* b) { return ListOrder(*a, *b); };
  if (cap_ > 0 && all.size() > cap_) {
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cap_), all.end(),
                      order);
    all.resize(cap_);
  } else {
    std::sort(all.begin(), all.end(), order);
  }
  return all;
}

proto::RoomList RoomDirectory::PublishedList() const {
  std::vector<proto::RoomInfo> rooms;
  rooms.reserve(published_.size());
  for (const auto& [id, bytes] : published_) {
    proto::RoomInfo info;
    info.ParseFromString(bytes);  // our own serialization: cannot fail
    rooms.push_back(std::move(info));
  }
  SortAndCap(&rooms, 0);
  proto::RoomList list;
  for (auto& r : rooms) *list.add_rooms() = std::move(r);
  list.set_version(version_);
  return list;
}

std::optional<proto::RoomListDelta> RoomDirectory::TakeDelta() {
  if (dirty_.empty()) return std::nullopt;
  proto::RoomListDelta delta;
  std::vector<const proto::RoomInfo*> upserts;
  auto upsert_if_changed = [&](const proto::RoomInfo& info) {
    std::string bytes = info.SerializeAsString();
    auto [it, added] = published_.try_emplace(info.room_id());
    if (!added && it->second == bytes) return;
    it->second = std::move(bytes);
    upserts.push_back(&info);
  };
  const bool fits = cap_ == 0 || rooms_.size() <= cap_;
  if (fits && published_all_) {
    // Every listed room is published: only the reported ones can differ.
    for (const std::string& id : dirty_) {
      auto it = rooms_.find(id);
      if (it != rooms_.end()) {
        upsert_if_changed(it->second);
      } else if (published_.erase(id) > 0) {
        delta.add_removed(id);
      }
    }
  } else {
    // The cap decides: rooms may enter or leave the top without being reported.
    std::vector<const proto::RoomInfo*> visible = Visible();
    std::unordered_set<std::string> keep;
    keep.reserve(visible.size());
    for (const proto::RoomInfo* info : visible) keep.insert(info->room_id());
    for (auto it = published_.begin(); it != published_.end();) {
      if (keep.count(it->first) == 0) {
        delta.add_removed(it->first);
        it = published_.erase(it);
      } else {
        ++it;
      }
    }
    for (const proto::RoomInfo* info : visible) {
      if (published_.count(info->room_id()) == 0 || dirty_.count(info->room_id()) != 0) {
        upsert_if_changed(*info);
      }
    }
  }
  published_all_ = fits;
  dirty_.clear();
  if (upserts.empty() && delta.removed_size() == 0) return std::nullopt;
  std::sort(upserts.begin(), upserts.end(),
            [](const proto::RoomInfo* a, const proto::RoomInfo* b) { return ListOrder(*a, *b); });
  for (const proto::RoomInfo* info : upserts) *delta.add_upserted() = *info;
  std::sort(delta.mutable_removed()->begin(), delta.mutable_removed()->end());
  delta.set_from_version(version_);
  delta.set_version(++version_);
  return delta;
}

}  // namespace tutti::server
