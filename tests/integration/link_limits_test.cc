// Linked connections under load and in the operator's figures (docs/PROTOCOL.md §16,
// docs/OPERATIONS.md "Metrics"), against a real server on 127.0.0.1 with real WebSocket
// clients: a scrape after a link was used shows it attached, its MIDI copies dropped, a
// refused upgrade by error code and the server's close 4007 by close code, and the linked
// sessions gauge back at 0; a session that floods LINK gets its few tokens and then typed
// RATE_LIMITED answers, upgrades with bad and used tokens get AUTH_ERROR and 4006 (or the
// door's 429), while the others in the room go on playing and the server keeps serving.
// The server runs on a FakeClock: the link token quota refills only when the test says so.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "server/link_token.h"
#include "tests/testing/admin_fixture.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/test_server.h"
#include "tools/client/client.h"

namespace tutti::testing {
namespace {

constexpr uint16_t kLinkRefused = 4006;
constexpr uint16_t kLinkSessionGone = 4007;

proto::ServerMessage LinkMsg(const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::LINK);
  m.set_request_id(rid);
  return m;
}

class LinkLimitsTest : public AdminListenerFixture {
 protected:
  void SetUp() override {
    clock_ = NowFakeClock();
    server_ = std::make_unique<TestServer>(
        2,
        [](server::ServerConfig& c) {
          // The link token quota is what this test meets, not the request quota.
          c.requests_per_second = 1000;
          c.request_burst = 1000;
          c.chat_per_second = 1000;
          c.chat_burst = 1000;
        },
        clock_);
    ASSERT_NO_FATAL_FAILURE(StartAdmin());
    alice_ = server_->Connect(Named("alice"));
    bob_ = server_->Connect(Named("bob"), &bob_welcome_);
    carol_ = server_->Connect(Named("carol"));
    ASSERT_TRUE(alice_ && bob_ && carol_);
    for (auto* c : {alice_.get(), bob_.get(), carol_.get()}) ASSERT_TRUE(JoinRoom(*c, "band"));
  }
  // Scrapes until `series` equals `want` (bounded); the last value seen otherwise.
  double ScrapeUntil(const std::string& series, double want) {
    double seen = -1;
    WaitUntil(
        [&] {
          seen = Scrape()[series];
          return seen == want;
        },
        10s);
    return seen;
  }

  // Bob's link: a token from LINK, a connection presenting it, its LinkStatus.
  std::unique_ptr<client::Client> Link(const std::string& rid) {
    EXPECT_TRUE(bob_->Send(LinkMsg(rid)));
    auto r = WaitForReply(*bob_, proto::ClientMessage::kLinkStatus, rid);
    if (!r) {
      ADD_FAILURE() << "no LinkStatus for " << rid;
      return nullptr;
    }
    last_token_ = r->link_status().link_token();
    return Present(last_token_);
  }
  std::unique_ptr<client::Client> Present(const std::string& token) {
    UserSpec spec = Named("bob");
    spec.link_token = token;
    auto c = std::make_unique<client::Client>();
    client::ConnectResult r = c->Connect("127.0.0.1", server_->port(), server_->Resource(spec));
    if (!r.ok) {
      refused_upgrade_status_ = r.http_status;
      return nullptr;
    }
    return c;
  }
  // Alice's chat line reaches Carol (and nothing stops it).
  void AliceStillReachesCarol(const std::string& text) {
    ASSERT_TRUE(alice_->Send(ChatMsg(text)));
    for (;;) {
      auto m = carol_->Next(5s);
      ASSERT_TRUE(m) << "carol never got \"" << text << "\"";
      if (m->has_room_chat_message() && m->room_chat_message().message() == text) return;
    }
  }

  std::shared_ptr<server::FakeClock> clock_;
  std::unique_ptr<client::Client> alice_, bob_, carol_;
  proto::Welcome bob_welcome_;
  std::string last_token_;
  int refused_upgrade_status_ = 0;
};

TEST_F(LinkLimitsTest, AScrapeShowsALinkUsedRefusedAndClosed) {
  auto link = Link("l1");
  ASSERT_TRUE(link);
  auto attached = link->Next(5s);
  ASSERT_TRUE(attached && attached->has_link_status() && attached->link_status().attached());
  EXPECT_EQ(ScrapeUntil("tutti_linked_sessions", 1), 1);
  EXPECT_EQ(Scrape()["tutti_links_attached_total"], 1);

  // A numbered batch on both connections: one relayed, one copy dropped.
  proto::ServerMessage midi = MidiMsg("\x90\x3c\x40");
  midi.mutable_midi_message()->set_sequence(1);
  ASSERT_TRUE(bob_->Send(midi));
  ASSERT_TRUE(link->Send(midi));
  EXPECT_EQ(ScrapeUntil("tutti_midi_duplicates_total", 1), 1);

  // The spent token again: refused, AUTH_ERROR, 4006.
  auto again = Present(last_token_);
  ASSERT_TRUE(again);
  auto refusal = again->Next(5s);
  ASSERT_TRUE(refusal && refusal->has_error_message());
  EXPECT_EQ(refusal->error_message().code(), proto::AUTH_ERROR);
  uint16_t code = 0;
  EXPECT_TRUE(again->WaitClosed(5s, &code));
  EXPECT_EQ(code, kLinkRefused);
  EXPECT_EQ(ScrapeUntil("tutti_links_refused_total{code=\"AUTH_ERROR\"}", 1), 1);

  // Bob leaves: the server ends his link with 4007, and nobody has a link any more.
  bob_->Close(1000, "bye");
  EXPECT_TRUE(link->WaitClosed(5s, &code));
  EXPECT_EQ(code, kLinkSessionGone);
  EXPECT_EQ(ScrapeUntil("tutti_link_closes_total{code=\"4007\"}", 1), 1);
  EXPECT_EQ(ScrapeUntil("tutti_linked_sessions", 0), 0);
}

TEST_F(LinkLimitsTest, ALinkFloodGetsTypedRefusalsAndDisturbsNobody) {
  // LINK after LINK: the quota's tokens, then RATE_LIMITED, each answer to its own request.
  constexpr int kAsks = 100;
  for (int i = 0; i < kAsks; ++i) ASSERT_TRUE(bob_->Send(LinkMsg("f" + std::to_string(i))));
  int granted = 0, limited = 0;
  std::string superseded;  // the first token granted: each later LINK replaced it
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (granted + limited < kAsks && std::chrono::steady_clock::now() < deadline) {
    auto m = bob_->Next(5s);
    ASSERT_TRUE(m) << granted << " granted, " << limited << " limited so far";
    if (m->request_id().empty() || m->request_id()[0] != 'f') continue;
    if (m->has_link_status()) {
      if (granted++ == 0) superseded = m->link_status().link_token();
    } else if (m->has_error_message()) {
      EXPECT_EQ(m->error_message().code(), proto::RATE_LIMITED) << m->ShortDebugString();
      ++limited;
    }
  }
  EXPECT_EQ(granted, server::kLinkTokenBurst);
  EXPECT_EQ(limited, kAsks - server::kLinkTokenBurst);
  ASSERT_NO_FATAL_FAILURE(AliceStillReachesCarol("during the flood"));

  // Upgrades presenting garbage, a made-up token of the right shape and a replaced one:
  // each is refused with AUTH_ERROR and 4006 (or, past the door's per-address quota, 429).
  ASSERT_FALSE(superseded.empty());
  const std::vector<std::string> bad = {
      "nonsense", "lk1.0000000000000001.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", superseded};
  int refused = 0;
  for (int i = 0; i < 24 && std::chrono::steady_clock::now() < deadline; ++i) {
    auto c = Present(bad[i % bad.size()]);
    if (!c) {
      EXPECT_EQ(refused_upgrade_status_, 429);
      continue;
    }
    auto m = c->Next(5s);
    ASSERT_TRUE(m && m->has_error_message()) << (m ? m->ShortDebugString() : "nothing");
    EXPECT_EQ(m->error_message().code(), proto::AUTH_ERROR);
    uint16_t code = 0;
    EXPECT_TRUE(c->WaitClosed(5s, &code));
    EXPECT_EQ(code, kLinkRefused);
    ++refused;
  }
  EXPECT_GT(refused, 0);
  ASSERT_NO_FATAL_FAILURE(AliceStillReachesCarol("after the flood"));

  // Bob's session is unharmed; once the quota refills he links as usual.
  clock_->AdvanceUs(server::kLinkTokenRefillUs);
  auto link = Link("later");
  ASSERT_TRUE(link) << refused_upgrade_status_;
  auto attached = link->Next(5s);
  ASSERT_TRUE(attached && attached->has_link_status() && attached->link_status().attached())
      << (attached ? attached->ShortDebugString() : "nothing");
  EXPECT_GE(Scrape()["tutti_rate_limited_total{bucket=\"link\"}"], kAsks - server::kLinkTokenBurst);
  EXPECT_TRUE(ServerStillServes(*server_));
}

}  // namespace
}  // namespace tutti::testing
