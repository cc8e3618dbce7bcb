#include "tools/midi_bridge/midi_link.h"

#include <algorithm>
#include <string>
#include <utility>

namespace tutti::bridge {

bool DecodeRelayed(const proto::MidiMessage& m, midi::RelayedBatch* out) {
  out->session_id = m.session_id();
  out->sequence = m.sequence();
  out->stamped_us = m.timestamp();
  out->flags = m.flags();
  out->events.clear();
  if (!m.midi_data().empty()) {
    std::vector<midi::ChannelMessage> at_stamp;
    if (!midi::ParseChannelMessages(m.midi_data(), 1024, &at_stamp).ok()) return false;
    for (const auto& msg : at_stamp) out->events.push_back({msg, 0});
  }
  for (const auto& e : m.events()) {
    midi::RelayedEvent ev;
    if (!midi::ParseOneChannelMessage(e.data(), &ev.message).ok()) return false;
    ev.delay_us = e.delay_us();
    out->events.push_back(ev);
  }
  return !out->events.empty();
}

midi::HeldSnapshot DecodeSnapshot(const proto::HeldNotesSnapshot& s) {
  midi::HeldSnapshot h;
  h.session_id = s.session_id();
  h.sequence = s.sequence();
  h.sustain_channels = static_cast<uint16_t>(s.sustain_channels() & 0xFFFF);
  for (const auto& n : s.notes()) {
    h.notes.push_back(
        {static_cast<uint8_t>(n.channel() & 0x0F), static_cast<uint8_t>(n.note() & 0x7F)});
  }
  return h;
}

std::vector<midi::ChannelMessage> SnapshotControllerMessages(const proto::HeldNotesSnapshot& s) {
  std::vector<midi::ChannelMessage> out;
  for (const auto& c : s.controllers()) {
    const auto ch = static_cast<uint8_t>(c.channel() & 0x0F);
    if (c.has_program()) out.push_back(midi::MakeProgramChange(ch, c.program() & 0x7F));
    const auto bend = static_cast<uint16_t>(std::min<uint32_t>(c.pitch_bend(), 0x3FFF));
    if (bend != midi::kPitchBendCenter) out.push_back(midi::MakePitchBend(ch, bend));
    if ((c.mod_wheel() & 0x7F) != 0) {
      out.push_back(midi::MakeControlChange(ch, midi::kCcModWheel, c.mod_wheel() & 0x7F));
    }
  }
  const std::pair<uint8_t, uint32_t> pedals[] = {{midi::kCcSustain, s.sustain_channels()},
                                                 {midi::kCcSostenuto, s.sostenuto_channels()},
                                                 {midi::kCcSoft, s.soft_channels()}};
  for (const auto& [cc, mask] : pedals) {
    for (uint8_t ch = 0; ch < 16; ++ch) {
      if ((mask >> ch) & 1) out.push_back(midi::MakeControlChange(ch, cc, 127));
    }
  }
  return out;
}

MidiLink::MidiLink(MidiLinkOptions o)
    : options_(std::move(o)),
      clock_(options_.clock),
      buffer_(&clock_, options_.receiver),
      quality_(options_.quality) {}

void MidiLink::OnConnected(int64_t local_now) {
  connected_ = true;
  if (clock_.has_estimate()) clock_.OnReconnect();
  next_watchdog_us_ = local_now + options_.watchdog_interval_us;
}

void MidiLink::OnMessage(const proto::ClientMessage& m, int64_t local_now, LinkOutput* out) {
  switch (m.message_case()) {
    case proto::ClientMessage::kWelcome: {
      session_id_ = m.welcome().user().session_id();
      const uint32_t limit = m.welcome().limits().max_events_per_midi_message();
      if (limit > 0)
        options_.max_events_per_batch = std::min<size_t>(options_.max_events_per_batch, limit);
      break;
    }
    case proto::ClientMessage::kHeartbeatMessage: {
      const auto& hb = m.heartbeat_message();
      // Replies to our pings only (t1 is our clock); a bare server heartbeat has no t2/t3.
      if (hb.server_receive_time() != 0 && hb.server_send_time() != 0 &&
          clock_.OnSample(hb.timestamp(), hb.server_receive_time(), hb.server_send_time(),
                          local_now)) {
        ++counters_.clock_samples;
        quality_.OnRoundTrip((local_now - hb.timestamp()) -
                             (hb.server_send_time() - hb.server_receive_time()));
      }
      break;
    }
    case proto::ClientMessage::kMidiMessage:
      OnMidi(m.midi_message(), local_now, out);
      break;
    case proto::ClientMessage::kHeldNotesSnapshot:
      ApplySnapshot(m.held_notes_snapshot(), local_now, out);
      break;
    case proto::ClientMessage::kRoomJoinedResponse:
      for (const auto& s : m.room_joined_response().held_notes()) ApplySnapshot(s, local_now, out);
      break;
    case proto::ClientMessage::kRoomSnapshot:
      for (const auto& s : m.room_snapshot().held_notes()) ApplySnapshot(s, local_now, out);
      break;
    case proto::ClientMessage::kResumeResult:
      // Unrecoverable: the snapshot is the room's state to start from.
      for (const auto& s : m.resume_result().snapshot().held_notes()) {
        ApplySnapshot(s, local_now, out);
      }
      break;
    case proto::ClientMessage::kMemberConnection: {
      // A sender back under a new session id: the old id's queue plays out and goes.
      const uint64_t previous = m.member_connection().previous_session_id();
      if (!m.member_connection().reconnecting() && previous != 0 &&
          departing_.count(previous) == 0) {
        departing_[previous] = local_now + options_.leave_grace_us;
      }
      break;
    }
    case proto::ClientMessage::kUserLeftRoom: {
      const uint64_t sid = m.user_left_room().session_id();
      if (sid != 0 && departing_.count(sid) == 0) {
        departing_[sid] = local_now + options_.leave_grace_us;
      }
      break;
    }
    case proto::ClientMessage::kRoomLeft: {
      // We are out of the room: nobody will send note-offs for what is sounding.
      const size_t from = out->play.size();
      buffer_.DropConnection(local_now, &out->play);
      CountGenerated(out->play, from);
      departing_.clear();
      ReleaseSnapshotControls(0, local_now, out);
      break;
    }
    case proto::ClientMessage::kErrorMessage:
      ++counters_.errors;
      break;
    default:
      break;
  }
}

void MidiLink::OnReplayed(const proto::ClientMessage& m, int64_t local_now, LinkOutput* out) {
  if (!m.has_midi_message()) return OnMessage(m, local_now, out);
  const proto::MidiMessage& midi_msg = m.midi_message();
  if (midi_msg.session_id() == session_id_ && session_id_ != 0) return;
  midi::RelayedBatch batch;
  if (!DecodeRelayed(midi_msg, &batch)) {
    ++counters_.undecodable_batches;
    return;
  }
  ++counters_.replayed_batches;
  for (const midi::RelayedEvent& e : batch.events) {
    const bool note_on = (e.message.status & 0xF0) == 0x90 && e.message.data2 > 0;
    if (note_on) {
      ++counters_.replayed_dropped;
      continue;
    }
    midi::PlayedEvent ev;
    ev.session_id = batch.session_id;
    ev.local_us = local_now;
    ev.message = e.message;
    ev.flags = batch.flags;
    ev.sequence = batch.sequence;
    out->play.push_back(ev);
    ++counters_.replayed_forwarded;
  }
}

void MidiLink::OnMidi(const proto::MidiMessage& m, int64_t local_now, LinkOutput* out) {
  if (m.session_id() == session_id_ && session_id_ != 0) return;  // our own (never relayed)
  midi::RelayedBatch batch;
  if (!DecodeRelayed(m, &batch)) {
    ++counters_.undecodable_batches;
    return;
  }
  ++counters_.batches_received;
  if (m.flags() & midi::kFlagSynthetic) ++counters_.synthetic_batches;
  const midi::PushResult r = buffer_.Push(batch, local_now);
  if (!r.duplicate) {
    quality_.OnReceived(batch.events.size(), r.dropped, r.gap ? 1 : 0, local_now);
  }
  if (r.gap) {
    ++counters_.gaps;
    RequestSync(local_now, out);
  }
}

void MidiLink::ApplySnapshot(const proto::HeldNotesSnapshot& s, int64_t local_now,
                             LinkOutput* out) {
  if (s.session_id() == session_id_ && session_id_ != 0) return;
  if (!buffer_.ApplySnapshot(DecodeSnapshot(s), local_now)) return;  // stale
  ++counters_.snapshots_applied;
  // The controller state, now: the sender's later notes are queued behind it.
  std::vector<midi::ChannelMessage>& undo = snapshot_undo_[s.session_id()];
  for (const midi::ChannelMessage& m : SnapshotControllerMessages(s)) {
    midi::PlayedEvent ev;
    ev.session_id = s.session_id();
    ev.local_us = local_now;
    ev.message = m;
    ev.generated = true;
    ev.sequence = s.sequence();
    out->play.push_back(ev);
    ++counters_.snapshot_controls;
    const uint8_t ch = m.status & 0x0F;
    midi::ChannelMessage back;
    if ((m.status & 0xF0) == 0xE0)
      back = midi::MakePitchBend(ch, midi::kPitchBendCenter);
    else if ((m.status & 0xF0) == 0xB0)
      back = midi::MakeControlChange(ch, m.data1, 0);
    else
      continue;  // a program change needs no undo
    const bool known =
        std::any_of(undo.begin(), undo.end(), [&back](const midi::ChannelMessage& u) {
          return u.status == back.status && u.data1 == back.data1 && u.data2 == back.data2;
        });
    if (!known) undo.push_back(back);  // repeated snapshots must not grow it
  }
  if (undo.empty()) snapshot_undo_.erase(s.session_id());
}

void MidiLink::ReleaseSnapshotControls(uint64_t session, int64_t local_now, LinkOutput* out) {
  for (auto it = snapshot_undo_.begin(); it != snapshot_undo_.end();) {
    if (session != 0 && it->first != session) {
      ++it;
      continue;
    }
    for (const midi::ChannelMessage& m : it->second) {
      midi::PlayedEvent ev;
      ev.session_id = it->first;
      ev.local_us = local_now;
      ev.message = m;
      ev.generated = true;
      out->play.push_back(ev);
      ++counters_.snapshot_undos;
    }
    it = snapshot_undo_.erase(it);
  }
}

void MidiLink::RequestSync(int64_t local_now, LinkOutput* out) {
  if (have_sync_request_ && local_now - last_sync_request_us_ < options_.resync_interval_us) return;
  have_sync_request_ = true;
  last_sync_request_us_ = local_now;
  proto::ServerMessage msg;
  msg.mutable_server_command()->set_commandtype(proto::SYNC_STATE);
  out->send.push_back(std::move(msg));
  ++counters_.sync_requests;
}

void MidiLink::SendLocal(int64_t source_local_us, const std::vector<midi::ChannelMessage>& messages,
                         int64_t local_now, LinkOutput* out) {
  if (messages.empty()) return;
  const midi::ClockSyncStatus st = clock_.Status(local_now);
  // Unsynced: 0 asks the server to stamp on arrival (RESTAMPED) rather than trust a guess.
  const int64_t stamp = st.synced ? clock_.ServerTimeFromLocal(source_local_us) : 0;
  for (size_t i = 0; i < messages.size(); i += options_.max_events_per_batch) {
    const size_t end = std::min(messages.size(), i + options_.max_events_per_batch);
    proto::ServerMessage msg;
    auto* midi = msg.mutable_midi_message();
    std::string bytes;
    for (size_t k = i; k < end; ++k) midi::AppendBytes(messages[k], &bytes);
    midi->set_midi_data(std::move(bytes));
    midi->set_timestamp(stamp);
    out->send.push_back(std::move(msg));
    ++counters_.batches_sent;
    counters_.events_sent += end - i;
    if (stamp == 0) ++counters_.unsynced_batches;
  }
}

void MidiLink::Poll(int64_t local_now, LinkOutput* out) {
  const size_t due_from = out->play.size();
  buffer_.PopDue(local_now + options_.output_lookahead_us, &out->play);
  uint64_t played = 0, late = 0;
  for (size_t i = due_from; i < out->play.size(); ++i) {
    if (out->play[i].generated) continue;  // made here, not received
    ++played;
    if (out->play[i].late) ++late;
  }
  quality_.OnPlayed(played, late, local_now);
  // After the due events, so that the report counts them.
  if (connected_ && clock_.NextPingDelay(local_now) == 0) {
    proto::ServerMessage msg;
    auto* hb = msg.mutable_heartbeat_message();
    hb->set_timestamp(local_now);
    const midi::ClockSyncStatus st = clock_.Status(local_now);
    auto* c = hb->mutable_clock();
    c->set_synced(st.synced);
    c->set_offset_us(st.offset_us);
    c->set_error_bound_us(st.error_bound_us);
    c->set_skew_ppm(st.skew_ppm);
    if (options_.report_quality && st.synced) {
      proto::ConnectionQuality q;
      if (quality_.Fill(st.error_bound_us, local_now, &q)) *hb->mutable_quality() = q;
    }
    clock_.OnPingSent(local_now);
    out->send.push_back(std::move(msg));
    ++counters_.heartbeats_sent;
  }
  for (auto it = departing_.begin(); it != departing_.end();) {
    if (buffer_.queued(it->first) == 0 || local_now >= it->second) {
      const size_t from = out->play.size();
      buffer_.RemoveSender(it->first, local_now, &out->play);
      CountGenerated(out->play, from);
      ReleaseSnapshotControls(it->first, local_now, out);
      ++counters_.senders_removed;
      it = departing_.erase(it);
    } else {
      ++it;
    }
  }
  if (local_now >= next_watchdog_us_) {
    const size_t from = out->play.size();
    buffer_.Tick(local_now, &out->play);
    CountGenerated(out->play, from);
    next_watchdog_us_ = local_now + options_.watchdog_interval_us;
  }
}

int64_t MidiLink::NextWake(int64_t local_now) const {
  int64_t at = next_watchdog_us_;
  if (connected_) at = std::min(at, local_now + clock_.NextPingDelay(local_now));
  if (auto due = buffer_.NextDue()) at = std::min(at, *due - options_.output_lookahead_us);
  for (const auto& [sid, deadline] : departing_) at = std::min(at, deadline);
  return std::max(at, local_now);
}

void MidiLink::OnDisconnected(int64_t local_now, LinkOutput* out) {
  connected_ = false;
  const size_t from = out->play.size();
  buffer_.DropConnection(local_now, &out->play);
  CountGenerated(out->play, from);
  departing_.clear();
  ReleaseSnapshotControls(0, local_now, out);
}

void MidiLink::CountGenerated(const std::vector<midi::PlayedEvent>& played, size_t from) {
  for (size_t i = from; i < played.size(); ++i) counters_.local_releases += played[i].generated;
}

}  // namespace tutti::bridge
