#include "server/admin_query.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tutti::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad query: ", absl::string_view(what.data(), what.size())));
}

absl::StatusOr<std::string> Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return Bad("cut escape");
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return Bad("bad escape");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Bad("control character");
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<uint32_t> Count(const AdminQuery& query, const char* name, uint32_t fallback) {
  auto it = query.find(name);
  if (it == query.end()) return fallback;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 9) return Bad(absl::StrCat(name, " is not a count"));
  uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Bad(absl::StrCat(name, " is not a count"));
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

}  // namespace

absl::StatusOr<AdminQuery> ParseAdminQuery(std::string_view query) {
  AdminQuery out;
  if (query.empty()) return out;
  if (query.size() > kMaxAdminQueryBytes) return Bad("too long");
  size_t start = 0;
  for (;;) {
    const size_t amp = query.find('&', start);
    const std::string_view pair =
        query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    const size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    if (name.empty()) return Bad("a parameter without a name");
    for (char c : name) {
      if (!IsNameChar(c)) return Bad("a parameter name is not [a-z0-9_]");
    }
    absl::StatusOr<std::string> value =
        Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    if (!out.emplace(std::string(name), std::move(*value)).second) {
      return Bad("a parameter given twice");
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

absl::StatusOr<AdminPage> ParseAdminPage(const AdminQuery& query, uint32_t default_limit,
                                         uint32_t max_limit) {
  absl::StatusOr<uint32_t> offset = Count(query, "offset", 0);
  if (!offset.ok()) return offset.status();
  absl::StatusOr<uint32_t> limit = Count(query, "limit", default_limit);
  if (!limit.ok()) return limit.status();
  if (*limit < 1 || *limit > max_limit) {
    return Bad(absl::StrCat("limit must be from 1 to ", max_limit));
  }
  return AdminPage{*offset, *limit};
}

}  // namespace tutti::server
