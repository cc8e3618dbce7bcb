// Fuzz target: IP address and CIDR parsing (server/moderation/ip_address.h), used for
// server bans typed by admins and for peers' addresses.
//
// Input: the text, parsed as an address, as a network, and as the comma-separated list
// of networks that --exempt-networks takes (ConnectionLimits::ParseNetworks).
// Properties: the canonical text of a parsed address or network parses back to the same
// value; a network's host bits are zero, its prefix is in range, and it contains its base;
// an address is inside its own full-length network and inside the network it was typed in;
// a parsed list has no more networks than the text has commas plus one, and each prints
// back to itself; the per-address key of an address is the same for its canonical text.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/moderation/connection_limits.h"
#include "server/moderation/ip_address.h"
#include "tests/fuzz/fuzz_target.h"

namespace mod = tutti::server::moderation;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);

  std::optional<mod::IpAddress> ip = mod::ParseIp(text);
  if (ip) {
    if (ip->family == mod::IpFamily::kV4) {
      for (int i = 4; i < 16; ++i) FUZZ_CHECK(ip->bytes[i] == 0);
    }
    const std::string canonical = ip->ToString();
    FUZZ_CHECK(!canonical.empty());
    std::optional<mod::IpAddress> again = mod::ParseIp(canonical);
    FUZZ_CHECK(again && *again == *ip);
    FUZZ_CHECK(ip->Key().size() == (ip->family == mod::IpFamily::kV4 ? 5u : 17u));
    absl::StatusOr<mod::Cidr> host = mod::ParseCidr(canonical);
    FUZZ_CHECK(host.ok() && host->prefix_len == ip->bit_length() && host->base == *ip);
    FUZZ_CHECK(host->Contains(*ip));
  }

  absl::StatusOr<mod::Cidr> cidr = mod::ParseCidr(text);
  if (cidr.ok()) {
    FUZZ_CHECK(cidr->prefix_len >= 0 && cidr->prefix_len <= cidr->base.bit_length());
    FUZZ_CHECK(mod::MaskAddress(cidr->base, cidr->prefix_len) == cidr->base);
    FUZZ_CHECK(cidr->Contains(cidr->base));
    absl::StatusOr<mod::Cidr> again = mod::ParseCidr(cidr->ToString());
    FUZZ_CHECK(again.ok() && *again == *cidr);
    // The address as typed (before the '/') lies inside the network, once unmapped.
    std::optional<mod::IpAddress> typed = mod::ParseIp(text.substr(0, text.find('/')));
    if (typed && typed->family == cidr->base.family) FUZZ_CHECK(cidr->Contains(*typed));
  }

  auto list = mod::ConnectionLimits::ParseNetworks(text);
  if (list.ok()) {
    size_t commas = 0;
    for (char c : text) commas += c == ',';
    FUZZ_CHECK(list->size() <= commas + 1);
    for (const mod::Cidr& net : *list) {
      absl::StatusOr<mod::Cidr> again = mod::ParseCidr(net.ToString());
      FUZZ_CHECK(again.ok() && *again == net);
    }
  }
  if (ip) FUZZ_CHECK(mod::AddressKey(text) == mod::AddressKey(ip->ToString()));
  return 0;
}
