// Room passwords: stored only as libsodium crypto_pwhash_str strings. Both calls cost
// tens of milliseconds and 64 MiB on purpose, so callers run them on the Server's
// slow-work pool, never on a shard's event loop. Stateless and thread-safe.
#ifndef TUTTI_SERVER_PASSWORD_H_
#define TUTTI_SERVER_PASSWORD_H_

#include <string>

namespace tutti::server {

// Empty string when hashing failed (out of memory).
std::string HashPassword(const std::string& password);
bool VerifyPassword(const std::string& hash, const std::string& password);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_PASSWORD_H_
