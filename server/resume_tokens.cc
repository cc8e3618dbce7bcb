#include "server/resume_tokens.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"
#include "crypto/sodium_init.h"

namespace tutti::server {
namespace {
constexpr char kGuestPrefix[] = "guest:";  // crypto/authenticator.cc names guests so
}  // namespace

ResumeTokens::ResumeTokens(const Clock* clock, int64_t window_us)
    : clock_(clock), window_us_(window_us) {}

ResumeTokens::Key ResumeTokens::KeyOf(std::string_view token) const {
  const crypto::Digest128 d = digester_.Digest(token);
  return {d.hi, d.lo};
}

std::string ResumeTokens::Issue(const std::string& user_id, SessionId session) {
  crypto::EnsureSodiumInitialized();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  std::string token =
      absl::StrCat("rt1.", crypto::Base64UrlEncode(std::string_view(
                               reinterpret_cast<const char*>(bytes), sizeof bytes)));
  sodium_memzero(bytes, sizeof bytes);
  const Key key = KeyOf(token);
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(clock_->NowUs());
  auto old = by_session_.find(session);
  if (old != by_session_.end()) by_token_.erase(old->second);
  by_token_[key] = Entry{user_id, session, 0};
  by_session_[session] = key;
  return token;
}

void ResumeTokens::Detached(SessionId session) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = by_session_.find(session);
  if (s == by_session_.end()) return;
  auto t = by_token_.find(s->second);
  if (t == by_token_.end() || t->second.expires_us != 0) return;
  t->second.expires_us = clock_->NowUs() + window_us_;
  expiry_.emplace(t->second.expires_us, t->first);
}

ResumeTokens::Redemption ResumeTokens::Redeem(std::string_view token, std::string_view user_id,
                                              bool guest) {
  const Key key = KeyOf(token);
  const int64_t now = clock_->NowUs();
  std::lock_guard<std::mutex> lock(mu_);
  auto t = by_token_.find(key);
  if (t == by_token_.end()) return {};
  const Entry entry = t->second;
  by_token_.erase(t);
  by_session_.erase(entry.session);
  const bool same_user =
      guest ? entry.user_id.rfind(kGuestPrefix, 0) == 0 : entry.user_id == user_id;
  if (!same_user) return {Outcome::kWrongUser, 0, {}};
  if (entry.expires_us != 0 && now >= entry.expires_us) return {Outcome::kExpired, 0, {}};
  return {Outcome::kGranted, entry.session, entry.user_id};
}

void ResumeTokens::Revoke(SessionId session) {
  std::lock_guard<std::mutex> lock(mu_);
  auto s = by_session_.find(session);
  if (s == by_session_.end()) return;
  by_token_.erase(s->second);
  by_session_.erase(s);
}

void ResumeTokens::PruneLocked(int64_t now_us) {
  while (!expiry_.empty() && now_us >= expiry_.begin()->first + window_us_) {
    auto t = by_token_.find(expiry_.begin()->second);
    if (t != by_token_.end() && t->second.expires_us == expiry_.begin()->first) {
      by_session_.erase(t->second.session);
      by_token_.erase(t);
    }
    expiry_.erase(expiry_.begin());
  }
}

size_t ResumeTokens::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_token_.size();
}

std::string ResumeTokens::SharedKey(std::string_view token) {
  crypto::EnsureSodiumInitialized();
  unsigned char hash[16];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof hash);
  for (unsigned char b : hash) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

const char* ResumeTokens::OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kGranted:
      return "granted";
    case Outcome::kUnknown:
      return "token unknown or already used";
    case Outcome::kExpired:
      return "token expired";
    case Outcome::kWrongUser:
      return "token belongs to another user";
  }
  return "token unknown or already used";
}

}  // namespace tutti::server
