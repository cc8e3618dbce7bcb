// The store's records: plain values that cross between the storage thread and the
// shards (profiles, friend-list rows, persistent rooms and their bans). Owned by
// whoever holds them; no thread affinity (copied or moved across threads, never
// shared). Included by the domain headers (room.h, social.h) that must not see SQLite:
// nothing here does.
#ifndef TUTTI_SERVER_STORE_RECORDS_H_
#define TUTTI_SERVER_STORE_RECORDS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tutti::server::store {

class Store;

struct Profile {
  std::string user_id;
  std::string username;
  std::string appearance;  // opaque client bytes (AvatarData.appearance)
  int status = 0;          // tutti.proto UserStatus
  std::string status_text;
  int64_t updated_unix_ms = 0;
};

enum class FriendRequestResult {
  kRequestSent,  // a new pending request from -> to
  kAccepted,     // `to` had already asked `from`: they are now friends
};

// One line of a user's friend list: a friend, or a pending request either way.
struct FriendRow {
  std::string user_id;
  std::string username;  // from the profile; empty when the user has none
  int status = 0;        // the stored status; live presence is the caller's to add
  std::string status_text;
  bool pending_incoming = false;  // they asked; this user may accept or decline
  bool pending_outgoing = false;  // this user asked
  int64_t since_unix_ms = 0;      // friendship start or request time
};

// Where in a room's stream (rooms across nodes) a record stands: the server time and
// offset of an event. Ordered by time, then offset: the publish script's per-room time
// never goes back and offsets rise within an epoch, and a new epoch's times go on from
// Redis's clock. {0, 0} = unstamped.
struct StreamStamp {
  int64_t time_us = 0;
  int64_t offset = 0;
  bool operator<(const StreamStamp& o) const {
    return time_us < o.time_us || (time_us == o.time_us && offset < o.offset);
  }
};

struct RoomRecord {
  std::string room_id;        // canonical room id (lower-case, trimmed)
  std::string name;           // as the creator typed it
  int type = 0;               // tutti.proto RoomType
  std::string settings;       // serialized tutti.proto RoomSettings
  std::string password_hash;  // crypto_pwhash_str output, empty = no password
  std::string owner_id;
  std::string topic;
  std::vector<std::string> moderators;  // sorted on load
  int64_t updated_unix_ms = 0;
  // The performer list (PlayMode), sorted on load. Last, so that aggregate
  // initialisers written before it still mean what they meant.
  std::vector<std::string> performers;
  // Rooms across nodes: where in the room's stream this record stands (every change
  // sequenced up to there is in it). A save does not overwrite a record that stands later
  // (Store::SaveRoom). Unstamped (one node, a room's creation): saved whatever is stored.
  StreamStamp stream;
};

struct RoomBanRecord {
  std::string room_id;
  std::string user_id;
  std::string reason;
  std::string actor;
  int64_t created_unix_ms = 0;
  int64_t until_unix_ms = 0;  // 0 = permanent
};

}  // namespace tutti::server::store

#endif  // TUTTI_SERVER_STORE_RECORDS_H_
