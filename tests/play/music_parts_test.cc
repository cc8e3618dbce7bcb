// tutti-play's music parts without a server: the metronome (ClickTrack) on an injected clock
// and a hand-synced ClockSync, so every click's time is checked exactly, never measured; the
// members' link grades in the room view; the /metronome command.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "midi/clock_sync.h"
#include "tools/play/click_track.h"
#include "tools/play/commands.h"
#include "tools/play/player_choices.h"
#include "tools/play/room_view.h"
#include "tools/play/sound.h"

namespace tutti::play {
namespace {

constexpr int64_t kOffset = 5000000000;  // server time = local + this

// A clock synced over a symmetric 1 ms path: locked, offset exactly kOffset.
midi::ClockSync SyncedClock() {
  midi::ClockSync c;
  int64_t t = 1000000;
  for (int i = 0; i < 8; ++i, t += 100000) {
    c.OnPingSent(t);
    EXPECT_TRUE(c.OnSample(t, t + 1000 + kOffset, t + 1000 + kOffset, t + 2000));
  }
  EXPECT_TRUE(c.locked());
  return c;
}

proto::TempoState Tempo(double bpm, uint32_t beats, bool running, int64_t anchor, double beat) {
  proto::TempoState t;
  t.set_bpm(bpm);
  t.set_beats_per_bar(beats);
  t.set_beat_unit(4);
  t.set_running(running);
  t.set_anchor_server_time(anchor);
  t.set_anchor_beat(beat);
  return t;
}

struct Handed {
  int64_t polled_at;
  ClickEvent click;
};

// Polls every `step` from `from` to `to` (local time), recording when each click came out.
std::vector<Handed> PollRange(ClickTrack& track, const midi::ClockSync& clock, int64_t from,
                              int64_t to, int64_t step) {
  std::vector<Handed> out;
  for (int64_t now = from; now <= to; now += step) {
    std::vector<ClickEvent> due;
    track.Poll(clock, now, &due);
    for (const auto& c : due) out.push_back({now, c});
  }
  return out;
}

TEST(ClickTrackTest, ClicksFallOnTheServersBeatGridWithTheDownbeatAccented) {
  const midi::ClockSync clock = SyncedClock();
  ASSERT_EQ(clock.ServerTimeFromLocal(2000000), 2000000 + kOffset);
  ClickTrack track;
  // 120 BPM in 3/4, beat 0 at server time S (after a one-beat count-in).
  const int64_t local0 = 3000000;
  const int64_t s = clock.ServerTimeFromLocal(local0) + 500000;
  track.SetTempo(Tempo(120, 3, true, s - 500000, -1), clock, local0);
  EXPECT_TRUE(PollRange(track, clock, local0, local0 + 3000000, 5000).empty()) << "off by default";

  ClickTrack on;
  on.SetTempo(Tempo(120, 3, true, s - 500000, -1), clock, local0);
  on.set_enabled(true);
  const std::vector<Handed> got = PollRange(on, clock, local0, local0 + 2260000, 5000);
  // Beats 0..3 at S, S+0.5 s, S+1 s, S+1.5 s; the count-in beat (-1, at local0) is silent.
  ASSERT_EQ(got.size(), 8u);
  std::vector<int64_t> beats;
  for (const Handed& h : got) {
    const ClickEvent& c = h.click;
    EXPECT_EQ(c.message.status & 0x0F, 9) << "GM percussion channel 10";
    const int64_t beat_local = clock.LocalFromServer(s + c.beat * 500000);
    const bool on_msg = (c.message.status & 0xF0) == 0x90;
    EXPECT_EQ(c.local_us, on_msg ? beat_local : beat_local + 50000) << "beat " << c.beat;
    // Handed out at the first poll at or after its time (no lookahead), never before.
    EXPECT_GE(h.polled_at, c.local_us);
    EXPECT_LT(h.polled_at, c.local_us + 5000);
    if (!on_msg) continue;
    beats.push_back(c.beat);
    const bool downbeat = c.beat % 3 == 0;
    EXPECT_EQ(c.message.data1, downbeat ? 76 : 77) << "beat " << c.beat;
    EXPECT_EQ(c.message.data2, downbeat ? 127 : 90) << "beat " << c.beat;
  }
  EXPECT_EQ(beats, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(got[0].click.local_us, local0 + 500000);  // the clock maps exactly here
  EXPECT_EQ(on.clicks(), 4u);
  EXPECT_EQ(on.skipped(), 0u);
}

TEST(ClickTrackTest, WithALookaheadClicksLeaveEarlyWithTheirPlayTimes) {
  const midi::ClockSync clock = SyncedClock();
  ClickTrackOptions o;
  o.lookahead_us = 20000;
  ClickTrack track(o);
  const int64_t local0 = 3000000;
  const int64_t s = clock.ServerTimeFromLocal(local0) + 100000;
  track.SetTempo(Tempo(60, 4, true, s, 0), clock, local0);
  track.set_enabled(true);
  ASSERT_EQ(track.NextWake(clock, local0), local0 + 100000 - 20000);
  const std::vector<Handed> got = PollRange(track, clock, local0, local0 + 1200000, 1000);
  ASSERT_EQ(got.size(), 4u);  // beats 0 and 1, on and off
  for (const Handed& h : got) {
    EXPECT_EQ(h.polled_at, h.click.local_us - 20000) << "handed out one lookahead early";
  }
  EXPECT_EQ(got[0].click.local_us, local0 + 100000);
  EXPECT_EQ(got[2].click.local_us, local0 + 1100000);
}

TEST(ClickTrackTest, ALateWakeUpSkipsMissedBeatsAndTurningOnStartsAtTheNextBeat) {
  const midi::ClockSync clock = SyncedClock();
  ClickTrack track;
  const int64_t local0 = 3000000;
  const int64_t s = clock.ServerTimeFromLocal(local0);
  track.SetTempo(Tempo(120, 4, true, s, 0), clock, local0);
  track.set_enabled(true);
  // Asleep for 1.7 s: beats 0..3 went by (the last 200 ms ago): none is played off the beat.
  std::vector<ClickEvent> due;
  track.Poll(clock, local0 + 1700000, &due);
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(track.skipped(), 4u);
  // Slightly late (10 ms, within max_late_us): played at once, with its true time.
  track.Poll(clock, local0 + 2010000, &due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].beat, 4);
  EXPECT_EQ(due[0].local_us, local0 + 2000000);
  // Off for a while, then on again: the beats that went by are not clicks skipped or played.
  track.set_enabled(false);
  due.clear();
  track.Poll(clock, local0 + 2100000, &due);  // the pending note-off still goes out
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].message.status, 0x89);
  track.Poll(clock, local0 + 5200000, &due);
  track.set_enabled(true);
  due.clear();
  track.Poll(clock, local0 + 5300000, &due);
  EXPECT_TRUE(due.empty());
  EXPECT_EQ(track.skipped(), 4u);
  track.Poll(clock, local0 + 5500000, &due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].beat, 11);
  EXPECT_EQ(due[0].message.data1, 77);
}

TEST(ClickTrackTest, StoppedClearedOrUnsyncedGridsNeverClickAndATempoChangeReanchors) {
  const midi::ClockSync clock = SyncedClock();
  ClickTrack track;
  track.set_enabled(true);
  const int64_t local0 = 3000000;
  const int64_t s = clock.ServerTimeFromLocal(local0);
  EXPECT_EQ(track.Describe(), "");
  track.SetTempo(Tempo(90, 4, false, s, 7.5), clock, local0);
  EXPECT_TRUE(PollRange(track, clock, local0, local0 + 3000000, 10000).empty());
  EXPECT_EQ(track.Describe(), "90 BPM 4/4, stopped  [click on]");
  EXPECT_EQ(track.Beat(clock, local0), "");

  // Running from beat 7.5 at s + 3 s (a re-anchored change): the next click is beat 8.
  track.SetTempo(Tempo(60, 4, true, s + 3000000, 7.5), clock, local0 + 3000000);
  EXPECT_EQ(track.Beat(clock, local0 + 3100000), "bar 2 beat 4");
  std::vector<ClickEvent> due;
  track.Poll(clock, local0 + 3500000, &due);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].beat, 8);
  EXPECT_EQ(due[0].message.data1, 76) << "beat 8 opens bar 3 in 4/4";
  EXPECT_EQ(track.Beat(clock, local0 + 3600000), "bar 3 beat 1");
  track.Clear();
  due.clear();
  track.Poll(clock, local0 + 3560000, &due);  // the note-off of beat 8 only
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(PollRange(track, clock, local0 + 3600000, local0 + 8000000, 10000).empty());

  // Before the clock locks, nothing clicks (its mapping may still step).
  midi::ClockSync fresh;
  ClickTrack early;
  early.set_enabled(true);
  early.SetTempo(Tempo(120, 4, true, 0, 0), fresh, 1000000);
  EXPECT_TRUE(PollRange(early, fresh, 1000000, 4000000, 10000).empty());
  EXPECT_FALSE(early.NextWake(fresh, 1000000).has_value());
}

TEST(ClickTrackTest, TheMetronomeCommand) {
  EXPECT_EQ(ParseCommand("/metronome").kind, Command::Kind::kMetronome);
  EXPECT_EQ(ParseCommand("/metronome").arg, "");
  EXPECT_EQ(ParseCommand("/metronome on").arg, "on");
  EXPECT_EQ(ParseCommand("/click off").arg, "off");
  EXPECT_EQ(ParseCommand("/metronome loud").kind, Command::Kind::kInvalid);
}

proto::UserInfo Member(const std::string& name, uint64_t sid) {
  proto::UserInfo u;
  u.set_username(name);
  u.set_user_id("id-" + name);
  u.set_session_id(sid);
  return u;
}

TEST(RoomViewQualityTest, GradesFromTheJoinListAndMemberQualityUpdates) {
  RoomView v;
  proto::ClientMessage m;
  *m.mutable_welcome()->mutable_user() = Member("Ann", 7);
  v.OnMessage(m);
  m.Clear();
  auto* j = m.mutable_room_joined_response();
  j->set_success(true);
  j->mutable_room_info()->set_room_name("Jam");
  j->mutable_room_info()->set_room_id("jam");
  *j->add_current_users() = Member("Ann", 7);
  proto::UserInfo bob = Member("Bob", 9);
  bob.mutable_quality()->set_grade(proto::QUALITY_GOOD);
  bob.mutable_quality()->set_rtt_us(12000);
  *j->add_current_users() = bob;
  *j->add_current_users() = Member("Cy", 11);
  v.OnMessage(m);
  EXPECT_EQ(GradeName(v.players().at(9).quality.grade()), "good");
  EXPECT_EQ(v.players().at(9).quality.rtt_us(), 12000u);
  EXPECT_EQ(GradeName(v.players().at(11).quality.grade()), "") << "nothing reported";

  m.Clear();
  auto* q = m.mutable_member_quality();
  q->set_room_id("jam");
  q->set_user_id("id-Bob");
  q->set_session_id(9);
  q->mutable_quality()->set_grade(proto::QUALITY_POOR);
  q->mutable_quality()->set_rtt_us(420000);
  q->mutable_quality()->set_late_percent(6.5f);
  const uint64_t before = v.version();
  EXPECT_TRUE(v.OnMessage(m));
  EXPECT_GT(v.version(), before);
  EXPECT_EQ(v.players().at(9).quality.grade(), proto::QUALITY_POOR);
  EXPECT_EQ(v.chat().back().text,
            "Bob's link is poor (rtt 420 ms, clock +-0.0 ms, late 6.5%, dropped 0.0%)");
  // Still poor: the figures update without another line; an unknown session changes nothing.
  const size_t lines = v.chat_total();
  q->mutable_quality()->set_rtt_us(500000);
  v.OnMessage(m);
  EXPECT_EQ(v.players().at(9).quality.rtt_us(), 500000u);
  EXPECT_EQ(v.chat_total(), lines);
  q->set_session_id(99);
  EXPECT_FALSE(v.OnMessage(m));

  v.SetOwnRtt(3000);
  EXPECT_EQ(v.players().at(7).own_rtt_us, 3000);
  EXPECT_EQ(v.players().at(9).own_rtt_us, -1);
}

namespace tutti::play {
namespace {

// The room's notes go to the timed output with their play times, on the player's channel;
// without a timed output they play at once.
TEST(SoundTimedTest, PlayAtRoutesThroughThePlayersChannelWithItsTime) {
  std::vector<midi::ChannelMessage> now;
  std::vector<std::pair<midi::ChannelMessage, int64_t>> timed;
  Sound s([&](const midi::ChannelMessage& m) { now.push_back(m); });
  s.PlayAt(42, {0x90, 60, 100, 3}, 1234);
  ASSERT_FALSE(now.empty());
  EXPECT_EQ(now.back().status, 0x91) << "no timed output: at once";
  now.clear();
  s.set_timed_sink([&](const midi::ChannelMessage& m, int64_t at) { timed.emplace_back(m, at); });
  s.PlayAt(42, {0x80, 60, 0, 3}, 5678);
  EXPECT_TRUE(now.empty());
  ASSERT_EQ(timed.size(), 1u);
  EXPECT_EQ(timed[0].first.status, 0x81);
  EXPECT_EQ(timed[0].second, 5678);
  // A new player's channel set-up (program, volume) goes at once, before their first note.
  s.PlayAt(43, {0x90, 62, 100, 3}, 9000);
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0].status, 0xC2);
  EXPECT_EQ(now[1].status, 0xB2);
  EXPECT_EQ(timed.back().first.status, 0x92);
}

}  // namespace
}  // namespace tutti::play

namespace tutti::play {
namespace {

// The volume of the first CC7 on `channel` in `sent` from index `from`, or -1.
int VolumeSent(const std::vector<midi::ChannelMessage>& sent, size_t from, uint8_t channel) {
  for (size_t i = from; i < sent.size(); ++i) {
    if (sent[i].status == (0xB0 | channel) && sent[i].data1 == 7) return sent[i].data2;
  }
  return -1;
}

// /program and /volume for another player outlive their new session ids: a resume under a new
// id, our own reconnect (the room seen again from a snapshot); a player's own program change
// after that wins, then and on their later sessions.
TEST(PlayerChoicesTest, ChoicesFollowThePlayerAcrossNewSessions) {
  std::vector<midi::ChannelMessage> sent;
  Sound sound([&](const midi::ChannelMessage& m) { sent.push_back(m); });
  RoomView v;
  PlayerChoices choices;
  sound.set_on_program([&](uint64_t player, uint8_t program) {
    if (player != Sound::kLocal) choices.HeardOwnProgram(player, program);
  });
  proto::ClientMessage m;
  *m.mutable_welcome()->mutable_user() = Member("Ann", 7);
  v.OnMessage(m);
  m.Clear();
  auto* j = m.mutable_room_joined_response();
  j->set_success(true);
  j->mutable_room_info()->set_room_name("Jam");
  j->mutable_room_info()->set_room_id("jam");
  *j->add_current_users() = Member("Ann", 7);
  *j->add_current_users() = Member("Bob", 9);
  *j->add_current_users() = Member("Cy", 11);
  v.OnMessage(m);
  choices.Apply(v, &sound);
  EXPECT_TRUE(sent.empty()) << "nothing chosen yet";

  choices.SetVolume("bob", 9, 80, &sound);
  choices.SetProgram("Bob", 9, 40, &sound);
  sound.Play(9, {0x90, 60, 100, 3});
  const uint8_t bob_ch = *sound.ChannelOf(9);
  EXPECT_EQ(VolumeSent(sent, 0, bob_ch), 80);

  // Bob resumes under a new session id: his new session gets the same choices.
  m.Clear();
  m.mutable_member_connection()->set_session_id(12);
  m.mutable_member_connection()->set_previous_session_id(9);
  v.OnMessage(m);
  sound.Forget(9);
  choices.Apply(v, &sound);
  size_t from = sent.size();
  sound.Play(12, {0x90, 62, 100, 3});
  const uint8_t ch12 = *sound.ChannelOf(12);
  EXPECT_EQ(VolumeSent(sent, from, ch12), 80);
  EXPECT_EQ(sound.SettingsOf(12).program, 40);
  EXPECT_EQ(sound.SettingsOf(11).volume, 100) << "Cy keeps the default";

  // His own program change wins until the next new session; Apply does not undo it.
  sound.Play(12, {0xC0, 5, 0, 2});
  choices.Apply(v, &sound);
  EXPECT_EQ(sound.SettingsOf(12).program, 5);

  // Our own connection drops and the room comes back from a snapshot with Bob as session 15.
  v.OnDisconnected();
  choices.Apply(v, &sound);
  m.Clear();
  auto* snap = m.mutable_room_snapshot();
  snap->mutable_room_info()->set_room_name("Jam");
  snap->mutable_room_info()->set_room_id("jam");
  *snap->add_users() = Member("Ann", 7);
  *snap->add_users() = Member("Bob", 15);
  v.OnMessage(m);
  choices.Apply(v, &sound);
  from = sent.size();
  sound.Play(15, {0x90, 64, 100, 3});
  EXPECT_EQ(VolumeSent(sent, from, *sound.ChannelOf(15)), 80);
  EXPECT_EQ(sound.SettingsOf(15).program, 5) << "his own change, not the older /program 40";
  EXPECT_EQ(choices.remembered(), 1u);

  // A /program after his own change wins again, on his next session too.
  choices.SetProgram("Bob", 15, 33, &sound);
  m.Clear();
  m.mutable_member_connection()->set_session_id(16);
  m.mutable_member_connection()->set_previous_session_id(15);
  v.OnMessage(m);
  choices.Apply(v, &sound);
  EXPECT_EQ(sound.SettingsOf(16).program, 33);
  EXPECT_EQ(sound.SettingsOf(16).volume, 80);
}

}  // namespace
}  // namespace tutti::play

// The memory of choices is bounded: the player changed longest ago is forgotten first.
TEST(PlayerChoicesTest, KeepsAtMostTheBoundOfNames) {
  Sound sound([](const midi::ChannelMessage&) {});
  PlayerChoices choices;
  const size_t n = PlayerChoices::kMaxRemembered + 10;
  for (size_t i = 0; i < n; ++i) {
    choices.SetVolume("p" + std::to_string(i), 1000 + i, 50, &sound);
  }
  EXPECT_EQ(choices.remembered(), PlayerChoices::kMaxRemembered);
  // p0..p9 went first; p10 is the oldest kept.
  RoomView v;
  proto::ClientMessage m;
  auto* j = m.mutable_room_joined_response();
  j->set_success(true);
  j->mutable_room_info()->set_room_name("Jam");
  j->mutable_room_info()->set_room_id("jam");
  *j->add_current_users() = Member("p0", 1);
  *j->add_current_users() = Member("p10", 2);
  v.OnMessage(m);
  choices.Apply(v, &sound);
  EXPECT_EQ(sound.SettingsOf(1).volume, 100) << "p0 was forgotten";
  EXPECT_EQ(sound.SettingsOf(2).volume, 50) << "p10 is remembered";
}

}  // namespace
}  // namespace tutti::play
