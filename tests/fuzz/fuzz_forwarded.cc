// Fuzz target: the client-address headers a trusted reverse proxy sets
// (server/moderation/forwarded.h): Forwarded (RFC 7239) and X-Forwarded-For.
//
// Input: the header value, read both as Forwarded and as X-Forwarded-For.
// Properties: a parsed list has at most kMaxForwardedHops hops, each empty or an address
// in canonical text; the client address a trusted peer gets is the peer or one of the
// hops: the first hop from the right that is no trusted proxy's, when that names an
// address, and a trusted address otherwise; it is an error exactly
// when the value does not parse; an untrusted peer always gets itself, whatever it sent.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "server/moderation/forwarded.h"
#include "server/moderation/ip_address.h"
#include "tests/fuzz/fuzz_target.h"

namespace mod = tutti::server::moderation;

namespace {

void Check(std::string_view value, mod::ForwardedHeader header) {
  absl::StatusOr<std::vector<std::string>> hops = header == mod::ForwardedHeader::kForwarded
                                                      ? mod::ParseForwarded(value)
                                                      : mod::ParseXForwardedFor(value);
  if (hops.ok()) {
    FUZZ_CHECK(!hops->empty() && hops->size() <= mod::kMaxForwardedHops);
    for (const std::string& hop : *hops) {
      if (hop.empty()) continue;
      std::optional<mod::IpAddress> ip = mod::ParseIp(hop);
      FUZZ_CHECK(ip && ip->ToString() == hop);
    }
  }
  std::vector<mod::Cidr> nets = {*mod::ParseCidr("127.0.0.0/8"), *mod::ParseCidr("::1/128")};
  const mod::TrustedProxies proxies(nets, header);
  const std::string peer = "127.0.0.1";
  absl::StatusOr<std::string> client = proxies.ClientAddress(peer, value);
  bool blank = true;
  for (char c : value) blank = blank && (c == ' ' || c == '\t');
  FUZZ_CHECK(client.ok() == (hops.ok() || blank));
  if (client.ok() && hops.ok()) {
    const bool known =
        *client == peer || std::find(hops->begin(), hops->end(), *client) != hops->end();
    FUZZ_CHECK(known);
    // The first hop from the right that is not one of ours decides: an address is the
    // client; a hop without one leaves a trusted address (the nearest we know).
    auto first = std::find_if(hops->rbegin(), hops->rend(), [&](const std::string& hop) {
      return hop.empty() || !proxies.Trusts(hop);
    });
    if (first != hops->rend() && !first->empty()) {
      FUZZ_CHECK(*client == *first);
    } else {
      FUZZ_CHECK(proxies.Trusts(*client));
    }
  }
  absl::StatusOr<std::string> outsider = proxies.ClientAddress("192.0.2.1", value);
  FUZZ_CHECK(outsider.ok() && *outsider == "192.0.2.1");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);
  Check(text, mod::ForwardedHeader::kForwarded);
  Check(text, mod::ForwardedHeader::kXForwardedFor);
  return 0;
}
