// Runs the real tutti-keygen and tutti-token binaries and checks that what they
// write and print is accepted by the library, plus the MintDevConnection API
// they are built on.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "crypto/authenticator.h"
#include "crypto/dev_connection.h"
#include "crypto/json.h"
#include "crypto/keys.h"
#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// Arguments here are test constants without shell metacharacters.
RunResult RunCommand(const std::string& command) {
  RunResult r;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "tutti-tools-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    keys_ = root_ + "/keys";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string Token(const std::string& args) {
    return std::string(TUTTI_TOKEN_PATH) + " --keys " + keys_ + " " + args;
  }

  std::string root_;
  std::string keys_;
};

TEST_F(ToolsTest, KeygenWritesLoadableKeysAndRefusesToOverwrite) {
  RunResult r = RunCommand(std::string(TUTTI_KEYGEN_PATH) + " --dir " + keys_);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("tutti-seal-public-v1 "), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat((keys_ + "/server_seal.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((keys_ + "/issuer_sign.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(LoadServerKeys(keys_).ok());
  EXPECT_TRUE(LoadIssuerKeys(keys_).ok());
  EXPECT_EQ(RunCommand(std::string(TUTTI_KEYGEN_PATH) + " --dir " + keys_).exit_code, 1);
  EXPECT_EQ(RunCommand(std::string(TUTTI_KEYGEN_PATH) + " --dir " + keys_ + " --force").exit_code,
            0);
  EXPECT_EQ(RunCommand(std::string(TUTTI_KEYGEN_PATH)).exit_code, 2);
}

TEST_F(ToolsTest, TokenOutputAuthenticates) {
  ASSERT_EQ(RunCommand(std::string(TUTTI_KEYGEN_PATH) + " --dir " + keys_).exit_code, 0);
  RunResult r =
      RunCommand(Token("--user-id u42 --name Ann --member --roles admin,moderator "
                       "--ttl 600 --host example.test --port 9000 --json"));
  ASSERT_EQ(r.exit_code, 0);
  absl::StatusOr<JsonObject> json = ParseFlatJsonObject(r.out.substr(0, r.out.find('\n')));
  ASSERT_TRUE(json.ok()) << json.status() << r.out;
  std::string url, resource, token, payload;
  ASSERT_TRUE(GetJsonString(*json, "url", true, &url).ok());
  ASSERT_TRUE(GetJsonString(*json, "resource", true, &resource).ok());
  ASSERT_TRUE(GetJsonString(*json, "token", true, &token).ok());
  ASSERT_TRUE(GetJsonString(*json, "payload", true, &payload).ok());
  EXPECT_EQ(url, "ws://example.test:9000" + resource);
  EXPECT_EQ(resource.rfind("/api/websocket/", 0), 0u);

  absl::StatusOr<ServerKeys> keys = LoadServerKeys(keys_);
  ASSERT_TRUE(keys.ok());
  absl::StatusOr<TokenClaims> claims =
      VerifyToken(token, keys->issuer_public, WallClockUnixMs() / 1000, 0);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->sub, "u42");
  EXPECT_GT(claims->exp, WallClockUnixMs() / 1000 + 500);
  EXPECT_LE(claims->exp, WallClockUnixMs() / 1000 + 600);

  Authenticator auth(std::move(*keys), AuthenticatorOptions(), WallClockUnixMs);
  Identity id;
  AuthError error;
  ASSERT_TRUE(auth.Authenticate(resource, &id, &error)) << error.reason;
  EXPECT_EQ(id.user_id, "u42");
  EXPECT_EQ(id.username, "Ann");
  EXPECT_TRUE(id.is_member && id.is_admin && id.is_moderator);
  // Single use, as --help says.
  EXPECT_FALSE(auth.Authenticate(resource, &id, &error));
  EXPECT_EQ(error.failure, AuthFailure::kReplayed);
}

TEST_F(ToolsTest, TokenPrintsAGuestUrl) {
  ASSERT_EQ(RunCommand(std::string(TUTTI_KEYGEN_PATH) + " --dir " + keys_).exit_code, 0);
  // A guest needs only the public seal key.
  std::filesystem::remove(keys_ + "/issuer_sign.key");
  RunResult r = RunCommand(Token("--guest --name Visitor"));
  ASSERT_EQ(r.exit_code, 0);
  std::string url = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(url.rfind("ws://127.0.0.1:8080/api/websocket/", 0), 0u) << url;
  absl::StatusOr<ServerKeys> keys = LoadServerKeys(keys_);
  ASSERT_TRUE(keys.ok());
  Authenticator auth(std::move(*keys), AuthenticatorOptions(), WallClockUnixMs);
  Identity id;
  AuthError error;
  ASSERT_TRUE(auth.Authenticate(url.substr(std::string("ws://127.0.0.1:8080").size()), &id, &error))
      << error.reason;
  EXPECT_TRUE(id.is_guest);
  EXPECT_EQ(id.username, "Visitor");
}

TEST_F(ToolsTest, TokenUsageErrorsAndHelp) {
  RunResult help = RunCommand(std::string(TUTTI_TOKEN_PATH) + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("SINGLE-USE"), std::string::npos);
  EXPECT_EQ(RunCommand(std::string(TUTTI_TOKEN_PATH) + " --user-id u").exit_code, 2);  // no --keys
  EXPECT_EQ(RunCommand(Token("--name x")).exit_code, 2);  // no --user-id
  EXPECT_EQ(RunCommand(Token("--user-id u --ttl soon")).exit_code, 2);
  EXPECT_EQ(RunCommand(Token("--user-id u --bogus")).exit_code, 2);
  EXPECT_EQ(RunCommand(Token("--user-id u")).exit_code, 1);  // no key files yet
  ASSERT_EQ(RunCommand(std::string(TUTTI_KEYGEN_PATH) + " --dir " + keys_).exit_code, 0);
  EXPECT_EQ(RunCommand(Token("--user-id u --roles owner")).exit_code, 1);  // unknown role
  EXPECT_EQ(RunCommand(Token("--user-id u --port 70000")).exit_code, 1);
  EXPECT_EQ(RunCommand(Token("--user-id=u --name=Ann")).exit_code, 0);
}

TEST(DevConnectionTest, MintsAConnectionTheAuthenticatorAccepts) {
  IssuerKeys issuer = GenerateIssuerKeys();
  ServerKeys keys = GenerateServerKeys(issuer.public_key);
  PublicKey seal_public = keys.seal_public;
  const int64_t now = 1700000000000;
  DevConnectionRequest request;
  request.user_id = "u1";
  request.name = "Ann";
  request.roles = {"moderator"};
  absl::StatusOr<DevConnection> c = MintDevConnection(request, &issuer, seal_public, now);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->claims.exp, now / 1000 + 3600);
  EXPECT_EQ(c->payload.uuid, "u1");
  EXPECT_TRUE(ParseFlatJsonObject(DevConnectionToJson(*c)).ok());

  Authenticator auth(std::move(keys), AuthenticatorOptions(), [now] { return now; });
  Identity id;
  AuthError error;
  ASSERT_TRUE(auth.Authenticate(c->resource, &id, &error)) << error.reason;
  EXPECT_TRUE(id.is_moderator);
  EXPECT_FALSE(id.is_admin);
  EXPECT_FALSE(id.is_member);

  request.host = "::1";
  c = MintDevConnection(request, &issuer, seal_public, now);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->url.rfind("ws://[::1]:8080/api/websocket/", 0), 0u);

  request.user_id = "";
  EXPECT_FALSE(MintDevConnection(request, &issuer, seal_public, now).ok());
  request.guest = true;
  EXPECT_TRUE(MintDevConnection(request, nullptr, seal_public, now).ok());
}

}  // namespace
}  // namespace tutti::crypto
