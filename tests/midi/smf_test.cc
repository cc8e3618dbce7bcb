// The shared SMF writer (midi/smf_writer.h) read back by the reader (midi/smf_reader.h), and
// the reader's refusals of malformed files.
#include <string>

#include "gtest/gtest.h"
#include "midi/smf_reader.h"
#include "midi/smf_writer.h"

namespace tutti::midi {
namespace {

std::string TwoTrackFile(const SmfTempoMap& map, const SmfTrack& a, const SmfTrack& b,
                         int64_t close_tick) {
  std::string f;
  AppendSmfHeader(3, &f);
  AppendSmfTempoTrack("Room", map, &f);
  a.AppendChunk(close_tick, &f);
  b.AppendChunk(close_tick, &f);
  return f;
}

TEST(SmfTest, TracksTempoChangesAndTimesReadBack) {
  SmfTempoMap map;           // 120 BPM from 0
  map.Set(2000000, 250000);  // 240 BPM from 2 s
  SmfTrack ann("Ann"), bob("Bob");
  ann.Add(map.TickAt(0), MakeNoteOn(0, 60, 100));
  ann.Add(map.TickAt(500000), MakeNoteOff(0, 60));
  bob.Add(map.TickAt(1000000), MakeProgramChange(1, 40));
  bob.Add(map.TickAt(2500000), MakeNoteOn(1, 64, 90));  // still held at the close
  const int64_t close = map.TickAt(3000000);
  auto smf = ReadSmf(TwoTrackFile(map, ann, bob, close));
  ASSERT_TRUE(smf.ok()) << smf.status();
  EXPECT_EQ(smf->format, 1);
  EXPECT_EQ(smf->division, kSmfTicksPerQuarter);
  ASSERT_EQ(smf->tracks.size(), 3u);
  EXPECT_EQ(smf->tracks[0].name, "Room");
  ASSERT_EQ(smf->tracks[0].tempos.size(), 2u);
  EXPECT_EQ(smf->tracks[0].tempos[1].us_per_quarter, 250000u);
  EXPECT_EQ(smf->tracks[1].name, "Ann");
  EXPECT_EQ(smf->tracks[2].name, "Bob");
  for (const auto& t : smf->tracks) EXPECT_TRUE(t.ended);
  ASSERT_EQ(smf->tracks[1].events.size(), 2u);
  EXPECT_EQ(smf->MicrosAt(smf->tracks[1].events[1].tick), 500000);
  // Bob: program, note-on, and the note-off the close added at 3 s.
  ASSERT_EQ(smf->tracks[2].events.size(), 3u);
  EXPECT_EQ(smf->MicrosAt(smf->tracks[2].events[1].tick), 2500000);
  EXPECT_EQ(smf->tracks[2].events[2].status, 0x81);
  EXPECT_EQ(smf->tracks[2].events[2].data1, 64);
  EXPECT_EQ(smf->MicrosAt(smf->tracks[2].events[2].tick), 3000000);
  // Closing the chunk did not change the track: it goes on, and closes for real.
  EXPECT_EQ(bob.events(), 2u);
  bob.CloseHeld(close);
  EXPECT_EQ(bob.events(), 3u);
}

TEST(SmfTest, TimeNeverGoesBackInATrack) {
  SmfTrack t("T");
  t.Add(100, MakeNoteOn(0, 60, 1));
  t.Add(50, MakeNoteOff(0, 60));  // written at 100
  std::string f;
  AppendSmfHeader(1, &f);
  t.AppendChunk(0, &f);
  auto smf = ReadSmf(f);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks[0].events.size(), 2u);
  EXPECT_EQ(smf->tracks[0].events[1].tick, 100);
}

TEST(SmfTest, RefusesMalformedFiles) {
  SmfTrack t("T");
  t.Add(0, MakeNoteOn(0, 60, 1));
  std::string good;
  AppendSmfHeader(1, &good);
  t.AppendChunk(10, &good);
  ASSERT_TRUE(ReadSmf(good).ok());
  EXPECT_FALSE(ReadSmf("").ok());
  EXPECT_FALSE(ReadSmf("MThd").ok());
  // Every truncation of a valid file is refused (a track's length promises more bytes).
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ReadSmf(good.substr(0, n)).ok()) << n;
  }
  std::string bad_format = good;
  bad_format[9] = 7;
  EXPECT_FALSE(ReadSmf(bad_format).ok());
  std::string system_message = good;
  system_message[28] = static_cast<char>(0xF8);  // the note-on status, after the name
  EXPECT_FALSE(ReadSmf(system_message).ok());
  // A data byte with no running status to continue.
  std::string f;
  AppendSmfHeader(1, &f);
  f += std::string("MTrk\0\0\0\3\0\x40\x40", 11);
  auto r = ReadSmf(f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SmfTest, RunningStatusAndUnknownChunks) {
  std::string f;
  AppendSmfHeader(1, &f);
  f += std::string("XFOO\0\0\0\2ab", 10);  // skipped
  f += std::string("MTrk\0\0\0\x0b\0\x90\x3c\x40\x10\x3c\x00\0\xFF\x2F\0", 19);
  auto smf = ReadSmf(f);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks[0].events.size(), 2u);
  EXPECT_EQ(smf->tracks[0].events[1].tick, 16);
  EXPECT_EQ(smf->tracks[0].events[1].status, 0x90);
  EXPECT_EQ(smf->tracks[0].events[1].data2, 0);
  EXPECT_TRUE(smf->tracks[0].ended);
}

}  // namespace
}  // namespace tutti::midi
