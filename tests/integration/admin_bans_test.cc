// Server bans on the admin listener (server/admin_bans.h) against a real server: bans
// made by staff over WebSocket are listed at GET /bans in pages, lifted with
// DELETE /bans?target=..., and the lift is in force (the user gets in again) and in the
// audit log staff read; bad paging, bad queries and other methods are refused. Also the
// protocol's LIST_BANS past the last page.

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "tests/testing/admin_fixture.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// One request on a fresh connection (tests/testing/admin_http.h).
using Answer = AdminAnswer;
Answer Http(uint16_t port, const std::string& method, const std::string& target) {
  return AdminRequest(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

// The value of "key": in a flat part of the JSON (numbers and strings without quotes
// inside, which is all these tests look at).
std::string Field(const std::string& json, const std::string& key, size_t from = 0) {
  const std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle, from);
  if (at == std::string::npos) return "";
  at += needle.size();
  if (json[at] == '"') return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  return json.substr(at, json.find_first_of(",}", at) - at);
}

std::vector<std::string> Targets(const std::string& json) {
  std::vector<std::string> out;
  for (size_t at = json.find("\"target\":"); at != std::string::npos;
       at = json.find("\"target\":", at + 1)) {
    out.push_back(Field(json, "target", at));
  }
  return out;
}

class AdminBansTest : public AdminListenerFixture {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(2);
    ASSERT_NO_FATAL_FAILURE(StartAdmin());
    staff_ = server_->Connect(Admin());
    ASSERT_TRUE(staff_);
  }
  void TearDown() override {
    staff_.reset();
    admin_.reset();  // before the server it reads
    server_.reset();
  }

  void Ban(const std::string& target) {
    const std::string rid = "ban " + target;
    ASSERT_TRUE(staff_->Send(ChatMsg("/sban " + target + " 1h spam", rid)));
    auto r = WaitForReply(*staff_, proto::ClientMessage::kCommandResult, rid);
    ASSERT_TRUE(r && r->command_result().ok()) << target;
  }

  Answer Bans(const std::string& method, const std::string& query) {
    return Http(admin_->port(), method, "/bans" + query);
  }

  std::unique_ptr<client::Client> staff_;
};

TEST_F(AdminBansTest, ListsServerBansInPagesOrderedByTarget) {
  for (const char* t : {"u-x3", "u-x1", "198.51.100.7", "192.0.2.0/24", "u-x2"}) Ban(t);
  std::vector<std::string> seen;
  std::string offset = "0";
  for (int page = 0; page < 5; ++page) {
    Answer a = Bans("GET", "?limit=2&offset=" + offset);
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_NE(a.head.find("application/json"), std::string::npos);
    EXPECT_EQ(Field(a.body, "total"), "5");
    std::vector<std::string> targets = Targets(a.body);
    EXPECT_LE(targets.size(), 2u);
    seen.insert(seen.end(), targets.begin(), targets.end());
    offset = Field(a.body, "next_offset");
    if (offset == "0") break;
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"192.0.2.0/24", "198.51.100.7", "u-x1", "u-x2", "u-x3"}));
  Answer one = Bans("GET", "?offset=0&limit=1");
  EXPECT_EQ(Field(one.body, "kind"), "network");
  EXPECT_EQ(Field(one.body, "actor"), "u-admin");
  EXPECT_EQ(Field(one.body, "reason"), "spam");
  EXPECT_GT(std::stoll(Field(one.body, "until_unix_ms")),
            std::stoll(Field(one.body, "created_unix_ms")));
  // Past the end: an empty page that says so.
  Answer past = Bans("GET", "?offset=99");
  ASSERT_EQ(past.status, 200);
  EXPECT_TRUE(Targets(past.body).empty());
  EXPECT_EQ(Field(past.body, "total"), "5");
  EXPECT_EQ(Field(past.body, "next_offset"), "0");
  // The protocol's pages end the same way.
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::LIST_BANS);
  (*m.mutable_server_command()->mutable_parameters())["offset"] = "99";
  m.set_request_id("past");
  ASSERT_TRUE(staff_->Send(m));
  auto list = WaitForReply(*staff_, proto::ClientMessage::kBanList, "past");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->ban_list().bans_size(), 0);
  EXPECT_EQ(list->ban_list().total(), 5u);
  EXPECT_EQ(list->ban_list().next_offset(), 0u);
}

TEST_F(AdminBansTest, RefusesBadPagingQueriesAndOtherMethods) {
  for (const char* q : {"?limit=0", "?limit=201", "?offset=-1", "?limit=x", "?limit=1&limit=2",
                        "?Limit=1", "?target=%zz", "?target=%0a"}) {
    Answer a = Bans("GET", q);
    EXPECT_EQ(a.status, 400) << q;
    EXPECT_FALSE(Field(a.body, "error").empty()) << q;
  }
  Answer post = Bans("POST", "");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.head.find("Allow: GET, HEAD, DELETE"), std::string::npos) << post.head;
  Answer head = Bans("HEAD", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(Bans("DELETE", "").status, 400);  // no target
  EXPECT_EQ(Bans("DELETE", "?target=10.0.0.0%2F99").status, 400);
}

TEST_F(AdminBansTest, DeleteLiftsABanForGoodAndTheLogSaysWho) {
  Ban("u-x1");
  Ban("192.0.2.0/24");
  UserSpec x1 = Named("x1");
  // Banned: refused at the door.
  {
    auto c = std::make_unique<client::Client>();
    client::ConnectResult r = c->Connect("127.0.0.1", server_->port(), server_->Resource(x1));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.http_status, 403);
  }
  Answer lifted = Bans("DELETE", "?target=u-x1");
  ASSERT_EQ(lifted.status, 200) << lifted.body;
  EXPECT_EQ(Field(lifted.body, "lifted"), "u-x1");
  // In force before the answer: the next upgrade gets in.
  EXPECT_TRUE(server_->Connect(x1));
  // A network typed with host bits names the same ban.
  EXPECT_EQ(Bans("DELETE", "?target=192.0.2.77%2F24").status, 200);
  EXPECT_EQ(Bans("DELETE", "?target=u-x1").status, 404);
  Answer left = Bans("GET", "");
  EXPECT_EQ(Field(left.body, "total"), "0");

  ASSERT_TRUE(staff_->Send(ChatMsg("/log", "log")));
  auto log = WaitForReply(*staff_, proto::ClientMessage::kAuditLog, "log");
  ASSERT_TRUE(log);
  int unbans = 0;
  for (const auto& e : log->audit_log().entries()) {
    if (e.action() != proto::MOD_SERVER_UNBAN) continue;
    ++unbans;
    EXPECT_EQ(e.actor_user_id(), server::kAdminListenerActor);
  }
  EXPECT_EQ(unbans, 2);
}

}  // namespace
}  // namespace tutti::testing
