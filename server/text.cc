#include "server/text.h"

#include "crypto/utf8.h"

namespace tutti::server {

std::string CleanText(std::string_view in, size_t max_bytes, bool keep_newlines) {
  crypto::CleanOptions options;
  options.keep_newlines = keep_newlines;
  options.collapse_spaces = false;
  return crypto::CleanUserText(in, max_bytes, options);
}

std::string CleanName(std::string_view name, size_t max_bytes) {
  return crypto::CleanUserText(name, max_bytes, crypto::CleanOptions{});
}

std::string CanonicalRoomId(std::string_view name, size_t max_bytes) {
  std::string out = CleanName(name, max_bytes);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string LobbyName(int index) {
  return index <= 1 ? std::string("Lobby") : "Lobby " + std::to_string(index);
}

int LobbyIndexOf(std::string_view room_id) {
  if (room_id == "lobby") return 1;
  constexpr std::string_view kPrefix = "lobby ";
  if (room_id.substr(0, kPrefix.size()) != kPrefix) return 0;
  std::string_view digits = room_id.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 6 || digits[0] == '0') return 0;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n >= 2 ? n : 0;
}

}  // namespace tutti::server
