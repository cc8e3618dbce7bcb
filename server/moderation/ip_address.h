// IPv4/IPv6 addresses and CIDR networks as plain values, for ban matching and for
// keying per-address counters.
//
// Thread affinity: none (values and pure functions).
// Ownership: callers own the values; nothing here keeps state.
//
// Parsing uses inet_pton, so only the standard textual forms are accepted (no
// "010.1.1.1" octal tricks, no zone ids). An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is turned into the IPv4 address it carries: a dual-stack listener
// reports IPv4 peers in that form, and a ban on 192.0.2.1 must still match them.
#ifndef TUTTI_SERVER_MODERATION_IP_ADDRESS_H_
#define TUTTI_SERVER_MODERATION_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tutti::server::moderation {

enum class IpFamily : uint8_t { kV4 = 4, kV6 = 6 };

struct IpAddress {
  IpFamily family = IpFamily::kV4;
  // Network byte order. An IPv4 address uses bytes[0..3]; the rest stay zero so that
  // equal addresses compare equal.
  std::array<uint8_t, 16> bytes{};

  int bit_length() const { return family == IpFamily::kV4 ? 32 : 128; }
  // The canonical text (inet_ntop), e.g. "192.0.2.1", "2001:db8::1".
  std::string ToString() const;
  // Compact binary key (family, then the address bytes) for hash maps.
  std::string Key() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) { return !(a == b); }
};

// Accepts "192.0.2.1", "2001:db8::1" and "[2001:db8::1]"; nullopt for anything else.
std::optional<IpAddress> ParseIp(std::string_view text);

// The address with every bit after the first prefix_len bits cleared.
// prefix_len is clamped to [0, bit_length()].
IpAddress MaskAddress(const IpAddress& address, int prefix_len);

struct Cidr {
  IpAddress base;  // host bits always zero
  int prefix_len = 0;

  bool Contains(const IpAddress& address) const;
  // "192.0.2.0/24"; a full-length prefix prints as the bare address.
  std::string ToString() const;

  friend bool operator==(const Cidr& a, const Cidr& b) {
    return a.base == b.base && a.prefix_len == b.prefix_len;
  }
};

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits after
// the prefix are cleared ("192.0.2.7/24" is 192.0.2.0/24) so that a ban typed from
// a sample address covers the network the admin meant. A mapped IPv6 network with a
// prefix of at least 96 becomes the IPv4 network it covers. INVALID_ARGUMENT for a bad
// address or a prefix out of range.
absl::StatusOr<Cidr> ParseCidr(std::string_view text);

// The key per-address counters use: an IPv4 address itself, an IPv6 address's /64
// (one host usually owns a whole /64 and could otherwise rotate through 2^64 addresses
// to dodge a counter), and unparsable text as it is.
std::string AddressKey(std::string_view ip);

}  // namespace tutti::server::moderation

#endif  // TUTTI_SERVER_MODERATION_IP_ADDRESS_H_
