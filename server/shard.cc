#include "server/shard.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>

#include "server/ban_sync.h"
#include "server/broker_select.h"
#include "server/endpoint.h"
#include "server/envelope.h"
#include "server/held_ticker.h"
#include "server/idle_sweep.h"
#include "server/loop_lag_probe.h"
#include "server/node_bus.h"
#include "server/resume_tokens.h"
#include "server/server_log.h"
#include "server/store/store.h"

namespace tutti::server {
namespace {

constexpr auto kAuditPrunePeriod = std::chrono::hours(1);
constexpr int kShutdownGraceMs = 3000;

}  // namespace

thread_local Shard* Shard::current_ = nullptr;

Shard::Shard(int index, Cluster* cluster, DoorServices* door)
    : index_(index), cluster_(cluster), door_(door), io_(1), sweep_timer_(io_) {
  std::random_device entropy;
  const uint64_t draw = (static_cast<uint64_t>(entropy()) << 32) | entropy();
  next_session_serial_ = 1 + draw % ((uint64_t{1} << 40) - 1);
  idle_ = std::make_unique<IdleSweeper>(
      io_, cluster_->clock(), cluster_->config().idle_timeout_ms,
      [this](SessionId id) -> std::optional<int64_t> {
        ++counters_.idle_checks;
        Session* s = FindSession(id);
        if (!s || s->closing()) return std::nullopt;
        return s->last_activity_us;
      },
      [this](SessionId id) {
        if (Session* s = FindSession(id)) s->Close(kCloseIdle, "idle timeout");
      });
  held_ = std::make_unique<HeldTicker>(io_, cluster_->config().held_notes_snapshot_ms,
                                       [this](const std::string& room_id) {
                                         ++counters_.held_rooms_ticked;
                                         Room* room = FindRoom(room_id);
                                         return room != nullptr && room->TickHeldNotes();
                                       });
  lag_ =
      std::make_unique<LoopLagProbe>(io_, &counters_.loop_lag_last_us, &counters_.loop_lag_max_us,
                                     &counters_.loop_probes, [this] { SampleOutbound(); });
  endpoint_ = std::make_unique<Endpoint>(this);
  parked_ = std::make_unique<ParkedSessions>(
      io_, &cluster_->clock(), [this](ParkedSessions::Parked p) { ParkedExpired(std::move(p)); });
  broker_ = MakeShardBroker(
      io_, &cluster_->clock(), cluster_->config(),
      [this](bool up) { NoticeLocal(StreamsNoticeFrame(up), [](const Session&) { return true; }); },
      /*node_bus=*/index_ == 0, &cluster_->log());
}

Shard::~Shard() = default;

void Shard::Post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

void Shard::StartThread() {
  // Idle deadlines and held-notes ticks arm their own timers when there is something to
  // do; shard 0 also prunes the audit log (Server::Start has just done it once).
  if (index_ == 0) PruneAuditHourly();
  lag_->Start();
  thread_ = std::thread([this] {
    current_ = this;  // the typed calls' same-shard shortcut asks who runs them
    // No exception may take a shard down with every room and session on it; handlers
    // report errors as values, and anything that still escapes is logged and survived.
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tutti: shard %d: unexpected exception: %s\n", index_, e.what());
      }
    }
  });
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  // Shard 0's node bus says goodbye first (its presence goes, the farewell is published):
  // a client that never finishes the close handshake would otherwise hold the shard until
  // the grace below stops the loop, and the farewell with it.
  if (NodeBus* bus = broker_ ? broker_->node_bus() : nullptr) bus->Leave();
  held_->Stop();
  idle_->Stop();
  parked_->Stop();
  hooks_->Stop();
  lag_->Stop();
  endpoint_->StopListening();
  for (auto& [id, s] : sessions_) s->Close(kCloseGoingAway, "server shutting down");
  for (auto& [id, l] : links_) l.conn->Close(kCloseGoingAway, "server shutting down");
  // Clients that do not answer the close handshake are cut off after a grace period.
  sweep_timer_.expires_after(std::chrono::milliseconds(kShutdownGraceMs));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) io_.stop();
  });
  if (sessions_.empty()) {
    sweep_timer_.cancel();
    StopShardBroker(broker_.get());  // a networked engine's links keep the loop running
  }
}

// The store is shared, so only shard 0 keeps the audit log within its retention.
void Shard::PruneAuditHourly() {
  sweep_timer_.expires_after(kAuditPrunePeriod);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    if (std::optional<int64_t> cutoff = cluster_->AuditCutoffMs()) {
      cluster_->RunStorage(
          *this, [c = *cutoff](store::Store& st) { st.PruneAudit(c).IgnoreError(); }, [] {});
    }
    PruneAuditHourly();
  });
}

// --- sessions -------------------------------------------------------------------------

Session* Shard::AddSession(crypto::Identity identity, std::unique_ptr<SessionLink> link,
                           ResumeRequest resume) {
  const SessionId id = MakeSessionId(next_session_serial_++, index_);
  auto session = std::make_unique<Session>(id, std::move(identity), std::move(link),
                                           cluster_->config(), NowUs());
  Session* s = session.get();
  s->set_counters(&counters_);
  sessions_.emplace(id, std::move(session));
  if (shutting_down_) {
    s->Close(kCloseGoingAway, "server shutting down");
    return s;
  }
  idle_->Track(id);
  hooks_->SessionStarted(*s);
  OnSocial([id, user = s->user()](Social& social) { social.SessionOnline(id, user); });
  if (resume.asked) StartResume(*s, std::move(resume));
  return s;
}

Session* Shard::FindSession(SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Shard::EndSession(SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  hooks_->SessionEnded(id);
  cluster_->resume_tokens().Revoke(id);  // gone for good: nothing left to resume
  CloseLinkOf(*s, kCloseLinkSessionGone, "linked session ended");
  if (broker_) broker_->DropResume(id);
  const std::vector<std::string> rooms = membership_.End(*s);
  std::string user_id = s->user().user_id();
  // Gone before the rooms hear of it, so that what they answer (a RoomLeft, a join that
  // was in flight) finds no session, whether it runs now (same shard) or later.
  sessions_.erase(it);
  for (const std::string& room_id : rooms) {
    // The room releases what this sender held (synthetic note-offs) and tells the others.
    OnRoom(room_id, [id](Room& r) { r.Leave(id, "disconnected", ""); });
  }
  OnSocial([id, user_id](Social& social) { social.SessionOffline(id, user_id); });
  if (shutting_down_ && sessions_.empty()) {
    sweep_timer_.cancel();
    StopShardBroker(broker_.get());
  }
}

void Shard::CloseBannedSessions() {
  auto bans = cluster_->bans();
  const int64_t now = UnixMs();
  for (auto& [id, s] : sessions_) {
    if (!s->closing() && bans->Match(s->user().user_id(), s->remote_ip(), now)) {
      s->Close(kCloseBanned, "banned from this server");
    }
  }
}

void Shard::ApplyRemoteBans(std::vector<BanChange> changes) {
  Cluster* srv = cluster_;
  const int64_t now = UnixMs();
  auto result = std::make_shared<BanSyncResult>();
  auto follow = std::make_shared<BanFollowUp>();
  const bool queued = Storage(
      [srv, changes = std::move(changes), result, follow, now](store::Store& st) {
        // The snapshot before the sync: even when the store had a change already (a
        // shared store), the snapshot may not (FollowUpBanSync).
        const std::shared_ptr<const moderation::BanList> before = srv->bans();
        *result = SyncServerBans(st, changes, now);
        *follow = FollowUpBanSync(*before, changes, *result, now);
        if (follow->republish) srv->RepublishBans(st);
      },
      [srv, result, follow] {
        for (const auto& [ban, add] : result->applied) {
          srv->log().Warn(add ? "ban.add" : "ban.lift",
                          {{"target", ban.target}, {"actor", ban.actor}, {"via", "node bus"}});
        }
        if (!result->status.ok()) {
          srv->log().Error("ban.remote_failed", {{"reason", result->status.ToString()}});
        }
        if (!follow->close) return;
        for (int i = 0; i < srv->shard_count(); ++i) {
          Shard& t = srv->shard(i);
          t.Post([&t] { t.CloseBannedSessions(); });
        }
      });
  if (!queued) cluster_->log().Error("ban.remote_dropped", {{"reason", "store busy"}});
}

void Shard::HandleFrame(SessionId id, const std::string& payload, bool binary) {
  Session* s = FindSession(id);
  if (!s || s->closing()) return;
  ++counters_.frames_in;
  counters_.bytes_in += payload.size();
  hooks_->OnFrame(*s, payload, binary, NowUs());
}

// --- rooms -----------------------------------------------------------------------------

// --- RoomHost -----------------------------------------------------------------------------

int64_t Shard::NowUs() { return cluster_->clock().NowUs(); }

void Shard::AppendAuditDetached(moderation::AuditRecord rec) {
  cluster_->RunStorage(
      *this, [rec = std::move(rec)](store::Store& st) { st.AppendAudit(rec).IgnoreError(); },
      [] {});
}

int64_t Shard::UnixMs() { return cluster_->clock().UnixMs(); }

void Shard::PostToRoom(const std::string& room_id, std::function<void(Room&)> fn) {
  OnRoom(room_id, std::move(fn), Hop::kQueued);
}

bool Shard::Storage(std::function<void(store::Store&)> work, std::function<void()> then) {
  return cluster_->RunStorage(*this, std::move(work), std::move(then));
}

void Shard::ApplyProfile(SessionId session, const proto::AvatarData& avatar) {
  OnSession(session, [avatar](Session& s) {
    // The stored look and status; the position stays where the client put it.
    proto::AvatarData* mine = s.mutable_user().mutable_avatar();
    const float x = mine->x(), y = mine->y();
    *mine = avatar;
    mine->set_x(x);
    mine->set_y(y);
  });
}

void Shard::DeliverToShard(int shard, const std::string& room_id, const Frame& frame,
                           SessionId exclude, bool droppable) {
  OnShard(shard, [room_id, frame, exclude, droppable](Shard& target) {
    target.DeliverLocal(room_id, frame, exclude, droppable);
  });
}

void Shard::DeliverLocal(const std::string& room_id, const Frame& frame, SessionId exclude,
                         bool droppable) {
  membership_.ForEachMember(room_id, [&](Session& s) {
    if (s.id() == exclude) return;
    Count(s.Send(frame, droppable));
    // Room events (never the droppable position and status updates, which carry no
    // stream position to tell copies apart by) go on the session's link as well.
    if (!droppable && s.link_id != 0) SendToLink(s, frame);
  });
}

void Shard::SendLocal(SessionId session, const Frame& frame) {
  if (Session* s = FindSession(session)) return Count(s->Send(frame, false));
  // Parked for a resume: private messages and friend events wait for it (bounded).
  parked_->Hold(session, frame);
}

void Shard::NoticeLocal(const Frame& frame, const std::function<bool(const Session&)>& want) {
  for (auto& [id, s] : sessions_) {
    if (!s->closing() && want(*s)) Count(s->Send(frame, false));
  }
}

void Shard::CloseAllLocal(uint16_t code, const std::string& reason) {
  for (auto& [id, s] : sessions_) s->Close(code, reason);
}

std::vector<std::string> Shard::RoomOwnerIds() const {
  std::vector<std::string> owners;
  for (const auto& [id, room] : rooms_) {
    if (!room->owner_id().empty()) owners.push_back(room->owner_id());
  }
  return owners;
}

void Shard::Count(Session::SendResult r) {
  // Drops and slow-consumer closes are counted by Session::Send itself.
  if (r == Session::SendResult::kQueued) ++counters_.frames_out;
}

// One read of the endpoint's running sum: visiting every session here cost an idle shard
// of 10,000 members ~0.3 us per session each second (docs/PERFORMANCE.md).
void Shard::SampleOutbound() { counters_.outbound_queue_bytes.Set(endpoint_->QueuedBytes()); }

void Shard::SendToSession(SessionId session, const Frame& frame) {
  OnShard(ShardOfSession(session),
          [session, frame](Shard& target) { target.SendLocal(session, frame); });
}

void Shard::MemberJoined(SessionId session, const std::string& room_id, const Frame& response) {
  ++counters_.members_joined;
  // Runs on the room's home shard: friends see where a user plays, but not private rooms.
  const Room* joined = FindRoom(room_id);
  std::string visible = joined && joined->Info().room_type() == proto::PRIVATE ? "" : room_id;
  // Called from inside Room::Join: what this starts in rooms and Social is queued, so
  // no room is re-entered and the response goes out before the previous room's RoomLeft.
  OnShard(ShardOfSession(session), [session, room_id, response, visible](Shard& target) {
    Session* s = target.FindSession(session);
    if (!s) {
      // The session ended while its join was in flight (a password check, a walk along
      // full lobbies): the leave it posted may have reached the room first, so undo
      // the join here or the room keeps a ghost member.
      target.OnRoom(
          room_id, [session](Room& r) { r.Leave(session, "disconnected", ""); }, Hop::kQueued);
      return;
    }
    if (s->join_started_us > 0) {
      const int64_t took = target.NowUs() - s->join_started_us;
      target.counters_.join_latency_us.Observe(took > 0 ? static_cast<uint64_t>(took) : 0);
      s->join_started_us = 0;
    }
    Membership::Previous previous = target.membership_.Joined(*s, room_id);
    target.ShareResume(*s);
    if (!previous.room_id.empty()) {
      // Joined elsewhere: now leave the previous room (it releases held notes first).
      // The switch was this request's doing, so its RoomLeft echoes the request id.
      target.OnRoom(
          previous.room_id,
          [session, rid = previous.request_id](Room& r) { r.Leave(session, "left", rid); },
          Hop::kQueued);
    }
    target.OnSocial([session, user_id = s->user().user_id(),
                     visible](Social& social) { social.RoomChanged(session, user_id, visible); },
                    Hop::kQueued);
    s->Send(response, false);
  });
}

void Shard::JoinFailed(SessionId session, const std::string& room_id, const Frame& error) {
  OnShard(ShardOfSession(session), [session, error](Shard& target) {
    Session* s = target.FindSession(session);
    if (!s) return;
    target.membership_.AbandonJoin(*s);
    s->Send(error, false);
    // A resume answered in no room ("room closed", "no longer in the room").
    target.FinishResume(*s);
  });
}

void Shard::MemberLeft(SessionId session, const std::string& room_id, const Frame& notice) {
  ++counters_.members_left;
  OnShard(ShardOfSession(session), [session, room_id, notice](Shard& target) {
    Session* s = target.FindSession(session);
    if (!s) return;
    if (target.membership_.Left(*s, room_id)) {
      target.ShareResume(*s);
      target.OnSocial([session, user_id = s->user().user_id()](
                          Social& social) { social.RoomChanged(session, user_id, ""); },
                      Hop::kQueued);
    }
    if (notice) s->Send(notice, false);
  });
}

void Shard::RoomChanged(const std::string& room_id) { hooks_->RoomChanged(room_id); }

void Shard::RoomHoldsNotes(const std::string& room_id) { held_->Add(room_id); }

size_t Shard::held_rooms_listed() const { return held_->listed(); }

}  // namespace tutti::server
