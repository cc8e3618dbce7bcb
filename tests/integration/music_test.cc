// Room music features end to end on a real server with real WebSocket clients: panic (all
// notes off), performers and audience, the shared tempo (with an injected clock) and the
// link quality members report in their heartbeats (docs/PROTOCOL.md §13-§16).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "server/store/store.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

// The next MidiMessage from `user_id` (others are skipped).
std::optional<proto::MidiMessage> NextMidiFrom(client::Client& c, const std::string& user_id) {
  for (int i = 0; i < 100; ++i) {
    auto m = c.WaitFor(proto::ClientMessage::kMidiMessage, 5s);
    if (!m) return std::nullopt;
    if (m->midi_message().user_id() == user_id) return m->midi_message();
  }
  return std::nullopt;
}

// A synthetic panic release: the note-offs for `notes`, then sustain off and all notes off
// on each of the 16 channels.
void ExpectPanicRelease(const proto::MidiMessage& m, const std::string& note_offs) {
  EXPECT_EQ(m.flags() & proto::MIDI_FLAG_SYNTHETIC, proto::MIDI_FLAG_SYNTHETIC);
  std::string want = note_offs;
  for (int ch = 0; ch < 16; ++ch) {
    const char cc = static_cast<char>(0xB0 | ch);
    want += {cc, 64, 0, cc, 123, 0};
  }
  EXPECT_EQ(m.midi_data(), want);
}

proto::ServerMessage PanicMsg(bool everyone, const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_panic()->set_everyone(everyone);
  m.set_request_id(rid);
  return m;
}

const std::string kNoteOn60("\x90\x3c\x64", 3);
const std::string kNoteOn64("\x90\x40\x50", 3);
const std::string kNoteOff60("\x80\x3c\x00", 3);
const std::string kNoteOff64("\x80\x40\x00", 3);

class MusicTest : public ::testing::Test {
 protected:
  MusicTest() : ts(3) {}
  TestServer ts;
};

TEST_F(MusicTest, PanicReleasesThePlayersOwnNotesAndTellsEveryone) {
  std::unique_ptr<client::Client> owner, alice, bob;
  ASSERT_TRUE(
      ConnectInRoom(ts, "Panic Room", {{"owner", &owner}, {"alice", &alice}, {"bob", &bob}}));
  ASSERT_TRUE(alice->Send(MidiMsg(kNoteOn60)));
  ASSERT_TRUE(NextMidiFrom(*bob, "u-alice"));

  // Over the protocol: alice's own notes only.
  ASSERT_TRUE(alice->Send(PanicMsg(false, "p1")));
  auto release = NextMidiFrom(*bob, "u-alice");
  ASSERT_TRUE(release);
  ExpectPanicRelease(*release, kNoteOff60);
  auto notice = bob->WaitFor(proto::ClientMessage::kPanicNotice, 5s);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->panic_notice().actor_user_id(), "u-alice");
  EXPECT_EQ(notice->panic_notice().target_user_id(), "u-alice");
  EXPECT_NE(notice->panic_notice().target_session_id(), 0u);
  auto own = WaitForReply(*alice, proto::ClientMessage::kPanicNotice, "p1");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->panic_notice().target_user_id(), "u-alice");

  // The server holds nothing of alice's now: a late joiner gets no snapshot of her.
  auto late = ts.Connect("late");
  ASSERT_TRUE(late);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*late, "Panic Room", &joined));
  for (const auto& h : joined.held_notes()) EXPECT_EQ(h.notes_size(), 0) << h.user_id();
}

TEST_F(MusicTest, StaffPanicReleasesEveryonesNotesAndOthersMayNot) {
  std::unique_ptr<client::Client> owner, alice, bob, carol;
  ASSERT_TRUE(ConnectInRoom(
      ts, "All Off", {{"owner", &owner}, {"alice", &alice}, {"bob", &bob}, {"carol", &carol}}));
  ASSERT_TRUE(alice->Send(MidiMsg(kNoteOn60)));
  ASSERT_TRUE(NextMidiFrom(*carol, "u-alice"));
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn64)));
  ASSERT_TRUE(NextMidiFrom(*carol, "u-bob"));

  // A member may silence only themselves.
  ASSERT_TRUE(bob->Send(PanicMsg(true, "b1")));
  EXPECT_EQ(Answer(*bob, "b1").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(bob->Send(ChatMsg("/panic all", "b2")));
  EXPECT_EQ(Answer(*bob, "b2").error_message().code(), proto::PERMISSION_DENIED);

  // The owner's chat command: both players' notes are released at carol's, then the notice.
  ASSERT_TRUE(owner->Send(ChatMsg("/panic all", "o1")));
  bool alice_released = false, bob_released = false, noticed = false;
  for (int i = 0; i < 50 && !noticed; ++i) {
    auto m = carol->Next(5s);
    ASSERT_TRUE(m);
    if (m->has_midi_message()) {
      const auto& midi = m->midi_message();
      if (midi.user_id() == "u-alice") {
        ExpectPanicRelease(midi, kNoteOff60);
        alice_released = true;
      } else if (midi.user_id() == "u-bob") {
        ExpectPanicRelease(midi, kNoteOff64);
        bob_released = true;
      }
    } else if (m->has_panic_notice()) {
      EXPECT_EQ(m->panic_notice().actor_user_id(), "u-owner");
      EXPECT_EQ(m->panic_notice().target_user_id(), "");
      noticed = true;
    }
  }
  EXPECT_TRUE(alice_released && bob_released && noticed);
  auto own = WaitForReply(*owner, proto::ClientMessage::kPanicNotice, "o1");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->panic_notice().target_user_id(), "");
}

// --- performers and audience ---------------------------------------------------------------

proto::ServerMessage PlayModeMsg(proto::PlayMode mode, bool persistent, const std::string& rid) {
  proto::ServerMessage m;
  auto* settings = m.mutable_update_room_command()->mutable_settings();
  settings->set_allow_chat(true);
  settings->set_allow_guests(true);
  settings->set_persistent(persistent);
  settings->set_play_mode(mode);
  m.set_request_id(rid);
  return m;
}

proto::ServerMessage PerformerMsg(const std::string& who, bool performer, const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_set_performer()->set_target_user(who);
  m.mutable_set_performer()->set_performer(performer);
  m.set_request_id(rid);
  return m;
}

// The next RoomUpdated whose performer list is `want`.
bool SeesPerformers(client::Client& c, const std::vector<std::string>& want) {
  for (int i = 0; i < 20; ++i) {
    auto m = c.WaitFor(proto::ClientMessage::kRoomUpdated, 5s);
    if (!m) return false;
    const auto& ids = m->room_updated().room_info().performer_ids();
    if (std::vector<std::string>(ids.begin(), ids.end()) == want) return true;
  }
  return false;
}

TEST_F(MusicTest, AnAudienceMemberIsRefusedUntilTheOwnerLetsThemPlay) {
  std::unique_ptr<client::Client> owner, bob, carol;
  ASSERT_TRUE(ConnectInRoom(ts, "Concert", {{"owner", &owner}, {"bob", &bob}, {"carol", &carol}}));
  // Everyone plays by default.
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn60)));
  ASSERT_TRUE(NextMidiFrom(*carol, "u-bob"));

  // Performers only: bob's held note is released at carol's, and his MIDI is refused.
  ASSERT_TRUE(owner->Send(PlayModeMsg(proto::PLAY_PERFORMERS_ONLY, false, "mode")));
  auto release = NextMidiFrom(*carol, "u-bob");
  ASSERT_TRUE(release);
  EXPECT_EQ(release->midi_data(), kNoteOff60);
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn64, 0, "b1")));
  std::string rid;
  EXPECT_EQ(WaitError(*bob, 5s, &rid), proto::NOT_A_PERFORMER);
  EXPECT_EQ(rid, "b1");
  // The owner still plays.
  ASSERT_TRUE(owner->Send(MidiMsg(kNoteOn64)));
  ASSERT_TRUE(NextMidiFrom(*carol, "u-owner"));

  // Only the owner manages the list.
  ASSERT_TRUE(carol->Send(ChatMsg("/perform carol", "c1")));
  EXPECT_EQ(Answer(*carol, "c1").error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(owner->Send(ChatMsg("/perform bob", "o1")));
  EXPECT_TRUE(Answer(*owner, "o1").command_result().ok());
  EXPECT_TRUE(SeesPerformers(*carol, {"u-bob"}));
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn64)));
  auto played = NextMidiFrom(*carol, "u-bob");
  ASSERT_TRUE(played);
  EXPECT_EQ(played->midi_data(), kNoteOn64);

  // Back to the audience over the protocol: his note is released, his MIDI refused again.
  ASSERT_TRUE(owner->Send(PerformerMsg("bob", false, "o2")));
  EXPECT_TRUE(Answer(*owner, "o2").command_result().ok());
  auto released = NextMidiFrom(*carol, "u-bob");
  ASSERT_TRUE(released);
  EXPECT_EQ(released->midi_data(), kNoteOff64);
  EXPECT_TRUE(SeesPerformers(*carol, {}));
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn60, 0, "b2")));
  EXPECT_EQ(WaitError(*bob, 5s, &rid), proto::NOT_A_PERFORMER);

  // Nobody by that name: NOT_FOUND; a bad mode: INVALID_PARAMETERS.
  ASSERT_TRUE(owner->Send(PerformerMsg("nobody-at-all", true, "o3")));
  EXPECT_EQ(Answer(*owner, "o3").error_message().code(), proto::NOT_FOUND);
  ASSERT_TRUE(owner->Send(PlayModeMsg(static_cast<proto::PlayMode>(7), false, "o4")));
  EXPECT_EQ(WaitError(*owner), proto::INVALID_PARAMETERS);
}

TEST(MusicPersistenceTest, APersistentRoomKeepsItsModeAndPerformersAcrossARestart) {
  char tmpl[] = "/tmp/tutti-music-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string db = dir + "/music.db";
  auto tweak = [&db](server::ServerConfig& c) { c.store_path = db; };
  {
    TestServer ts(2, tweak);
    auto owner = ts.Connect("owner");
    auto bob = ts.Connect("bob");
    ASSERT_TRUE(owner && bob);
    ASSERT_TRUE(JoinRoom(*owner, "Hall"));
    ASSERT_TRUE(owner->Send(PlayModeMsg(proto::PLAY_PERFORMERS_ONLY, true, "mode")));
    auto saved = WaitForReply(*owner, proto::ClientMessage::kRoomUpdated, "mode");
    ASSERT_TRUE(saved);
    ASSERT_TRUE(JoinRoom(*bob, "Hall"));
    ASSERT_TRUE(owner->Send(ChatMsg("/perform bob", "p")));
    EXPECT_TRUE(Answer(*owner, "p").command_result().ok());  // durable when answered
  }
  TestServer ts(2, tweak);
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(bob && carol);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*bob, "Hall", &joined));
  EXPECT_EQ(joined.room_info().settings().play_mode(), proto::PLAY_PERFORMERS_ONLY);
  ASSERT_EQ(joined.room_info().performer_ids_size(), 1);
  EXPECT_EQ(joined.room_info().performer_ids(0), "u-bob");
  ASSERT_TRUE(JoinRoom(*carol, "Hall"));
  ASSERT_TRUE(carol->Send(MidiMsg(kNoteOn60, 0, "c")));
  EXPECT_EQ(WaitError(*carol), proto::NOT_A_PERFORMER);
  ASSERT_TRUE(bob->Send(MidiMsg(kNoteOn60)));
  EXPECT_TRUE(NextMidiFrom(*carol, "u-bob"));
  for (const char* f : {"/music.db", "/music.db-wal", "/music.db-shm"}) {
    std::remove((dir + f).c_str());
  }
  rmdir(dir.c_str());
}

// --- shared tempo ----------------------------------------------------------------------------

proto::ServerMessage TempoMsg(double bpm, uint32_t beats, uint32_t unit,
                              proto::TransportChange transport, const std::string& rid) {
  proto::ServerMessage m;
  auto* t = m.mutable_set_tempo();
  t->set_bpm(bpm);
  t->set_beats_per_bar(beats);
  t->set_beat_unit(unit);
  t->set_transport(transport);
  m.set_request_id(rid);
  return m;
}

TEST(MusicTempoTest, TempoChangesReachEveryoneWithTheAnchorOnTheServerClock) {
  auto clock = NowFakeClock();
  TestServer ts(3, nullptr, clock);
  auto owner = ts.Connect("owner");
  auto bob = ts.Connect("bob");
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(owner && bob && carol);
  proto::RoomJoinedResponse joined;
  ASSERT_TRUE(JoinRoom(*owner, "Beat", &joined));
  // A new room: 120 BPM, 4/4, stopped, never changed.
  EXPECT_EQ(joined.room_info().tempo().bpm(), 120.0);
  EXPECT_EQ(joined.room_info().tempo().beats_per_bar(), 4u);
  EXPECT_FALSE(joined.room_info().tempo().running());
  EXPECT_EQ(joined.room_info().tempo().changed_by_user_id(), "");
  ASSERT_TRUE(JoinRoom(*bob, "Beat"));
  ASSERT_TRUE(JoinRoom(*carol, "Beat"));

  // Start at 90 BPM in 3/4: beat 0 falls half a second after the change.
  const int64_t t0 = clock->NowUs();
  ASSERT_TRUE(owner->Send(TempoMsg(90, 3, 4, proto::TRANSPORT_START, "t1")));
  auto own = WaitForReply(*owner, proto::ClientMessage::kTempoState, "t1");
  ASSERT_TRUE(own);
  for (auto* c : {bob.get(), carol.get()}) {
    auto m = c->WaitFor(proto::ClientMessage::kTempoState, 5s);
    ASSERT_TRUE(m);
    const auto& t = m->tempo_state();
    EXPECT_EQ(t.bpm(), 90.0);
    EXPECT_EQ(t.beats_per_bar(), 3u);
    EXPECT_EQ(t.beat_unit(), 4u);
    EXPECT_TRUE(t.running());
    EXPECT_EQ(t.anchor_server_time(), t0 + 500'000);
    EXPECT_EQ(t.anchor_beat(), 0.0);
    EXPECT_EQ(t.changed_by_user_id(), "u-owner");
    EXPECT_EQ(t.changed_by_username(), "owner");
    EXPECT_EQ(t.changed_server_time(), t0);
    EXPECT_TRUE(m->has_stream());  // a sequenced room event
  }

  // 2.5 s later (2 s after beat 0, i.e. 3 beats at 90 BPM) the tempo becomes 120: the grid
  // is re-anchored at now with the beat reached, so the phase does not jump.
  clock->AdvanceUs(2'500'000);
  const int64_t t1 = clock->NowUs();
  ASSERT_TRUE(owner->Send(TempoMsg(120, 0, 0, proto::TRANSPORT_KEEP, "t2")));
  for (auto* c : {owner.get(), bob.get(), carol.get()}) {
    auto m = c->WaitFor(proto::ClientMessage::kTempoState, 5s);
    ASSERT_TRUE(m);
    const auto& t = m->tempo_state();
    EXPECT_EQ(t.bpm(), 120.0);
    EXPECT_EQ(t.beats_per_bar(), 3u);  // kept
    EXPECT_TRUE(t.running());
    EXPECT_EQ(t.anchor_server_time(), t1);
    EXPECT_DOUBLE_EQ(t.anchor_beat(), 3.0);
  }

  // Stop one second later: frozen at beat 3 + 2 = 5.
  clock->AdvanceUs(1'000'000);
  ASSERT_TRUE(owner->Send(ChatMsg("/tempo stop", "t3")));
  auto stopped = carol->WaitFor(proto::ClientMessage::kTempoState, 5s);
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(stopped->tempo_state().running());
  EXPECT_DOUBLE_EQ(stopped->tempo_state().anchor_beat(), 5.0);

  // Only staff change it; bounds are checked and a refusal changes nothing.
  ASSERT_TRUE(bob->Send(TempoMsg(100, 0, 0, proto::TRANSPORT_KEEP, "b1")));
  EXPECT_EQ(WaitError(*bob), proto::PERMISSION_DENIED);
  ASSERT_TRUE(owner->Send(TempoMsg(1000, 0, 0, proto::TRANSPORT_KEEP, "o1")));
  EXPECT_EQ(WaitError(*owner), proto::INVALID_PARAMETERS);
  ASSERT_TRUE(owner->Send(TempoMsg(0, 4, 3, proto::TRANSPORT_KEEP, "o2")));
  EXPECT_EQ(WaitError(*owner), proto::INVALID_PARAMETERS);
  ASSERT_TRUE(owner->Send(ChatMsg("/tempo fast", "o3")));
  EXPECT_EQ(Answer(*owner, "o3").error_message().code(), proto::INVALID_PARAMETERS);

  // A late joiner gets the same state in RoomInfo.
  auto late = ts.Connect("late");
  ASSERT_TRUE(late);
  proto::RoomJoinedResponse late_joined;
  ASSERT_TRUE(JoinRoom(*late, "Beat", &late_joined));
  const auto& t = late_joined.room_info().tempo();
  EXPECT_EQ(t.bpm(), 120.0);
  EXPECT_FALSE(t.running());
  EXPECT_DOUBLE_EQ(t.anchor_beat(), 5.0);
  EXPECT_EQ(t.changed_by_user_id(), "u-owner");
}

// --- connection quality -------------------------------------------------------------------

proto::ServerMessage QualityMsg(uint32_t rtt_us, uint32_t err_us, float late, float dropped,
                                const std::string& rid) {
  proto::ServerMessage m = HeartbeatMsg(1, rid);
  auto* q = m.mutable_heartbeat_message()->mutable_quality();
  q->set_rtt_us(rtt_us);
  q->set_offset_error_us(err_us);
  q->set_late_percent(late);
  q->set_dropped_percent(dropped);
  return m;
}

// The next MemberQuality about `user_id`.
std::optional<proto::ConnectionQuality> NextQuality(client::Client& c, const std::string& user_id) {
  for (int i = 0; i < 20; ++i) {
    auto m = c.WaitFor(proto::ClientMessage::kMemberQuality, 5s);
    if (!m) return std::nullopt;
    if (m->member_quality().user_id() == user_id) return m->member_quality().quality();
  }
  return std::nullopt;
}

TEST_F(MusicTest, QualityGradesFollowReportedFiguresAndOnlyStaffSeeThem) {
  std::unique_ptr<client::Client> owner, bob, carol;
  ASSERT_TRUE(ConnectInRoom(ts, "Links", {{"owner", &owner}, {"bob", &bob}, {"carol", &carol}}));

  struct Case {
    uint32_t rtt_us, err_us;
    float late, dropped;
    proto::QualityGrade grade;
  };
  // Each figure alone moves the grade; the staff hear of every change of grade.
  const Case cases[] = {
      {30'000, 1'000, 0.0f, 0.0f, proto::QUALITY_GOOD},
      {150'000, 1'000, 0.0f, 0.0f, proto::QUALITY_FAIR},
      {30'000, 1'000, 6.0f, 0.0f, proto::QUALITY_POOR},
      {30'000, 8'000, 0.0f, 0.0f, proto::QUALITY_FAIR},
      {30'000, 1'000, 0.0f, 3.0f, proto::QUALITY_POOR},
      {30'000, 1'000, 0.2f, 0.1f, proto::QUALITY_GOOD},
      {420'000, 3'000, 0.0f, 0.0f, proto::QUALITY_POOR},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string rid = "q" + std::to_string(n++);
    ASSERT_TRUE(bob->Send(QualityMsg(c.rtt_us, c.err_us, c.late, c.dropped, rid)));
    ASSERT_TRUE(WaitForReply(*bob, proto::ClientMessage::kHeartbeatMessage, rid));
    auto q = NextQuality(*owner, "u-bob");
    ASSERT_TRUE(q) << rid;
    EXPECT_EQ(q->grade(), c.grade) << rid;
    EXPECT_EQ(q->rtt_us(), c.rtt_us);
    EXPECT_EQ(q->late_percent(), c.late);
  }
  // The same grade again is not news.
  ASSERT_TRUE(bob->Send(QualityMsg(500'000, 3'000, 0.0f, 0.0f, "same")));
  ASSERT_TRUE(WaitForReply(*bob, proto::ClientMessage::kHeartbeatMessage, "same"));

  // /users: the owner sees the grade and the numbers, carol does not.
  ASSERT_TRUE(owner->Send(ChatMsg("/users", "u1")));
  auto users = Answer(*owner, "u1").command_result();
  bool shown = false;
  for (const auto& line : users.lines()) {
    if (line.find("u-bob") != std::string::npos) {
      EXPECT_NE(line.find("poor: rtt 500.0 ms"), std::string::npos) << line;
      shown = true;
    }
  }
  EXPECT_TRUE(shown);
  ASSERT_TRUE(carol->Send(ChatMsg("/users", "u2")));
  const proto::ClientMessage carol_users = Answer(*carol, "u2");
  ASSERT_TRUE(carol_users.has_command_result());
  for (const auto& line : carol_users.command_result().lines()) {
    EXPECT_EQ(line.find("rtt"), std::string::npos) << line;
  }
  // carol never got a MemberQuality.
  for (int i = 0; i < 100; ++i) {
    auto m = carol->Next(100ms);
    if (!m) break;
    EXPECT_FALSE(m->has_member_quality());
  }

  // A joining moderator's user list carries the figures; a member's does not.
  ASSERT_TRUE(owner->Send(ChatMsg("/mod carol", "m")));
  EXPECT_TRUE(Answer(*owner, "m").command_result().ok());
  auto dave = ts.Connect("dave");
  ASSERT_TRUE(dave);
  proto::RoomJoinedResponse seen;
  ASSERT_TRUE(JoinRoom(*dave, "Links", &seen));
  for (const auto& u : seen.current_users()) EXPECT_FALSE(u.has_quality()) << u.user_id();
  ASSERT_TRUE(carol->Send(LeaveMsg("l")));
  ASSERT_TRUE(WaitForReply(*carol, proto::ClientMessage::kRoomLeft, "l"));
  ASSERT_TRUE(JoinRoom(*carol, "Links", &seen));
  bool bob_graded = false;
  for (const auto& u : seen.current_users()) {
    if (u.user_id() == "u-bob") bob_graded = u.quality().grade() == proto::QUALITY_POOR;
  }
  EXPECT_TRUE(bob_graded);

  // Metrics count the reports by grade.
  // (The counters are atomics, readable from this thread; each report was counted before
  // its heartbeat was answered.)
  uint64_t by_grade[4] = {};
  for (int i = 0; i < ts.server().shard_count(); ++i) {
    for (int g = 0; g < 4; ++g)
      by_grade[g] += ts.server().shard(i).counters().quality_reports.Get(g);
  }
  EXPECT_EQ(by_grade[proto::QUALITY_GOOD], 2u);
  EXPECT_EQ(by_grade[proto::QUALITY_FAIR], 2u);
  EXPECT_EQ(by_grade[proto::QUALITY_POOR], 4u);
}

TEST_F(MusicTest, OutOfBoundsQualityReportsAreRefused) {
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(bob);
  ASSERT_TRUE(JoinRoom(*bob, "Bounds"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Bad {
    uint32_t rtt_us, err_us;
    float late, dropped;
  };
  const Bad bad[] = {{70'000'000, 0, 0, 0}, {0, 70'000'000, 0, 0}, {0, 0, 101.0f, 0},
                     {0, 0, -1.0f, 0},      {0, 0, nan, 0},        {0, 0, 0, inf}};
  int n = 0;
  for (const Bad& b : bad) {
    const std::string rid = "bad" + std::to_string(n++);
    ASSERT_TRUE(bob->Send(QualityMsg(b.rtt_us, b.err_us, b.late, b.dropped, rid)));
    std::string got;
    EXPECT_EQ(WaitError(*bob, 5s, &got), proto::INVALID_PARAMETERS) << rid;
    EXPECT_EQ(got, rid);
  }
  EXPECT_TRUE(ServerStillServes(ts));
}

}  // namespace
}  // namespace tutti::testing
