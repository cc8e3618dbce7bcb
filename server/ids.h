// Identifiers that cross shards as plain values (principle: posts carry ids, never
// pointers). A SessionId encodes the shard that owns the session in its low byte, so
// any shard can route to a session without a shared map. Header-only, stateless.
#ifndef TUTTI_SERVER_IDS_H_
#define TUTTI_SERVER_IDS_H_

#include <cstdint>
#include <string_view>

namespace tutti::server {

using SessionId = uint64_t;
inline constexpr int kMaxShards = 64;

inline SessionId MakeSessionId(uint64_t serial, int shard) {
  return (serial << 8) | static_cast<uint64_t>(shard);
}
inline int ShardOfSession(SessionId id) { return static_cast<int>(id & 0xff); }

// FNV-1a 64: stable across runs and builds (std::hash is not), so a room's home shard
// is the same for every process and every restart.
inline uint64_t StableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline int HomeShardOfRoom(std::string_view room_id, int shard_count) {
  return static_cast<int>(StableHash(room_id) % static_cast<uint64_t>(shard_count));
}

}  // namespace tutti::server

#endif  // TUTTI_SERVER_IDS_H_
