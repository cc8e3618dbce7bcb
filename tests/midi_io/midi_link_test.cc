// tools/midi_bridge/midi_link: the wire side of client timing, driven with hand-made server
// messages on a virtual clock (no sockets, no JACK).
#include "tools/midi_bridge/midi_link.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::bridge {
namespace {

using midi::ChannelMessage;

constexpr int64_t kServerOffset = 7000000000;  // server time = local + this (symmetric 1 ms path)

proto::ClientMessage Welcome(uint64_t session, uint32_t max_events = 0) {
  proto::ClientMessage m;
  m.mutable_welcome()->mutable_user()->set_session_id(session);
  m.mutable_welcome()->mutable_limits()->set_max_events_per_midi_message(max_events);
  return m;
}

// Answers every heartbeat in `out` as a server 1 ms away each way would, at local time `now`.
void AnswerPings(MidiLink& link, LinkOutput& out, int64_t now) {
  std::vector<proto::ServerMessage> sent;
  sent.swap(out.send);
  for (const auto& s : sent) {
    if (!s.has_heartbeat_message()) {
      out.send.push_back(s);
      continue;
    }
    proto::ClientMessage r;
    const int64_t t1 = s.heartbeat_message().timestamp();
    r.mutable_heartbeat_message()->set_timestamp(t1);
    r.mutable_heartbeat_message()->set_server_receive_time(t1 + 1000 + kServerOffset);
    r.mutable_heartbeat_message()->set_server_send_time(t1 + 1000 + kServerOffset);
    link.OnMessage(r, std::max(now, t1 + 2000), &out);
  }
}

// Runs the clock-sync burst until the link is synced; returns the local time reached.
int64_t Sync(MidiLink& link, int64_t now) {
  link.OnConnected(now);
  for (int i = 0; i < 20 && !link.clock().locked(); ++i) {
    LinkOutput out;
    link.Poll(now, &out);
    AnswerPings(link, out, now + 2000);
    now += 100000;
  }
  return now;
}

proto::ClientMessage Relayed(uint64_t session, uint64_t seq, int64_t stamp,
                             const std::vector<ChannelMessage>& at_stamp,
                             const std::vector<std::pair<ChannelMessage, uint32_t>>& later = {},
                             uint32_t flags = 0) {
  proto::ClientMessage m;
  auto* midi = m.mutable_midi_message();
  std::string bytes;
  for (const auto& x : at_stamp) midi::AppendBytes(x, &bytes);
  midi->set_midi_data(bytes);
  for (const auto& [x, delay] : later) {
    auto* e = midi->add_events();
    std::string one;
    midi::AppendBytes(x, &one);
    e->set_data(one);
    e->set_delay_us(delay);
  }
  midi->set_session_id(session);
  midi->set_sequence(seq);
  midi->set_timestamp(stamp);
  midi->set_flags(flags);
  return m;
}

TEST(MidiLinkTest, HeartbeatsCarryClockStatusAndSyncTheClock) {
  MidiLink link;
  link.OnMessage(Welcome(42), 0, nullptr);
  link.OnConnected(1000000);
  LinkOutput out;
  link.Poll(1000000, &out);
  ASSERT_EQ(out.send.size(), 1u);
  ASSERT_TRUE(out.send[0].has_heartbeat_message());
  EXPECT_EQ(out.send[0].heartbeat_message().timestamp(), 1000000);
  EXPECT_TRUE(out.send[0].heartbeat_message().has_clock());
  EXPECT_FALSE(out.send[0].heartbeat_message().clock().synced());

  const int64_t now = Sync(link, 1100000);
  EXPECT_TRUE(link.clock().locked());
  EXPECT_NEAR(static_cast<double>(link.clock().ServerTimeFromLocal(now)),
              static_cast<double>(now + kServerOffset), 50);
  EXPECT_GE(link.counters().clock_samples, 4u);
  EXPECT_EQ(link.session_id(), 42u);
}

TEST(MidiLinkTest, OutgoingBatchesAreStampedAtTheirSourceOnlyWhenSynced) {
  MidiLink link;
  LinkOutput out;
  link.OnConnected(0);
  link.SendLocal(500, {midi::MakeNoteOn(0, 60, 100)}, 1000, &out);
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_EQ(out.send[0].midi_message().timestamp(), 0) << "unsynced: the server stamps";
  EXPECT_EQ(link.counters().unsynced_batches, 1u);

  const int64_t now = Sync(link, 100000);
  out = {};
  const int64_t source = now - 3000;  // the key went down 3 ms before we read it
  link.SendLocal(source, {midi::MakeNoteOn(0, 60, 100), midi::MakeNoteOn(0, 64, 100)}, now, &out);
  ASSERT_EQ(out.send.size(), 1u);
  const auto& m = out.send[0].midi_message();
  EXPECT_NEAR(static_cast<double>(m.timestamp()), static_cast<double>(source + kServerOffset), 50);
  EXPECT_EQ(m.midi_data(), std::string("\x90\x3C\x64\x90\x40\x64", 6));
}

TEST(MidiLinkTest, LargeGroupsAreSplitAtTheServersLimit) {
  MidiLink link;
  link.OnMessage(Welcome(1, /*max_events=*/4), 0, nullptr);
  LinkOutput out;
  std::vector<ChannelMessage> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(midi::MakeNoteOn(0, static_cast<uint8_t>(40 + i), 90));
  link.SendLocal(0, ten, 0, &out);
  ASSERT_EQ(out.send.size(), 3u);
  EXPECT_EQ(out.send[0].midi_message().midi_data().size(), 12u);
  EXPECT_EQ(out.send[2].midi_message().midi_data().size(), 6u);
  EXPECT_EQ(link.counters().events_sent, 10u);
}

TEST(MidiLinkTest, RelayedEventsPlayInOrderAtTheirDelays) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  const int64_t stamp = link.clock().ServerTimeFromLocal(now) - 1000;
  LinkOutput out;
  link.OnMessage(
      Relayed(9, 1, stamp, {midi::MakeNoteOn(0, 60, 90)}, {{midi::MakeNoteOff(0, 60), 20000}}), now,
      &out);
  EXPECT_EQ(link.counters().batches_received, 1u);
  std::vector<midi::PlayedEvent> played;
  for (int i = 0; i < 200 && played.size() < 2; ++i) {
    now += 1000;
    LinkOutput o;
    link.Poll(now, &o);
    AnswerPings(link, o, now);
    for (const auto& ev : o.play) played.push_back(ev);
  }
  ASSERT_EQ(played.size(), 2u);
  EXPECT_TRUE(played[0].message.IsNoteOn());
  EXPECT_TRUE(played[1].message.IsNoteOff());
  EXPECT_NEAR(static_cast<double>(played[1].local_us - played[0].local_us), 20000, 1);
}

TEST(MidiLinkTest, WithALookaheadEventsLeaveEarlyWithTheirPlayTimes) {
  MidiLinkOptions o;
  o.output_lookahead_us = 10000;
  MidiLink link(o);
  int64_t now = Sync(link, 0);
  // Stamped 30 ms ahead (a sender's batch with its events' source times still to come).
  const int64_t stamp = link.clock().ServerTimeFromLocal(now) + 30000;
  LinkOutput out;
  link.OnMessage(Relayed(9, 1, stamp, {midi::MakeNoteOn(0, 60, 90)}), now, &out);
  const std::optional<int64_t> due = link.buffer().NextDue();
  ASSERT_TRUE(due.has_value());
  ASSERT_GT(*due - o.output_lookahead_us, now);
  // The loop is told to wake a lookahead before the event is due...
  EXPECT_LE(link.NextWake(now), *due - o.output_lookahead_us);
  // ...and then gets it, with the time to play it at.
  LinkOutput early;
  link.Poll(*due - o.output_lookahead_us, &early);
  ASSERT_EQ(early.play.size(), 1u);
  EXPECT_EQ(early.play[0].local_us, *due);
}

TEST(MidiLinkTest, ADepartedSenderIsReleasedByTheServersNoteOffsNotLocally) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  LinkOutput out;
  const int64_t stamp = link.clock().ServerTimeFromLocal(now);
  link.OnMessage(
      Relayed(9, 1, stamp,
              {midi::MakeControlChange(0, midi::kCcSustain, 127), midi::MakeNoteOn(0, 60, 90)}),
      now, &out);
  // The server's synthetic release, then the departure, back to back on the wire.
  link.OnMessage(
      Relayed(9, 2, stamp + 1000,
              {midi::MakeNoteOff(0, 60), midi::MakeControlChange(0, midi::kCcSustain, 0)}, {},
              midi::kFlagSynthetic),
      now + 100, &out);
  proto::ClientMessage left;
  left.mutable_user_left_room()->set_session_id(9);
  link.OnMessage(left, now + 200, &out);
  std::vector<midi::PlayedEvent> played;
  for (int i = 0; i < 1000 && link.buffer().sender_count() > 0; ++i) {
    now += 1000;
    LinkOutput o;
    link.Poll(now, &o);
    AnswerPings(link, o, now);
    for (const auto& ev : o.play) played.push_back(ev);
  }
  EXPECT_EQ(link.buffer().sender_count(), 0u);
  EXPECT_EQ(link.counters().synthetic_batches, 1u);
  EXPECT_EQ(link.counters().senders_removed, 1u);
  EXPECT_EQ(link.counters().local_releases, 0u) << "the synthetic note-offs covered everything";
  ASSERT_EQ(played.size(), 4u);
  EXPECT_TRUE(link.buffer().Idle());
}

TEST(MidiLinkTest, GapsAskForOneStateSyncPerInterval) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  const int64_t stamp = link.clock().ServerTimeFromLocal(now);
  LinkOutput out;
  link.OnMessage(Relayed(9, 1, stamp, {midi::MakeNoteOn(0, 60, 90)}), now, &out);
  link.OnMessage(Relayed(9, 3, stamp + 10, {midi::MakeNoteOff(0, 60)}), now, &out);
  link.OnMessage(Relayed(9, 5, stamp + 20, {midi::MakeNoteOn(0, 61, 90)}), now + 10, &out);
  EXPECT_EQ(link.counters().gaps, 2u);
  size_t syncs = 0;
  for (const auto& s : out.send) {
    syncs += s.has_server_command() && s.server_command().commandtype() == proto::SYNC_STATE;
  }
  EXPECT_EQ(syncs, 1u);
}

TEST(MidiLinkTest, DisconnectReleasesEverythingSounding) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  LinkOutput out;
  link.OnMessage(Relayed(9, 1, link.clock().ServerTimeFromLocal(now),
                         {midi::MakeControlChange(0, midi::kCcSustain, 127),
                          midi::MakeNoteOn(0, 60, 90), midi::MakeNoteOn(0, 64, 90)}),
                 now, &out);
  for (int i = 0; i < 100; ++i) {
    now += 1000;
    LinkOutput o;
    link.Poll(now, &o);
  }
  LinkOutput bye;
  link.OnDisconnected(now, &bye);
  int offs = 0, pedal_up = 0;
  for (const auto& ev : bye.play) {
    offs += ev.message.IsNoteOff();
    pedal_up += ev.message.IsControlChange() && ev.message.data1 == midi::kCcSustain &&
                ev.message.data2 == 0;
  }
  EXPECT_EQ(offs, 2);
  EXPECT_EQ(pedal_up, 1);
  EXPECT_TRUE(link.buffer().Idle());
  EXPECT_FALSE(link.connected());
}

proto::ClientMessage JoinedWithSnapshot(uint64_t session, uint64_t seq) {
  proto::ClientMessage m;
  auto* s = m.mutable_room_joined_response()->add_held_notes();
  s->set_user_id("bob");
  s->set_session_id(session);
  s->set_sequence(seq);
  s->set_sustain_channels(1u << 0);
  s->set_soft_channels(1u << 3);
  auto* c = s->add_controllers();
  c->set_channel(0);
  c->set_has_program(true);
  c->set_program(19);
  c->set_pitch_bend(midi::kPitchBendCenter);
  auto* d = s->add_controllers();
  d->set_channel(3);
  d->set_pitch_bend(12000);
  d->set_mod_wheel(30);
  return m;
}

TEST(MidiLinkTest, SnapshotControllersBecomeMidiMessages) {
  const proto::ClientMessage m = JoinedWithSnapshot(9, 4);
  const std::vector<ChannelMessage> got =
      SnapshotControllerMessages(m.room_joined_response().held_notes(0));
  const std::vector<ChannelMessage> want = {
      midi::MakeProgramChange(0, 19),  // a centred bend and a zero mod wheel are not sent
      midi::MakePitchBend(3, 12000), midi::MakeControlChange(3, midi::kCcModWheel, 30),
      midi::MakeControlChange(0, midi::kCcSustain, 127),
      midi::MakeControlChange(3, midi::kCcSoft, 127)};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].status, want[i].status) << i;
    EXPECT_EQ(got[i].data1, want[i].data1) << i;
    EXPECT_EQ(got[i].data2, want[i].data2) << i;
  }
  EXPECT_TRUE(SnapshotControllerMessages(proto::HeldNotesSnapshot()).empty());
}

TEST(MidiLinkTest, ALateJoinerGetsTheSendersControllersBeforeTheirNotesAndTheirUndoOnDrop) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  LinkOutput out;
  link.OnMessage(Welcome(1), now, &out);
  link.OnMessage(JoinedWithSnapshot(9, 4), now, &out);
  ASSERT_EQ(out.play.size(), 5u);
  EXPECT_EQ(out.play[0].message.status, 0xC0);
  EXPECT_EQ(out.play[0].message.data1, 19);
  for (const auto& ev : out.play) {
    EXPECT_EQ(ev.session_id, 9u);
    EXPECT_EQ(ev.local_us, now);  // at once: before any later note of theirs
  }
  EXPECT_EQ(link.counters().snapshot_controls, 5u);
  // The same snapshot again (a resync) plays the state again; a stale one plays nothing.
  link.OnMessage(JoinedWithSnapshot(9, 4), now, &out);
  EXPECT_EQ(out.play.size(), 10u);
  link.OnMessage(JoinedWithSnapshot(9, 3), now, &out);
  EXPECT_EQ(out.play.size(), 10u);
  // A later note plays after the state it needs.
  link.OnMessage(
      Relayed(9, 5, link.clock().ServerTimeFromLocal(now), {midi::MakeNoteOn(0, 60, 90)}), now,
      &out);
  for (int i = 0; i < 1000 && out.play.size() == 10u; ++i) {
    now += 1000;
    link.Poll(now, &out);
  }
  ASSERT_EQ(out.play.size(), 11u);
  EXPECT_TRUE(out.play[10].message.IsNoteOn());
  // Our own snapshot is not played back to us.
  link.OnMessage(JoinedWithSnapshot(1, 9), now, &out);
  EXPECT_EQ(out.play.size(), 11u);
  // The drop undoes the pedals and the bend once, whatever the snapshots repeated.
  LinkOutput bye;
  link.OnDisconnected(now, &bye);
  int sustain_up = 0, soft_up = 0, mod_zero = 0, bend_centre = 0;
  for (const auto& ev : bye.play) {
    const ChannelMessage& x = ev.message;
    if (x.IsControlChange() && x.data2 == 0) {
      sustain_up += x.data1 == midi::kCcSustain;
      soft_up += x.data1 == midi::kCcSoft;
      mod_zero += x.data1 == midi::kCcModWheel;
    }
    bend_centre += (x.status & 0xF0) == 0xE0 && x.data1 == 0 && x.data2 == 0x40;
  }
  EXPECT_EQ(sustain_up, 1);
  EXPECT_EQ(soft_up, 1);
  EXPECT_EQ(mod_zero, 1);
  EXPECT_EQ(bend_centre, 1);
  EXPECT_EQ(link.counters().snapshot_undos, 4u);
}

TEST(MidiLinkTest, CorruptRelayedBytesAreCountedNotPlayed) {
  MidiLink link;
  LinkOutput out;
  proto::ClientMessage m = Relayed(9, 1, 1000, {});
  m.mutable_midi_message()->set_midi_data(std::string("\x3C\x64", 2));  // running status
  link.OnMessage(m, 0, &out);
  EXPECT_EQ(link.counters().undecodable_batches, 1u);
  EXPECT_EQ(link.buffer().sender_count(), 0u);
}

}  // namespace
}  // namespace tutti::bridge

namespace tutti::bridge {
namespace {

// A resume's replayed MIDI is history: note-ons from seconds ago are dropped, everything
// that sets state (note-offs, pedals, controllers) is played at once, and nothing is queued
// to play late as if live.
TEST(MidiLinkTest, ReplayedMidiIsFastForwardedNotPlayedLate) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  const int64_t long_ago = link.clock().ServerTimeFromLocal(now) - 3000000;
  LinkOutput out;
  link.OnReplayed(
      Relayed(9, 1, long_ago,
              {midi::MakeControlChange(0, midi::kCcSustain, 127), midi::MakeNoteOn(0, 60, 90)},
              {{midi::MakeNoteOff(0, 60), 20000}, {midi::MakeNoteOn(0, 64, 80), 30000}}),
      now, &out);
  ASSERT_EQ(out.play.size(), 2u);
  EXPECT_EQ(out.play[0].message.status, 0xB0);  // the pedal, now
  EXPECT_EQ(out.play[1].message.status, 0x80);  // the note-off, now
  for (const auto& e : out.play) EXPECT_EQ(e.local_us, now);
  EXPECT_EQ(link.counters().replayed_batches, 1u);
  EXPECT_EQ(link.counters().replayed_dropped, 2u);
  EXPECT_EQ(link.counters().replayed_forwarded, 2u);
  EXPECT_EQ(link.counters().batches_received, 0u) << "not queued in the jitter buffer";
  // Nothing comes out later either.
  LinkOutput later;
  for (int i = 0; i < 50; ++i) link.Poll(now += 10000, &later);
  for (const auto& e : later.play) EXPECT_FALSE(e.message.status == 0x90 && e.message.data2 > 0);
}

TEST(MidiLinkTest, AResumedSenderUnderANewSessionIdRetiresTheOldOne) {
  MidiLink link;
  int64_t now = Sync(link, 0);
  LinkOutput out;
  link.OnMessage(
      Relayed(9, 1, link.clock().ServerTimeFromLocal(now), {midi::MakeNoteOn(0, 60, 90)}), now,
      &out);
  proto::ClientMessage back;
  back.mutable_member_connection()->set_session_id(10);
  back.mutable_member_connection()->set_previous_session_id(9);
  link.OnMessage(back, now, &out);
  LinkOutput later;
  for (int i = 0; i < 200 && link.counters().senders_removed == 0; ++i) {
    link.Poll(now += 10000, &later);
  }
  EXPECT_EQ(link.counters().senders_removed, 1u);
}

// ---------------------------------------------------------------------------------------------
// Link quality in the heartbeats (docs/PROTOCOL.md, "Connection quality").

TEST(QualityMeterTest, MedianRoundTripWindowedSharesAndProtocolBounds) {
  QualityMeterOptions o;
  o.window_us = 30000000;
  o.rtt_samples = 5;
  QualityMeter q(o);
  proto::ConnectionQuality r;
  EXPECT_FALSE(q.Fill(1000, 0, &r)) << "nothing to report before a round trip";
  EXPECT_EQ(q.rtt_us(), -1);
  for (int64_t rtt : {9000, 1000, 5000, 400000, 3000}) q.OnRoundTrip(rtt);
  EXPECT_EQ(q.rtt_us(), 5000) << "the median: one queued exchange does not make the link poor";
  q.OnRoundTrip(2000);  // the oldest (9000) leaves the window of 5
  EXPECT_EQ(q.rtt_us(), 3000);
  q.OnReceived(98, 0, 0, 1000000);
  q.OnReceived(1, 0, 1, 2000000);  // a batch after a gap: the missed batch counts as dropped
  q.OnPlayed(99, 3, 2000000);
  ASSERT_TRUE(q.Fill(1500, 2000000, &r));
  EXPECT_EQ(r.rtt_us(), 3000u);
  EXPECT_EQ(r.offset_error_us(), 1500u);
  EXPECT_FLOAT_EQ(r.late_percent(), 100.0f * 3 / 99);
  EXPECT_FLOAT_EQ(r.dropped_percent(), 1.0f);
  // 25 s later the old counts are still in the window; 35 s later they are not.
  ASSERT_TRUE(q.Fill(1500, 27000000, &r));
  EXPECT_FLOAT_EQ(r.dropped_percent(), 1.0f);
  q.OnPlayed(10, 0, 35000000);
  ASSERT_TRUE(q.Fill(1500, 35000000, &r));
  EXPECT_FLOAT_EQ(r.late_percent(), 0.0f);
  EXPECT_FLOAT_EQ(r.dropped_percent(), 0.0f);
  // Out-of-range figures are clamped to what the server accepts (times at most 60 s).
  QualityMeter slow;
  slow.OnRoundTrip(90000000);
  ASSERT_TRUE(slow.Fill(-5, 0, &r));
  EXPECT_EQ(r.rtt_us(), 60000000u);
  EXPECT_EQ(r.offset_error_us(), 0u);
}

TEST(MidiLinkTest, SyncedHeartbeatsReportRoundTripOffsetErrorAndLateAndDroppedShares) {
  MidiLink link;
  LinkOutput out;
  link.OnConnected(0);
  link.Poll(0, &out);
  ASSERT_EQ(out.send.size(), 1u);
  EXPECT_FALSE(out.send[0].heartbeat_message().has_quality()) << "not synced: nothing measured";
  int64_t now = Sync(link, 100000);
  ASSERT_TRUE(link.clock().locked());
  EXPECT_EQ(link.quality().rtt_us(), 2000) << "AnswerPings: 1 ms each way";

  // 40 batches on time, one 40 ms late (played at once, late), one after a missed batch.
  int64_t s = link.clock().ServerTimeFromLocal(now);
  uint64_t seq = 0;
  for (int i = 0; i < 40; ++i) {
    const ChannelMessage m = i % 2 == 0 ? midi::MakeNoteOn(0, 60, 90) : midi::MakeNoteOff(0, 60);
    link.OnMessage(Relayed(9, ++seq, s, {m}), link.clock().LocalFromServer(s) + 1000, &out);
    now = link.clock().LocalFromServer(s) + 1000;
    link.Poll(now, &out);
    s += 30000;
  }
  const int64_t target = link.buffer().Stats(9).target_us;
  now = link.clock().LocalFromServer(s) + target + 40000;
  link.OnMessage(Relayed(9, ++seq, s, {midi::MakeNoteOn(0, 70, 90)}), now, &out);
  link.Poll(now, &out);
  ASSERT_EQ(link.buffer().Stats(9).late_note_ons, 1u);
  s += 125000;
  ++seq;  // never arrives
  now = link.clock().LocalFromServer(s) + 1000;
  link.OnMessage(Relayed(9, ++seq, s, {midi::MakeNoteOff(0, 70)}), now, &out);
  EXPECT_EQ(link.counters().gaps, 1u);
  now += 1000000;
  out = {};
  for (int i = 0; i < 20 && out.send.empty(); ++i) {
    link.Poll(now, &out);
    now += 100000;
  }
  const proto::HeartbeatMessage* hb = nullptr;
  for (const auto& m : out.send) {
    if (m.has_heartbeat_message()) hb = &m.heartbeat_message();
  }
  ASSERT_NE(hb, nullptr);
  ASSERT_TRUE(hb->has_quality());
  const proto::ConnectionQuality& q = hb->quality();
  EXPECT_EQ(q.rtt_us(), 2000u);
  EXPECT_EQ(static_cast<int64_t>(q.offset_error_us()),
            link.clock().Status(now - 100000).error_bound_us);
  EXPECT_FLOAT_EQ(q.late_percent(), 100.0f / 42) << "1 late of the 42 events played";
  EXPECT_FLOAT_EQ(q.dropped_percent(), 100.0f / 43) << "the missed batch of 43";
  EXPECT_EQ(q.grade(), proto::QUALITY_UNKNOWN) << "the server grades, not the client";

  // Switched off, heartbeats carry the clock only.
  MidiLinkOptions off;
  off.report_quality = false;
  MidiLink quiet(off);
  now = Sync(quiet, 0);
  out = {};
  for (int i = 0; i < 20 && out.send.empty(); ++i) {
    quiet.Poll(now, &out);
    now += 100000;
  }
  ASSERT_FALSE(out.send.empty());
  EXPECT_TRUE(out.send[0].heartbeat_message().clock().synced());
  EXPECT_FALSE(out.send[0].heartbeat_message().has_quality());
}

}  // namespace
}  // namespace tutti::bridge
