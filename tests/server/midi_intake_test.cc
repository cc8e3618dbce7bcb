// The MIDI intake as a pure function: checks, quotas per kind and stamping, without a shard.
#include "server/midi_intake.h"

#include <string>

#include "gtest/gtest.h"

namespace tutti::server {
namespace {

constexpr int64_t kNow = 1'000'000'000;

proto::MidiMessage Bytes(const std::string& data) {
  proto::MidiMessage m;
  m.set_midi_data(data);
  return m;
}

MidiIntakeResult Take(const proto::MidiMessage& m, MidiIntakeState* st, const ServerConfig& c,
                      int64_t now = kNow, const std::string& rid = "") {
  return TakeMidi(m, c, proto::ClockSyncStatus(), now, /*session=*/7, rid, st);
}

TEST(MidiIntakeTest, EveryChannelMessageKindIsChargedToItsBucket) {
  using midi::ChannelMessage;
  EXPECT_EQ(ChargeOf(midi::MakeNoteOn(0, 60, 1)), MidiCharge::kNote);
  EXPECT_EQ(ChargeOf(midi::MakeNoteOff(0, 60)), MidiCharge::kRelease);
  EXPECT_EQ(ChargeOf(midi::MakeNoteOn(0, 60, 0)), MidiCharge::kRelease);
  EXPECT_EQ(ChargeOf(ChannelMessage{0xA0, 60, 10, 3}), MidiCharge::kController);  // poly AT
  EXPECT_EQ(ChargeOf(midi::MakeControlChange(0, 7, 100)), MidiCharge::kController);
  EXPECT_EQ(ChargeOf(midi::MakeProgramChange(0, 5)), MidiCharge::kController);
  EXPECT_EQ(ChargeOf(ChannelMessage{0xD0, 40, 0, 2}), MidiCharge::kController);  // pressure
  EXPECT_EQ(ChargeOf(midi::MakePitchBend(0, 100)), MidiCharge::kController);
  for (uint8_t pedal : {midi::kCcSustain, midi::kCcSostenuto, midi::kCcSoft}) {
    EXPECT_EQ(ChargeOf(midi::MakeControlChange(0, pedal, 127)), MidiCharge::kController);
    EXPECT_EQ(ChargeOf(midi::MakeControlChange(0, pedal, 0)), MidiCharge::kRelease);
  }
  EXPECT_EQ(ChargeOf(midi::MakeControlChange(0, midi::kCcAllNotesOff, 0)), MidiCharge::kRelease);
}

TEST(MidiIntakeTest, ControllersHaveTheirOwnQuotaAndARefusalTakesNothing) {
  ServerConfig c;
  c.controllers_per_second = 0;  // no refill: the burst is all there is
  c.controller_burst = 3;
  c.notes_per_second = 0;
  c.note_burst = 2;
  MidiIntakeState st(c, kNow);
  const std::string cc("\xB0\x07\x64", 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Take(Bytes(cc), &st, c).ok()) << i;
  MidiIntakeResult r = Take(Bytes(cc), &st, c, kNow, "cc4");
  EXPECT_EQ(r.code, proto::RATE_LIMITED);
  EXPECT_EQ(r.reason, "controller quota exceeded");
  // A note with a controller in the same batch is refused whole: the note quota is untouched.
  const std::string note_and_bend("\x90\x3c\x64\xE0\x00\x50", 6);
  EXPECT_EQ(Take(Bytes(note_and_bend), &st, c).code, proto::RATE_LIMITED);
  EXPECT_TRUE(Take(Bytes(std::string("\x90\x3c\x64", 3)), &st, c).ok());
  EXPECT_TRUE(Take(Bytes(std::string("\x90\x3e\x64", 3)), &st, c).ok());
  EXPECT_EQ(Take(Bytes(std::string("\x90\x40\x64", 3)), &st, c).reason, "note quota exceeded");
  // Releases still pass with both quotas spent: nothing may stick.
  const std::string releases("\x80\x3c\x00\x80\x3e\x00\xB0\x40\x00\xB0\x42\x00", 12);
  EXPECT_TRUE(Take(Bytes(releases), &st, c).ok());
  EXPECT_EQ(st.sequence, 6u) << "only accepted batches are numbered";
}

TEST(MidiIntakeTest, EventsWithDelaysAreRelayedWithTheirDelays) {
  ServerConfig c;
  MidiIntakeState st(c, kNow);
  proto::MidiMessage m;
  auto* e = m.add_events();
  e->set_data(std::string("\x90\x3c\x64", 3));
  e->set_delay_us(0);
  e = m.add_events();
  e->set_data(std::string("\x80\x3c\x00", 3));
  e->set_delay_us(100000);
  e = m.add_events();
  e->set_data(std::string("\xB0\x01\x20", 3));
  e->set_delay_us(150000);
  MidiIntakeResult r = Take(m, &st, c, kNow, "batch-1");
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.relay.request_id, "batch-1");
  EXPECT_EQ(r.relay.session, 7u);
  EXPECT_EQ(r.relay.sequence, 1u);
  ASSERT_EQ(r.relay.events.size(), 3u);
  EXPECT_EQ(r.relay.events[1].second, 100000u);
  EXPECT_EQ(r.relay.events[2].second, 150000u);
  EXPECT_EQ(r.relay.parsed.size(), 3u);
  // Unsynced: the anchor rule puts the last event on arrival.
  EXPECT_EQ(r.relay.stamped_us, kNow - 150000);
  EXPECT_EQ(r.relay.flags, static_cast<uint32_t>(proto::MIDI_FLAG_RESTAMPED));

  // The next batch's anchor falls before this one's end: pushed later, spacing kept.
  MidiIntakeResult next = Take(m, &st, c, kNow + 20000);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.relay.stamped_us, kNow);
  EXPECT_EQ(next.relay.events[1].second, 100000u);
  EXPECT_EQ(next.relay.events[2].second, 150000u);
}

TEST(MidiIntakeTest, BadBatchesAreRefusedWithAReason) {
  ServerConfig c;
  MidiIntakeState st(c, kNow);
  EXPECT_EQ(Take(proto::MidiMessage(), &st, c).code, proto::INVALID_PARAMETERS);
  EXPECT_EQ(Take(Bytes(std::string("\xF0\x01\xF7", 3)), &st, c).code, proto::INVALID_PARAMETERS);
  proto::MidiMessage far;
  auto* e = far.add_events();
  e->set_data(std::string("\x90\x3c\x64", 3));
  e->set_delay_us(static_cast<uint32_t>(c.max_midi_span_us + 1));
  MidiIntakeResult r = Take(far, &st, c);
  EXPECT_EQ(r.code, proto::INVALID_PARAMETERS);
  EXPECT_EQ(r.reason, "event delay beyond the batch span limit");
  proto::MidiMessage two;
  e = two.add_events();
  e->set_data(std::string("\x90\x3c\x64\x90\x3e\x64", 6));
  EXPECT_EQ(Take(two, &st, c).code, proto::INVALID_PARAMETERS) << "one message per event";
  EXPECT_EQ(st.sequence, 0u);
}

}  // namespace
}  // namespace tutti::server
