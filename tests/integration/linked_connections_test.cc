// Linked connections (docs/PROTOCOL.md §16) through a real server with several shards and
// real WebSocket clients: a listener's link receives every room event its primary receives,
// with the same stream positions; a performer's batches sent on both connections are relayed
// once; bad, used and surplus credentials are refused with typed errors; a link that closes
// leaves its session alone, and a session that ends closes its link.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/resume_fixture.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

constexpr uint16_t kLinkRefused = 4006;
constexpr uint16_t kLinkSessionGone = 4007;

// Asks `primary`'s session for a link token (empty, with the failure recorded, if none).
std::string LinkToken(client::Client& primary, const std::string& rid = "link") {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::LINK);
  m.set_request_id(rid);
  EXPECT_TRUE(primary.Send(m));
  auto r = WaitForReply(primary, proto::ClientMessage::kLinkStatus, rid);
  EXPECT_TRUE(r) << "no LinkStatus";
  if (!r) return "";
  EXPECT_GT(r->link_status().link_token_ttl_ms(), 0u);
  return r->link_status().link_token();
}

// Opens a connection as `user` presenting `token`; the upgrade itself always succeeds
// (the identity is valid), the link's fate comes as its first message.
std::unique_ptr<client::Client> OpenLink(TestServer& ts, UserSpec user, const std::string& token) {
  user.link_token = token;
  auto c = std::make_unique<client::Client>();
  client::ConnectResult r = c->Connect("127.0.0.1", ts.port(), ts.Resource(user));
  if (!r.ok) {
    ADD_FAILURE() << "link connect failed: " << r.http_status << " " << r.error;
    return nullptr;
  }
  return c;
}

// A link that is attached: its first message says so.
std::unique_ptr<client::Client> Attach(TestServer& ts, const UserSpec& user,
                                       client::Client& primary, uint64_t session_id) {
  auto link = OpenLink(ts, user, LinkToken(primary));
  if (!link) return nullptr;
  auto m = link->Next(5s);
  if (!m || !m->has_link_status() || !m->link_status().attached()) {
    ADD_FAILURE() << "link not attached: " << (m ? m->ShortDebugString() : "nothing");
    return nullptr;
  }
  EXPECT_EQ(m->link_status().session_id(), session_id);
  EXPECT_TRUE(m->link_status().link_token().empty());
  return link;
}

// The link's refusal: an ErrorMessage with `code`, then the close 4006.
void ExpectRefused(client::Client& link, proto::ErrorCode code) {
  auto m = link.Next(5s);
  ASSERT_TRUE(m) << "no answer on the refused link";
  ASSERT_TRUE(m->has_error_message()) << m->ShortDebugString();
  EXPECT_EQ(m->error_message().code(), code);
  uint16_t close = 0;
  EXPECT_TRUE(link.WaitClosed(5s, &close));
  EXPECT_EQ(close, kLinkRefused);
}

proto::ServerMessage Numbered(uint64_t sequence, uint8_t note) {
  proto::ServerMessage m = MidiMsg(std::string("\x90", 1) + static_cast<char>(note) + "\x40");
  m.mutable_midi_message()->set_sequence(sequence);
  return m;
}

class LinkedConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ts_ = std::make_unique<TestServer>(3, Generous);
    alice_ = ts_->Connect(Named("alice"));
    bob_ = ts_->Connect(Named("bob"), &bob_welcome_);
    ASSERT_TRUE(alice_ && bob_);
    ASSERT_TRUE(JoinRoom(*alice_, "duo"));
    ASSERT_TRUE(JoinRoom(*bob_, "duo"));
  }

  uint64_t LinkDuplicates() { return ts_->TotalCounters().midi_duplicates.Get(); }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<client::Client> alice_, bob_;
  proto::Welcome bob_welcome_;
};

TEST_F(LinkedConnectionsTest, AListenersLinkGetsEveryRoomEventWithTheSameOffsets) {
  auto link = Attach(*ts_, Named("bob"), *bob_, bob_welcome_.user().session_id());
  ASSERT_TRUE(link);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x3c\x40", 3))));
    ASSERT_TRUE(alice_->Send(ChatMsg("line " + std::to_string(i))));
  }
  ASSERT_TRUE(alice_->Send(ChatMsg("end")));
  const std::vector<proto::ClientMessage> primary = ReadUntilChat(*bob_, "end");
  const std::vector<proto::ClientMessage> linked = ReadUntilChat(*link, "end");
  ASSERT_EQ(primary.size(), 41u);
  ASSERT_EQ(linked.size(), primary.size());
  for (size_t i = 0; i < primary.size(); ++i) {
    EXPECT_EQ(linked[i].stream().epoch(), primary[i].stream().epoch());
    EXPECT_EQ(linked[i].stream().offset(), primary[i].stream().offset());
    EXPECT_EQ(linked[i].message_case(), primary[i].message_case());
  }
  EXPECT_EQ(linked.back().stream().offset(), linked.front().stream().offset() + 40);
}

TEST_F(LinkedConnectionsTest, APerformersBatchesSentOnBothConnectionsAreRelayedOnce) {
  proto::Welcome alice_welcome;
  alice_.reset();
  alice_ = ts_->Connect(Named("alice"), &alice_welcome);
  ASSERT_TRUE(alice_);
  ASSERT_TRUE(JoinRoom(*alice_, "duo"));
  auto link = Attach(*ts_, Named("alice"), *alice_, alice_welcome.user().session_id());
  ASSERT_TRUE(link);
  constexpr uint64_t kBatches = 30;
  for (uint64_t seq = 1; seq <= kBatches; ++seq) {
    const uint8_t note = static_cast<uint8_t>(40 + seq);
    // Alternate which copy leaves first, as two paths' stalls would.
    client::Client& first = seq % 2 ? *alice_ : *link;
    client::Client& second = seq % 2 ? *link : *alice_;
    ASSERT_TRUE(first.Send(Numbered(seq, note)));
    ASSERT_TRUE(second.Send(Numbered(seq, note)));
  }
  // Every copy has arrived once the server has dropped one per batch.
  ASSERT_TRUE(WaitUntil([&] { return LinkDuplicates() == kBatches; }, 10s))
      << LinkDuplicates() << " duplicates";
  ASSERT_TRUE(alice_->Send(ChatMsg("end")));
  std::vector<uint8_t> notes;
  std::vector<uint64_t> sequences;
  for (const proto::ClientMessage& m : ReadUntilChat(*bob_, "end")) {
    if (!m.has_midi_message()) continue;
    notes.push_back(static_cast<uint8_t>(m.midi_message().midi_data()[1]));
    sequences.push_back(m.midi_message().sequence());
  }
  ASSERT_EQ(notes.size(), kBatches);
  std::vector<uint8_t> want_notes;
  for (uint64_t seq = 1; seq <= kBatches; ++seq) {
    want_notes.push_back(static_cast<uint8_t>(40 + seq));
    EXPECT_EQ(sequences[seq - 1], seq);  // the server's relay numbers: no gap, no repeat
  }
  EXPECT_EQ(notes, want_notes);
  // Unnumbered batches are never taken for copies.
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x30\x40", 3))));
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x30\x40", 3))));
  ASSERT_TRUE(alice_->Send(ChatMsg("end2")));
  size_t unnumbered = 0;
  for (const proto::ClientMessage& m : ReadUntilChat(*bob_, "end2")) {
    unnumbered += m.has_midi_message() ? 1 : 0;
  }
  EXPECT_EQ(unnumbered, 2u);
  EXPECT_EQ(LinkDuplicates(), kBatches);
}

TEST_F(LinkedConnectionsTest, BadUsedAndSurplusCredentialsAreRefusedWithTypedErrors) {
  // Not a token at all.
  auto garbage = OpenLink(*ts_, Named("bob"), "lk1.nonsense");
  ASSERT_TRUE(garbage);
  ExpectRefused(*garbage, proto::AUTH_ERROR);
  // The right shape, naming shard 63 of this 3-shard server (a token of another node with
  // more shards, or a forgery): refused before the shard is looked up.
  auto elsewhere = OpenLink(*ts_, Named("bob"), "lk1.000000000000013f." + std::string(43, 'A'));
  ASSERT_TRUE(elsewhere);
  ExpectRefused(*elsewhere, proto::AUTH_ERROR);
  // Another user's token: refused, and spent (it was stolen).
  const std::string token = LinkToken(*bob_);
  auto stolen = OpenLink(*ts_, Named("mallory"), token);
  ASSERT_TRUE(stolen);
  ExpectRefused(*stolen, proto::AUTH_ERROR);
  auto spent = OpenLink(*ts_, Named("bob"), token);
  ASSERT_TRUE(spent);
  ExpectRefused(*spent, proto::AUTH_ERROR);
  // The right shape and session, the wrong secret (session ids are public: room events carry
  // them): refused, and the session's own token stays usable.
  const std::string once = LinkToken(*bob_);
  std::string forged = once;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  auto forgery = OpenLink(*ts_, Named("mallory"), forged);
  ASSERT_TRUE(forgery);
  ExpectRefused(*forgery, proto::AUTH_ERROR);
  // Used once: the second presentation is refused, the first link stays attached.
  auto first = OpenLink(*ts_, Named("bob"), once);
  ASSERT_TRUE(first);
  auto attached = first->Next(5s);
  ASSERT_TRUE(attached && attached->has_link_status() && attached->link_status().attached());
  auto again = OpenLink(*ts_, Named("bob"), once);
  ASSERT_TRUE(again);
  ExpectRefused(*again, proto::AUTH_ERROR);
  // One link per session: no second token while one is attached.
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::LINK);
  m.set_request_id("second");
  ASSERT_TRUE(bob_->Send(m));
  std::string rid;
  EXPECT_EQ(WaitError(*bob_, 3s, &rid), proto::LIMIT_REACHED);
  EXPECT_EQ(rid, "second");
  EXPECT_TRUE(first->is_open());
  // A link token in a payload with a resume is not a payload the gate opens.
  UserSpec both = Named("bob");
  both.resume_token = "rt1.x";
  both.link_token = "lk1.x";
  client::Client refused;
  EXPECT_EQ(refused.Connect("127.0.0.1", ts_->port(), ts_->Resource(both)).http_status, 400);
}

TEST_F(LinkedConnectionsTest, ALinkCarriesMidiAndHeartbeatsOnly) {
  auto link = Attach(*ts_, Named("bob"), *bob_, bob_welcome_.user().session_id());
  ASSERT_TRUE(link);
  ASSERT_TRUE(link->Send(HeartbeatMsg(1234, "hb")));
  auto hb = WaitForReply(*link, proto::ClientMessage::kHeartbeatMessage, "hb");
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->heartbeat_message().timestamp(), 1234);
  EXPECT_GT(hb->heartbeat_message().server_receive_time(), 0);
  ASSERT_TRUE(link->Send(ChatMsg("not here", "chat")));
  std::string rid;
  EXPECT_EQ(WaitError(*link, 3s, &rid), proto::UNSUPPORTED);
  EXPECT_EQ(rid, "chat");
  // The chat was not said.
  ASSERT_TRUE(bob_->Send(ChatMsg("said", "said")));
  for (const proto::ClientMessage& m : ReadUntilChat(*alice_, "said")) {
    EXPECT_FALSE(m.has_room_chat_message() && m.room_chat_message().message() == "not here");
  }
  // Garbage closes the link, not the session.
  ASSERT_TRUE(link->SendRaw("\xff\xff\xff", true));
  uint16_t code = 0;
  EXPECT_TRUE(link->WaitClosed(5s, &code));
  EXPECT_EQ(code, 1008);
  ASSERT_TRUE(alice_->Send(ChatMsg("still here")));
  ReadUntilChat(*bob_, "still here");
}

TEST_F(LinkedConnectionsTest, ClosingTheLinkKeepsTheSessionAndLetsItLinkAgain) {
  auto link = Attach(*ts_, Named("bob"), *bob_, bob_welcome_.user().session_id());
  ASSERT_TRUE(link);
  link->Close(1000, "bye");
  ASSERT_TRUE(link->WaitClosed(5s));
  ASSERT_TRUE(alice_->Send(ChatMsg("after")));
  ReadUntilChat(*bob_, "after");
  // The session forgets the link (a post from the link's shard): a new one attaches.
  std::unique_ptr<client::Client> again;
  ASSERT_TRUE(WaitUntil(
      [&] {
        proto::ServerMessage m;
        m.mutable_server_command()->set_commandtype(proto::LINK);
        m.set_request_id("relink");
        if (!bob_->Send(m)) return false;
        auto r = bob_->Next(5s);
        while (r && r->request_id() != "relink") r = bob_->Next(5s);
        if (!r || !r->has_link_status()) return false;
        again = OpenLink(*ts_, Named("bob"), r->link_status().link_token());
        return again != nullptr;
      },
      10s));
  auto m = again->Next(5s);
  ASSERT_TRUE(m && m->has_link_status() && m->link_status().attached());
  ASSERT_TRUE(alice_->Send(ChatMsg("both")));
  ReadUntilChat(*again, "both");
  ReadUntilChat(*bob_, "both");
}

TEST_F(LinkedConnectionsTest, TheSessionEndingClosesItsLink) {
  auto link = Attach(*ts_, Named("bob"), *bob_, bob_welcome_.user().session_id());
  ASSERT_TRUE(link);
  bob_->Close(1000, "bye");
  uint16_t code = 0;
  EXPECT_TRUE(link->WaitClosed(5s, &code));
  EXPECT_EQ(code, kLinkSessionGone);
  // A dropped primary (parked for a resume) closes its link as well.
  proto::Welcome w;
  auto carol = ts_->Connect(Named("carol"), &w);
  ASSERT_TRUE(carol);
  auto carol_link = Attach(*ts_, Named("carol"), *carol, w.user().session_id());
  ASSERT_TRUE(carol_link);
  carol->Drop();
  EXPECT_TRUE(carol_link->WaitClosed(5s, &code));
  EXPECT_EQ(code, kLinkSessionGone);
  EXPECT_TRUE(ServerStillServes(*ts_));
}

TEST_F(LinkedConnectionsTest, LinksCountInTheConnectionLimits) {
  // Counted at accept like any connection: the address's cap covers links too.
  std::unique_ptr<TestServer> small = std::make_unique<TestServer>(2, [](server::ServerConfig& c) {
    c.exempt_networks = "";  // loopback is exempt by default
    c.max_connections_per_address = 2;
  });
  proto::Welcome w;
  auto primary = small->Connect(Named("dan"), &w);
  ASSERT_TRUE(primary);
  auto link = Attach(*small, Named("dan"), *primary, w.user().session_id());
  ASSERT_TRUE(link);
  EXPECT_TRUE(WaitUntil([&] { return small->server().connection_limits().stats().open == 2; }));
  client::Client third;
  EXPECT_FALSE(third.Connect("127.0.0.1", small->port(), small->Resource(Named("eve"))).ok);
  // The link given back is a slot to take again.
  link->Close(1000, "bye");
  EXPECT_TRUE(WaitUntil([&] { return small->server().connection_limits().stats().open == 1; }));
  client::Client fourth;
  EXPECT_TRUE(fourth.Connect("127.0.0.1", small->port(), small->Resource(Named("eve"))).ok);
}

}  // namespace
}  // namespace tutti::testing
