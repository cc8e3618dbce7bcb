#include "server/membership.h"

#include <algorithm>
#include <utility>

namespace tutti::server {

Membership::Admission Membership::CheckJoin(const Session& s, const std::string& room_id,
                                            bool lobby) const {
  const Seat& seat = s.seat();
  if (!seat.joining_room_id_.empty()) return Admission::kJoinInFlight;
  if (!seat.room_id_.empty() && seat.room_id_ == room_id && !lobby) {
    return Admission::kAlreadyThere;
  }
  return Admission::kOk;
}

void Membership::MarkJoining(Session& s, const std::string& room_id,
                             const std::string& request_id) {
  s.seat_.joining_room_id_ = room_id;
  s.seat_.joining_request_id_ = request_id;
}

void Membership::AbandonJoin(Session& s) { s.seat_.joining_room_id_.clear(); }

Membership::Previous Membership::Joined(Session& s, const std::string& room_id) {
  Seat& seat = s.seat_;
  seat.joining_room_id_.clear();
  Previous previous;
  if (!seat.room_id_.empty() && seat.room_id_ != room_id) {
    // The switch was this join's doing: the previous room's RoomLeft echoes its id.
    previous.room_id = seat.room_id_;
    previous.request_id = seat.joining_request_id_;
  }
  seat.room_id_ = room_id;
  index_[room_id].push_back(&s);
  seat.indexed_rooms_.push_back(room_id);
  return previous;
}

std::string Membership::RequestLeave(Session& s) {
  // Routing stops at once; the index keeps the session until the room confirms, so the
  // room's last words (RoomLeft, the others' UserLeftRoom) still reach it.
  return std::exchange(s.seat_.room_id_, std::string());
}

bool Membership::Left(Session& s, const std::string& room_id) {
  Seat& seat = s.seat_;
  Unindex(room_id, &s);
  auto pos = std::find(seat.indexed_rooms_.begin(), seat.indexed_rooms_.end(), room_id);
  if (pos != seat.indexed_rooms_.end()) seat.indexed_rooms_.erase(pos);
  if (seat.room_id_ == room_id) seat.room_id_.clear();  // kicked or banned
  return seat.room_id_.empty() && seat.joining_room_id_.empty();
}

std::vector<std::string> Membership::End(Session& s) {
  Seat& seat = s.seat_;
  for (const std::string& room : seat.indexed_rooms_) Unindex(room, &s);
  seat.indexed_rooms_.clear();
  std::vector<std::string> rooms;
  for (std::string* room : {&seat.room_id_, &seat.joining_room_id_}) {
    if (!room->empty()) rooms.push_back(std::move(*room));
    room->clear();
  }
  return rooms;
}

void Membership::Unindex(const std::string& room_id, Session* s) {
  auto idx = index_.find(room_id);
  if (idx == index_.end()) return;
  auto& v = idx->second;
  auto pos = std::find(v.begin(), v.end(), s);
  if (pos != v.end()) v.erase(pos);
  if (v.empty()) index_.erase(idx);
}

}  // namespace tutti::server
