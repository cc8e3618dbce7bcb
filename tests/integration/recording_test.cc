// Server-side recording through a real server and real clients (docs/PROTOCOL.md §14): room
// staff start and stop it, every member is told, RoomInfo shows it, and the file — listed
// and downloaded in chunks over the protocol — has each player's notes on a track named after
// them, at the times the room relayed them, with what was still held closed at the stop.
// Members are refused. Server time is a FakeClock, so every stamp is known exactly.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "midi/midi_parse.h"
#include "midi/smf_reader.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage RecordMsg(proto::RecordingAction action, const std::string& rid,
                               const std::string& id = "", uint64_t offset = 0,
                               uint32_t max_bytes = 0) {
  proto::ServerMessage m;
  auto* r = m.mutable_recording_command();
  r->set_action(action);
  r->set_recording_id(id);
  r->set_offset(offset);
  r->set_max_bytes(max_bytes);
  m.set_request_id(rid);
  return m;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One channel message as the room relayed it, at its server time (stamp + delay).
struct Heard {
  std::string user;
  int64_t at_us = 0;
  midi::ChannelMessage msg;
};

class RecordingTest : public ::testing::Test {
 protected:
  void Start(const std::function<void(server::ServerConfig&)>& tweak = nullptr) {
    ts_ = std::make_unique<TestServer>(3, tweak, clock_);
    olive_ = ts_->Connect("olive");  // creates the room: its owner
    alice_ = ts_->Connect("alice");
    bob_ = ts_->Connect("bob");
    ASSERT_TRUE(olive_ && alice_ && bob_);
    ASSERT_TRUE(JoinRoom(*olive_, "Studio"));
    ASSERT_TRUE(JoinRoom(*alice_, "Studio"));
    ASSERT_TRUE(JoinRoom(*bob_, "Studio"));
  }

  // Olive starts recording; returns the RecordingStatus she got.
  proto::RecordingStatus StartRecording() {
    EXPECT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_START, "start")));
    auto st = WaitForReply(*olive_, proto::ClientMessage::kRecordingStatus, "start");
    EXPECT_TRUE(st) << "no RecordingStatus for the start";
    return st ? st->recording_status() : proto::RecordingStatus();
  }

  // Downloads the whole recording in chunks of `chunk` bytes.
  std::string Download(client::Client& c, const std::string& id, uint32_t chunk) {
    std::string out;
    for (int i = 0; i < 10000; ++i) {
      const std::string rid = "dl" + std::to_string(i);
      EXPECT_TRUE(c.Send(RecordMsg(proto::RECORDING_DOWNLOAD, rid, id, out.size(), chunk)));
      auto m = WaitForReply(c, proto::ClientMessage::kRecordingChunk, rid);
      if (!m) {
        ADD_FAILURE() << "no chunk at " << out.size();
        return out;
      }
      const auto& ch = m->recording_chunk();
      EXPECT_EQ(ch.offset(), out.size());
      if (chunk > 0) {
        EXPECT_LE(ch.data().size(), chunk);
      }
      out += ch.data();
      if (ch.last()) {
        EXPECT_EQ(out.size(), ch.total_bytes());
        return out;
      }
    }
    ADD_FAILURE() << "the download never ended";
    return out;
  }

  // Everything `c` hears of MIDI until a RecordingStatus with active = false arrives.
  std::vector<Heard> HeardUntilStop(client::Client& c, proto::RecordingStatus* stop) {
    std::vector<Heard> heard;
    for (int i = 0; i < 1000; ++i) {
      auto m = c.Next(5s);
      if (!m) break;
      if (m->has_recording_status() && !m->recording_status().active()) {
        *stop = m->recording_status();
        return heard;
      }
      if (!m->has_midi_message()) continue;
      const auto& mm = m->midi_message();
      std::vector<midi::ChannelMessage> msgs;
      EXPECT_TRUE(midi::ParseChannelMessages(mm.midi_data(), 64, &msgs).ok());
      for (const auto& x : msgs) heard.push_back({mm.user_id(), mm.timestamp(), x});
      for (const auto& e : mm.events()) {
        midi::ChannelMessage x;
        EXPECT_TRUE(midi::ParseOneChannelMessage(e.data(), &x).ok());
        heard.push_back({mm.user_id(), mm.timestamp() + e.delay_us(), x});
      }
    }
    ADD_FAILURE() << "no RecordingStatus for the stop";
    return heard;
  }

  std::shared_ptr<server::FakeClock> clock_ = NowFakeClock();
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<client::Client> olive_, alice_, bob_;
};

TEST_F(RecordingTest, EveryPlayersNotesOnTheirOwnTrackAtTheRelayedTimes) {
  Start();
  // A note Alice holds before the recording starts is in the file from its start.
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x30\x50", 3))));
  ASSERT_TRUE(olive_->WaitFor(proto::ClientMessage::kMidiMessage, 5s));
  clock_->AdvanceUs(100000);

  const proto::RecordingStatus started = StartRecording();
  ASSERT_TRUE(started.active());
  EXPECT_EQ(started.actor_username(), "olive");
  EXPECT_FALSE(started.recording_id().empty());
  const int64_t t0 = started.started_server_time();
  EXPECT_EQ(t0, clock_->NowUs());
  // The members are told, and RoomInfo says so.
  for (client::Client* c : {alice_.get(), bob_.get()}) {
    auto st = c->WaitFor(proto::ClientMessage::kRecordingStatus, 5s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->recording_status().active());
    EXPECT_EQ(st->recording_status().recording_id(), started.recording_id());
  }
  proto::ServerMessage info;
  info.mutable_get_room_info()->set_room_name("Studio");
  info.set_request_id("info");
  ASSERT_TRUE(bob_->Send(info));
  auto room_info = WaitForReply(*bob_, proto::ClientMessage::kRoomInfo, "info");
  ASSERT_TRUE(room_info);
  EXPECT_TRUE(room_info->room_info().recording());

  // Alice: single messages at chosen server times. Bob: one batch with spaced events,
  // leaving a note held for the stop to close.
  clock_->AdvanceUs(250000);
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x80\x30\x00\x90\x3c\x64", 6))));
  clock_->AdvanceUs(500000);
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x80\x3c\x00", 3))));
  clock_->AdvanceUs(123457);
  proto::ServerMessage batch = MidiMsg(std::string("\x91\x40\x70", 3));
  for (auto [data, delay] : std::vector<std::pair<std::string, uint32_t>>{
           {std::string("\x91\x43\x70", 3), 100000}, {std::string("\x81\x40\x00", 3), 200000}}) {
    auto* e = batch.mutable_midi_message()->add_events();
    e->set_data(data);
    e->set_delay_us(delay);
  }
  ASSERT_TRUE(bob_->Send(batch));
  clock_->AdvanceUs(1000000);
  const int64_t stop_us = clock_->NowUs();

  // Olive hears the MIDI, then stops (her stop goes after what she heard).
  std::vector<Heard> heard;
  for (int n = 0; n < 3; ++n) {
    auto m = olive_->WaitFor(proto::ClientMessage::kMidiMessage, 5s);
    ASSERT_TRUE(m) << "olive heard " << n << " batches";
    const auto& mm = m->midi_message();
    std::vector<midi::ChannelMessage> msgs;
    ASSERT_TRUE(midi::ParseChannelMessages(mm.midi_data(), 64, &msgs).ok());
    for (const auto& x : msgs) heard.push_back({mm.user_id(), mm.timestamp(), x});
    for (const auto& e : mm.events()) {
      midi::ChannelMessage x;
      ASSERT_TRUE(midi::ParseOneChannelMessage(e.data(), &x).ok());
      heard.push_back({mm.user_id(), mm.timestamp() + e.delay_us(), x});
    }
  }
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_STOP, "stop")));
  auto stopped = WaitForReply(*olive_, proto::ClientMessage::kRecordingStatus, "stop");
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(stopped->recording_status().active());
  EXPECT_EQ(stopped->recording_status().stop_reason(), "stopped");
  proto::RecordingStatus alice_stop;
  HeardUntilStop(*alice_, &alice_stop);
  EXPECT_EQ(alice_stop.recording_id(), started.recording_id());

  // Listed, finished, and downloadable in chunks; the download is the file on disk.
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_LIST, "list")));
  auto list = WaitForReply(*olive_, proto::ClientMessage::kRecordingList, "list");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->recording_list().recordings_size(), 1);
  const auto& entry = list->recording_list().recordings(0);
  EXPECT_EQ(entry.recording_id(), started.recording_id());
  EXPECT_FALSE(entry.active());
  const std::string bytes = Download(*olive_, started.recording_id(), 100);
  EXPECT_EQ(bytes.size(), entry.bytes());
  EXPECT_EQ(bytes,
            ReadAll(ts_->dir() + "/recordings/73747564696f/" + started.recording_id() + ".mid"));

  auto smf = midi::ReadSmf(bytes);
  ASSERT_TRUE(smf.ok()) << smf.status();
  EXPECT_EQ(smf->format, 1);
  ASSERT_EQ(smf->tracks.size(), 3u);  // tempo, then one per player in the order they played
  EXPECT_EQ(smf->tracks[0].name, "Studio");
  ASSERT_EQ(smf->tracks[0].tempos.size(), 1u);
  EXPECT_EQ(smf->tracks[0].tempos[0].us_per_quarter, 500000u);  // no room tempo: 120 BPM
  std::map<std::string, const midi::SmfTrackData*> by_name;
  for (const auto& t : smf->tracks) {
    EXPECT_TRUE(t.ended);
    by_name[t.name] = &t;
  }
  ASSERT_TRUE(by_name.count("alice") && by_name.count("bob"));

  // Each track: what the room relayed from that player, in order, at the relayed times
  // (ticks of ~0.52 ms: within 1 ms), then the closing of what was held.
  auto expect_track = [&](const std::string& user, const std::vector<Heard>& want) {
    const auto& events = by_name[user]->events;
    ASSERT_GE(events.size(), want.size()) << user;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(events[i].status, want[i].msg.status) << user << " #" << i;
      EXPECT_EQ(events[i].data1, want[i].msg.data1) << user << " #" << i;
      EXPECT_NEAR(smf->MicrosAt(events[i].tick), want[i].at_us - t0, 1000) << user << " #" << i;
    }
  };
  std::vector<Heard> alice_want = {{"u-alice", t0, midi::MakeNoteOn(0, 0x30, 0x50)}};
  std::vector<Heard> bob_want;
  for (const Heard& h : heard) (h.user == "u-alice" ? alice_want : bob_want).push_back(h);
  ASSERT_EQ(alice_want.size(), 4u);
  ASSERT_EQ(bob_want.size(), 3u);
  expect_track("alice", alice_want);
  EXPECT_EQ(by_name["alice"]->events.size(), 4u);  // nothing left held
  expect_track("bob", bob_want);
  // Bob's second note was still down at the stop: closed there.
  ASSERT_EQ(by_name["bob"]->events.size(), 4u);
  const auto& close = by_name["bob"]->events[3];
  EXPECT_EQ(close.status, 0x81);
  EXPECT_EQ(close.data1, 0x43);
  EXPECT_NEAR(smf->MicrosAt(close.tick), stop_us - t0, 1000);
}

TEST_F(RecordingTest, OnlyRoomStaffMayRecordListOrDownload) {
  Start();
  std::string rid;
  for (auto action : {proto::RECORDING_START, proto::RECORDING_STOP, proto::RECORDING_LIST,
                      proto::RECORDING_DOWNLOAD}) {
    ASSERT_TRUE(alice_->Send(RecordMsg(action, "a", "1-1")));
    EXPECT_EQ(WaitError(*alice_, 5s, &rid), proto::PERMISSION_DENIED) << action;
    EXPECT_EQ(rid, "a");
  }
  ASSERT_TRUE(alice_->Send(ChatMsg("/record start", "chat")));
  EXPECT_EQ(WaitError(*alice_), proto::PERMISSION_DENIED);
  // A moderator may.
  ASSERT_TRUE(olive_->Send(ChatMsg("/mod alice", "mod")));
  ASSERT_TRUE(WaitForReply(*olive_, proto::ClientMessage::kCommandResult, "mod"));
  ASSERT_TRUE(alice_->Send(ChatMsg("/record start", "chat2")));
  auto st = WaitForReply(*alice_, proto::ClientMessage::kRecordingStatus, "chat2");
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->recording_status().active());
  // Stop when stopped, start when started, unknown ids, a path in the id, out of a room.
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_START, "again")));
  EXPECT_EQ(WaitError(*olive_, 5s, &rid), proto::WRONG_STATE);
  ASSERT_TRUE(olive_->Send(ChatMsg("/record list", "ls")));
  auto lines = WaitForReply(*olive_, proto::ClientMessage::kCommandResult, "ls");
  ASSERT_TRUE(lines);
  ASSERT_EQ(lines->command_result().lines_size(), 1);
  EXPECT_NE(lines->command_result().lines(0).find("(recording)"), std::string::npos);
  ASSERT_TRUE(olive_->Send(ChatMsg("/record stop", "stop")));
  ASSERT_TRUE(WaitForReply(*olive_, proto::ClientMessage::kRecordingStatus, "stop"));
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_STOP, "stop2")));
  EXPECT_EQ(WaitError(*olive_, 5s, &rid), proto::WRONG_STATE);
  // Offsets: at the end an empty last chunk; past it a typed refusal.
  const std::string rec = st->recording_status().recording_id();
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_DOWNLOAD, "head", rec, 0, 4)));
  auto head = WaitForReply(*olive_, proto::ClientMessage::kRecordingChunk, "head");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->recording_chunk().data(), "MThd");
  const uint64_t total = head->recording_chunk().total_bytes();
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_DOWNLOAD, "end", rec, total)));
  auto end = WaitForReply(*olive_, proto::ClientMessage::kRecordingChunk, "end");
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->recording_chunk().data().empty());
  EXPECT_TRUE(end->recording_chunk().last());
  for (uint64_t offset : {total + 1, uint64_t{1} << 40, ~uint64_t{0}}) {
    ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_DOWNLOAD, "past", rec, offset)));
    EXPECT_EQ(WaitError(*olive_, 5s, &rid), proto::INVALID_PARAMETERS) << offset;
    EXPECT_EQ(rid, "past");
  }
  for (const std::string id : {"999-9", "../../tutti.db", "", "1-1/../x", "-", "..", "1-1.mid"}) {
    ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_DOWNLOAD, "dl", id)));
    EXPECT_EQ(WaitError(*olive_, 5s, &rid), proto::NOT_FOUND) << id;
  }
  ASSERT_TRUE(olive_->Send(ChatMsg("/record sideways", "bad")));
  EXPECT_EQ(WaitError(*olive_), proto::INVALID_PARAMETERS);
  auto carol = ts_->Connect("carol");
  ASSERT_TRUE(carol);
  ASSERT_TRUE(carol->Send(RecordMsg(proto::RECORDING_LIST, "out")));
  EXPECT_EQ(WaitError(*carol), proto::WRONG_STATE);
}

TEST_F(RecordingTest, LimitsStopTheRecordingAndEveryoneIsTold) {
  Start([](server::ServerConfig& c) {
    c.max_recording_bytes = 300;
    c.max_concurrent_recordings = 1;
  });
  const proto::RecordingStatus started = StartRecording();
  ASSERT_TRUE(started.active());
  // A second room may not record while the server's one slot is taken.
  auto carol = ts_->Connect("carol");
  ASSERT_TRUE(carol && JoinRoom(*carol, "Other"));
  ASSERT_TRUE(carol->Send(RecordMsg(proto::RECORDING_START, "busy")));
  EXPECT_EQ(WaitError(*carol), proto::LIMIT_REACHED);
  // Notes until the size limit ends it (each event is 4-7 bytes of the 300).
  proto::RecordingStatus stop;
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    clock_->AdvanceUs(10000);
    ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x3c\x64\x80\x3c\x00", 6))));
    // Each batch reaches Bob; the stop, when it comes, is among what he hears.
    while (auto m = bob_->Next(5s)) {
      if (m->has_recording_status() && !m->recording_status().active()) {
        stop = m->recording_status();
        ended = true;
        break;
      }
      if (m->has_midi_message()) break;
    }
  }
  // The writer thread ends the recording when it has written past the limit, which on a
  // busy machine may be after the last batch was relayed: the stop still comes, later.
  while (!ended) {
    auto m = bob_->Next(10s);
    if (!m) break;
    if (m->has_recording_status() && !m->recording_status().active()) {
      stop = m->recording_status();
      ended = true;
    }
  }
  ASSERT_TRUE(ended) << "the size limit never stopped the recording";
  EXPECT_EQ(stop.stop_reason(), "size limit");
  EXPECT_EQ(stop.actor_user_id(), "");
  // The slot is free again, and the file is whole.
  ASSERT_TRUE(carol->Send(RecordMsg(proto::RECORDING_START, "now")));
  ASSERT_TRUE(WaitForReply(*carol, proto::ClientMessage::kRecordingStatus, "now"));
  const std::string bytes = Download(*olive_, started.recording_id(), 0);
  auto smf = midi::ReadSmf(bytes);
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks.size(), 2u);
  EXPECT_GT(smf->tracks[1].events.size(), 20u);
  EXPECT_LT(bytes.size(), 300u + 200u);  // the events' bytes, then headers and names
}

proto::ServerMessage TempoMsg(double bpm, uint32_t beats, uint32_t unit, const std::string& rid) {
  proto::ServerMessage m;
  auto* t = m.mutable_set_tempo();
  t->set_bpm(bpm);
  t->set_beats_per_bar(beats);
  t->set_beat_unit(unit);
  m.set_request_id(rid);
  return m;
}

// The room's tempo is the file's tempo map (SMF tempos count quarter notes, the room's bpm
// its beat unit), a change while recording is a Set Tempo at its server time, and the
// notes on either side of it land at their server times. A joiner sees the recording in
// its RoomInfo; a panic's synthetic release is recorded on the player's track.
TEST_F(RecordingTest, TheTempoMapFollowsTheRoomTempoAndServerMidiIsRecorded) {
  Start();
  ASSERT_TRUE(olive_->Send(TempoMsg(90, 4, 4, "t1")));
  ASSERT_TRUE(WaitForReply(*olive_, proto::ClientMessage::kTempoState, "t1"));
  const proto::RecordingStatus started = StartRecording();
  ASSERT_TRUE(started.active());
  EXPECT_EQ(started.started_server_time(), clock_->NowUs());
  ASSERT_TRUE(alice_->WaitFor(proto::ClientMessage::kRecordingStatus, 5s));

  proto::RoomJoinedResponse joined;
  auto carol = ts_->Connect("carol");
  ASSERT_TRUE(carol && JoinRoom(*carol, "Studio", &joined));
  EXPECT_TRUE(joined.room_info().recording());

  clock_->AdvanceUs(1'000'000);
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x90\x3c\x64", 3))));
  ASSERT_TRUE(olive_->WaitFor(proto::ClientMessage::kMidiMessage, 5s));
  clock_->AdvanceUs(500'000);
  // 150 beats of an eighth a minute: a quarter lasts 800 ms. Alice plays on once she has
  // heard it, so the room has handed the change to the writer before her notes.
  ASSERT_TRUE(olive_->Send(TempoMsg(150, 6, 8, "t2")));
  ASSERT_TRUE(WaitForReply(*olive_, proto::ClientMessage::kTempoState, "t2"));
  ASSERT_TRUE(alice_->WaitFor(proto::ClientMessage::kTempoState, 5s));
  clock_->AdvanceUs(1'000'000);
  ASSERT_TRUE(alice_->Send(MidiMsg(std::string("\x80\x3c\x00\x90\x3e\x50", 6))));
  ASSERT_TRUE(olive_->WaitFor(proto::ClientMessage::kMidiMessage, 5s));
  clock_->AdvanceUs(250'000);
  // Alice's panic releases her held note (and pedals, all notes off) through the server.
  proto::ServerMessage panic;
  panic.mutable_panic();
  panic.set_request_id("p");
  ASSERT_TRUE(alice_->Send(panic));
  ASSERT_TRUE(WaitForReply(*alice_, proto::ClientMessage::kPanicNotice, "p"));
  clock_->AdvanceUs(250'000);
  ASSERT_TRUE(olive_->Send(RecordMsg(proto::RECORDING_STOP, "stop")));
  ASSERT_TRUE(WaitForReply(*olive_, proto::ClientMessage::kRecordingStatus, "stop"));
  proto::ServerMessage info;
  info.mutable_get_room_info()->set_room_name("Studio");
  info.set_request_id("info");
  ASSERT_TRUE(carol->Send(info));
  auto room_info = WaitForReply(*carol, proto::ClientMessage::kRoomInfo, "info");
  ASSERT_TRUE(room_info);
  EXPECT_FALSE(room_info->room_info().recording());

  auto smf = midi::ReadSmf(Download(*olive_, started.recording_id(), 0));
  ASSERT_TRUE(smf.ok()) << smf.status();
  ASSERT_EQ(smf->tracks.size(), 2u);
  const auto& tempos = smf->tracks[0].tempos;
  ASSERT_EQ(tempos.size(), 2u);
  EXPECT_EQ(tempos[0].tick, 0);
  EXPECT_EQ(tempos[0].us_per_quarter, 666'667u);  // 90 BPM
  EXPECT_EQ(tempos[1].us_per_quarter, 800'000u);  // 150 eighths a minute
  EXPECT_NEAR(smf->MicrosAt(tempos[1].tick), 1'500'000, 1000);
  EXPECT_NEAR(tempos[1].tick, 2160, 1);  // 1.5 s at 90 BPM: 2.25 quarters

  const auto& events = smf->tracks[1].events;
  EXPECT_EQ(smf->tracks[1].name, "alice");
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0].status, 0x90);
  EXPECT_NEAR(events[0].tick, 1440, 1);  // 1 s at 90 BPM
  EXPECT_EQ(events[1].status, 0x80);
  EXPECT_NEAR(smf->MicrosAt(events[1].tick), 2'500'000, 1000);
  EXPECT_NEAR(events[1].tick, 2160 + 1200, 1);  // then 1 s at 800 ms a quarter
  EXPECT_EQ(events[2].status, 0x90);
  EXPECT_EQ(events[2].data1, 0x3e);
  // The panic, at its server time: the release of 0x3e, then sustain off and all notes
  // off on each of the 16 channels; nothing is left for the stop to close.
  EXPECT_EQ(events[3].status & 0xF0, 0x80);
  EXPECT_EQ(events[3].data1, 0x3e);
  EXPECT_NEAR(smf->MicrosAt(events[3].tick), 2'750'000, 1000);
  int all_notes_off = 0;
  for (size_t i = 4; i < events.size(); ++i) {
    EXPECT_EQ(events[i].status & 0xF0, 0xB0) << i;
    EXPECT_EQ(events[i].tick, events[3].tick) << i;
    if (events[i].data1 == 123) ++all_notes_off;
  }
  EXPECT_EQ(all_notes_off, 16);
}

}  // namespace
}  // namespace tutti::testing
