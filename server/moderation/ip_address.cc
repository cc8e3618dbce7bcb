#include "server/moderation/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/moderation/string_view_compat.h"

namespace tutti::server::moderation {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const std::array<uint8_t, 16>& bytes) {
  return std::equal(std::begin(kMappedPrefix), std::end(kMappedPrefix), bytes.begin());
}

IpAddress UnmapV4(const std::array<uint8_t, 16>& bytes) {
  IpAddress v4;
  v4.family = IpFamily::kV4;
  std::copy(bytes.begin() + 12, bytes.end(), v4.bytes.begin());
  return v4;
}

}  // namespace

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  const int af = family == IpFamily::kV4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes.data(), buffer, sizeof(buffer)) == nullptr) return "";
  return buffer;
}

std::string IpAddress::Key() const {
  std::string key(1, static_cast<char>(family));
  key.append(reinterpret_cast<const char*>(bytes.data()), family == IpFamily::kV4 ? 4 : 16);
  return key;
}

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  // inet_pton needs a NUL-terminated string; anything this long is no address.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string copy(text);
  IpAddress address;
  if (copy.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) != 1) return std::nullopt;
    address.family = IpFamily::kV4;
    return address;
  }
  if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) != 1) return std::nullopt;
  address.family = IpFamily::kV6;
  if (IsV4Mapped(address.bytes)) return UnmapV4(address.bytes);
  return address;
}

IpAddress MaskAddress(const IpAddress& address, int prefix_len) {
  const int bits = address.bit_length();
  prefix_len = std::clamp(prefix_len, 0, bits);
  IpAddress masked = address;
  for (int i = 0; i < bits / 8; ++i) {
    const int keep = std::clamp(prefix_len - i * 8, 0, 8);
    const uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    masked.bytes[i] &= mask;
  }
  return masked;
}

bool Cidr::Contains(const IpAddress& address) const {
  return address.family == base.family && MaskAddress(address, prefix_len) == base;
}

std::string Cidr::ToString() const {
  if (prefix_len == base.bit_length()) return base.ToString();
  return absl::StrCat(base.ToString(), "/", prefix_len);
}

absl::StatusOr<Cidr> ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  // Parse the address without unmapping first: the prefix of a mapped network counts
  // bits of the IPv6 form.
  std::optional<IpAddress> address;
  if (address_text.find(':') != std::string_view::npos) {
    std::string_view bare = address_text;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
      bare = bare.substr(1, bare.size() - 2);
    }
    IpAddress v6;
    v6.family = IpFamily::kV6;
    const std::string copy(bare);
    if (!copy.empty() && copy.size() < INET6_ADDRSTRLEN &&
        inet_pton(AF_INET6, copy.c_str(), v6.bytes.data()) == 1) {
      address = v6;
    }
  } else {
    address = ParseIp(address_text);
  }
  if (!address) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(address_text), "\" is not an IP address"));
  }
  int prefix_len = address->bit_length();
  if (slash != std::string_view::npos) {
    const std::string_view prefix_text = text.substr(slash + 1);
    if (prefix_text.empty() || prefix_text.size() > 3 ||
        !std::all_of(prefix_text.begin(), prefix_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(ToAbsl(prefix_text), &prefix_len) || prefix_len > address->bit_length()) {
      return absl::InvalidArgumentError(absl::StrCat("bad prefix length in \"", ToAbsl(text),
                                                     "\" (0 to ", address->bit_length(), ")"));
    }
  }
  Cidr cidr;
  if (address->family == IpFamily::kV6 && IsV4Mapped(address->bytes) && prefix_len >= 96) {
    cidr.base = MaskAddress(UnmapV4(address->bytes), prefix_len - 96);
    cidr.prefix_len = prefix_len - 96;
  } else {
    cidr.base = MaskAddress(*address, prefix_len);
    cidr.prefix_len = prefix_len;
  }
  return cidr;
}

std::string AddressKey(std::string_view ip) {
  std::optional<IpAddress> address = ParseIp(ip);
  if (!address) return std::string(ip);
  if (address->family == IpFamily::kV6) return MaskAddress(*address, 64).Key();
  return address->Key();
}

}  // namespace tutti::server::moderation
