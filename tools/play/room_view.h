// RoomView: what tutti-play shows a person, built from the server's messages and the client's
// own state: the room and who is in it (with each player's playout delay and late share, and
// the link quality grade the server shares with room staff), the room's tempo, the
// chat with its history, the room list, and status lines for the connection, the MIDI device
// and the sound. The UIs (curses, line) only draw it.
//
// Owns: copies of everything shown, bounded (chat 500 lines, rooms 500).
// Thread affinity: the owner's thread (tutti-play's main loop); not synchronized.
// Who owns it: tutti-play's main; its tests.
#ifndef TUTTI_TOOLS_PLAY_ROOM_VIEW_H_
#define TUTTI_TOOLS_PLAY_ROOM_VIEW_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "protos/tutti.pb.h"

namespace tutti::play {

struct ChatLine {
  enum class Kind { kChat, kNotice, kError, kHistory };
  Kind kind = Kind::kNotice;
  std::string who;  // empty for notices
  std::string text;
};

struct PlayerRow {
  uint64_t session_id = 0;
  std::string user_id;
  std::string name;
  bool you = false;
  bool guest = false;
  bool reconnecting = false;  // its connection dropped; it may resume (PROTOCOL.md §12)
  // From the jitter buffer (remote players only): playout delay and late note-ons.
  int64_t delay_us = 0;
  uint64_t note_ons = 0;
  uint64_t late_note_ons = 0;
  // The link quality the member reported, graded by the server (docs/PROTOCOL.md, "Connection
  // quality"): the server sends it to room staff only, so others see QUALITY_UNKNOWN.
  proto::ConnectionQuality quality;
  // Ours (you): the round trip we measure ourselves, -1 before any.
  int64_t own_rtt_us = -1;
};

// A grade as one word ("good", "fair", "poor"), "" for unknown.
std::string GradeName(proto::QualityGrade g);

struct RoomRow {
  std::string id;
  std::string name;
  int users = 0;
  int max_users = 0;
  bool password = false;
};

class RoomView {
 public:
  static constexpr size_t kMaxChat = 500;
  static constexpr size_t kMaxRooms = 500;

  // A server message; returns true if anything shown changed.
  bool OnMessage(const proto::ClientMessage& m);
  void Notice(const std::string& text);
  void Error(const std::string& text);
  // The connection is gone: nobody is in a room any more.
  void OnDisconnected();

  void set_connection(std::string s) { Set(&connection_, std::move(s)); }
  void set_device(std::string s) { Set(&device_, std::move(s)); }
  void set_sound(std::string s) { Set(&sound_, std::move(s)); }
  // The room's tempo ("120 BPM 4/4, running  [click on]") and where the beat is ("bar 3
  // beat 2"), kept apart so that the line UI prints only the first.
  void set_tempo(std::string s) { Set(&tempo_, std::move(s)); }
  void set_beat(std::string s) { Set(&beat_, std::move(s)); }
  // Our own measured round trip, shown on our row.
  void SetOwnRtt(int64_t rtt_us);
  // Updates a remote player's timing figures (not counted as a change: redrawn with the next).
  void SetTiming(uint64_t session_id, int64_t delay_us, uint64_t note_ons, uint64_t late);

  const std::string& room() const { return room_; }
  const std::string& me() const { return my_name_; }
  uint64_t my_session() const { return my_session_; }
  const std::map<uint64_t, PlayerRow>& players() const { return players_; }
  const std::deque<ChatLine>& chat() const { return chat_; }
  // Chat lines ever added (the deque keeps the last kMaxChat of them).
  uint64_t chat_total() const { return chat_total_; }
  const std::vector<RoomRow>& rooms() const { return rooms_; }
  const std::string& connection() const { return connection_; }
  const std::string& device() const { return device_; }
  const std::string& sound() const { return sound_; }
  const std::string& tempo() const { return tempo_; }
  const std::string& beat() const { return beat_; }
  // Session id of the player in this room whose name is `name` (case-insensitive), or 0.
  uint64_t FindPlayer(const std::string& name) const;
  // Bumped on every change, so a UI redraws only when needed.
  uint64_t version() const { return version_; }

 private:
  void ApplySnapshot(const proto::RoomSnapshot& snap);
  void Add(ChatLine line);
  void Set(std::string* field, std::string value);
  void UpsertRoom(const proto::RoomInfo& r);

  std::string room_;
  std::string room_id_;  // canonical id: a RoomLeft for the room we moved out of names it
  std::string my_name_;
  std::string my_user_id_;
  uint64_t my_session_ = 0;
  std::map<uint64_t, PlayerRow> players_;
  std::deque<ChatLine> chat_;
  std::vector<RoomRow> rooms_;
  std::string connection_ = "connecting";
  std::string device_;
  std::string sound_;
  std::string tempo_;
  std::string beat_;
  uint64_t version_ = 0;
  uint64_t chat_total_ = 0;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_ROOM_VIEW_H_
