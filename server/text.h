// Text rules for what users type: room names, chat lines, usernames. Pure functions,
// no state, safe from any thread.
#ifndef TUTTI_SERVER_TEXT_H_
#define TUTTI_SERVER_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace tutti::server {

// Replaces invalid UTF-8 with U+FFFD, removes C0/C1 control characters (tab becomes a
// space; newlines are kept only when keep_newlines), trims, and truncates to max_bytes on
// a character boundary.
std::string CleanText(std::string_view in, size_t max_bytes, bool keep_newlines);

// The canonical room id for a room name: cleaned, trimmed, inner whitespace runs folded
// to one space, ASCII lower-cased. Empty if the name has no visible character.
std::string CanonicalRoomId(std::string_view name, size_t max_bytes);

// Lobby k (1-based) is named "Lobby" for k == 1 and "Lobby k" after that.
std::string LobbyName(int index);
// 1-based lobby index if room_id names a lobby ("lobby", "lobby 7"), else 0.
int LobbyIndexOf(std::string_view room_id);

}  // namespace tutti::server

#endif  // TUTTI_SERVER_TEXT_H_
