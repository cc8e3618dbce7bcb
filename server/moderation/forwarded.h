// The client address behind a reverse proxy: which peers are trusted to say it
// (--trusted-proxy), which header they say it in (Forwarded, RFC 7239, or the de facto
// X-Forwarded-For), and a strict parser of both.
//
// Thread affinity: none. A TrustedProxies is built once at start and only read after,
// from every shard at once; ClientAddress is a pure function.
// Ownership: the Server owns its TrustedProxies; callers own the strings they pass.
//
// Why a walk from the right: every proxy appends the address it saw to the end of the
// list, so the rightmost entries are the only ones written by parties we trust. The
// client is the first entry, walking leftwards from the peer, that is not itself a
// trusted proxy; whatever lies left of it was written by the client and is ignored
// (a client may send "X-Forwarded-For: 1.2.3.4" to look like someone else). A peer that
// is not a trusted proxy is the client, whatever headers it sends.
#ifndef TUTTI_SERVER_MODERATION_FORWARDED_H_
#define TUTTI_SERVER_MODERATION_FORWARDED_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/moderation/ip_address.h"

namespace tutti::server::moderation {

// The one header a deployment's proxies set. Only one is read: a proxy that sets
// X-Forwarded-For passes a client's own "Forwarded" header through untouched, so reading
// both would let the client pick.
enum class ForwardedHeader { kXForwardedFor, kForwarded };

// "x-forwarded-for" or "forwarded" (any case); INVALID_ARGUMENT otherwise.
absl::StatusOr<ForwardedHeader> ParseForwardedHeaderName(std::string_view name);
std::string_view ForwardedHeaderName(ForwardedHeader header);

// The hops named in a header value, left (farthest) to right (nearest), as the text of an
// address each; an entry that names no address (RFC 7239 "unknown" or an obfuscated
// "_node") is an empty string. INVALID_ARGUMENT for anything that is not the header's
// grammar: a bad address, a port in X-Forwarded-For, a bad quoted string, a duplicate
// "for", an empty element, more than kMaxForwardedHops hops.
inline constexpr size_t kMaxForwardedHops = 32;
absl::StatusOr<std::vector<std::string>> ParseXForwardedFor(std::string_view value);
absl::StatusOr<std::vector<std::string>> ParseForwarded(std::string_view value);

class TrustedProxies {
 public:
  TrustedProxies() = default;
  TrustedProxies(std::vector<Cidr> networks, ForwardedHeader header)
      : networks_(std::move(networks)), header_(header) {}

  bool empty() const { return networks_.empty(); }
  ForwardedHeader header() const { return header_; }
  // True when `ip` (text) is in one of the trusted networks.
  bool Trusts(std::string_view ip) const;

  // The client's address for a connection from `peer_ip` carrying `header_value` (the
  // configured header's value; several header lines joined by ", "; "" when absent).
  // An untrusted peer, or a trusted one that sent no header: the peer itself. A walk that
  // meets a hop with no address stops there: the nearest trusted hop is the client as
  // far as anyone can tell. INVALID_ARGUMENT when a trusted peer's header does not parse:
  // a proxy misconfigured that way would otherwise make its clients indistinguishable.
  absl::StatusOr<std::string> ClientAddress(std::string_view peer_ip,
                                            std::string_view header_value) const;

 private:
  bool TrustsAddress(const IpAddress& ip) const;

  std::vector<Cidr> networks_;
  ForwardedHeader header_ = ForwardedHeader::kXForwardedFor;
};

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_FORWARDED_H_
