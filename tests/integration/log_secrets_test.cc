// No secret in the server's log: the real tutti-server binary (production mode, JSON
// log lines) runs a full scenario — members, an admin and a guest connect with tokens;
// a payload that does not open and a replayed one are refused; a room gets a password,
// someone joins with it and someone with a wrong one; chat; a token refresh; a server
// ban — and then nothing the clients held secret (a token, a sealed connect payload, a
// resume token, a password, chat text) appears anywhere in what the process printed,
// while the lines about those very events are there.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "server/clock.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

class LogSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-logsecrets-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(crypto::GenerateKeyFiles(dir_, false).ok());
    auto issuer = crypto::LoadIssuerKeys(dir_);
    ASSERT_TRUE(issuer.ok());
    issuer_ = std::move(*issuer);
    auto seal = crypto::LoadSealPublicKey(dir_);
    ASSERT_TRUE(seal.ok());
    seal_ = *seal;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Mints a connection for `name`, remembering its token and payload as secrets.
  crypto::DevConnection Mint(const std::string& name, std::vector<std::string> roles = {},
                             bool guest = false) {
    crypto::DevConnectionRequest req;
    req.user_id = guest ? "" : "u-" + name;
    req.name = name;
    req.member = !guest;
    req.guest = guest;
    req.roles = std::move(roles);
    req.port = port_;
    auto dev = crypto::MintDevConnection(req, guest ? nullptr : &issuer_, seal_,
                                         server::SystemClock().UnixMs());
    EXPECT_TRUE(dev.ok()) << dev.status();
    if (!dev.ok()) return {};
    if (!dev->token.empty()) secrets_.push_back(dev->token);
    secrets_.push_back(dev->resource.substr(dev->resource.rfind('/') + 1));
    return *dev;
  }

  std::unique_ptr<client::Client> Connect(const crypto::DevConnection& dev) {
    auto c = std::make_unique<client::Client>();
    if (!c->Connect("127.0.0.1", port_, dev.resource, 5s).ok) return nullptr;
    auto welcome = c->WaitFor(proto::ClientMessage::kWelcome, 5s);
    if (!welcome) return nullptr;
    if (!welcome->welcome().resume_token().empty()) {
      secrets_.push_back(welcome->welcome().resume_token());
    }
    return c;
  }

  std::string dir_;
  crypto::IssuerKeys issuer_;
  crypto::PublicKey seal_{};
  uint16_t port_ = 0;
  std::vector<std::string> secrets_;
};

TEST_F(LogSecrets, AFullRunLogsNoTokenPayloadResumeTokenPasswordOrChat) {
  ServerProcess server(TUTTI_SERVER_BIN, dir_, {"--log-format", "json", "--admin-listen="});
  server.set_dev(false);
  ASSERT_TRUE(server.Start());
  port_ = server.port();

  auto admin = Connect(Mint("admin", {"admin"}));
  auto alice = Connect(Mint("alice"));
  auto bob = Connect(Mint("bob"));
  auto guest = Connect(Mint("visitor", {}, true));
  ASSERT_TRUE(admin && alice && bob && guest);

  // A replayed payload and one that does not open are refused (and logged).
  crypto::DevConnection once = Mint("carol");
  auto carol = Connect(once);
  ASSERT_TRUE(carol);
  {
    client::Client again;
    EXPECT_EQ(again.Connect("127.0.0.1", port_, once.resource, 5s).http_status, 409);
    std::string forged = Mint("mallory").resource;
    forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
    secrets_.push_back(forged.substr(forged.rfind('/') + 1));
    client::Client bad;
    EXPECT_EQ(bad.Connect("127.0.0.1", port_, forged, 5s).http_status, 400);
  }

  // A room with a password; a right and a wrong one; chat.
  const std::string password = "pw-Correct-Horse-7731";
  const std::string wrong = "pw-Wrong-Battery-0419";
  const std::string chat = "chat-Staple-Secret-5512";
  secrets_.insert(secrets_.end(), {password, wrong, chat});
  ASSERT_TRUE(alice->Send(CreateMsg("Hidden", proto::PRIVATE, password, 0, "c")));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomJoinedResponse, "c"));
  ASSERT_TRUE(carol->Send(JoinMsg("Hidden", wrong, "w")));
  auto refused = WaitForReply(*carol, proto::ClientMessage::kErrorMessage, "w");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_message().code(), proto::WRONG_PASSWORD);
  ASSERT_TRUE(bob->Send(JoinMsg("Hidden", password, "j")));
  ASSERT_TRUE(WaitForReply(*bob, proto::ClientMessage::kRoomJoinedResponse, "j"));
  ASSERT_TRUE(bob->Send(ChatMsg(chat, "t")));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s));

  // A token refresh, and a server ban by the admin.
  crypto::DevConnection fresh = Mint("alice");
  proto::ServerMessage refresh;
  refresh.mutable_server_command()->set_commandtype(proto::UPDATE_PERMISSIONS);
  (*refresh.mutable_server_command()->mutable_parameters())["token"] = fresh.token;
  refresh.set_request_id("r");
  ASSERT_TRUE(alice->Send(refresh));
  ASSERT_TRUE(WaitForReply(*alice, proto::ClientMessage::kPermissionsUpdated, "r"));
  ASSERT_TRUE(admin->Send(ChatMsg("/sban u-bob 1h flooding", "b")));
  auto banned = WaitForReply(*admin, proto::ClientMessage::kCommandResult, "b");
  ASSERT_TRUE(banned && banned->command_result().ok());

  admin.reset();
  alice.reset();
  bob.reset();
  guest.reset();
  carol.reset();
  EXPECT_EQ(server.Stop(SIGTERM, 10000), 0);
  const std::string& out = server.output();

  // The log is there, in JSON, about these very events...
  EXPECT_NE(out.find("\"event\":\"conn.open\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"user\":\"u-alice\""), std::string::npos);
  EXPECT_NE(out.find("\"status\":\"409\""), std::string::npos);
  EXPECT_NE(out.find("\"status\":\"400\""), std::string::npos);
  EXPECT_NE(out.find("\"event\":\"ban.add\""), std::string::npos);
  EXPECT_NE(out.find("\"event\":\"conn.close\""), std::string::npos);
  // ... and holds none of the secrets, nor a recognisable piece of one.
  ASSERT_GE(secrets_.size(), 12u);
  for (const std::string& secret : secrets_) {
    ASSERT_GE(secret.size(), 8u) << secret;
    EXPECT_EQ(out.find(secret), std::string::npos) << "logged: " << secret;
    if (secret.size() >= 16) {
      EXPECT_EQ(out.find(secret.substr(0, 16)), std::string::npos) << "logged part of: " << secret;
    }
  }
}

}  // namespace
}  // namespace tutti::testing
