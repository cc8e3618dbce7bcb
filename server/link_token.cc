#include "server/link_token.h"

#include <sodium.h>

#include <cstdio>

#include "crypto/base64url.h"
#include "crypto/sodium_init.h"

namespace tutti::server {
namespace {

constexpr std::string_view kPrefix = "lk1.";
constexpr size_t kIdDigits = 16;
constexpr size_t kSecretChars = 43;  // 32 bytes in unpadded base64url
constexpr size_t kTokenBytes = kPrefix.size() + kIdDigits + 1 + kSecretChars;

LinkDigest DigestOf(std::string_view token) {
  crypto::EnsureSodiumInitialized();
  LinkDigest d{};
  crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return d;
}

}  // namespace

std::string IssueLinkToken(SessionId session, int64_t now_us, LinkCredential* out) {
  crypto::EnsureSodiumInitialized();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char id[kIdDigits + 1];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(session));
  std::string token =
      std::string(kPrefix) + id + "." +
      crypto::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  sodium_memzero(bytes, sizeof bytes);
  out->digest = DigestOf(token);
  out->expires_us = now_us + kLinkTokenTtlUs;
  return token;
}

std::optional<SessionId> ParseLinkToken(std::string_view token) {
  if (token.size() != kTokenBytes || token.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  SessionId id = 0;
  for (size_t i = 0; i < kIdDigits; ++i) {
    const char c = token[kPrefix.size() + i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    id = (id << 4) | static_cast<SessionId>(v);
  }
  if (token[kPrefix.size() + kIdDigits] != '.') return std::nullopt;
  for (char c : token.substr(kPrefix.size() + kIdDigits + 1)) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  if (id == 0) return std::nullopt;
  return id;
}

bool RedeemLinkToken(LinkCredential* cred, std::string_view token, int64_t now_us) {
  if (cred->expires_us == 0) return false;
  const bool fresh = now_us < cred->expires_us;
  const LinkDigest d = DigestOf(token);
  const bool same = sodium_memcmp(d.data(), cred->digest.data(), d.size()) == 0;
  // A token that is not the issued one leaves it outstanding: a session id is public (room
  // events carry it), so spending on a mismatch would let anyone cancel another session's
  // link with made-up tokens; guessing the 256 random bits instead is hopeless. The right
  // token is spent whatever else is wrong (late, or presented by another user: stolen).
  if (!same) return false;
  // Spent; the issue quota stays (it counts LINK requests, not redemptions).
  cred->digest = LinkDigest{};
  cred->expires_us = 0;
  return fresh;
}

bool TakeLinkIssue(LinkCredential* cred, int64_t now_us) {
  // At most kLinkTokenBurst turns: the quota never holds more than that.
  while (cred->issue_left < kLinkTokenBurst && now_us >= cred->issue_refill_at_us) {
    ++cred->issue_left;
    cred->issue_refill_at_us += kLinkTokenRefillUs;
  }
  if (cred->issue_left == 0) return false;
  if (cred->issue_left == kLinkTokenBurst) cred->issue_refill_at_us = now_us + kLinkTokenRefillUs;
  --cred->issue_left;
  return true;
}

bool SequenceWindow::Take(uint64_t seq) {
  if (seq == 0) return true;
  if (seq > highest_) {
    const uint64_t shift = seq - highest_;
    seen_ = shift >= 64 ? 0 : seen_ << shift;
    seen_ |= 1;
    highest_ = seq;
    return true;
  }
  const uint64_t back = highest_ - seq;
  if (back >= 64) return false;
  const uint64_t bit = uint64_t{1} << back;
  if (seen_ & bit) return false;
  seen_ |= bit;
  return true;
}

}  // namespace tutti::server
