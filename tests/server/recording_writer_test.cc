// RecordingWriter on its own, with a FakeClock: the duration limit ends a recording by
// itself (once the writer's clock passes it), the files it writes on the way are whole,
// Read refuses what is not a recording of the room, a full queue drops and counts events
// rather than making the caller (a room's shard) wait, and a flush that cannot be written
// ends the recording with a write error.
#include "server/recording_writer.h"

#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "midi/smf_reader.h"
#include "server/clock.h"

namespace tutti::server {
namespace {

class RecordingWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tutti-recwriter-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.max_recording_duration_ms = 60'000;
    config_.recording_flush_ms = 10;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RecordingChunkRead ReadAll(RecordingWriter& w, const std::string& id) {
    std::promise<RecordingChunkRead> p;
    w.Read("room", id, 0, 0, [&p](RecordingChunkRead r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  std::string dir_;
  ServerConfig config_;
  FakeClock clock_;
};

TEST_F(RecordingWriterTest, TheDurationLimitEndsARecordingByItself) {
  RecordingWriter w(dir_, config_, clock_);
  w.StartThread();
  std::promise<RecordingEnd> ended;
  RecordingStartParams p;
  p.room_id = "room";
  p.title = "Room";
  p.start_us = clock_.NowUs();
  p.start_unix_ms = clock_.UnixMs();
  auto id = w.Start(p, [&ended](const RecordingEnd& e) { ended.set_value(e); });
  ASSERT_TRUE(id.ok()) << id.status();
  w.Events(*id, "u-a", "ann",
           {{p.start_us + 1000, midi::MakeNoteOn(0, 60, 90)},
            {p.start_us + 2000, midi::MakeNoteOn(0, 62, 90)},
            {p.start_us + 500000, midi::MakeNoteOff(0, 60)}});
  // Not over yet, and the file on disk is already a whole SMF.
  RecordingChunkRead mid = ReadAll(w, *id);
  ASSERT_TRUE(mid.status.ok()) << mid.status;
  auto smf = midi::ReadSmf(mid.data);
  ASSERT_TRUE(smf.ok()) << smf.status();
  clock_.AdvanceUs(61'000'000);
  auto fut = ended.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const RecordingEnd end = fut.get();
  EXPECT_EQ(end.recording_id, *id);
  EXPECT_EQ(end.reason, "duration limit");
  EXPECT_EQ(end.events, 4u);  // three played, one closed at the limit
  smf = midi::ReadSmf(ReadAll(w, *id).data);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks.size(), 2u);
  ASSERT_EQ(smf->tracks[1].events.size(), 4u);
  EXPECT_EQ(smf->tracks[1].events[3].data1, 62);
  EXPECT_NEAR(smf->MicrosAt(smf->tracks[1].events[3].tick), 60'000'000, 1000);
}

TEST_F(RecordingWriterTest, ReadsOnlyRecordingsOfTheRoom) {
  RecordingWriter w(dir_, config_, clock_);
  w.StartThread();
  for (const std::string& bad :
       std::vector<std::string>{"", "..", "1/../../x", "abc", std::string(41, '1')}) {
    EXPECT_EQ(ReadAll(w, bad).status.code(), absl::StatusCode::kNotFound) << bad;
  }
  EXPECT_FALSE(RecordingWriter::ValidId("1-1.mid"));
  EXPECT_TRUE(RecordingWriter::ValidId("1700000000000-12"));
}

TEST_F(RecordingWriterTest, AFullQueueDropsAndCountsInsteadOfWaiting) {
  // The writer thread is not running: nothing drains the queue, so a caller that waited
  // for room would never return. Past the bound the events are dropped and counted at once.
  config_.recording_queue_events = 4;
  RecordingWriter w(dir_, config_, clock_);
  RecordingStartParams p;
  p.room_id = "room";
  p.start_us = clock_.NowUs();
  auto id = w.Start(p, nullptr);
  ASSERT_TRUE(id.ok()) << id.status();
  const int64_t t = p.start_us;
  w.Events(*id, "u-a", "ann",
           {{t + 1, midi::MakeNoteOn(0, 60, 90)},
            {t + 2, midi::MakeNoteOff(0, 60)},
            {t + 3, midi::MakeNoteOn(0, 61, 90)}});
  EXPECT_EQ(w.QueueDropped(*id), 0u);
  w.Events(*id, "u-b", "bo",
           {{t + 4, midi::MakeNoteOn(0, 62, 90)}, {t + 5, midi::MakeNoteOff(0, 62)}});
  EXPECT_EQ(w.QueueDropped(*id), 2u);
  w.Events(*id, "u-a", "ann", {{t + 6, midi::MakeNoteOff(0, 61)}});  // exactly fills it
  EXPECT_EQ(w.QueueDropped(*id), 2u);
  std::promise<RecordingEnd> done;
  w.Stop(*id, t + 10, [&done](const RecordingEnd& e) { done.set_value(e); });
  w.StartThread();
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const RecordingEnd end = fut.get();
  EXPECT_EQ(end.reason, "stopped");
  EXPECT_EQ(end.events, 4u);
  EXPECT_EQ(end.dropped, 2u);
  EXPECT_EQ(w.QueueDropped(*id), 0u);  // forgotten with the recording
  auto smf = midi::ReadSmf(ReadAll(w, *id).data);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks.size(), 2u);  // only ann's events reached the writer
  EXPECT_EQ(smf->tracks[1].name, "ann");
  EXPECT_EQ(smf->tracks[1].events.size(), 4u);
}

TEST_F(RecordingWriterTest, ATempoChangeNeverMovesANoteAlreadyPlaced) {
  // A batch relayed before the room's tempo change may be stamped after it: its note got
  // its ticks from the old tempo, so the change goes in after it and the note keeps its time.
  RecordingWriter w(dir_, config_, clock_);
  w.StartThread();
  RecordingStartParams p;
  p.room_id = "room";
  p.start_us = clock_.NowUs();
  auto id = w.Start(p, nullptr);
  ASSERT_TRUE(id.ok()) << id.status();
  w.Events(*id, "u-a", "ann", {{p.start_us + 1'000'000, midi::MakeNoteOn(0, 60, 90)}});
  w.Tempo(*id, p.start_us + 500'000, 250'000);  // 240 BPM from 0.5 s, as the room said
  w.Events(*id, "u-a", "ann", {{p.start_us + 1'500'000, midi::MakeNoteOff(0, 60)}});
  std::promise<RecordingEnd> done;
  w.Stop(*id, p.start_us + 2'000'000, [&done](const RecordingEnd& e) { done.set_value(e); });
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto smf = midi::ReadSmf(ReadAll(w, *id).data);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks[0].tempos.size(), 2u);
  EXPECT_EQ(smf->tracks[0].tempos[1].us_per_quarter, 250'000u);
  EXPECT_EQ(smf->tracks[0].tempos[1].tick, 1920);  // at the note: 1 s at 120 BPM
  ASSERT_EQ(smf->tracks[1].events.size(), 2u);
  EXPECT_NEAR(smf->MicrosAt(smf->tracks[1].events[0].tick), 1'000'000, 1000);
  EXPECT_NEAR(smf->MicrosAt(smf->tracks[1].events[1].tick), 1'500'000, 1000);
  EXPECT_EQ(smf->tracks[1].events[1].tick, 1920 + 1920);  // 0.5 s at 240 BPM
}

TEST_F(RecordingWriterTest, AFlushThatCannotBeWrittenEndsTheRecordingAndKeepsTheLastFile) {
  // A directory where the flush's temporary file goes makes every later flush fail (even
  // for root, unlike permissions): the recording ends by itself with the reason, without
  // the server's path, and the file flushed at the start is still a whole SMF.
  RecordingWriter w(dir_, config_, clock_);
  w.StartThread();
  std::promise<RecordingEnd> ended;
  RecordingStartParams p;
  p.room_id = "room";
  p.title = "Room";
  p.start_us = clock_.NowUs();
  auto id = w.Start(p, [&ended](const RecordingEnd& e) { ended.set_value(e); });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(ReadAll(w, *id).status.ok());  // Read runs after the start's first flush
  const std::string path = w.RoomDir("room") + "/" + *id + ".mid";
  ASSERT_TRUE(std::filesystem::create_directory(path + ".tmp"));
  w.Events(*id, "u-a", "ann", {{p.start_us + 1000, midi::MakeNoteOn(0, 60, 90)}});
  clock_.AdvanceUs(1'000'000);  // past recording_flush_ms: the next pass flushes
  auto fut = ended.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const RecordingEnd end = fut.get();
  EXPECT_EQ(end.reason.rfind("write error: ", 0), 0u) << end.reason;
  EXPECT_EQ(end.reason.find(dir_), std::string::npos) << end.reason;
  auto smf = midi::ReadSmf(ReadAll(w, *id).data);
  ASSERT_TRUE(smf.ok()) << smf.status();
  EXPECT_EQ(smf->tracks.size(), 1u);  // the empty file of the start: ann never reached disk
  // Ended means not running: the writer takes another recording in its place.
  config_.max_concurrent_recordings = 1;
  auto next = w.Start(p, nullptr);
  EXPECT_TRUE(next.ok()) << next.status();
}

}  // namespace
}  // namespace tutti::server
