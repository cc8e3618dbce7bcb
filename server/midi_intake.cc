#include "server/midi_intake.h"

#include <algorithm>

namespace tutti::server {
namespace {

midi::StamperOptions StamperOptionsFor(const ServerConfig& config) {
  midi::StamperOptions o;
  o.max_span_us = config.max_midi_span_us;
  return o;
}

MidiIntakeResult Refuse(proto::ErrorCode code, std::string reason,
                        MidiCharge quota = MidiCharge::kNote) {
  MidiIntakeResult r;
  r.code = code;
  r.reason = std::move(reason);
  r.quota = quota;
  return r;
}

}  // namespace

MidiCharge ChargeOf(const midi::ChannelMessage& m) {
  if (m.IsNoteOn()) return MidiCharge::kNote;
  if (m.IsNoteOff()) return MidiCharge::kRelease;
  if (m.IsControlChange()) {
    switch (m.data1) {
      case midi::kCcSustain:
      case midi::kCcSostenuto:
      case midi::kCcSoft:
        return m.data2 < 64 ? MidiCharge::kRelease : MidiCharge::kController;
      case midi::kCcAllSoundOff:
      case midi::kCcResetAllControllers:
      case midi::kCcAllNotesOff:
        return MidiCharge::kRelease;
      default:
        return MidiCharge::kController;
    }
  }
  return MidiCharge::kController;  // program change, pitch bend, channel and poly pressure
}

MidiIntakeState::MidiIntakeState(const ServerConfig& config, int64_t now_us)
    : note_bucket(config.notes_per_second, config.note_burst, now_us),
      release_bucket(2 * config.notes_per_second, 2 * config.note_burst, now_us),
      controller_bucket(config.controllers_per_second, config.controller_burst, now_us),
      stamper(StamperOptionsFor(config)) {}

MidiIntakeResult TakeMidi(const proto::MidiMessage& midi, const ServerConfig& config,
                          const proto::ClockSyncStatus& clock, int64_t arrival_us,
                          SessionId session, const std::string& request_id,
                          MidiIntakeState* state) {
  MidiIntakeResult result;
  MidiRelay& relay = result.relay;
  relay.parsed.reserve(8);
  if (!midi.midi_data().empty()) {
    absl::Status st =
        midi::ParseChannelMessages(midi.midi_data(), config.max_midi_messages, &relay.parsed);
    if (!st.ok()) return Refuse(proto::INVALID_PARAMETERS, std::string(st.message()));
  }
  int64_t span = 0;
  for (const auto& e : midi.events()) {
    if (relay.parsed.size() >= config.max_midi_messages) {
      return Refuse(proto::INVALID_PARAMETERS, "too many MIDI events in one message");
    }
    const size_t before = relay.parsed.size();
    absl::Status st = midi::ParseChannelMessages(e.data(), 1, &relay.parsed);
    if (!st.ok()) return Refuse(proto::INVALID_PARAMETERS, std::string(st.message()));
    if (relay.parsed.size() != before + 1) {
      return Refuse(proto::INVALID_PARAMETERS, "each event carries exactly one message");
    }
    if (static_cast<int64_t>(e.delay_us()) > config.max_midi_span_us) {
      return Refuse(proto::INVALID_PARAMETERS, "event delay beyond the batch span limit");
    }
    span = std::max<int64_t>(span, e.delay_us());
  }
  if (relay.parsed.empty()) return Refuse(proto::INVALID_PARAMETERS, "no MIDI data");

  // Quotas in server time, one bucket per kind: note-ons, releases (their own, larger
  // bucket: refusing a note-off would leave a note stuck for everyone) and controllers
  // (CC, program, bend, pressure: a wheel streams them, a flooder would too). A batch passes
  // only if every bucket it draws on has room, so a refusal takes nothing.
  double notes = 0, releases = 0, controllers = 0;
  for (const auto& m : relay.parsed) {
    switch (ChargeOf(m)) {
      case MidiCharge::kNote:
        notes += 1;
        break;
      case MidiCharge::kRelease:
        releases += 0.25;
        break;
      case MidiCharge::kController:
        controllers += 1;
        break;
    }
  }
  if (notes > 0 && state->note_bucket.Available(arrival_us) < notes) {
    return Refuse(proto::RATE_LIMITED, "note quota exceeded", MidiCharge::kNote);
  }
  if (controllers > 0 && state->controller_bucket.Available(arrival_us) < controllers) {
    return Refuse(proto::RATE_LIMITED, "controller quota exceeded", MidiCharge::kController);
  }
  if (releases > 0 && state->release_bucket.Available(arrival_us) < releases) {
    return Refuse(proto::RATE_LIMITED, "note quota exceeded", MidiCharge::kRelease);
  }
  if (notes > 0) state->note_bucket.TryTake(notes, arrival_us);
  if (controllers > 0) state->controller_bucket.TryTake(controllers, arrival_us);
  if (releases > 0) state->release_bucket.TryTake(releases, arrival_us);

  midi::StampInput in;
  in.client_time_us = midi.timestamp();
  in.arrival_us = arrival_us;
  in.span_us = span;
  in.synced = clock.synced();
  in.error_bound_us = clock.error_bound_us();
  const midi::StampOutput stamp = state->stamper.Stamp(in);

  relay.session = session;
  relay.request_id = request_id;
  relay.sequence = ++state->sequence;
  relay.stamped_us = stamp.stamped_us;
  relay.arrival_us = arrival_us;
  relay.flags = stamp.flags;
  relay.midi_data = midi.midi_data();
  relay.events.reserve(static_cast<size_t>(midi.events_size()));
  for (const auto& e : midi.events()) {
    relay.events.emplace_back(e.data(), static_cast<uint32_t>(stamp.ClampDelay(e.delay_us())));
  }
  return result;
}

}  // namespace tutti::server
