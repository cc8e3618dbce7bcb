// Fuzz target: the admin listener's query strings (server/admin_query.h), read by
// /bans and any later listing there.
//
// Input: the text after the '?'.
// Properties: a parsed query has names of [a-z0-9_] only and values without control
// characters; percent-encoding every value and joining the pairs again parses back to
// the same map; the paging parameters, when they parse, keep limit within its bounds.
#include <cstdio>
#include <string>
#include <string_view>

#include "server/admin_query.h"
#include "tests/fuzz/fuzz_target.h"

namespace srv = tutti::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);
  absl::StatusOr<srv::AdminQuery> query = srv::ParseAdminQuery(text);
  if (!query.ok()) return 0;
  FUZZ_CHECK(text.size() <= srv::kMaxAdminQueryBytes);
  std::string again;
  for (const auto& [name, value] : *query) {
    FUZZ_CHECK(!name.empty());
    for (char c : name) FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!again.empty()) again += '&';
    again += name + "=";
    for (char c : value) {
      const unsigned char u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u >= 0x20 && u != 0x7f);
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", u);
      again += hex;
    }
  }
  if (again.size() <= srv::kMaxAdminQueryBytes) {
    absl::StatusOr<srv::AdminQuery> round = srv::ParseAdminQuery(again);
    FUZZ_CHECK(round.ok() && *round == *query);
  }
  absl::StatusOr<srv::AdminPage> page = srv::ParseAdminPage(*query, 50, 200);
  if (page.ok()) FUZZ_CHECK(page->limit >= 1 && page->limit <= 200);
  return 0;
}
