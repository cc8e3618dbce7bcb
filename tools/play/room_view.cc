#include "tools/play/room_view.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tutti::play {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

PlayerRow Row(const proto::UserInfo& u, uint64_t me) {
  PlayerRow r;
  r.session_id = u.session_id();
  r.user_id = u.user_id();
  r.name = u.username();
  r.guest = u.is_guest();
  r.you = u.session_id() == me;
  r.reconnecting = u.reconnecting();
  r.quality = u.quality();
  return r;
}

}  // namespace

std::string GradeName(proto::QualityGrade g) {
  switch (g) {
    case proto::QUALITY_GOOD:
      return "good";
    case proto::QUALITY_FAIR:
      return "fair";
    case proto::QUALITY_POOR:
      return "poor";
    default:
      return "";
  }
}

void RoomView::SetOwnRtt(int64_t rtt_us) {
  for (auto& [sid, p] : players_) {
    if (!p.you || p.own_rtt_us == rtt_us) continue;
    p.own_rtt_us = rtt_us;
    ++version_;
  }
}

void RoomView::Add(ChatLine line) {
  chat_.push_back(std::move(line));
  ++chat_total_;
  while (chat_.size() > kMaxChat) chat_.pop_front();
  ++version_;
}

void RoomView::Set(std::string* field, std::string value) {
  if (*field == value) return;
  *field = std::move(value);
  ++version_;
}

void RoomView::Notice(const std::string& text) { Add({ChatLine::Kind::kNotice, "", text}); }
void RoomView::Error(const std::string& text) { Add({ChatLine::Kind::kError, "", text}); }

void RoomView::OnDisconnected() {
  room_.clear();
  room_id_.clear();
  players_.clear();
  ++version_;
}

void RoomView::SetTiming(uint64_t session_id, int64_t delay_us, uint64_t note_ons, uint64_t late) {
  auto it = players_.find(session_id);
  if (it == players_.end()) return;
  it->second.delay_us = delay_us;
  it->second.note_ons = note_ons;
  it->second.late_note_ons = late;
}

void RoomView::ApplySnapshot(const proto::RoomSnapshot& snap) {
  // A resume's (or SYNC_STATE's) full state: who is here now. Its chat history is not
  // added again: the lines already shown would repeat.
  room_ = snap.room_info().room_name();
  room_id_ = snap.room_info().room_id();
  players_.clear();
  for (const auto& u : snap.users()) players_[u.session_id()] = Row(u, my_session_);
  ++version_;
}

uint64_t RoomView::FindPlayer(const std::string& name) const {
  const std::string want = Lower(name);
  for (const auto& [sid, p] : players_) {
    if (Lower(p.name) == want) return sid;
  }
  return 0;
}

void RoomView::UpsertRoom(const proto::RoomInfo& r) {
  RoomRow row{r.room_id(), r.room_name(), r.user_count(), r.settings().max_users(),
              r.has_password()};
  for (auto& existing : rooms_) {
    if (existing.id == row.id) {
      existing = row;
      return;
    }
  }
  if (rooms_.size() < kMaxRooms) rooms_.push_back(row);
}

bool RoomView::OnMessage(const proto::ClientMessage& m) {
  const uint64_t before = version_;
  switch (m.message_case()) {
    case proto::ClientMessage::kWelcome:
      my_name_ = m.welcome().user().username();
      my_user_id_ = m.welcome().user().user_id();
      my_session_ = m.welcome().user().session_id();
      Notice("signed in as " + my_name_ + (m.welcome().user().is_guest() ? " (guest)" : ""));
      break;
    case proto::ClientMessage::kRoomJoinedResponse: {
      const auto& r = m.room_joined_response();
      if (!r.success()) {
        Error("could not join: " + r.error_message());
        break;
      }
      room_ = r.room_info().room_name();
      room_id_ = r.room_info().room_id();
      players_.clear();
      for (const auto& u : r.current_users()) players_[u.session_id()] = Row(u, my_session_);
      for (const auto& line : r.chat_history()) {
        Add({ChatLine::Kind::kHistory, line.username(), line.message()});
      }
      Notice("you are in " + room_ + " (" + std::to_string(players_.size()) + " here)");
      break;
    }
    case proto::ClientMessage::kRoomSnapshot:
      ApplySnapshot(m.room_snapshot());
      break;
    case proto::ClientMessage::kResumeResult: {
      const auto& r = m.resume_result();
      if (r.outcome() == proto::RESUME_REFUSED) {
        Notice("could not resume (" + r.reason() + "); joining again");
      } else if (r.room_id().empty()) {
        Notice("resumed" + (r.reason().empty() ? "" : " in no room (" + r.reason() + ")"));
      } else if (r.outcome() == proto::RESUME_RECOVERED) {
        Notice("resumed in " + r.room_id() + ": " + std::to_string(r.replayed()) +
               " missed events");
      } else {
        ApplySnapshot(r.snapshot());
        Notice("resumed in " + room_ + " (" + r.reason() + ")");
      }
      break;
    }
    case proto::ClientMessage::kMemberConnection: {
      const auto& c = m.member_connection();
      auto it =
          players_.find(c.previous_session_id() != 0 ? c.previous_session_id() : c.session_id());
      if (it == players_.end()) break;
      PlayerRow row = it->second;
      players_.erase(it);
      row.session_id = c.session_id();
      row.reconnecting = c.reconnecting();
      players_[c.session_id()] = row;
      Notice(row.name + (c.reconnecting() ? " lost the connection" : " is back"));
      break;
    }
    case proto::ClientMessage::kUserJoinedRoom: {
      const auto& u = m.user_joined_room().user_info();
      players_[u.session_id()] = Row(u, my_session_);
      Notice(u.username() + " joined");
      break;
    }
    case proto::ClientMessage::kUserLeftRoom: {
      auto it = players_.find(m.user_left_room().session_id());
      const std::string name =
          it == players_.end() ? m.user_left_room().user_id() : it->second.name;
      if (it != players_.end()) players_.erase(it);
      Notice(name + " left" +
             (m.user_left_room().reason().empty() ? "" : " (" + m.user_left_room().reason() + ")"));
      break;
    }
    case proto::ClientMessage::kRoomLeft: {
      // Moving to another room, the old room's RoomLeft can come after the new room's answer.
      const bool current = m.room_left().room_id().empty() || m.room_left().room_id() == room_id_;
      Notice("you left " + (current ? room_ : m.room_left().room_id()) +
             (m.room_left().reason().empty() ? "" : " (" + m.room_left().reason() + ")"));
      if (current) {
        room_.clear();
        room_id_.clear();
        players_.clear();
      }
      break;
    }
    case proto::ClientMessage::kRoomChatMessage: {
      const auto& c = m.room_chat_message();
      Add({c.username().empty() ? ChatLine::Kind::kNotice : ChatLine::Kind::kChat, c.username(),
           c.message()});
      break;
    }
    case proto::ClientMessage::kPrivateMessage:
      Add({ChatLine::Kind::kChat, "[pm] " + m.private_message().from_username(),
           m.private_message().message()});
      break;
    case proto::ClientMessage::kRoomList:
      rooms_.clear();
      for (const auto& r : m.room_list().rooms()) UpsertRoom(r);
      ++version_;
      break;
    case proto::ClientMessage::kRoomListDelta:
      for (const auto& r : m.room_list_delta().upserted()) UpsertRoom(r);
      for (const auto& id : m.room_list_delta().removed()) {
        rooms_.erase(std::remove_if(rooms_.begin(), rooms_.end(),
                                    [&](const RoomRow& r) { return r.id == id; }),
                     rooms_.end());
      }
      ++version_;
      break;
    case proto::ClientMessage::kRoomUpdated:
      UpsertRoom(m.room_updated().room_info());
      ++version_;
      break;
    case proto::ClientMessage::kTempoState: {
      // A change by staff (the tempo line shows the rest).
      const auto& t = m.tempo_state();
      char text[160];
      std::snprintf(text, sizeof text, " set the tempo: %.0f BPM %u/%u, %s", t.bpm(),
                    t.beats_per_bar(), t.beat_unit(), t.running() ? "running" : "stopped");
      Notice(
          (t.changed_by_username().empty() ? std::string("the server") : t.changed_by_username()) +
          text);
      break;
    }
    case proto::ClientMessage::kMemberQuality: {
      // Sent to room staff when a member's grade changes: a change to poor is worth a line.
      const auto& q = m.member_quality();
      auto it = players_.find(q.session_id());
      if (it == players_.end()) break;
      const proto::QualityGrade before_grade = it->second.quality.grade();
      it->second.quality = q.quality();
      ++version_;
      if (q.quality().grade() == proto::QUALITY_POOR && before_grade != proto::QUALITY_POOR) {
        char figures[160];
        std::snprintf(figures, sizeof figures,
                      " (rtt %.0f ms, clock +-%.1f ms, late %.1f%%, dropped %.1f%%)",
                      q.quality().rtt_us() / 1000.0, q.quality().offset_error_us() / 1000.0,
                      q.quality().late_percent(), q.quality().dropped_percent());
        Notice(it->second.name + "'s link is poor" + figures);
      }
      break;
    }
    case proto::ClientMessage::kErrorMessage:
      Error(m.error_message().error_code() + ": " + m.error_message().error_message());
      break;
    case proto::ClientMessage::kCommandResult:
      for (const auto& line : m.command_result().lines()) Notice(line);
      break;
    case proto::ClientMessage::kModerationNotice:
      Notice(m.moderation_notice().ShortDebugString());
      break;
    case proto::ClientMessage::kTokenExpiring:
      Notice("your sign-in token runs out soon: get a fresh one from the server's operator");
      break;
    default:
      break;
  }
  return version_ != before;
}

}  // namespace tutti::play
