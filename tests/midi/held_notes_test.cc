#include "midi/held_notes.h"

#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

TEST(HeldNotesTest, StartsEmpty) {
  HeldNotes h;
  EXPECT_TRUE(h.Empty());
  EXPECT_EQ(h.held_count(), 0u);
  EXPECT_TRUE(h.ReleaseAll().empty());
}

TEST(HeldNotesTest, NoteOnOffAndVelocityZero) {
  HeldNotes h;
  h.Apply(MakeNoteOn(0, 60, 100));
  h.Apply(MakeNoteOn(0, 64, 90));
  h.Apply(MakeNoteOn(1, 60, 80));
  EXPECT_EQ(h.held_count(), 3u);
  EXPECT_TRUE(h.IsHeld(1, 60));
  h.Apply(MakeNoteOff(0, 60));
  h.Apply(MakeNoteOn(0, 64, 0));  // velocity 0 = off
  EXPECT_EQ(h.held_count(), 1u);
  EXPECT_FALSE(h.IsHeld(0, 64));
  h.Apply(MakeNoteOff(0, 61));  // off for a key not held: ignored
  EXPECT_EQ(h.held_count(), 1u);
}

TEST(HeldNotesTest, RepeatedNoteOnKeepsOneEntryWithLatestVelocity) {
  HeldNotes h;
  h.Apply(MakeNoteOn(2, 60, 10));
  h.Apply(MakeNoteOn(2, 60, 20));
  EXPECT_EQ(h.held_count(), 1u);
  std::vector<std::tuple<int, int, int>> seen;
  h.ForEachHeld([&](uint8_t c, uint8_t n, uint8_t v) { seen.emplace_back(c, n, v); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_tuple(2, 60, 20));
}

TEST(HeldNotesTest, SustainPedal) {
  HeldNotes h;
  h.Apply(MakeControlChange(3, kCcSustain, 64));
  EXPECT_FALSE(h.Empty());
  EXPECT_EQ(h.sustain_mask(), 1u << 3);
  h.Apply(MakeControlChange(5, kCcSustain, 127));
  h.Apply(MakeControlChange(3, kCcSustain, 63));
  EXPECT_EQ(h.sustain_mask(), 1u << 5);
  h.Apply(MakeControlChange(5, kCcResetAllControllers, 0));
  EXPECT_TRUE(h.Empty());
}

TEST(HeldNotesTest, AllNotesOffAndAllSoundOffReleaseOnlyThatChannel) {
  HeldNotes h;
  h.Apply(MakeNoteOn(0, 60, 1));
  h.Apply(MakeNoteOn(0, 61, 1));
  h.Apply(MakeNoteOn(1, 60, 1));
  h.Apply(MakeNoteOn(2, 60, 1));
  h.Apply(MakeControlChange(0, kCcSustain, 127));
  h.Apply(MakeControlChange(0, kCcAllNotesOff, 0));
  EXPECT_EQ(h.held_count(), 2u);
  EXPECT_TRUE(h.SustainDown(0)) << "the pedal is still physically down";
  h.Apply(MakeControlChange(1, kCcAllSoundOff, 0));
  EXPECT_EQ(h.held_count(), 1u);
  EXPECT_TRUE(h.IsHeld(2, 60));
}

TEST(HeldNotesTest, OtherMessagesIgnored) {
  HeldNotes h;
  h.Apply(MakeControlChange(0, 7, 100));
  h.Apply(ChannelMessage{0xC0, 5, 0, 2});
  h.Apply(ChannelMessage{0xE0, 0, 64, 3});
  h.Apply(ChannelMessage{0xA0, 60, 64, 3});
  EXPECT_TRUE(h.Empty());
}

TEST(HeldNotesTest, ReleaseAllEmitsNoteOffsThenSustainOffAndClears) {
  HeldNotes h;
  h.Apply(MakeNoteOn(4, 67, 1));
  h.Apply(MakeNoteOn(0, 60, 1));
  h.Apply(MakeNoteOn(0, 64, 1));
  h.Apply(MakeControlChange(0, kCcSustain, 127));
  h.Apply(MakeControlChange(9, kCcSustain, 100));
  const std::vector<ChannelMessage> out = h.ReleaseAll();
  const std::vector<ChannelMessage> want = {MakeNoteOff(0, 60), MakeNoteOff(0, 64),
                                            MakeNoteOff(4, 67), MakeControlChange(0, kCcSustain, 0),
                                            MakeControlChange(9, kCcSustain, 0)};
  EXPECT_EQ(out, want);
  EXPECT_TRUE(h.Empty());
  EXPECT_TRUE(h.ReleaseAll().empty());
}

TEST(HeldNotesTest, ReleaseAllOutputSilencesAnotherTracker) {
  // What ReleaseAll emits, applied to a mirror of the same state, leaves nothing sounding.
  HeldNotes sender;
  HeldNotes mirror;
  for (int n = 0; n < 128; n += 3) {
    const ChannelMessage on = MakeNoteOn(static_cast<uint8_t>(n % 16), static_cast<uint8_t>(n), 9);
    sender.Apply(on);
    mirror.Apply(on);
  }
  const ChannelMessage pedal = MakeControlChange(7, kCcSustain, 127);
  sender.Apply(pedal);
  mirror.Apply(pedal);
  for (const ChannelMessage& m : sender.ReleaseAll()) mirror.Apply(m);
  EXPECT_TRUE(mirror.Empty());
}

// A synthetic release must leave the listener's synth as a fresh one would be: keys up, every
// pedal up, bend centred and mod wheel at rest. The program stays (it is not held).
TEST(HeldNotesTest, ReleaseAllAlsoLiftsSostenutoAndSoftAndResetsBendAndModWheel) {
  HeldNotes h;
  h.Apply(MakeProgramChange(2, 40));
  h.Apply(MakeNoteOn(2, 60, 90));
  h.Apply(MakeControlChange(2, kCcSostenuto, 127));
  h.Apply(MakeControlChange(2, kCcSoft, 100));
  h.Apply(MakeControlChange(2, kCcModWheel, 50));
  h.Apply(MakePitchBend(2, 12000));
  h.Apply(MakeControlChange(3, kCcSustain, 127));
  EXPECT_EQ(h.sostenuto_mask(), 1u << 2);
  EXPECT_EQ(h.soft_mask(), 1u << 2);
  EXPECT_EQ(h.pitch_bend(2), 12000);
  EXPECT_EQ(h.mod_wheel(2), 50);
  EXPECT_EQ(h.program(2), 40);
  EXPECT_EQ(h.program(3), -1);
  const std::vector<ChannelMessage> expected = {
      MakeNoteOff(2, 60),
      MakeControlChange(2, kCcSostenuto, 0),
      MakeControlChange(2, kCcSoft, 0),
      MakeControlChange(2, kCcModWheel, 0),
      MakePitchBend(2, kPitchBendCenter),
      MakeControlChange(3, kCcSustain, 0),
  };
  EXPECT_EQ(h.ReleaseAll(), expected);
  EXPECT_TRUE(h.AtRest());
  EXPECT_TRUE(h.ReleaseAll().empty());
  EXPECT_EQ(h.program(2), 40) << "the instrument is not released";
  EXPECT_TRUE(h.HasState());
  h.Clear();
  EXPECT_FALSE(h.HasState());
}

TEST(HeldNotesTest, SostenutoHoldsSoundButSoftBendAndModDoNot) {
  HeldNotes h;
  h.Apply(MakeControlChange(0, kCcSostenuto, 64));
  EXPECT_FALSE(h.Empty());
  h.Apply(MakeControlChange(0, kCcSostenuto, 0));
  h.Apply(MakeControlChange(0, kCcSoft, 127));
  h.Apply(MakePitchBend(0, 0));
  h.Apply(MakeControlChange(0, kCcModWheel, 1));
  EXPECT_TRUE(h.Empty()) << "nothing sounds";
  EXPECT_FALSE(h.AtRest()) << "but a release has something to reset";
  // CC121 (reset all controllers) brings the channel back to rest.
  h.Apply(MakeControlChange(0, kCcResetAllControllers, 0));
  EXPECT_TRUE(h.AtRest());
  EXPECT_FALSE(h.HasState());
}

TEST(HeldNotesTest, PitchBendIsFourteenBitsLowByteFirst) {
  HeldNotes h;
  h.Apply(ChannelMessage{0xE5, 0x7F, 0x7F, 3});
  EXPECT_EQ(h.pitch_bend(5), 16383);
  h.Apply(ChannelMessage{0xE5, 0x00, 0x40, 3});
  EXPECT_EQ(h.pitch_bend(5), kPitchBendCenter);
  EXPECT_EQ(MakePitchBend(5, 16383), (ChannelMessage{0xE5, 0x7F, 0x7F, 3}));
}

// The server keeps one per room member, and most members never play: the 2 KB table of
// velocities is allocated by the first note-on, not by every member (issue 9: memory per
// joined connection).
TEST(HeldNotesTest, ASourceThatNeverPlaysANoteHoldsNoTable) {
  EXPECT_LE(sizeof(HeldNotes), 128u);
  HeldNotes h;
  h.Apply(MakeControlChange(0, kCcSustain, 127));
  h.Apply(ChannelMessage{0xC0, 5, 0, 2});
  h.Apply(ChannelMessage{0x80, 60, 0, 3});  // a note-off for a key never pressed
  EXPECT_FALSE(h.IsHeld(0, 60));
  EXPECT_EQ(h.held_count(), 0u);
  EXPECT_EQ(h.ReleaseAll().size(), 1u) << "the sustain pedal only";
  EXPECT_EQ(h.program(0), 5);
}

TEST(HeldNotesTest, CopiesAndMovesCarryTheNotesAndStayIndependent) {
  HeldNotes a;
  a.Apply(ChannelMessage{0x90, 60, 100, 3});
  a.Apply(ChannelMessage{0x91, 64, 90, 3});
  HeldNotes b = a;
  b.Apply(ChannelMessage{0x80, 60, 0, 3});
  EXPECT_TRUE(a.IsHeld(0, 60)) << "the copy has its own table";
  EXPECT_FALSE(b.IsHeld(0, 60));
  EXPECT_TRUE(b.IsHeld(1, 64));
  EXPECT_EQ(a.held_count(), 2u);
  EXPECT_EQ(b.held_count(), 1u);
  HeldNotes empty;
  b = empty;  // copying a source that never played drops the table
  EXPECT_EQ(b.held_count(), 0u);
  EXPECT_FALSE(b.IsHeld(1, 64));
  HeldNotes c = std::move(a);
  EXPECT_TRUE(c.IsHeld(0, 60));
  EXPECT_EQ(c.ReleaseAll().size(), 2u);
  EXPECT_TRUE(c.Empty());
  c.Apply(ChannelMessage{0x90, 61, 1, 3});  // the kept table is reused
  EXPECT_TRUE(c.IsHeld(0, 61));
}

}  // namespace
}  // namespace tutti::midi
