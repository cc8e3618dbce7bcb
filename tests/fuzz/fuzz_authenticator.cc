// Fuzz target: the whole upgrade check, Authenticator::Authenticate (crypto/authenticator.h),
// on an arbitrary request resource.
//
// Setup, once per process: the fixed test keys are written to a fresh temporary key
// directory, loaded with the real loader, and the directory is removed again. The clock
// is fixed at kFuzzNowMs; the caches are small so that eviction runs too.
// Input: one mode byte, then
//   even: the resource string as a client would send it;
//   odd:  connect payload JSON, which the target seals to the server key and wraps as
//         "/api/websocket/<base64url>", so the JSON, freshness, token and replay checks
//         behind the sealed box are reached.
// Properties: a refusal carries a failure, its HTTP status and reason; an accepted
// identity has a user id, a socket id and a non-empty valid UTF-8 username of at most
// kMaxUsernameBytes.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crypto/authenticator.h"
#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/keys.h"
#include "crypto/sealed_box.h"
#include "crypto/utf8.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/fuzz_target.h"

namespace crypto = tutti::crypto;

namespace {

struct Fixture {
  crypto::PublicKey seal_public{};
  crypto::Authenticator* authenticator = nullptr;
};

Fixture MakeFixture() {
  absl::StatusOr<std::string> dir = tutti::fuzz::WriteFuzzKeyDir();
  if (!dir.ok()) {
    std::fprintf(stderr, "fuzz_authenticator: %s\n", std::string(dir.status().message()).c_str());
    std::abort();
  }
  absl::StatusOr<crypto::ServerKeys> keys = crypto::LoadServerKeys(*dir);
  tutti::fuzz::RemoveFuzzKeyDir(*dir);
  if (!keys.ok()) {
    std::fprintf(stderr, "fuzz_authenticator: %s\n", std::string(keys.status().message()).c_str());
    std::abort();
  }
  Fixture f;
  f.seal_public = keys->seal_public;
  crypto::AuthenticatorOptions options;
  options.token_cache_entries = 8;
  options.replay_cache_entries = 64;
  // Lives for the whole process; the fuzz drivers never tear targets down.
  f.authenticator =
      new crypto::Authenticator(std::move(*keys), options, [] { return tutti::fuzz::kFuzzNowMs; });
  return f;
}

const Fixture& GetFixture() {
  static const Fixture fixture = MakeFixture();
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& f = GetFixture();
  tutti::fuzz::FuzzInput input(data, size);
  std::string resource;
  if ((input.TakeByte() & 1) == 0) {
    resource = std::string(input.Rest());
  } else {
    resource = absl::StrCat(crypto::kConnectPathPrefix,
                            crypto::Base64UrlEncode(crypto::Seal(input.Rest(), f.seal_public)));
  }

  crypto::Identity identity;
  crypto::AuthError error;
  if (f.authenticator->Authenticate(resource, &identity, &error)) {
    FUZZ_CHECK(error.failure == crypto::AuthFailure::kNone);
    FUZZ_CHECK(!identity.user_id.empty() && !identity.socket_id.empty());
    FUZZ_CHECK(!identity.username.empty());
    FUZZ_CHECK(identity.username.size() <= crypto::kMaxUsernameBytes);
    FUZZ_CHECK(crypto::IsValidUtf8(identity.username));
    if (identity.is_guest) FUZZ_CHECK(identity.user_id.rfind("guest:", 0) == 0);
  } else {
    FUZZ_CHECK(error.failure != crypto::AuthFailure::kNone);
    FUZZ_CHECK(error.http_status == crypto::AuthFailureHttpStatus(error.failure));
    FUZZ_CHECK(!error.reason.empty());
    FUZZ_CHECK(identity.user_id.empty());  // left alone on refusal
  }
  return 0;
}
