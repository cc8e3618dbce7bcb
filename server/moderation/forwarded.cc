#include "server/moderation/forwarded.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("bad forwarding header: ", ToAbsl(what)));
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar.
bool IsTchar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':  // NOLINT
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':  // NOLINT
    case '~':
      return true;
    default:
      return false;
  }
}

// RFC 7239 obfuscated identifier after its '_': 1*(ALPHA / DIGIT / "." / "_" / "-").
bool IsObfuscated(std::string_view s) {
  if (s.size() < 2 || s.front() != '_') return false;
  for (char c : s.substr(1)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsPort(std::string_view s) {
  if (IsObfuscated(s)) return true;
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// One address as text in canonical form; nullopt when `text` is not one of `family`.
std::optional<std::string> Canonical(std::string_view text, std::optional<IpFamily> family) {
  std::optional<IpAddress> ip = ParseIp(text);
  if (!ip) return std::nullopt;
  // ParseIp turns a mapped IPv6 address into IPv4; the family asked for is the text's.
  const bool text_is_v6 = text.find(':') != std::string_view::npos;
  if (family == IpFamily::kV4 && text_is_v6) return std::nullopt;
  if (family == IpFamily::kV6 && !text_is_v6) return std::nullopt;
  return ip->ToString();
}

// An RFC 7239 node: an address (IPv6 in brackets), "unknown" or "_obf", with an
// optional port. "" for a node that names no address.
absl::StatusOr<std::string> ParseNode(std::string_view node) {
  std::string_view name = node;
  std::string_view port;
  bool has_port = false;
  if (!node.empty() && node.front() == '[') {
    const size_t close = node.find(']');
    if (close == std::string_view::npos) return Bad("unclosed [ in a node");
    name = node.substr(1, close - 1);
    std::string_view rest = node.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Bad("junk after ] in a node");
      port = rest.substr(1);
      has_port = true;
    }
    if (has_port && !IsPort(port)) return Bad("bad port in a node");
    std::optional<std::string> v6 = Canonical(name, IpFamily::kV6);
    if (!v6) return Bad("bad IPv6 address in a node");
    return *v6;
  }
  const size_t colon = node.find(':');
  if (colon != std::string_view::npos) {
    name = node.substr(0, colon);
    port = node.substr(colon + 1);
    if (!IsPort(port)) return Bad("bad port in a node");
  }
  if (absl::AsciiStrToLower(ToAbsl(name)) == "unknown" || IsObfuscated(name)) return std::string();
  std::optional<std::string> v4 = Canonical(name, IpFamily::kV4);
  if (!v4) return Bad("a node is no IPv4 address, [IPv6], unknown or _obfuscated");
  return *v4;
}

// Reads a token or a quoted-string value at s[*pos], unquoted into *out.
absl::Status ReadValue(std::string_view s, size_t* pos, std::string* out) {
  size_t i = *pos;
  out->clear();
  if (i < s.size() && s[i] == '"') {
    ++i;
    for (;;) {
      if (i >= s.size()) return Bad("unterminated quoted string");
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"') break;
      if (c == '\\') {
        if (i + 1 >= s.size()) return Bad("unterminated quoted string");
        const unsigned char q = static_cast<unsigned char>(s[i + 1]);
        if (!(q == '\t' || (q >= 0x20 && q <= 0x7e))) return Bad("bad quoted pair");
        out->push_back(static_cast<char>(q));
        i += 2;
        continue;
      }
      if (!(c == '\t' || (c >= 0x20 && c <= 0x7e))) return Bad("bad character in a quoted string");
      out->push_back(static_cast<char>(c));
      ++i;
    }
    *pos = i + 1;
    return absl::OkStatus();
  }
  while (i < s.size() && IsTchar(s[i])) out->push_back(s[i++]);
  if (out->empty()) return Bad("empty value");
  *pos = i;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ForwardedHeader> ParseForwardedHeaderName(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(ToAbsl(name));
  if (lower == "x-forwarded-for") return ForwardedHeader::kXForwardedFor;
  if (lower == "forwarded") return ForwardedHeader::kForwarded;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown proxy header \"", ToAbsl(name), "\": x-forwarded-for or forwarded"));
}

std::string_view ForwardedHeaderName(ForwardedHeader header) {
  return header == ForwardedHeader::kForwarded ? "Forwarded" : "X-Forwarded-For";
}

absl::StatusOr<std::vector<std::string>> ParseXForwardedFor(std::string_view value) {
  std::vector<std::string> hops;
  size_t start = 0;
  for (;;) {
    const size_t comma = value.find(',', start);
    const std::string_view item = TrimOws(value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) return Bad("empty element");
    if (hops.size() == kMaxForwardedHops) return Bad("too many hops");
    if (absl::AsciiStrToLower(ToAbsl(item)) == "unknown") {
      hops.emplace_back();
    } else {
      // A bare address, IPv6 optionally in brackets; no ports (no proxy adds them here).
      std::optional<std::string> ip = Canonical(item, std::nullopt);
      if (!ip) return Bad("an element is no IP address");
      hops.push_back(std::move(*ip));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return hops;
}

absl::StatusOr<std::vector<std::string>> ParseForwarded(std::string_view value) {
  std::vector<std::string> hops;
  size_t i = 0;
  auto skip_ows = [&] {
    while (i < value.size() && IsOws(value[i])) ++i;
  };
  std::string name, text;
  for (;;) {  // one forwarded-element per turn
    skip_ows();
    if (hops.size() == kMaxForwardedHops) return Bad("too many hops");
    std::optional<std::string> node;
    bool any_pair = false;
    bool seen_by = false, seen_host = false, seen_proto = false;
    for (;;) {  // one forwarded-pair per turn
      skip_ows();
      name.clear();
      while (i < value.size() && IsTchar(value[i])) name.push_back(value[i++]);
      if (name.empty()) return Bad("expected a parameter name");
      if (i >= value.size() || value[i] != '=') return Bad("expected = after a parameter name");
      ++i;
      if (absl::Status s = ReadValue(value, &i, &text); !s.ok()) return s;
      any_pair = true;
      const std::string lower = absl::AsciiStrToLower(name);
      bool* seen = nullptr;
      if (lower == "for") {
        if (node) return Bad("\"for\" twice in one element");
        absl::StatusOr<std::string> parsed = ParseNode(text);
        if (!parsed.ok()) return parsed.status();
        node = std::move(*parsed);
      } else if (lower == "by") {
        seen = &seen_by;
      } else if (lower == "host") {
        seen = &seen_host;
      } else if (lower == "proto") {
        seen = &seen_proto;
      }  // other extension parameters are allowed and ignored
      if (seen != nullptr) {
        if (*seen) return Bad("a parameter twice in one element");
        *seen = true;
      }
      skip_ows();
      if (i < value.size() && value[i] == ';') {
        ++i;
        continue;
      }
      break;
    }
    if (!any_pair) return Bad("empty element");
    // An element without "for" is a hop that did not say whom it served.
    hops.push_back(node ? std::move(*node) : std::string());
    if (i == value.size()) break;
    if (value[i] != ',') return Bad("expected , or ; between parameters");
    ++i;
  }
  return hops;
}

bool TrustedProxies::TrustsAddress(const IpAddress& ip) const {
  for (const Cidr& net : networks_) {
    if (net.Contains(ip)) return true;
  }
  return false;
}

bool TrustedProxies::Trusts(std::string_view ip) const {
  if (networks_.empty()) return false;
  std::optional<IpAddress> address = ParseIp(ip);
  return address && TrustsAddress(*address);
}

absl::StatusOr<std::string> TrustedProxies::ClientAddress(std::string_view peer_ip,
                                                          std::string_view header_value) const {
  if (!Trusts(peer_ip) || TrimOws(header_value).empty()) return std::string(peer_ip);
  absl::StatusOr<std::vector<std::string>> hops = header_ == ForwardedHeader::kForwarded
                                                      ? ParseForwarded(header_value)
                                                      : ParseXForwardedFor(header_value);
  if (!hops.ok()) return hops.status();
  std::string nearest(peer_ip);
  for (auto it = hops->rbegin(); it != hops->rend(); ++it) {
    if (it->empty()) return nearest;
    if (!Trusts(*it)) return *it;
    nearest = *it;
  }
  return nearest;  // every hop a proxy of ours: the farthest one is all we know
}

}  // namespace tutti::server::moderation
