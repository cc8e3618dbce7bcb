#include "midi/jitter_buffer.h"

#include <cstdlib>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

constexpr int64_t kMs = 1000;

// The receiver's clock equals server time + kOffset (locked, no skew).
constexpr int64_t kOffset = 7000000;

class JitterBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Symmetric 1 ms exchanges: an exact, locked offset of -kOffset (server - local).
    for (int i = 0; i < 6; ++i) {
      const int64_t t = 100 * kMs * i;
      clock_.OnSample(t + kOffset, t + kMs, t + kMs, t + 2 * kMs + kOffset);
    }
    ASSERT_TRUE(clock_.locked());
  }

  static RelayedBatch Batch(uint64_t session, uint64_t seq, int64_t stamped,
                            std::vector<ChannelMessage> msgs, int64_t spacing = 0) {
    RelayedBatch b;
    b.session_id = session;
    b.sequence = seq;
    b.stamped_us = stamped;
    for (size_t i = 0; i < msgs.size(); ++i) {
      b.events.push_back({msgs[i], static_cast<int64_t>(i) * spacing});
    }
    return b;
  }
  // Local time of a server time.
  static int64_t L(int64_t server) { return server + kOffset; }

  // Steady traffic: one note per 125 ms with `transit` from stamp to arrival.
  int64_t Warm(JitterBuffer* jb, uint64_t session, int n, int64_t transit, uint64_t* seq,
               int64_t start = 1000 * kMs) {
    int64_t s = start;
    for (int i = 0; i < n; ++i, s += 125 * kMs) {
      jb->Push(Batch(session, ++*seq, s, {MakeNoteOn(0, 60, 90)}), L(s) + transit);
      jb->Push(Batch(session, ++*seq, s + 60 * kMs, {MakeNoteOff(0, 60)}),
               L(s + 60 * kMs) + transit);
      std::vector<PlayedEvent> out;
      jb->PopDue(L(s) + 10000 * kMs, &out);
    }
    return s;
  }

  ClockSync clock_;
};

TEST_F(JitterBufferTest, SchedulesAtStampPlusTargetAndChordsTogether) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  const int64_t target = jb.Stats(1).target_us;
  EXPECT_NEAR(target, 30 * kMs + DelayOptions{}.render_margin_us, kMs);
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 60, 90), MakeNoteOn(0, 64, 90), MakeNoteOn(0, 67, 90)}),
          L(s) + 30 * kMs);
  ASSERT_TRUE(jb.NextDue().has_value());
  EXPECT_EQ(*jb.NextDue(), L(s) + target);
  std::vector<PlayedEvent> out;
  jb.PopDue(L(s) + target - 1, &out);
  EXPECT_TRUE(out.empty());
  jb.PopDue(L(s) + target, &out);
  ASSERT_EQ(out.size(), 3u);
  for (const PlayedEvent& e : out) {
    EXPECT_EQ(e.local_us, L(s) + target);
    EXPECT_FALSE(e.late);
  }
}

TEST_F(JitterBufferTest, SpacingInsideABatchIsKept) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 60, 90), MakeNoteOn(0, 62, 90)}, 7 * kMs),
          L(s) + 37 * kMs);
  std::vector<PlayedEvent> out;
  jb.PopDue(L(s) + 1000 * kMs, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].local_us - out[0].local_us, 7 * kMs);
}

TEST_F(JitterBufferTest, SlightlyLateNoteOnPlaysAtOnceVeryLateIsDroppedWithItsNoteOff) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  const int64_t target = jb.Stats(1).target_us;
  // 40 ms late: an outlier (judged as a possible stall), so the target does not move to
  // cover it and the note plays at once.
  const int64_t arrive = L(s) + target + 40 * kMs;
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 70, 90)}), arrive);
  std::vector<PlayedEvent> out;
  jb.PopDue(arrive, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].late);
  EXPECT_EQ(out[0].local_us, arrive);
  // Normal traffic closes the outlier episode (a stall, discarded).
  s = Warm(&jb, 1, 10, 30 * kMs, &seq, s + 125 * kMs);
  ASSERT_EQ(jb.Stats(1).target_us, target);
  // 400 ms late: dropped, and so is its note-off; a late note-off for a sounding key plays.
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 70, 90)}), L(s) + 30 * kMs);
  s += 125 * kMs;
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 72, 90), MakeNoteOff(0, 70)}),
          L(s) + target + 400 * kMs);
  jb.Push(Batch(1, ++seq, s + kMs, {MakeNoteOff(0, 72)}), L(s) + target + 401 * kMs);
  out.clear();
  jb.PopDue(L(s) + 10000 * kMs, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message, MakeNoteOn(0, 70, 90));
  EXPECT_EQ(out[1].message, MakeNoteOff(0, 70));
  EXPECT_TRUE(out[1].late);
  const SenderStats st = jb.Stats(1);
  EXPECT_EQ(st.dropped_note_ons, 1u);
  EXPECT_EQ(st.late_note_ons, 1u);
  EXPECT_TRUE(jb.Idle());
}

TEST_F(JitterBufferTest, ControllersAndNoteOffsAreNeverDropped) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  jb.Push(Batch(1, ++seq, s,
                {MakeControlChange(0, kCcSustain, 127), MakeControlChange(0, 7, 99),
                 MakeNoteOff(0, 1)}),
          L(s) + 5000 * kMs);
  std::vector<PlayedEvent> out;
  jb.PopDue(L(s) + 5000 * kMs, &out);
  EXPECT_EQ(out.size(), 3u);
}

TEST_F(JitterBufferTest, SequenceGapsAndDuplicates) {
  JitterBuffer jb(&clock_);
  EXPECT_FALSE(jb.Push(Batch(1, 1, 0, {MakeNoteOn(0, 1, 1)}), L(30 * kMs)).gap);
  EXPECT_TRUE(jb.Push(Batch(1, 1, 0, {MakeNoteOn(0, 1, 1)}), L(31 * kMs)).duplicate);
  const PushResult r = jb.Push(Batch(1, 5, kMs, {MakeNoteOff(0, 1)}), L(32 * kMs));
  EXPECT_TRUE(r.gap);
  EXPECT_EQ(r.scheduled, 1u);
  EXPECT_EQ(jb.Stats(1).gaps, 1u);
  EXPECT_EQ(jb.Stats(1).duplicates, 1u);
  EXPECT_FALSE(jb.Push(Batch(2, 9, kMs, {MakeNoteOff(0, 1)}), L(32 * kMs)).gap)
      << "sequences are per sender";
}

TEST_F(JitterBufferTest, SnapshotReleasesNotesItDoesNotHold) {
  JitterBuffer jb(&clock_);
  jb.Push(
      Batch(1, 1, 0,
            {MakeControlChange(2, kCcSustain, 127), MakeNoteOn(2, 60, 90), MakeNoteOn(2, 64, 90)}),
      L(30 * kMs));
  std::vector<PlayedEvent> out;
  jb.PopDue(L(1000 * kMs), &out);
  // The note-off for 60 and the pedal-up were lost; the snapshot shows only 64 held.
  HeldSnapshot snap;
  snap.session_id = 1;
  snap.sequence = 3;
  snap.notes.push_back({2, 64});
  EXPECT_TRUE(jb.ApplySnapshot(snap, L(1000 * kMs)));
  out.clear();
  jb.PopDue(L(1000 * kMs), &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message, MakeNoteOff(2, 60));
  EXPECT_EQ(out[1].message, MakeControlChange(2, kCcSustain, 0));
  EXPECT_TRUE(out[0].generated);
  EXPECT_EQ(jb.Stats(1).snapshot_releases, 2u);
  // A snapshot older than what was received is ignored.
  jb.Push(Batch(1, 4, 500 * kMs, {MakeNoteOn(2, 67, 90)}), L(530 * kMs));
  snap.sequence = 3;
  EXPECT_FALSE(jb.ApplySnapshot(snap, L(1100 * kMs)));
  // The next batch after the snapshot's sequence is not a gap.
  EXPECT_FALSE(jb.Push(Batch(1, 5, 600 * kMs, {MakeNoteOff(2, 67)}), L(630 * kMs)).gap);
}

TEST_F(JitterBufferTest, DropConnectionReleasesEverythingSounding) {
  JitterBuffer jb(&clock_);
  jb.Push(Batch(1, 1, 0, {MakeControlChange(0, kCcSustain, 127), MakeNoteOn(0, 60, 90)}),
          L(30 * kMs));
  jb.Push(Batch(2, 1, 0, {MakeNoteOn(3, 50, 90)}), L(30 * kMs));
  std::vector<PlayedEvent> out;
  jb.PopDue(L(1000 * kMs), &out);
  jb.Push(Batch(1, 2, 2000 * kMs, {MakeNoteOn(0, 62, 90)}), L(2030 * kMs));  // still queued
  out.clear();
  jb.DropConnection(L(2031 * kMs), &out);
  std::vector<ChannelMessage> msgs;
  for (const PlayedEvent& e : out) msgs.push_back(e.message);
  EXPECT_EQ(msgs,
            (std::vector<ChannelMessage>{MakeNoteOff(0, 60), MakeControlChange(0, kCcSustain, 0),
                                         MakeNoteOff(3, 50)}));
  EXPECT_EQ(jb.sender_count(), 0u);
  EXPECT_TRUE(jb.Idle());
}

TEST_F(JitterBufferTest, RemoveSenderReleasesOnlyThatSender) {
  JitterBuffer jb(&clock_);
  jb.Push(Batch(1, 1, 0, {MakeNoteOn(0, 60, 90)}), L(30 * kMs));
  jb.Push(Batch(2, 1, 0, {MakeNoteOn(0, 61, 90)}), L(30 * kMs));
  std::vector<PlayedEvent> out;
  jb.PopDue(L(1000 * kMs), &out);
  out.clear();
  jb.RemoveSender(1, L(1000 * kMs), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message, MakeNoteOff(0, 60));
  EXPECT_EQ(jb.sender_count(), 1u);
}

TEST_F(JitterBufferTest, WatchdogReleasesASilentSendersNotes) {
  ReceiverOptions o;
  o.stuck_note_timeout_us = 10000 * kMs;
  JitterBuffer jb(&clock_, o);
  jb.Push(Batch(1, 1, 0, {MakeNoteOn(0, 60, 90)}), L(30 * kMs));
  std::vector<PlayedEvent> out;
  jb.PopDue(L(1000 * kMs), &out);
  out.clear();
  jb.Tick(L(9000 * kMs), &out);
  EXPECT_TRUE(out.empty());
  jb.Tick(L(10030 * kMs), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message, MakeNoteOff(0, 60));
  EXPECT_EQ(jb.Stats(1).watchdog_releases, 1u);
}

TEST_F(JitterBufferTest, NothingIsScheduledBeyondTheBound) {
  JitterBuffer jb(&clock_);
  // Stamps 10 s in the future (a server that did not clamp): pulled in to push + 500 ms.
  const int64_t now = L(1000 * kMs);
  jb.Push(Batch(1, 1, 11000 * kMs, {MakeNoteOn(0, 60, 90), MakeNoteOff(0, 60)}, 60000 * kMs), now);
  std::vector<PlayedEvent> out;
  jb.PopDue(now + 500 * kMs, &out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(jb.Stats(1).bound_clamped, 2u);
}

TEST_F(JitterBufferTest, PlayTimesPerSenderNeverGoBackwards) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  // Second batch stamped earlier than the first (a misbehaving relay).
  jb.Push(Batch(1, ++seq, s + 50 * kMs, {MakeNoteOn(0, 60, 90)}), L(s) + 80 * kMs);
  jb.Push(Batch(1, ++seq, s, {MakeNoteOff(0, 60)}), L(s) + 81 * kMs);
  std::vector<PlayedEvent> out;
  jb.PopDue(L(s) + 1000 * kMs, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_LE(out[0].local_us, out[1].local_us);
  EXPECT_TRUE(out[0].message.IsNoteOn());
}

TEST_F(JitterBufferTest, QueueCapDropsNoteOnsOnly) {
  ReceiverOptions o;
  o.max_queued_per_sender = 4;
  JitterBuffer jb(&clock_, o);
  for (int i = 0; i < 10; ++i) {
    jb.Push(Batch(1, static_cast<uint64_t>(i + 1), 0, {MakeNoteOn(0, static_cast<uint8_t>(i), 1)}),
            L(10 * kMs));
  }
  jb.Push(Batch(1, 11, 0, {MakeControlChange(0, 1, 1)}), L(10 * kMs));
  EXPECT_EQ(jb.queued(1), 5u);
  EXPECT_EQ(jb.Stats(1).dropped_note_ons, 6u);
}

TEST_F(JitterBufferTest, UserSettingsApplyToEverySender) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  Warm(&jb, 1, 40, 30 * kMs, &seq);
  jb.SetDelayBounds(100 * kMs, 300 * kMs);
  EXPECT_EQ(jb.Stats(1).target_us, 100 * kMs);
  jb.SetSmoothness(Smoothness::kSmooth);
  EXPECT_DOUBLE_EQ(jb.options().delay.percentile, PercentileFor(Smoothness::kSmooth));
}

// Play times of the note-ons out of a run, in order.
std::vector<int64_t> NoteOnTimes(const std::vector<PlayedEvent>& out) {
  std::vector<int64_t> t;
  for (const PlayedEvent& e : out) {
    if (e.message.IsNoteOn()) t.push_back(e.local_us);
  }
  return t;
}

TEST_F(JitterBufferTest, AFallingTargetStretchesAPhraseByAtMostOnePercent) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  // 80 ms transit, then the path gets faster for good; one unbroken phrase of sixteenths.
  int64_t s = Warm(&jb, 1, 40, 80 * kMs, &seq);
  const int64_t high = jb.Stats(1).playout_us;
  std::vector<PlayedEvent> out;
  std::vector<int64_t> stamps;
  for (int i = 0; i < 2000; ++i, s += 125 * kMs) {
    jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 60, 90), MakeNoteOn(0, 64, 90)}), L(s) + 30 * kMs);
    jb.Push(Batch(1, ++seq, s + 60 * kMs, {MakeNoteOff(0, 60), MakeNoteOff(0, 64)}),
            L(s + 60 * kMs) + 30 * kMs);
    stamps.push_back(s);
    jb.PopDue(L(s) + 10000 * kMs, &out);
  }
  const SenderStats st = jb.Stats(1);
  ASSERT_LT(st.playout_us, high - 30 * kMs) << "the offset followed the target down";
  EXPECT_EQ(st.late_note_ons, 0u);
  const std::vector<int64_t> t = NoteOnTimes(out);
  ASSERT_EQ(t.size(), 2 * stamps.size());
  for (size_t i = 0; i + 1 < stamps.size(); ++i) {
    EXPECT_EQ(t[2 * i], t[2 * i + 1]) << "a chord plays together";
    const int64_t want = stamps[i + 1] - stamps[i];
    const int64_t got = t[2 * i + 2] - t[2 * i];
    EXPECT_LE(std::abs(got - want), want / 100 + 1) << "interval " << i;
  }
  // After a rest the offset jumps straight to the target.
  s += 2000 * kMs;
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 60, 90)}), L(s) + 30 * kMs);
  EXPECT_EQ(jb.Stats(1).playout_us, jb.Stats(1).target_us);
}

TEST_F(JitterBufferTest, WithStallLiftsABacklogKeepsItsSpacingAndNothingIsDropped) {
  ReceiverOptions o;
  o.playout.max_stall_lift_us = 300000;
  JitterBuffer jb(&clock_, o);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  const int64_t target = jb.Stats(1).target_us;
  // Four notes 50 ms apart held behind a 250 ms retransmission arrive in one burst.
  const int64_t arrive = L(s) + 250 * kMs;
  std::vector<PlayedEvent> out;
  for (int i = 0; i < 4; ++i) {
    const int64_t st = s + i * 50 * kMs;
    jb.Push(Batch(1, ++seq, st, {MakeNoteOn(0, static_cast<uint8_t>(60 + i), 90)}), arrive);
  }
  jb.PopDue(arrive + 10000 * kMs, &out);
  const std::vector<int64_t> t = NoteOnTimes(out);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0], arrive);
  for (size_t i = 1; i < t.size(); ++i) EXPECT_EQ(t[i] - t[i - 1], 50 * kMs);
  const SenderStats st = jb.Stats(1);
  EXPECT_EQ(st.dropped_note_ons, 0u);
  // Late is judged against the offset in force: the first; the rest play on the lifted time.
  EXPECT_EQ(st.late_note_ons, 1u);
  EXPECT_EQ(st.playout_stall_lifts, 1u);
  EXPECT_EQ(st.target_us, target) << "the stall is not learnt";
}

TEST_F(JitterBufferTest, ALateNoteOnIsShortenedNotSilencedAndARestrikeStillSounds) {
  const ReceiverOptions o;  // stall lifts off: stalled events play at once
  JitterBuffer jb(&clock_, o);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  // A note (on, off 20 ms later) and a re-strike of the same key 30 ms later, all 200 ms late.
  const int64_t arrive = L(s) + 230 * kMs;
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 60, 90)}), arrive);
  jb.Push(Batch(1, ++seq, s + 20 * kMs, {MakeNoteOff(0, 60)}), arrive);
  jb.Push(Batch(1, ++seq, s + 30 * kMs, {MakeNoteOn(0, 60, 91)}), arrive);
  jb.Push(Batch(1, ++seq, s + 200 * kMs, {MakeNoteOff(0, 60)}), arrive);
  // Another note, late by 100 ms, whose note-off is still in the future: keeps its time.
  jb.Push(Batch(1, ++seq, s + 100 * kMs, {MakeNoteOn(0, 70, 90)}), arrive);
  jb.Push(Batch(1, ++seq, s + 300 * kMs, {MakeNoteOff(0, 70)}), arrive);
  std::vector<PlayedEvent> out;
  jb.PopDue(arrive + 10000 * kMs, &out);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].message, MakeNoteOn(0, 60, 90));
  EXPECT_EQ(out[0].local_us, arrive);
  // The first note-off was held back for the minimum length, then pulled in before the
  // re-strike (which is also late and plays at once): the re-strike is not cut off.
  EXPECT_EQ(out[1].message, MakeNoteOff(0, 60));
  EXPECT_EQ(out[2].message, MakeNoteOn(0, 60, 91));
  EXPECT_EQ(out[1].local_us, out[2].local_us);
  EXPECT_EQ(out[3].message, MakeNoteOn(0, 70, 90));
  // The re-strike's own note-off: late, so held to the minimum length after it.
  EXPECT_EQ(out[4].message, MakeNoteOff(0, 60));
  EXPECT_EQ(out[4].local_us, out[2].local_us + o.late_note_min_us);
  EXPECT_EQ(out[5].message, MakeNoteOff(0, 70));
  EXPECT_EQ(out[5].local_us, L(s + 300 * kMs) + jb.Stats(1).playout_us);
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LE(out[i - 1].local_us, out[i].local_us);
  EXPECT_EQ(jb.Stats(1).dropped_note_ons, 0u);
  EXPECT_EQ(jb.Stats(1).late_note_ons, 3u);
  EXPECT_TRUE(jb.Idle());
}

TEST_F(JitterBufferTest, PastTheGraceWindowANoteOnIsDroppedButPedalUpsAndNoteOffsPlay) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  jb.Push(Batch(1, ++seq, s, {MakeControlChange(0, kCcSustain, 127), MakeNoteOn(0, 50, 90)}),
          L(s) + 30 * kMs);
  // 400 ms late (beyond the 300 ms grace window and any lift).
  const int64_t arrive = L(s + 10 * kMs) + 450 * kMs;
  jb.Push(Batch(1, ++seq, s + 10 * kMs,
                {MakeNoteOn(0, 60, 90), MakeNoteOff(0, 50), MakeControlChange(0, kCcSustain, 0)}),
          arrive);
  std::vector<PlayedEvent> out;
  jb.PopDue(arrive + 10000 * kMs, &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2].message, MakeNoteOff(0, 50));
  EXPECT_EQ(out[3].message, MakeControlChange(0, kCcSustain, 0));
  EXPECT_EQ(jb.Stats(1).dropped_note_ons, 1u);
  EXPECT_TRUE(jb.Idle());
}

TEST_F(JitterBufferTest, ReleasesComeAfterWhatWasHandedOutAhead) {
  JitterBuffer jb(&clock_);
  uint64_t seq = 0;
  int64_t s = Warm(&jb, 1, 40, 30 * kMs, &seq);
  jb.Push(Batch(1, ++seq, s, {MakeNoteOn(0, 60, 90)}), L(s) + 30 * kMs);
  const int64_t due = *jb.NextDue();
  // An output with a 20 ms lookahead takes the note-on 20 ms early...
  std::vector<PlayedEvent> out;
  jb.PopDue(due - 20 * kMs + 20 * kMs, &out);
  ASSERT_EQ(out.size(), 1u);
  // ...and the sender leaves before it sounds: the release must not be timed before it.
  out.clear();
  jb.RemoveSender(1, due - 20 * kMs, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message, MakeNoteOff(0, 60));
  EXPECT_EQ(out[0].local_us, due);
}

TEST(JitterBufferUnsyncedTest, PlaysOnArrivalWithoutAClockEstimate) {
  ClockSync clock;
  JitterBuffer jb(&clock);
  RelayedBatch b;
  b.session_id = 1;
  b.sequence = 1;
  b.stamped_us = 999999999;
  b.events.push_back({MakeNoteOn(0, 60, 1), 0});
  jb.Push(b, 5);
  ASSERT_TRUE(jb.NextDue().has_value());
  EXPECT_EQ(*jb.NextDue(), 5);
}

}  // namespace
}  // namespace tutti::midi
