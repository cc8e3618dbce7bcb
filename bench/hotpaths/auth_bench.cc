// What one WebSocket upgrade costs the gate: open the sealed payload, parse it, verify the
// token (or find it in the verified-token cache), and consume the socket id. Payloads are
// minted outside the timed region; each is used once, as on the wire.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "crypto/authenticator.h"
#include "crypto/base64url.h"
#include "crypto/connect_payload.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"

namespace tutti {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;

struct Keys {
  std::string dir;  // fresh dev keys, removed at exit
  crypto::ServerKeys server;
  crypto::IssuerKeys issuer;
  ~Keys() { (void)std::system(("rm -rf '" + dir + "'").c_str()); }
};

const Keys& TestKeys() {
  static Keys keys;
  static const bool loaded = [] {
    crypto::EnsureSodiumInitialized();
    char tmpl[] = "/tmp/tutti-bench-keys-XXXXXX";
    keys.dir = mkdtemp(tmpl);
    (void)crypto::EnsureDevKeys(keys.dir);
    keys.server = *crypto::LoadServerKeys(keys.dir);
    keys.issuer = *crypto::LoadIssuerKeys(keys.dir);
    return true;
  }();
  (void)loaded;
  return keys;
}

std::string Token(const Keys& k, int user) {
  crypto::TokenClaims c;
  c.sub = "bench-" + std::to_string(user);
  c.name = "Bench";
  c.iss = "bench";
  c.jti = crypto::RandomSocketId();
  c.member = true;
  c.iat = kNowMs / 1000;
  c.exp = kNowMs / 1000 + 3600;
  return crypto::MintToken(c, k.issuer);
}

std::vector<std::string> Resources(const Keys& k, int n, bool same_token, int* next_user) {
  std::vector<std::string> out;
  const std::string shared = same_token ? Token(k, 0) : std::string();
  for (int i = 0; i < n; ++i) {
    const int user = same_token ? 0 : (*next_user)++;
    crypto::ConnectPayload p;
    p.uuid = "bench-" + std::to_string(user);
    p.username = "Bench";
    p.token = same_token ? shared : Token(k, user);
    p.socket_id = crypto::RandomSocketId();
    p.ts_ms = kNowMs;
    p.is_member = true;
    out.push_back(crypto::BuildConnectResource(p, k.server.seal_public));
  }
  return out;
}

void RunAuth(benchmark::State& state, bool same_token) {
  const Keys& k = TestKeys();
  crypto::Authenticator auth(*crypto::LoadServerKeys(k.dir), crypto::AuthenticatorOptions(),
                             [] { return kNowMs; });
  int next_user = 1;
  std::vector<std::string> batch;
  size_t i = 0;
  for (auto _ : state) {
    if (i == batch.size()) {
      state.PauseTiming();
      batch = Resources(k, 2000, same_token, &next_user);
      i = 0;
      state.ResumeTiming();
    }
    crypto::Identity id;
    crypto::AuthError err;
    if (!auth.Authenticate(batch[i++], &id, &err)) state.SkipWithError(err.reason.c_str());
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["cache_hits"] = static_cast<double>(auth.stats().token_cache_hits);
}

void BM_AuthNewToken(benchmark::State& state) { RunAuth(state, false); }
void BM_AuthRepeatedToken(benchmark::State& state) { RunAuth(state, true); }
BENCHMARK(BM_AuthNewToken)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AuthRepeatedToken)->Unit(benchmark::kMicrosecond);

// The client's half, for scale: what the load generator pays per connection.
void BM_SealPayload(benchmark::State& state) {
  const Keys& k = TestKeys();
  crypto::ConnectPayload p;
  p.uuid = "bench-1";
  p.username = "Bench";
  p.token = Token(k, 1);
  p.ts_ms = kNowMs;
  for (auto _ : state) {
    p.socket_id = crypto::RandomSocketId();
    benchmark::DoNotOptimize(crypto::BuildConnectResource(p, k.server.seal_public));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SealPayload)->Unit(benchmark::kMicrosecond);

// Decoding a connect payload's base64url text (~650 characters) through libsodium's codec
// (crypto/base64url.h): into a new string, as the authenticator does, and into a buffer of
// the exact length, as key loading does.
std::string PayloadText() {
  const Keys& k = TestKeys();
  crypto::ConnectPayload p;
  p.uuid = "bench-1";
  p.username = "Bench";
  p.token = Token(k, 1);
  p.ts_ms = kNowMs;
  p.socket_id = crypto::RandomSocketId();
  std::string resource = crypto::BuildConnectResource(p, k.server.seal_public);
  return resource.substr(resource.rfind('/') + 1);
}

void BM_Base64UrlDecodePayload(benchmark::State& state) {
  const std::string text = PayloadText();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Base64UrlDecode(text));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Base64UrlDecodePayload);

void BM_Base64UrlDecodeInto(benchmark::State& state) {
  const std::string text = PayloadText();
  const size_t len = crypto::Base64UrlDecode(text)->size();
  std::vector<uint8_t> out(len);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::Base64UrlDecodeInto(text, out.data(), out.size()));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Base64UrlDecodeInto);

}  // namespace
}  // namespace tutti
