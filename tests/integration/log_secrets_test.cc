// No secret in the server's log: the real tutti-server binary (production mode, JSON
// log lines) runs a full scenario — members, an admin and a guest connect with tokens;
// a payload that does not open and a replayed one are refused; a room gets a password,
// someone joins with it and someone with a wrong one; chat; a dropped member resumes with
// its resume token (and gets a new one), a spent token is tried in band (RECONNECT); a
// token refresh; a server ban — and then nothing the clients held secret (a token, a
// sealed connect payload, a resume token, a password, chat text) appears anywhere in what
// the process printed (stdout and stderr), while the lines about those very events are.
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
#include "tests/testing/keyed_process_test.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

class LogSecrets : public KeyedProcessTest {
 protected:
  LogSecrets() : KeyedProcessTest("logsecrets") {}

  // Mints a connection for `name`, remembering its token and payload as secrets.
  crypto::DevConnection Mint(const std::string& name, std::vector<std::string> roles = {},
                             bool guest = false, const std::string& resume_token = "",
                             const std::string& resume_room = "") {
    crypto::DevConnectionRequest req;
    req.user_id = guest ? "" : "u-" + name;
    req.name = name;
    req.member = !guest;
    req.guest = guest;
    req.roles = std::move(roles);
    req.port = port_;
    req.resume_token = resume_token;
    req.resume_room = resume_room;
    auto dev = crypto::MintDevConnection(req, guest ? nullptr : &issuer_, seal_,
                                         server::SystemClock().UnixMs());
    EXPECT_TRUE(dev.ok()) << dev.status();
    if (!dev.ok()) return {};
    if (!dev->token.empty()) secrets_.push_back(dev->token);
    secrets_.push_back(dev->resource.substr(dev->resource.rfind('/') + 1));
    return *dev;
  }

  std::unique_ptr<client::Client> Connect(const crypto::DevConnection& dev,
                                          proto::Welcome* welcome_out = nullptr) {
    auto c = std::make_unique<client::Client>();
    if (!c->Connect("127.0.0.1", port_, dev.resource, 5s).ok) return nullptr;
    auto welcome = c->WaitFor(proto::ClientMessage::kWelcome, 5s);
    if (!welcome) return nullptr;
    if (!welcome->welcome().resume_token().empty()) {
      secrets_.push_back(welcome->welcome().resume_token());
    }
    if (welcome_out != nullptr) *welcome_out = welcome->welcome();
    return c;
  }

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
  proto::Welcome bob_welcome;
  auto bob = Connect(Mint("bob"), &bob_welcome);
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
  auto joined = WaitForReply(*bob, proto::ClientMessage::kRoomJoinedResponse, "j");
  ASSERT_TRUE(joined);
  ASSERT_TRUE(bob->Send(ChatMsg(chat, "t")));
  ASSERT_TRUE(alice->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s));

  // Bob's connection drops; he resumes with his Welcome's token in a fresh payload.
  const std::string spent = bob_welcome.resume_token();
  ASSERT_GE(spent.size(), 16u);
  bob->Drop();
  proto::Welcome resumed_welcome;
  bob = Connect(Mint("bob", {}, false, spent, joined->room_joined_response().room_info().room_id()),
                &resumed_welcome);
  ASSERT_TRUE(bob);
  auto resumed = bob->WaitFor(proto::ClientMessage::kResumeResult, 5s);
  ASSERT_TRUE(resumed);
  // Recovered or not (no position was given), the token was taken.
  EXPECT_NE(resumed->resume_result().outcome(), proto::RESUME_REFUSED);
  EXPECT_NE(resumed_welcome.resume_token(), spent);  // a new one, also a secret
  // Carol (in no room) tries the spent token in band: refused, and not logged either.
  proto::ServerMessage reconnect;
  reconnect.mutable_server_command()->set_commandtype(proto::RECONNECT);
  (*reconnect.mutable_server_command()->mutable_parameters())["resume_token"] = spent;
  reconnect.set_request_id("rc");
  ASSERT_TRUE(carol->Send(reconnect));
  auto refused_resume = WaitForReply(*carol, proto::ClientMessage::kResumeResult, "rc");
  ASSERT_TRUE(refused_resume);
  EXPECT_EQ(refused_resume->resume_result().outcome(), proto::RESUME_REFUSED);

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
  // Read as it goes (the pipe must not fill), then everything up to the exit.
  EXPECT_TRUE(server.WaitForOutput("\"event\":\"ban.add\"", 10000));
  EXPECT_EQ(server.Stop(SIGTERM, 20000), 0);
  EXPECT_TRUE(server.WaitForOutput("tutti: stopped", 10000));
  const std::string& out = server.output();

  // The log is there, in JSON, about these very events...
  EXPECT_NE(out.find("\"event\":\"conn.open\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"user\":\"u-alice\""), std::string::npos);
  EXPECT_NE(out.find("\"status\":\"409\""), std::string::npos);
  EXPECT_NE(out.find("\"status\":\"400\""), std::string::npos);
  EXPECT_NE(out.find("\"event\":\"ban.add\""), std::string::npos);
  EXPECT_NE(out.find("\"event\":\"conn.close\""), std::string::npos);
  // ... and holds none of the secrets, nor a recognisable piece of one.
  // Every kind is in the list: member tokens, payloads (one forged), resume tokens (the
  // spent and the new), a password, a wrong one, chat.
  ASSERT_GE(secrets_.size(), 16u);
  for (const std::string& secret : secrets_) {
    ASSERT_GE(secret.size(), 8u) << secret;
    EXPECT_EQ(out.find(secret), std::string::npos) << "logged: " << secret;
    // A recognisable piece: the tail (a JWT's signature, a payload's last bytes; a JWT's
    // head is the same for every token and no secret).
    if (secret.size() >= 16) {
      EXPECT_EQ(out.find(secret.substr(secret.size() - 16)), std::string::npos)
          << "logged part of: " << secret;
    }
  }
}

}  // namespace
}  // namespace tutti::testing
