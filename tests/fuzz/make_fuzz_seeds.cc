// Writes the fuzz seeds that cannot be typed by hand because they need the fixed test keys
// (tests/fuzz/fuzz_keys.h): signed tokens and sealed connect payloads. Every other seed
// is a hand-written file in the corpus.
//
// Owns: the names and contents of the generated seeds ("gen-*" files).
// Thread affinity: single-threaded tool.
// Owner: run by hand when the key format, the token claims or the payload fields change:
//   make_fuzz_seeds <source dir>/tests/fuzz/corpus
// Tokens are deterministic (Ed25519); sealed payloads differ on each run (the sealing key
// is ephemeral) but all open with the fixed seal key.
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/sealed_box.h"
#include "tests/fuzz/fuzz_keys.h"

namespace crypto = tutti::crypto;
using tutti::fuzz::kFuzzNowMs;
using tutti::fuzz::kFuzzNowS;

namespace {

bool Write(const std::string& dir, const std::string& target, const std::string& name,
           std::string_view content) {
  const std::string path = absl::StrCat(dir, "/", target, "/", name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!(out << content)) {
    std::fprintf(stderr, "make_fuzz_seeds: cannot write %s\n", path.c_str());
    return false;
  }
  std::printf("%s\n", path.c_str());
  return true;
}

crypto::TokenClaims Claims(std::string sub, std::string name) {
  crypto::TokenClaims claims;
  claims.sub = std::move(sub);
  claims.name = std::move(name);
  claims.iss = "tutti-token";
  claims.jti = "fuzz-1";
  claims.iat = kFuzzNowS - 60;
  claims.nbf = kFuzzNowS - 60;
  claims.exp = kFuzzNowS + 3600;
  return claims;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <tests/fuzz/corpus directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const crypto::IssuerKeys issuer = tutti::fuzz::FuzzIssuerKeys();
  const crypto::PublicKey seal_public = tutti::fuzz::FuzzSealPublicKey();

  crypto::TokenClaims member = Claims("user-alice", "Alice");
  member.member = true;
  crypto::TokenClaims admin = Claims("user-root", "Root\u00e9 \u202eadmin");
  admin.roles = {"admin", "moderator", "dj"};
  crypto::TokenClaims expired = Claims("user-old", "Old");
  expired.exp = kFuzzNowS - 3600;

  const std::string member_token = crypto::MintToken(member, issuer);
  const std::string admin_token = crypto::MintToken(admin, issuer);
  const std::string expired_token = crypto::MintToken(expired, issuer);

  crypto::ConnectPayload member_payload;
  member_payload.username = "Alice";
  member_payload.uuid = member.sub;
  member_payload.socket_id = "c29ja2V0LWFsaWNlLTAx";
  member_payload.token = member_token;
  member_payload.ts_ms = kFuzzNowMs - 1000;
  crypto::ConnectPayload admin_payload = member_payload;
  admin_payload.uuid = admin.sub;
  admin_payload.socket_id = "socket-root-01";
  admin_payload.token = admin_token;
  crypto::ConnectPayload expired_payload = member_payload;
  expired_payload.uuid = expired.sub;
  expired_payload.socket_id = "socket-old-01";
  expired_payload.token = expired_token;
  crypto::ConnectPayload guest_payload;
  guest_payload.username = "  Guest\tWith  Spaces ";
  guest_payload.socket_id = "socket-guest-01";
  guest_payload.ts_ms = kFuzzNowMs;

  const std::string member_json = crypto::ConnectPayloadToJson(member_payload);
  const std::string admin_json = crypto::ConnectPayloadToJson(admin_payload);
  const std::string expired_json = crypto::ConnectPayloadToJson(expired_payload);
  const std::string guest_json = crypto::ConnectPayloadToJson(guest_payload);
  auto sealed = [&](const std::string& json) {
    return absl::StrCat(crypto::kConnectPathPrefix,
                        crypto::Base64UrlEncode(crypto::Seal(json, seal_public)));
  };

  // fuzz_jwt: mode '0' is a token to verify.
  bool ok = Write(dir, "jwt", "gen-member-token", "0" + member_token) &&
            Write(dir, "jwt", "gen-admin-token", "0" + admin_token) &&
            Write(dir, "jwt", "gen-expired-token", "0" + expired_token);
  // fuzz_authenticator: mode '0' is a resource, mode '1' a payload the target seals.
  ok = ok && Write(dir, "authenticator", "gen-sealed-member", "0" + sealed(member_json)) &&
       Write(dir, "authenticator", "gen-sealed-guest-query",
             "0" + sealed(guest_json) + "?room=lobby") &&
       Write(dir, "authenticator", "gen-json-member", "1" + member_json) &&
       Write(dir, "authenticator", "gen-json-admin", "1" + admin_json) &&
       Write(dir, "authenticator", "gen-json-expired", "1" + expired_json);
  // fuzz_connect_payload: the payload JSON itself.
  ok = ok && Write(dir, "connect_payload", "gen-member", member_json) &&
       Write(dir, "connect_payload", "gen-admin", admin_json);
  return ok ? 0 : 1;
}
