// Room's side of server-side recording (docs/PROTOCOL.md §14): who may start, stop, list
// and download, what the members are told, and the room's MIDI handed to the recording
// writer as values. Runs on the room's shard like the rest of Room; nothing here waits for
// the writer: its answers come back through RoomHost::PostToRoom.
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "midi/midi_parse.h"
#include "midi/smf_writer.h"
#include "server/envelope.h"
#include "server/room.h"

namespace tutti::server {
namespace {

proto::ErrorCode CodeOf(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kNotFound:
      return proto::NOT_FOUND;
    case absl::StatusCode::kInvalidArgument:
      return proto::INVALID_PARAMETERS;
    case absl::StatusCode::kResourceExhausted:
      return proto::LIMIT_REACHED;
    case absl::StatusCode::kUnavailable:
      return proto::UNSUPPORTED;
    default:
      return proto::INTERNAL_ERROR;
  }
}

}  // namespace

void Room::BroadcastWithEcho(proto::ClientMessage msg, SessionId session,
                             const std::string& request_id) {
  StampType(&msg);
  if (request_id.empty()) return Broadcast(std::move(msg), 0, /*droppable=*/false);
  Broadcast(msg, session, /*droppable=*/false, EchoToSender(session, request_id));
}

void Room::Recording(SessionId session, const proto::RecordingCommand& cmd,
                     const std::string& request_id) {
  auto it = members_.find(session);
  if (it == members_.end())
    return Error(session, proto::WRONG_STATE, "not in this room", request_id);
  const Member& actor = it->second;
  if (!moderation::MayUse(RoleOf(actor), moderation::CommandKind::kRecord)) {
    return Error(session, proto::PERMISSION_DENIED,
                 "recording is for room staff (owner and moderators)", request_id);
  }
  RecordingService* service = host_->recordings();
  if (service == nullptr) {
    return Error(session, proto::UNSUPPORTED, "recording is off on this server", request_id);
  }
  switch (cmd.action()) {
    case proto::RECORDING_START:
      return StartRecording(session, actor, request_id);
    case proto::RECORDING_STOP: {
      if (!recording_) return Error(session, proto::WRONG_STATE, "not recording", request_id);
      // Read before the stop is queued: the writer forgets the count when it finishes.
      const uint64_t dropped = service->QueueDropped(recording_->id);
      service->Stop(recording_->id, host_->NowUs(), nullptr);
      return EndRecording(recording_->id, "stopped", &actor, request_id, session, dropped);
    }
    case proto::RECORDING_LIST:
      return ListRecordings(session, request_id, /*as_lines=*/false);
    case proto::RECORDING_DOWNLOAD: {
      service->Read(id_, cmd.recording_id(), cmd.offset(), cmd.max_bytes(),
                    [host = host_, room = id_, session, request_id,
                     rec = cmd.recording_id()](RecordingChunkRead read) {
                      host->PostToRoom(room, [session, request_id, rec,
                                              read = std::move(read)](Room& r) mutable {
                        if (!read.status.ok()) {
                          return r.Error(session, CodeOf(read.status),
                                         std::string(read.status.message()), request_id);
                        }
                        proto::ClientMessage out;
                        auto* chunk = out.mutable_recording_chunk();
                        chunk->set_recording_id(rec);
                        chunk->set_offset(read.offset);
                        chunk->set_total_bytes(read.total);
                        chunk->set_last(read.offset + read.data.size() >= read.total);
                        chunk->set_data(std::move(read.data));
                        r.SendTo(session, std::move(out), request_id);
                      });
                    });
      return;
    }
    default:
      return Error(session, proto::INVALID_PARAMETERS, "unknown recording action", request_id);
  }
}

void Room::CommandRecord(SessionId session, const Member& actor,
                         const moderation::ParsedCommand& cmd, const std::string& request_id) {
  proto::RecordingCommand rc;
  if (cmd.target == "start") {
    rc.set_action(proto::RECORDING_START);
  } else if (cmd.target == "stop") {
    rc.set_action(proto::RECORDING_STOP);
  } else {
    if (!moderation::MayUse(RoleOf(actor), moderation::CommandKind::kRecord)) {
      return Error(session, proto::PERMISSION_DENIED,
                   "recording is for room staff (owner and moderators)", request_id);
    }
    if (host_->recordings() == nullptr) {
      return Error(session, proto::UNSUPPORTED, "recording is off on this server", request_id);
    }
    return ListRecordings(session, request_id, /*as_lines=*/true);
  }
  Recording(session, rc, request_id);
}

void Room::ListRecordings(SessionId session, const std::string& request_id, bool as_lines) {
  host_->recordings()->List(id_, [host = host_, room = id_, session, request_id,
                                  as_lines](std::vector<RecordingFile> files) {
    host->PostToRoom(room, [session, request_id, as_lines, files = std::move(files)](Room& r) {
      if (as_lines) {
        std::vector<std::string> lines;
        for (const RecordingFile& f : files) {
          lines.push_back(
              absl::StrCat(f.recording_id, " ", f.bytes, " bytes", f.active ? " (recording)" : ""));
        }
        if (lines.empty()) lines.push_back("no recordings");
        return r.Result(session, "record", true, std::move(lines), request_id);
      }
      proto::ClientMessage out;
      auto* list = out.mutable_recording_list();
      list->set_room_id(r.id());
      for (const RecordingFile& f : files) {
        auto* e = list->add_recordings();
        e->set_recording_id(f.recording_id);
        e->set_started_unix_ms(f.started_unix_ms);
        e->set_bytes(f.bytes);
        e->set_active(f.active);
      }
      r.SendTo(session, std::move(out), request_id);
    });
  });
}

void Room::StartRecording(SessionId session, const Member& actor, const std::string& request_id) {
  if (recording_) return Error(session, proto::WRONG_STATE, "already recording", request_id);
  RecordingStartParams params;
  params.room_id = id_;
  params.title = name_;
  params.start_us = host_->NowUs();
  params.start_unix_ms = host_->UnixMs();
  params.us_per_quarter = RecordingTempo();
  auto started =
      host_->recordings()->Start(params, [host = host_, room = id_](const RecordingEnd& end) {
        host->PostToRoom(room, [end](Room& r) {
          if (r.recording_ && r.recording_->id == end.recording_id) {
            r.EndRecording(end.recording_id, end.reason, nullptr, "", 0, end.dropped);
          }
        });
      });
  if (!started.ok()) {
    return Error(session, CodeOf(started.status()), std::string(started.status().message()),
                 request_id);
  }
  recording_ = ActiveRecording{*started, params.start_us, params.start_unix_ms};
  // What sounds at the start is in the file from tick 0, so notes held across the start
  // are not cut off (and their releases have something to release).
  for (const auto& [sid, m] : members_) {
    if (!m.held.HasState()) continue;
    std::vector<RecordedEvent> events;
    for (const midi::ChannelMessage& msg : HeldStateMessages(m.held)) {
      events.push_back({params.start_us, msg});
    }
    Record(m, std::move(events));
  }
  proto::ClientMessage out;
  auto* status = out.mutable_recording_status();
  status->set_room_id(id_);
  status->set_active(true);
  status->set_recording_id(recording_->id);
  status->set_actor_user_id(actor.user.user_id());
  status->set_actor_username(actor.user.username());
  status->set_started_server_time(params.start_us);
  status->set_started_unix_ms(params.start_unix_ms);
  BroadcastWithEcho(std::move(out), session, request_id);
  SystemLine(actor.user.username() + " started recording this room");
  host_->RoomChanged(id_);
}

void Room::EndRecording(const std::string& recording_id, const std::string& reason,
                        const Member* actor, const std::string& request_id, SessionId session,
                        uint64_t dropped) {
  proto::ClientMessage out;
  auto* status = out.mutable_recording_status();
  status->set_room_id(id_);
  status->set_active(false);
  status->set_recording_id(recording_id);
  if (actor != nullptr) {
    status->set_actor_user_id(actor->user.user_id());
    status->set_actor_username(actor->user.username());
  }
  status->set_started_server_time(recording_->start_us);
  status->set_started_unix_ms(recording_->start_unix_ms);
  status->set_stop_reason(reason);
  status->set_events(recording_->events);
  status->set_dropped(dropped);
  const std::string who = actor != nullptr ? actor->user.username() : "";
  recording_.reset();
  BroadcastWithEcho(std::move(out), session, request_id);
  SystemLine(actor != nullptr ? who + " stopped recording this room"
                              : "recording stopped: " + reason);
  host_->RoomChanged(id_);
}

void Room::StopRecordingOnClose() {
  if (!recording_) return;
  if (RecordingService* service = host_->recordings()) {
    service->Stop(recording_->id, host_->NowUs(), nullptr);
  }
  recording_.reset();
}

uint32_t Room::RecordingTempo() const {
  // An SMF tempo counts quarter notes; the room's bpm counts beats of its beat unit
  // (§15: one beat lasts 60e6 / bpm µs), so a beat of 1/8 is half a quarter.
  const double beat_us = 60e6 / tempo_.bpm();
  return static_cast<uint32_t>(std::lround(beat_us * tempo_.beat_unit() / 4.0));
}

void Room::RecordTempoChange() {
  if (!recording_) return;
  if (RecordingService* service = host_->recordings()) {
    service->Tempo(recording_->id, host_->NowUs(), RecordingTempo());
  }
}

std::vector<midi::ChannelMessage> Room::HeldStateMessages(const midi::HeldNotes& held) {
  std::vector<midi::ChannelMessage> out;
  for (uint8_t ch = 0; ch < 16; ++ch) {
    if (held.program(ch) >= 0) {
      out.push_back(midi::MakeProgramChange(ch, static_cast<uint8_t>(held.program(ch))));
    }
    if (held.SustainDown(ch)) out.push_back(midi::MakeControlChange(ch, midi::kCcSustain, 127));
  }
  held.ForEachHeld([&out](uint8_t channel, uint8_t note, uint8_t velocity) {
    out.push_back(midi::MakeNoteOn(channel, note, velocity));
  });
  return out;
}

void Room::Record(const Member& m, std::vector<RecordedEvent> events) {
  if (!recording_ || events.empty()) return;
  RecordingService* service = host_->recordings();
  if (service == nullptr) return;
  recording_->events += events.size();
  service->Events(recording_->id, m.user.user_id(), m.user.username(), std::move(events));
}

void Room::RecordBytes(const Member& m, const std::string& bytes, int64_t server_us) {
  std::vector<midi::ChannelMessage> parsed;
  if (!midi::ParseChannelMessages(bytes, bytes.size(), &parsed).ok()) return;
  std::vector<RecordedEvent> events;
  events.reserve(parsed.size());
  for (const auto& msg : parsed) events.push_back({server_us, msg});
  Record(m, std::move(events));
}

void Room::RecordRelay(const Member& m, const MidiRelay& relay) {
  // The relayed bytes were validated on intake; parsed again here only while recording,
  // each message at its own time: the batch's stamp, each event's stamp + delay_us.
  std::vector<midi::ChannelMessage> parsed;
  std::vector<RecordedEvent> events;
  if (midi::ParseChannelMessages(relay.midi_data, config_->max_midi_messages, &parsed).ok()) {
    for (const auto& msg : parsed) events.push_back({relay.stamped_us, msg});
  }
  for (const auto& [data, delay] : relay.events) {
    midi::ChannelMessage msg;
    if (midi::ParseOneChannelMessage(data, &msg).ok()) {
      events.push_back({relay.stamped_us + static_cast<int64_t>(delay), msg});
    }
  }
  Record(m, std::move(events));
}

}  // namespace tutti::server
