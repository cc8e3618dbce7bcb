// Dispatcher handlers for the timing path: heartbeats (clock sync: t2 is the arrival
// time taken first thing on receipt) and MIDI (checked, charged and stamped by the pure
// intake in midi_intake.cc, then relayed by the room). Run on the session's shard; a
// batch reaches a room homed on the same shard by a call, not a post.
#include <string>
#include <utility>

#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/link_quality.h"
#include "server/midi_intake.h"
#include "server/room.h"
#include "server/shard.h"

namespace tutti::server {

// --- heartbeat / clock sync --------------------------------------------------------------

void Dispatcher::OnHeartbeat(Session& s, const proto::HeartbeatMessage& hb, int64_t arrival_us,
                             const std::string& rid) {
  // Clock-sync bursts (a handful of pings in the first second) fit the request bucket;
  // a heartbeat flood does not, and each refused one costs only a small error.
  if (!TakeRequest(s, rid)) return;
  if (hb.has_quality()) {
    // Refused whole (no echo either): a client reporting nonsense learns it at once.
    const ServerConfig& cfg = shard_->cluster().config();
    if (absl::Status st = ValidateQuality(hb.quality(), cfg.quality); !st.ok()) {
      return Error(s, proto::INVALID_PARAMETERS, std::string(st.message()), rid);
    }
    shard_->mutable_counters().quality_reports.Add(GradeQuality(hb.quality(), cfg.quality));
    if (!s.room_id().empty()) {
      shard_->OnRoom(s.room_id(),
                     [id = s.id(), q = hb.quality()](Room& r) { r.ReportQuality(id, q); });
    }
  }
  if (hb.has_clock()) s.clock = hb.clock();
  proto::ClientMessage out;
  auto* r = out.mutable_heartbeat_message();
  r->set_timestamp(hb.timestamp());
  r->set_server_receive_time(arrival_us);
  r->set_server_send_time(shard_->NowUs());
  Reply(s, std::move(out), rid);
}

// --- MIDI -------------------------------------------------------------------------------------

void Dispatcher::OnMidi(Session& s, const proto::MidiMessage& midi, int64_t arrival_us,
                        const std::string& rid) {
  if (s.room_id().empty()) return Error(s, proto::WRONG_STATE, "not in a room", rid);
  // A batch the sender numbered and sent on both of its connections is taken once: the
  // first copy to arrive decides, whatever becomes of it (docs/PROTOCOL.md §16).
  if (!s.midi(arrival_us).taken.Take(midi.sequence())) {
    ++shard_->mutable_counters().midi_duplicates;
    return;
  }
  MidiIntakeResult in = TakeMidi(midi, shard_->cluster().config(), s.clock, arrival_us, s.id(), rid,
                                 &s.midi(arrival_us));
  if (in.code == proto::RATE_LIMITED) {
    const metrics::RateBucket bucket =
        in.quota == MidiCharge::kController ? metrics::RateBucket::kMidiControllers
        : in.quota == MidiCharge::kRelease  ? metrics::RateBucket::kMidiReleases
                                            : metrics::RateBucket::kMidiNotes;
    return RateLimited(s, bucket, in.reason, rid);
  }
  if (!in.ok()) return Error(s, in.code, in.reason, rid);
  shard_->OnRoom(s.room_id(),
                 [relay = std::move(in.relay)](Room& r) mutable { r.Midi(std::move(relay)); });
}

}  // namespace tutti::server
