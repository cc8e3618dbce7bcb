// Text rules for what users type: room names, chat lines, status text; lobby names.
// Pure functions, no state, safe from any thread. The cleaning policy itself lives once,
// in crypto/utf8.h, shared with usernames.
#ifndef TUTTI_SERVER_TEXT_H_
#define TUTTI_SERVER_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace tutti::server {

// Text users type, cleaned by the one policy that usernames also follow
// (crypto::CleanUserText): invalid UTF-8 and invisible or formatting characters are
// dropped, whitespace becomes spaces (newlines are kept only when keep_newlines), the
// ends are trimmed, and the result is cut to max_bytes on a character boundary. Inner
// spaces are kept as typed.
std::string CleanText(std::string_view in, size_t max_bytes, bool keep_newlines);

// A name others see (a room's display name): the same policy with whitespace runs
// folded to one space, exactly as usernames are cleaned.
std::string CleanName(std::string_view name, size_t max_bytes);

// The canonical room id for a room name: CleanName, then ASCII lower-cased. Names that
// differ only by invisible characters, spacing or ASCII case share one id. Empty if the
// name has no visible character.
std::string CanonicalRoomId(std::string_view name, size_t max_bytes);

// Lobby k (1-based) is named "Lobby" for k == 1 and "Lobby k" after that.
std::string LobbyName(int index);
// 1-based lobby index if room_id names a lobby ("lobby", "lobby 7"), else 0.
int LobbyIndexOf(std::string_view room_id);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_TEXT_H_
