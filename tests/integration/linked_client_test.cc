// The clients' linked connection (tools/midi_bridge/linked_connection.h, used by
// tutti-midi-bridge, tutti-play and the timing harness) against a real server with several
// shards over real WebSockets: a linked listener gets each room event exactly once although
// both of its connections deliver it; a linked sender's batches, sent on both, are relayed
// once; a link cut by the network comes back while the session plays on over its primary;
// a primary that drops gets its link ended by the server (4007), and after the resume the
// client links again. Every wait is for a condition, bounded.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/resume_fixture.h"
#include "tests/testing/loopback_port.h"
#include "tests/testing/test_server.h"
#include "tools/client/resume_state.h"
#include "tools/midi_bridge/inbox.h"
#include "tools/midi_bridge/linked_connection.h"

namespace tutti::testing {
namespace {

using bridge::LinkedConnection;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bridge::LinkedConnectionOptions Quick() {
  bridge::LinkedConnectionOptions o;
  o.backoff_min_us = 50000;  // retries within the tests' bounds
  o.backoff_max_us = 200000;
  return o;
}

// One linked client as the tools run it: a primary with its pump, the LinkedConnection, and
// what the session's handling is given (the kept messages).
class LinkedPeer {
 public:
  // `link_port`: where the link connects, when not the server itself.
  LinkedPeer(TestServer& ts, std::string name, bridge::LinkedConnectionOptions options = Quick(),
             uint16_t link_port = 0)
      : ts_(ts),
        name_(std::move(name)),
        link_port_(link_port != 0 ? link_port : ts.port()),
        linked_(&inbox_, NowUs, options) {}
  ~LinkedPeer() {
    pump_.reset();  // before the client it reads from
  }

  bool Open(UserSpec spec) {
    auto c = std::make_unique<client::Client>();
    if (!c->Connect("127.0.0.1", ts_.port(), ts_.Resource(spec)).ok) return false;
    primary_ = std::move(c);
    linked_.OnPrimaryOpen(primary_.get(), "127.0.0.1", link_port_,
                          [this](const std::string& token) -> absl::StatusOr<std::string> {
                            UserSpec link = Named(name_);
                            link.link_token = token;
                            return ts_.Resource(link);
                          });
    pump_ = std::make_unique<bridge::NetworkPump>(primary_.get(), &inbox_, NowUs);
    return true;
  }

  // One turn of the owner loop: what arrived, filtered; the link's own work.
  bool Turn() {
    std::vector<bridge::Inbox::Item> items;
    const bool closed =
        inbox_.Wait(std::chrono::steady_clock::now() + std::chrono::milliseconds(20), &items);
    const int64_t now = NowUs();
    for (const auto& item : items) {
      if (!linked_.Filter(item, now)) continue;
      resume_.Observe(item.message);
      kept_.push_back(item.message);
    }
    linked_.Poll(now);
    return closed;
  }
  bool TurnUntil(const std::function<bool()>& done, std::chrono::seconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      Turn();
    }
    return true;
  }
  // The primary is gone (as the tools handle it), then a resuming reconnect.
  bool Resume() {
    linked_.OnPrimaryLost();
    pump_.reset();
    inbox_.Reopen();
    primary_.reset();
    client::ConnectOptions keys;
    resume_.Fill(&keys);
    UserSpec spec = Named(name_);
    spec.resume_token = keys.resume_token;
    spec.resume_room = keys.resume_room;
    spec.resume_epoch = keys.resume_epoch;
    spec.resume_offset = keys.resume_offset;
    return Open(spec);
  }
  bool HasChat(const std::string& text, size_t from = 0) const { return Chats(text, from) > 0; }
  int Chats(const std::string& text, size_t from = 0) const {
    int n = 0;
    for (size_t i = from; i < kept_.size(); ++i) {
      n += kept_[i].has_room_chat_message() && kept_[i].room_chat_message().message() == text;
    }
    return n;
  }

  client::Client& primary() { return *primary_; }
  LinkedConnection& linked() { return linked_; }
  const std::vector<proto::ClientMessage>& kept() const { return kept_; }

 private:
  TestServer& ts_;
  std::string name_;
  uint16_t link_port_;
  bridge::Inbox inbox_;
  std::unique_ptr<client::Client> primary_;
  std::unique_ptr<bridge::NetworkPump> pump_;
  LinkedConnection linked_;  // last: destroyed first (its pump posts to inbox_)
  client::ResumeState resume_;
  std::vector<proto::ClientMessage> kept_;
};

class LinkedClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ts_ = std::make_unique<TestServer>(3, Generous);
    alice_ = ts_->Connect(Named("alice"));
    ASSERT_TRUE(alice_);
    ASSERT_TRUE(JoinRoom(*alice_, "duo"));
    bob_ = std::make_unique<LinkedPeer>(*ts_, "bob");
    ASSERT_TRUE(bob_->Open(Named("bob")));
    ASSERT_TRUE(bob_->primary().Send(JoinMsg("duo")));
    ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->linked().attached(); }))
        << bob_->linked().Describe(NowUs());
  }

  // Alice's messages until her chat line `text`: the MIDI batches among them.
  int AliceMidiUntil(const std::string& text) {
    int midi = 0;
    for (;;) {
      auto m = alice_->Next(5s);
      if (!m) {
        ADD_FAILURE() << "alice never got \"" << text << "\"";
        return midi;
      }
      midi += m->has_midi_message();
      if (m->has_room_chat_message() && m->room_chat_message().message() == text) return midi;
    }
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<client::Client> alice_;
  std::unique_ptr<LinkedPeer> bob_;
};

TEST_F(LinkedClientTest, ALinkedListenerGetsEachRoomEventExactlyOnce) {
  const size_t from = bob_->kept().size();
  constexpr int kEach = 30;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE(alice_->Send(ChatMsg("c" + std::to_string(i))));
    ASSERT_TRUE(alice_->Send(MidiMsg("\x90\x3c\x40")));
  }
  ASSERT_TRUE(alice_->Send(ChatMsg("end")));
  // Every one of the 61 events came on both connections: one copy kept, the other dropped.
  ASSERT_TRUE(bob_->TurnUntil([&] {
    return bob_->HasChat("end", from) && bob_->linked().duplicates() >= 2 * kEach + 1;
  })) << "duplicates "
      << bob_->linked().duplicates();
  EXPECT_GT(bob_->linked().first_from_primary() + bob_->linked().first_from_link(), 0u);
  std::map<uint64_t, int> offsets;
  int midi = 0;
  for (size_t i = from; i < bob_->kept().size(); ++i) {
    const proto::ClientMessage& m = bob_->kept()[i];
    if (m.has_stream()) ++offsets[m.stream().offset()];
    midi += m.has_midi_message();
  }
  for (const auto& [offset, n] : offsets) EXPECT_EQ(n, 1) << "offset " << offset;
  EXPECT_EQ(midi, kEach);
  for (int i = 0; i < kEach; ++i) EXPECT_EQ(bob_->Chats("c" + std::to_string(i), from), 1) << i;
  EXPECT_EQ(bob_->Chats("end", from), 1);
}

// Bob, linked, moves to another room while its members talk: his link may carry the new
// room's events before his primary brings the answer to his join; the session still sees
// the answer first, then each event once.
TEST_F(LinkedClientTest, ARoomChangeShowsTheNewRoomsEventsAfterItsJoinEachOnce) {
  auto carol = ts_->Connect(Named("carol"));
  ASSERT_TRUE(carol);
  ASSERT_TRUE(JoinRoom(*carol, "trio"));
  const size_t from = bob_->kept().size();
  ASSERT_TRUE(bob_->primary().Send(JoinMsg("trio")));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(carol->Send(ChatMsg("t" + std::to_string(i))));
  // The last line after Bob is in (the earlier ones may come before his join: not his then).
  ASSERT_TRUE(bob_->TurnUntil([&] {
    for (size_t i = from; i < bob_->kept().size(); ++i) {
      if (bob_->kept()[i].has_room_joined_response()) return true;
    }
    return false;
  }));
  ASSERT_TRUE(carol->Send(ChatMsg("t-end")));
  ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->HasChat("t-end", from); }));
  std::string epoch;
  std::map<uint64_t, int> offsets;
  for (size_t i = from; i < bob_->kept().size(); ++i) {
    const proto::ClientMessage& m = bob_->kept()[i];
    if (m.has_room_joined_response() && m.room_joined_response().success()) {
      epoch = m.room_joined_response().stream_position().epoch();
    }
    if (!m.has_room_chat_message() || m.room_chat_message().message()[0] != 't') continue;
    ASSERT_FALSE(epoch.empty()) << "a line of the new room came before the join's answer";
    ASSERT_TRUE(m.has_stream());
    EXPECT_EQ(m.stream().epoch(), epoch);
    ++offsets[m.stream().offset()];
  }
  for (const auto& [offset, n] : offsets) EXPECT_EQ(n, 1) << "offset " << offset;
  EXPECT_EQ(bob_->Chats("t-end", from), 1);
}

TEST_F(LinkedClientTest, ALinkedSendersBatchesAreRelayedOnce) {
  constexpr int kBatches = 20;
  const uint64_t dup_before = ts_->TotalCounters().midi_duplicates.Get();
  for (int i = 0; i < kBatches; ++i) bob_->linked().Send(MidiMsg("\x90\x40\x50"));
  bob_->linked().Send(ChatMsg("sent"));  // not MIDI: the primary only
  EXPECT_EQ(AliceMidiUntil("sent"), kBatches);
  // Each batch reached the server twice: the copies were dropped there.
  ASSERT_TRUE(WaitUntil(
      [&] { return ts_->TotalCounters().midi_duplicates.Get() - dup_before == kBatches; }, 10s))
      << ts_->TotalCounters().midi_duplicates.Get() - dup_before;
  bob_->linked().Send(ChatMsg("again"));
  EXPECT_EQ(AliceMidiUntil("again"), 0);
}

TEST_F(LinkedClientTest, ALostLinkComesBackAndAResumedSessionLinksAgain) {
  // The network cuts the link: the session plays on over its primary meanwhile.
  bob_->linked().DropLinkForTest();
  ASSERT_TRUE(bob_->TurnUntil([&] { return !bob_->linked().attached(); }));
  size_t from = bob_->kept().size();
  ASSERT_TRUE(alice_->Send(ChatMsg("during")));
  ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->HasChat("during", from); }));
  bob_->linked().Send(MidiMsg("\x90\x41\x50"));
  bob_->linked().Send(ChatMsg("mine"));
  EXPECT_EQ(AliceMidiUntil("mine"), 1);
  ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->linked().links_attached() == 2; }))
      << bob_->linked().Describe(NowUs());
  EXPECT_EQ(bob_->linked().links_lost(), 1u);
  ASSERT_TRUE(alice_->Send(ChatMsg("after")));
  ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->HasChat("after", from); }));
  EXPECT_EQ(bob_->Chats("during", from), 1);

  // The primary drops: the server parks the session and ends its link with 4007.
  bob_->primary().Drop();
  ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->linked().last_close_code() == 4007; }))
      << bob_->linked().Describe(NowUs());
  ASSERT_TRUE(bob_->Resume());
  ASSERT_TRUE(bob_->TurnUntil([&] { return bob_->linked().links_attached() == 3; }))
      << bob_->linked().Describe(NowUs());
  from = bob_->kept().size();
  ASSERT_TRUE(alice_->Send(ChatMsg("back")));
  ASSERT_TRUE(bob_->TurnUntil(
      [&] { return bob_->HasChat("back", from) && bob_->linked().duplicates() > 0; }));
  const uint64_t dups = bob_->linked().duplicates();
  ASSERT_TRUE(alice_->Send(ChatMsg("last")));
  ASSERT_TRUE(bob_->TurnUntil(
      [&] { return bob_->HasChat("last", from) && bob_->linked().duplicates() > dups; }));
  EXPECT_EQ(bob_->Chats("back", from), 1);
  EXPECT_EQ(bob_->Chats("last", from), 1);
}

// A link whose connect hangs (a peer that takes the TCP connection and never answers the
// upgrade, as a stalled path would) does not hold the owner's loop when the primary goes:
// the connect is abandoned and OnPrimaryLost returns at once, not after the connect's
// timeout (60 s here; the bound below is half of it, so only a wait for it can fail).
TEST_F(LinkedClientTest, APrimaryLostWhileItsLinkConnectsDoesNotWaitForTheConnect) {
  // The kernel completes handshakes there; nobody ever reads.
  testing::LoopbackPort hole(testing::LoopbackPort::Mode::kSilent);
  ASSERT_NE(hole.port(), 0);

  bridge::LinkedConnectionOptions slow = Quick();
  slow.connect_timeout = 60s;
  LinkedPeer carol(*ts_, "carol", slow, hole.port());
  ASSERT_TRUE(carol.Open(Named("carol")));
  ASSERT_TRUE(carol.primary().Send(JoinMsg("duo")));
  ASSERT_TRUE(carol.TurnUntil([&] {
    return carol.linked().state() == LinkedConnection::State::kConnecting;
  })) << carol.linked().Describe(NowUs());

  const auto start = std::chrono::steady_clock::now();
  carol.linked().OnPrimaryLost();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s)
      << "the owner's loop waited for the link's connect";
  EXPECT_EQ(carol.linked().state(), LinkedConnection::State::kIdle);
  hole.Close();
}

}  // namespace
}  // namespace tutti::testing
