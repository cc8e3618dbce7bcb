#include "server/maintenance.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/envelope.h"
#include "server/frame.h"
#include "server/server_log.h"
#include "server/session.h"
#include "server/shard.h"
#include "server/store/store.h"
#include "server/text.h"

namespace tutti::server {
namespace {

// Seconds before the end at which clients hear the time left again (besides the start).
constexpr int64_t kMarksS[] = {600, 300, 60, 30, 10, 5};

Frame NoticeFrame(const proto::ServerNotice& notice) {
  proto::ClientMessage msg;
  *msg.mutable_server_notice() = notice;
  StampType(&msg);
  return MakeFrame(msg);
}

}  // namespace

struct Maintenance::Countdown {
  std::string message;
  int64_t end_us = 0;
  int64_t end_unix_ms = 0;
  int64_t next_mark_s = 0;  // the next mark to announce; -1 once only the end is left
  bool over = false;        // the closes went out
};

Maintenance::Maintenance(Cluster* cluster) : cluster_(cluster), timer_(cluster->shard(0).io()) {}

Maintenance::~Maintenance() = default;

std::string Maintenance::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

void Maintenance::SetMode(bool on, std::string reason, std::string actor) {
  Shard& zero = cluster_->shard(0);
  zero.Post([this, on, reason = std::move(reason), actor = std::move(actor)]() mutable {
    SetModeOnShard0(on, std::move(reason), actor);
  });
}

void Maintenance::StartDrain(std::string message, int64_t seconds, std::string actor) {
  // Set here, not on shard 0, so that a caller waiting for drained() (tutti-server's main
  // after SIGTERM) sees the drain from the moment it asked for it.
  drained_.store(false);
  draining_.store(true);
  Shard& zero = cluster_->shard(0);
  zero.Post([this, message = std::move(message), seconds, actor = std::move(actor)]() mutable {
    StartDrainOnShard0(std::move(message), seconds, actor);
  });
}

void Maintenance::Cancel() {
  cluster_->shard(0).Post([this] { timer_.cancel(); });
}

void Maintenance::Record(moderation::AuditAction action, const std::string& actor,
                         const std::string& reason, int64_t until_unix_ms) {
  moderation::AuditRecord rec;
  rec.unix_ms = cluster_->clock().UnixMs();
  rec.actor = actor;
  rec.action = action;
  rec.reason = reason;
  rec.until_unix_ms = until_unix_ms;
  // The operator's words are the operator's, not a secret: they go to every client anyway.
  cluster_->log().Warn("maintenance." + std::string(moderation::AuditActionName(action)),
                       {{"actor", actor}, {"reason", reason}});
  // Best effort, as the automatic bans' records: a full storage queue must not stop a drain.
  cluster_->RunStorage(
      cluster_->shard(0), [rec](store::Store& st) { st.AppendAudit(rec).IgnoreError(); }, [] {});
}

void Maintenance::SetModeOnShard0(bool on, std::string reason, const std::string& actor) {
  reason = CleanText(reason, kMaxMessageBytes, false);
  const bool was_on = on_.load();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (on || !was_on) reason_ = reason;
  }
  on_.store(on);
  proto::ServerNotice notice;
  notice.set_kind(on ? proto::ServerNotice::MAINTENANCE_ON : proto::ServerNotice::MAINTENANCE_OFF);
  notice.set_message(
      on ? absl::StrCat("server unavailable - maintenance mode", reason.empty() ? "" : ": ", reason)
         : (reason.empty() ? std::string("maintenance mode over") : reason));
  bool everyone = false;
  if (!on && countdown_) {
    // A countdown everyone heard is called off: everyone hears that too.
    everyone = !countdown_->over;
    countdown_.reset();
    timer_.cancel();
    draining_.store(false);
    drained_.store(false);
  }
  if (on != was_on || everyone) Broadcast(notice, !everyone);
  Record(on ? moderation::AuditAction::kMaintenanceOn : moderation::AuditAction::kMaintenanceOff,
         actor, reason, 0);
}

void Maintenance::StartDrainOnShard0(std::string message, int64_t seconds,
                                     const std::string& actor) {
  seconds = std::clamp<int64_t>(seconds, 0, kMaxDrainSeconds);
  message = CleanText(message, kMaxMessageBytes, false);
  // Maintenance mode comes with it; every client hears of the drain itself, so no
  // MAINTENANCE_ON goes out as well.
  if (!on_.load()) {
    std::lock_guard<std::mutex> lock(mu_);
    reason_ = message;
    on_.store(true);
  }
  const Clock& clock = cluster_->clock();
  const int64_t end_us = clock.NowUs() + seconds * 1'000'000;
  if (!countdown_ || countdown_->over) {
    countdown_ = std::make_unique<Countdown>();
    countdown_->end_us = end_us;
  } else {
    countdown_->end_us = std::min(countdown_->end_us, end_us);
  }
  Countdown& c = *countdown_;
  c.message = message;
  const int64_t left_us = std::max<int64_t>(0, c.end_us - clock.NowUs());
  c.end_unix_ms = clock.UnixMs() + left_us / 1000;
  c.next_mark_s = -1;
  for (int64_t mark : kMarksS) {
    if (mark * 1'000'000 < left_us) {
      c.next_mark_s = mark;
      break;
    }
  }
  proto::ServerNotice notice;
  notice.set_kind(proto::ServerNotice::DRAIN);
  notice.set_message(c.message);
  notice.set_seconds_left((left_us + 999'999) / 1'000'000);
  notice.set_closes_at_unix_ms(c.end_unix_ms);
  notice.set_reconnect_after_ms(cluster_->config().drain_reconnect_after_ms);
  Broadcast(notice, false);
  Record(moderation::AuditAction::kDrain, actor, c.message, c.end_unix_ms);
  Arm();
}

void Maintenance::Arm() {
  if (!countdown_) return;
  const Countdown& c = *countdown_;
  const int64_t at_us = c.next_mark_s >= 0 ? c.end_us - c.next_mark_s * 1'000'000 : c.end_us;
  const int64_t wait_us = std::max<int64_t>(0, at_us - cluster_->clock().NowUs());
  timer_.expires_after(std::chrono::microseconds(wait_us));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

void Maintenance::Tick() {
  if (!countdown_ || countdown_->over) return;
  Countdown& c = *countdown_;
  const int64_t left_us = c.end_us - cluster_->clock().NowUs();
  if (left_us > 0 && c.next_mark_s >= 0 && left_us <= c.next_mark_s * 1'000'000 + 999'999) {
    proto::ServerNotice notice;
    notice.set_kind(proto::ServerNotice::DRAIN);
    notice.set_message(c.message);
    notice.set_seconds_left(c.next_mark_s);
    notice.set_closes_at_unix_ms(c.end_unix_ms);
    notice.set_reconnect_after_ms(cluster_->config().drain_reconnect_after_ms);
    Broadcast(notice, false);
    int64_t next = -1;
    for (int64_t mark : kMarksS) {
      if (mark < c.next_mark_s) {
        next = mark;
        break;
      }
    }
    c.next_mark_s = next;
  }
  if (left_us > 0) return Arm();
  // The end: every connection goes with 1001 and when to come back.
  const int64_t after_s = (cluster_->config().drain_reconnect_after_ms + 999) / 1000;
  const std::string why = absl::StrCat("server maintenance; reconnect in ", after_s, " s");
  for (int i = 0; i < cluster_->shard_count(); ++i) {
    cluster_->shard(0).OnShard(
        i, [why](Shard& s) { s.CloseAllLocal(kCloseGoingAway, why); }, Shard::Hop::kQueued);
  }
  c.over = true;
  drained_.store(true);
}

void Maintenance::Broadcast(const proto::ServerNotice& notice, bool owners_and_staff_only) {
  Shard& zero = cluster_->shard(0);
  const Frame frame = NoticeFrame(notice);
  const int n = cluster_->shard_count();
  if (!owners_and_staff_only) {
    for (int i = 0; i < n; ++i) {
      zero.OnShard(
          i, [frame](Shard& s) { s.NoticeLocal(frame, [](const Session&) { return true; }); },
          Shard::Hop::kQueued);
    }
    return;
  }
  // Owners first: each shard knows the owners of the rooms homed there. Gathered on shard 0,
  // then every shard tells its sessions that are staff or own a room.
  struct Gather {
    int pending = 0;
    std::unordered_set<std::string> owners;
  };
  auto g = std::make_shared<Gather>();
  g->pending = n;
  for (int i = 0; i < n; ++i) {
    zero.OnShard(
        i,
        [g, frame, n](Shard& s) {
          std::vector<std::string> owners = s.RoomOwnerIds();
          s.OnShard(
              0,
              [g, frame, n, owners = std::move(owners)](Shard& z) {
                g->owners.insert(owners.begin(), owners.end());
                if (--g->pending > 0) return;
                auto set =
                    std::make_shared<const std::unordered_set<std::string>>(std::move(g->owners));
                for (int k = 0; k < n; ++k) {
                  z.OnShard(
                      k,
                      [frame, set](Shard& t) {
                        t.NoticeLocal(frame, [&set](const Session& session) {
                          return session.is_staff() || set->count(session.identity().user_id) != 0;
                        });
                      },
                      Shard::Hop::kQueued);
                }
              },
              Shard::Hop::kQueued);
        },
        Shard::Hop::kQueued);
  }
}

}  // namespace tutti::server
