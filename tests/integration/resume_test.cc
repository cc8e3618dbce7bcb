// Session resume over real connections (docs/PROTOCOL.md §12): a member whose socket is
// destroyed stays in its room as `reconnecting` (others never see a leave/join pair), its
// held notes are released at once, and a new connection with its resume token gets exactly
// the missed room events, in order, before any live one; its MIDI sequence continues.
// Refusals: a token used twice, expired (by an injected clock), or presented by another
// user. Unrecoverable: history trimmed (a flood, whose history stays within its bounds).
// A server restart (the real binary, killed and started again) forgets every token.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/dev_connection.h"
#include "crypto/keys.h"
#include "server/memory_broker.h"
#include "tests/integration/resume_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_server.h"
#include "tools/client/resume_state.h"

namespace tutti::testing {
namespace {

const std::string kNoteOn60("\x90\x3c\x64", 3);

// The last stream position among `events` (what a client has processed).
proto::StreamPosition LastOf(const std::vector<proto::ClientMessage>& events) {
  return events.empty() ? proto::StreamPosition() : events.back().stream();
}

void ExpectNoLeaveOrJoin(const std::vector<proto::ClientMessage>& events, const std::string& user) {
  for (const auto& m : events) {
    EXPECT_FALSE(m.has_user_left_room() && m.user_left_room().user_id() == user)
        << m.ShortDebugString();
    EXPECT_FALSE(m.has_user_joined_room() && m.user_joined_room().user_info().user_id() == user)
        << m.ShortDebugString();
  }
}

TEST(Resume, DroppedMemberGetsExactlyTheMissedEventsInOrderThenLiveOnes) {
  TestServer ts(3, Generous);
  auto alice = ts.Connect("alice");
  auto carol = ts.Connect("carol");
  proto::Welcome bob_welcome;
  auto bob = ts.Connect(Named("bob"), &bob_welcome);
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_FALSE(bob_welcome.resume_token().empty());
  EXPECT_EQ(bob_welcome.resume_token_ttl_ms(), 120000u);
  ASSERT_TRUE(JoinRoom(*alice, "Keep"));
  ASSERT_TRUE(JoinRoom(*carol, "Keep"));
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Keep", &joined));
  // Bob holds a note when his network goes.
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn60)));
  auto bobs_note = alice->WaitFor(proto::ClientMessage::kMidiMessage, 5s);
  ASSERT_TRUE(bobs_note);
  const uint64_t bob_seq = bobs_note->midi_message().sequence();
  ASSERT_TRUE(alice->Send(ChatMsg("before")));
  std::vector<proto::ClientMessage> bob_seen = ReadUntilChat(*bob, "before");
  const proto::StreamPosition last = LastOf(bob_seen);
  ASSERT_EQ(last.epoch(), joined.stream_position().epoch());

  bob->Drop();
  // Alice: the note released at once (synthetic), then bob shown reconnecting, no leave.
  std::vector<proto::ClientMessage> alice_seen;
  bool released = false, reconnecting = false;
  while (!reconnecting) {
    auto m = alice->Next(5s);
    ASSERT_TRUE(m) << "no MemberConnection after the drop";
    if (m->has_stream()) alice_seen.push_back(*m);
    if (m->has_midi_message() && m->midi_message().user_id() == "u-bob") {
      EXPECT_TRUE(m->midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC);
      EXPECT_EQ(m->midi_message().sequence(), bob_seq + 1);
      released = true;
    }
    if (m->has_member_connection()) {
      EXPECT_EQ(m->member_connection().user_id(), "u-bob");
      EXPECT_TRUE(m->member_connection().reconnecting());
      EXPECT_TRUE(released) << "the notes are released before the member shows reconnecting";
      reconnecting = true;
    }
  }
  // Carol chats and plays while bob is away (one sender, so the room sequences her
  // messages in the order she sent them and "last missed" is the last of them).
  constexpr int kLines = 12;
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(carol->Send(ChatMsg("missed " + std::to_string(i))));
    ASSERT_TRUE(carol->Send(MidiMsg(kNoteOn60)));
  }
  ASSERT_TRUE(carol->Send(ChatMsg("last missed")));
  // What a member present all along saw: the reference for bob's replay.
  std::vector<proto::ClientMessage> reference = ReadUntilChat(*alice, "last missed");

  proto::ResumeResult r;
  proto::Welcome again;
  auto bob2 = Resume(ts, Resuming("bob", bob_welcome.resume_token(), "keep", last), &r, &again);
  ASSERT_TRUE(bob2);
  EXPECT_NE(again.resume_token(), bob_welcome.resume_token()) << "rotated on every resume";
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED) << r.ShortDebugString();
  EXPECT_EQ(r.room_id(), "keep");
  EXPECT_FALSE(r.you().reconnecting());
  EXPECT_EQ(r.you().user_id(), "u-bob");
  // Exactly what followed bob's last position: offsets last+1.. contiguous, then live.
  std::vector<proto::ClientMessage> replay;
  ASSERT_TRUE(ReadReplay(*bob2, r.replayed(), &replay));
  // Alice saw every room event (she sent none after "before"); bob's replay is exactly
  // those after his position, less his own synthetic release (his own events skip his
  // stream, live or replayed).
  std::vector<proto::ClientMessage> alice_all = alice_seen;
  alice_all.insert(alice_all.end(), reference.begin(), reference.end());
  std::vector<uint64_t> want, got;
  for (const auto& m : alice_all) {
    const bool bobs_own = m.has_midi_message() && m.midi_message().user_id() == "u-bob";
    if (m.stream().offset() > last.offset() && !bobs_own) want.push_back(m.stream().offset());
  }
  for (const auto& m : replay) {
    EXPECT_EQ(m.stream().epoch(), last.epoch());
    got.push_back(m.stream().offset());
  }
  EXPECT_EQ(got, want);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(r.top().offset(), got.back());
  uint64_t expect = got.back() + 1;
  // The replay holds everything alice saw after bob's position.
  std::vector<std::string> replay_text, reference_text;
  for (const auto& m : replay) {
    if (m.has_room_chat_message()) replay_text.push_back(m.room_chat_message().message());
  }
  for (const auto& m : reference) {
    if (m.stream().offset() > last.offset() && m.has_room_chat_message()) {
      reference_text.push_back(m.room_chat_message().message());
    }
  }
  EXPECT_EQ(replay_text, reference_text);
  EXPECT_EQ(replay_text.size(), static_cast<size_t>(kLines + 1));
  int replayed_midi = 0;
  for (const auto& m : replay) replayed_midi += m.has_midi_message();
  EXPECT_EQ(replayed_midi, kLines);
  // Live from here: first bob's own return, then what is said next, no offset twice.
  ASSERT_TRUE(alice->Send(ChatMsg("live")));
  std::vector<proto::ClientMessage> live = ReadUntilChat(*bob2, "live");
  ASSERT_FALSE(live.empty());
  for (const auto& m : live) EXPECT_EQ(m.stream().offset(), expect++) << m.ShortDebugString();
  EXPECT_TRUE(live.front().has_member_connection());
  EXPECT_FALSE(live.front().member_connection().reconnecting());
  EXPECT_EQ(live.front().member_connection().previous_session_id(),
            bob_welcome.user().session_id());
  EXPECT_EQ(live.front().member_connection().session_id(), again.user().session_id());
  // Bob's next note continues his sequence after the synthetic release.
  ASSERT_TRUE(bob2->Send(MidiMsg(kNoteOn60)));
  std::vector<proto::ClientMessage> after;
  for (;;) {
    auto m = alice->Next(5s);
    ASSERT_TRUE(m);
    if (m->has_stream()) after.push_back(*m);
    if (m->has_midi_message() && m->midi_message().user_id() == "u-bob") {
      EXPECT_EQ(m->midi_message().sequence(), bob_seq + 2);
      EXPECT_EQ(m->midi_message().flags() & proto::MIDI_FLAG_SYNTHETIC, 0u);
      break;
    }
  }
  // Alice never saw bob leave or join again.
  alice_all.insert(alice_all.end(), after.begin(), after.end());
  ExpectNoLeaveOrJoin(alice_all, "u-bob");
  // The room shows one bob, connected.
  proto::RoomSnapshot snap = Snapshot(*alice);
  int bobs = 0;
  for (const auto& u : snap.users()) {
    if (u.user_id() != "u-bob") continue;
    ++bobs;
    EXPECT_FALSE(u.reconnecting());
    EXPECT_EQ(u.session_id(), again.user().session_id());
  }
  EXPECT_EQ(bobs, 1);
}

TEST(Resume, AUsedTokenIsRefusedAndTheRefusedOneStartsAFreshSession) {
  TestServer ts(2, Generous);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Twice", &p));
  ASSERT_TRUE(DropAndWaitParked(*p.bob, *p.alice));
  proto::ResumeResult r;
  auto bob2 = Resume(
      ts, Resuming("bob", p.welcome.resume_token(), "twice", p.joined.stream_position()), &r);
  ASSERT_TRUE(bob2);
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED);
  ASSERT_TRUE(DropAndWaitParked(*bob2, *p.alice));
  // The first token again: spent, whatever the session's state.
  proto::ResumeResult reused;
  auto bob3 = Resume(ts, Resuming("bob", p.welcome.resume_token(), "twice", r.top()), &reused);
  ASSERT_TRUE(bob3);
  EXPECT_EQ(reused.outcome(), proto::RESUME_REFUSED);
  EXPECT_EQ(reused.reason(), "token unknown or already used");
  EXPECT_EQ(reused.room_id(), "");
  // A fresh session, in no room: a chat is refused until it joins.
  ASSERT_TRUE(bob3->Send(ChatMsg("hello?")));
  EXPECT_EQ(WaitError(*bob3), proto::WRONG_STATE);
}

TEST(Resume, AnotherUsersPayloadCannotUseTheTokenAndBurnsIt) {
  TestServer ts(2, Generous);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Stolen", &p));
  ASSERT_TRUE(DropAndWaitParked(*p.bob, *p.alice));
  proto::ResumeResult stolen;
  auto mallory = Resume(
      ts, Resuming("mallory", p.welcome.resume_token(), "stolen", p.joined.stream_position()),
      &stolen);
  ASSERT_TRUE(mallory);
  EXPECT_EQ(stolen.outcome(), proto::RESUME_REFUSED);
  EXPECT_EQ(stolen.reason(), "token belongs to another user");
  EXPECT_NE(stolen.you().user_id(), "u-bob");
  ASSERT_TRUE(mallory->Send(ChatMsg("I am bob")));
  EXPECT_EQ(WaitError(*mallory), proto::WRONG_STATE);
  // So is a guest (whose id anyone can get) against a member's token.
  UserSpec guest;
  guest.name = "g";
  guest.guest = true;
  guest.member = false;
  guest.resume_token = p.welcome.resume_token();
  proto::ResumeResult as_guest;
  auto g = Resume(ts, guest, &as_guest);
  ASSERT_TRUE(g);
  EXPECT_EQ(as_guest.outcome(), proto::RESUME_REFUSED);
}

TEST(Resume, AnExpiredTokenIsRefusedAndTheMemberLeavesWhenTheGraceIsOver) {
  auto clock = NowFakeClock();
  TestServer ts(
      2,
      [](server::ServerConfig& c) {
        Generous(c);
        c.resume_grace_ms = 5000;
      },
      clock);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Late", &p));
  EXPECT_EQ(p.welcome.resume_token_ttl_ms(), 5000u);
  ASSERT_TRUE(DropAndWaitParked(*p.bob, *p.alice));
  clock->AdvanceUs(5'000'001);
  // The grace is over: now, and only now, the others see bob leave.
  auto left = p.alice->WaitFor(proto::ClientMessage::kUserLeftRoom, 5s);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->user_left_room().user_id(), "u-bob");
  EXPECT_EQ(left->user_left_room().reason(), "disconnected");
  proto::ResumeResult r;
  auto bob2 =
      Resume(ts, Resuming("bob", p.welcome.resume_token(), "late", p.joined.stream_position()), &r);
  ASSERT_TRUE(bob2);
  EXPECT_EQ(r.outcome(), proto::RESUME_REFUSED);
  EXPECT_EQ(r.reason(), "token expired");
}

TEST(Resume, AResumeAfterTheHistoryWasTrimmedIsUnrecoverableWithASnapshot) {
  TestServer ts(2, [](server::ServerConfig& c) {
    Generous(c);
    c.room_history.max_events = 16;
  });
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Flooded", &p));
  ASSERT_TRUE(DropAndWaitParked(*p.bob, *p.alice));
  client::Client& alice = *p.alice;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(alice.Send(ChatMsg("flood " + std::to_string(i))));
  ASSERT_TRUE(alice.Send(ChatMsg("flood done")));
  ReadUntilChat(alice, "flood done");
  proto::ResumeResult r;
  auto bob2 = Resume(
      ts, Resuming("bob", p.welcome.resume_token(), "flooded", p.joined.stream_position()), &r);
  ASSERT_TRUE(bob2);
  ASSERT_EQ(r.outcome(), proto::RESUME_UNRECOVERABLE) << r.ShortDebugString();
  EXPECT_EQ(r.reason(), "history trimmed");
  EXPECT_EQ(r.room_id(), "flooded");
  const proto::RoomSnapshot& snap = r.snapshot();
  ASSERT_FALSE(snap.chat_history().empty());
  EXPECT_EQ(snap.chat_history().rbegin()->message(), "flood done");
  bool bob_listed = false;
  for (const auto& u : snap.users()) {
    if (u.user_id() == "u-bob") {
      bob_listed = true;
      EXPECT_FALSE(u.reconnecting());
    }
  }
  EXPECT_TRUE(bob_listed);
  // Live events continue right after the snapshot's position.
  ASSERT_TRUE(alice.Send(ChatMsg("after")));
  std::vector<proto::ClientMessage> live = ReadUntilChat(*bob2, "after");
  uint64_t expect = snap.stream_position().offset() + 1;
  for (const auto& m : live) {
    EXPECT_EQ(m.stream().epoch(), snap.stream_position().epoch());
    EXPECT_EQ(m.stream().offset(), expect++);
  }
}

// The kept history of one room, read on its home shard.
struct Kept {
  size_t events = 0, bytes = 0;
};
Kept KeptOf(TestServer& ts, const std::string& room_id) {
  server::Shard& home = ts.server().RoomHome(room_id);
  std::promise<Kept> p;
  home.Post([&] {
    Kept k;
    auto* broker = static_cast<server::InProcessBroker*>(home.broker());
    if (const server::StreamLog* log = broker->Find(room_id)) {
      k.events = log->kept_events();
      k.bytes = log->kept_bytes();
    }
    p.set_value(k);
  });
  return p.get_future().get();
}

TEST(Resume, AFloodKeepsTheHistoryWithinItsBounds) {
  constexpr size_t kMaxEvents = 64, kMaxBytes = 8192;
  TestServer ts(2, [](server::ServerConfig& c) {
    Generous(c);
    c.notes_per_second = 100000;
    c.note_burst = 100000;
    c.room_history.max_events = kMaxEvents;
    c.room_history.max_bytes = kMaxBytes;
  });
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Deluge"));
  ASSERT_TRUE(JoinRoom(*bob, "Deluge"));
  // Many small events (the count bound bites), then fewer large ones (the byte bound).
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn60)));
  ASSERT_TRUE(bob->Send(ChatMsg("small done")));
  ReadUntilChat(*alice, "small done");
  Kept small = KeptOf(ts, "deluge");
  EXPECT_EQ(small.events, kMaxEvents);
  EXPECT_LE(small.bytes, kMaxBytes);
  const std::string big(400, 'x');
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(bob->Send(ChatMsg(big + std::to_string(i))));
  ASSERT_TRUE(bob->Send(ChatMsg("big done")));
  ReadUntilChat(*alice, "big done");
  Kept large = KeptOf(ts, "deluge");
  EXPECT_LE(large.bytes, kMaxBytes);
  EXPECT_GT(large.bytes, kMaxBytes / 2);  // bounded, not emptied
  EXPECT_LT(large.events, kMaxEvents);
}

TEST(Resume, AGuestResumesUnderItsOldGuestId) {
  TestServer ts(2, Generous);
  auto alice = ts.Connect("alice");
  UserSpec guest;
  guest.name = "visitor";
  guest.guest = true;
  guest.member = false;
  proto::Welcome w;
  auto g = ts.Connect(guest, &w);
  ASSERT_TRUE(alice && g);
  ASSERT_TRUE(JoinRoom(*alice, "Open"));
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*g, "Open", &joined));
  ASSERT_TRUE(DropAndWaitParked(*g, *alice, w.user().user_id()));
  guest.resume_token = w.resume_token();
  guest.resume_room = "open";
  guest.resume_epoch = joined.stream_position().epoch();
  guest.resume_offset = joined.stream_position().offset();
  proto::ResumeResult r;
  proto::Welcome again;
  auto g2 = Resume(ts, guest, &r, &again);
  ASSERT_TRUE(g2);
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED);
  EXPECT_EQ(again.user().user_id(), w.user().user_id());
  EXPECT_EQ(r.you().user_id(), w.user().user_id());
}

TEST(Resume, ReconnectCommandRestoresTheSessionOnAnOpenConnection) {
  TestServer ts(3, Generous);
  AliceAndBob p;
  ASSERT_TRUE(ConnectBoth(ts, "Inband", &p));
  ASSERT_TRUE(DropAndWaitParked(*p.bob, *p.alice));
  client::Client& alice = *p.alice;
  const proto::Welcome& w = p.welcome;
  const proto::RoomJoinedResponse& joined = p.joined;
  ASSERT_TRUE(alice.Send(ChatMsg("while away")));
  ReadUntilChat(alice, "while away");  // in the stream before bob is back
  auto bob2 = ts.Connect("bob");
  ASSERT_TRUE(bob2);
  proto::ServerMessage m;
  auto* cmd = m.mutable_server_command();
  cmd->set_commandtype(proto::RECONNECT);
  (*cmd->mutable_parameters())["resume_token"] = w.resume_token();
  (*cmd->mutable_parameters())["room_id"] = "inband";
  (*cmd->mutable_parameters())["epoch"] = joined.stream_position().epoch();
  (*cmd->mutable_parameters())["offset"] = std::to_string(joined.stream_position().offset());
  m.set_request_id("rc");
  ASSERT_TRUE(bob2->Send(m));
  auto result = WaitForReply(*bob2, proto::ClientMessage::kResumeResult, "rc");
  ASSERT_TRUE(result);
  const proto::ResumeResult& r = result->resume_result();
  ASSERT_EQ(r.outcome(), proto::RESUME_RECOVERED) << r.ShortDebugString();
  EXPECT_EQ(r.room_id(), "inband");
  std::vector<proto::ClientMessage> replay;
  ASSERT_TRUE(ReadReplay(*bob2, r.replayed(), &replay));
  bool heard = false;
  for (const auto& e : replay) {
    heard |= e.has_room_chat_message() && e.room_chat_message().message() == "while away";
  }
  EXPECT_TRUE(heard);
  // Bob is in the room again: his chat reaches alice.
  ASSERT_TRUE(bob2->Send(ChatMsg("back")));
  ReadUntilChat(alice, "back");
  // The same token a second time: refused; and from a session in a room: WRONG_STATE.
  ASSERT_TRUE(bob2->Send(m));
  auto wrong = WaitForReply(*bob2, proto::ClientMessage::kErrorMessage, "rc");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->error_message().code(), proto::WRONG_STATE);
  auto bob3 = ts.Connect("bob");
  ASSERT_TRUE(bob3);
  ASSERT_TRUE(bob3->Send(m));
  auto spent = WaitForReply(*bob3, proto::ClientMessage::kResumeResult, "rc");
  ASSERT_TRUE(spent);
  EXPECT_EQ(spent->resume_result().outcome(), proto::RESUME_REFUSED);
  // Without a token: INVALID_PARAMETERS.
  proto::ServerMessage bare;
  bare.mutable_server_command()->set_commandtype(proto::RECONNECT);
  bare.set_request_id("bare");
  ASSERT_TRUE(bob3->Send(bare));
  auto invalid = WaitForReply(*bob3, proto::ClientMessage::kErrorMessage, "bare");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->error_message().code(), proto::INVALID_PARAMETERS);
}

TEST(Resume, AGoodbyeIsALeaveNotAReconnect) {
  TestServer ts(2, Generous);
  auto alice = ts.Connect("alice");
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Bye"));
  ASSERT_TRUE(JoinRoom(*bob, "Bye"));
  bob->Close(1000, "bye");
  for (;;) {
    auto m = alice->Next(5s);
    ASSERT_TRUE(m) << "no UserLeftRoom after a close 1000";
    EXPECT_FALSE(m->has_member_connection()) << "a goodbye is not a drop";
    if (m->has_user_left_room()) break;
  }
}

// The shipped clients' bookkeeping (tools/client/resume_state.h) on real traffic: it keeps
// the token and the last position, asks to resume with them, and tells the replayed events
// from the live ones.
TEST(Resume, TheClientsResumeStateResumesAndMarksTheReplay) {
  TestServer ts(3, Generous);
  auto alice = ts.Connect("alice");
  ASSERT_TRUE(alice);
  ASSERT_TRUE(JoinRoom(*alice, "Tools"));
  client::ResumeState state;
  auto read_into_state = [&state](client::Client& c, const std::string& until, int* replayed) {
    for (;;) {
      auto m = c.Next(5s);
      if (!m) return false;
      if (state.Observe(*m) == client::ResumeState::Kind::kReplayed) ++*replayed;
      if (m->has_room_chat_message() && m->room_chat_message().message() == until) return true;
    }
  };
  auto bob = std::make_unique<client::Client>();
  ASSERT_TRUE(bob->Connect("127.0.0.1", ts.port(), ts.Resource(Named("bob"))).ok);
  ASSERT_TRUE(bob->Send(JoinMsg("Tools")));
  for (bool joined = false; !joined;) {  // bob is in the room before alice speaks
    auto m = bob->Next(5s);
    ASSERT_TRUE(m) << "no RoomJoinedResponse";
    state.Observe(*m);
    joined = m->has_room_joined_response();
  }
  ASSERT_TRUE(alice->Send(ChatMsg("first")));
  int replayed = 0;
  ASSERT_TRUE(read_into_state(*bob, "first", &replayed));
  EXPECT_TRUE(state.has_token());
  EXPECT_EQ(state.room_id(), "tools");
  const proto::StreamPosition seen = state.position();
  ASSERT_TRUE(DropAndWaitParked(*bob, *alice));
  state.OnDisconnected();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(alice->Send(ChatMsg("gone " + std::to_string(i))));
  ReadUntilChat(*alice, "gone 4");  // all five are in the room's stream before bob is back
  client::ConnectOptions o;
  state.Fill(&o);
  EXPECT_EQ(o.resume_room, "tools");
  EXPECT_EQ(o.resume_epoch, seen.epoch());
  EXPECT_EQ(o.resume_offset, seen.offset());
  UserSpec again = Named("bob");
  again.resume_token = o.resume_token;
  again.resume_room = o.resume_room;
  again.resume_epoch = o.resume_epoch;
  again.resume_offset = o.resume_offset;
  auto bob2 = std::make_unique<client::Client>();
  ASSERT_TRUE(bob2->Connect("127.0.0.1", ts.port(), ts.Resource(again)).ok);
  ASSERT_TRUE(read_into_state(*bob2, "gone 4", &replayed));
  EXPECT_EQ(state.last_outcome(), proto::RESUME_RECOVERED);
  EXPECT_FALSE(state.needs_rejoin());
  EXPECT_EQ(replayed, 6);  // bob's own reconnecting notice and the five lines
  ASSERT_TRUE(alice->Send(ChatMsg("live")));
  ASSERT_TRUE(read_into_state(*bob2, "live", &replayed));
  EXPECT_EQ(replayed, 6) << "live events are not counted as replayed";
  // A spent token: refused, and the state says to join again.
  bob2->Drop();
  state.OnDisconnected();
  UserSpec stale = again;  // the first token, already used
  auto bob3 = std::make_unique<client::Client>();
  ASSERT_TRUE(bob3->Connect("127.0.0.1", ts.port(), ts.Resource(stale)).ok);
  auto r = bob3->WaitFor(proto::ClientMessage::kResumeResult, 5s);
  ASSERT_TRUE(r);
  state.Observe(*r);
  EXPECT_EQ(state.last_outcome(), proto::RESUME_REFUSED);
  EXPECT_TRUE(state.needs_rejoin());
  EXPECT_EQ(state.room_id(), "");
}

// Tokens live in the server's memory only, and every room stream starts a new epoch in a
// new process: after a restart a resume is refused (the token is unknown), the client
// rejoins, and its old position is unrecoverable with a snapshot.
TEST(Resume, AfterARestartTheTokenIsUnknownAndTheOldEpochIsUnrecoverable) {
  char tmpl[] = "/tmp/tutti-resume-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ASSERT_TRUE(crypto::GenerateKeyFiles(dir, false).ok());
  auto issuer = crypto::LoadIssuerKeys(dir);
  auto seal = crypto::LoadSealPublicKey(dir);
  ASSERT_TRUE(issuer.ok() && seal.ok());
  auto connect = [&](uint16_t port, const std::string& token, const proto::StreamPosition& pos,
                     proto::Welcome* w) -> std::unique_ptr<client::Client> {
    crypto::DevConnectionRequest req;
    req.user_id = "u-ann";
    req.name = "ann";
    req.member = true;
    req.port = port;
    req.resume_token = token;
    if (!token.empty()) {
      req.resume_room = "hall";
      req.resume_epoch = pos.epoch();
      req.resume_offset = static_cast<int64_t>(pos.offset());
    }
    auto dev = crypto::MintDevConnection(req, &*issuer, *seal, server::SystemClock().UnixMs());
    EXPECT_TRUE(dev.ok());
    auto c = std::make_unique<client::Client>();
    if (!dev.ok() || !c->Connect("127.0.0.1", port, dev->resource).ok) return nullptr;
    auto welcome = c->WaitFor(proto::ClientMessage::kWelcome, 5s);
    if (!welcome) return nullptr;
    *w = welcome->welcome();
    return c;
  };
  proto::Welcome first;
  proto::StreamPosition before;
  {
    ServerProcess server(TUTTI_SERVER_BIN, dir);
    ASSERT_TRUE(server.Start()) << server.output();
    auto ann = connect(server.port(), "", {}, &first);
    ASSERT_TRUE(ann);
    proto::ServerMessage create = CreateMsg("Hall", proto::PUBLIC, "", 0, "c");
    create.mutable_create_room_command()->mutable_settings()->set_persistent(true);
    ASSERT_TRUE(ann->Send(create));
    auto joined = WaitForReply(*ann, proto::ClientMessage::kRoomJoinedResponse, "c");
    ASSERT_TRUE(joined);
    before = joined->room_joined_response().stream_position();
    ASSERT_FALSE(before.epoch().empty());
    const int status = server.Stop(SIGKILL, 5000);
    ASSERT_TRUE(WIFSIGNALED(status));
  }
  ServerProcess server(TUTTI_SERVER_BIN, dir);
  ASSERT_TRUE(server.Start()) << server.output();
  proto::Welcome w;
  auto ann = connect(server.port(), first.resume_token(), before, &w);
  ASSERT_TRUE(ann);
  auto r = ann->WaitFor(proto::ClientMessage::kResumeResult, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->resume_result().outcome(), proto::RESUME_REFUSED);
  EXPECT_EQ(r->resume_result().reason(), "token unknown or already used");
  // The registered room survived; its stream did not.
  proto::RoomJoinedResponse rejoined;
  ASSERT_TRUE(JoinRoom(*ann, "Hall", &rejoined));
  EXPECT_NE(rejoined.stream_position().epoch(), before.epoch());
  proto::ServerMessage sync;
  auto* cmd = sync.mutable_server_command();
  cmd->set_commandtype(proto::SYNC_STATE);
  (*cmd->mutable_parameters())["epoch"] = before.epoch();
  (*cmd->mutable_parameters())["offset"] = std::to_string(before.offset());
  sync.set_request_id("s");
  ASSERT_TRUE(ann->Send(sync));
  auto answer = WaitForReply(*ann, proto::ClientMessage::kResumeResult, "s");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->resume_result().outcome(), proto::RESUME_UNRECOVERABLE);
  EXPECT_EQ(answer->resume_result().reason(), "epoch changed");
  EXPECT_EQ(answer->resume_result().snapshot().stream_position().epoch(),
            rejoined.stream_position().epoch());
  ann.reset();
  server.Stop(SIGTERM, 5000);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace tutti::testing
