#include "server/admin_bans.h"

#include <algorithm>
#include <future>
#include <memory>
#include <utility>

#include "crypto/json.h"
#include "server/moderation/audit.h"
#include "server/server.h"
#include "server/shard.h"
#include "server/store/store.h"

namespace tutti::server {
namespace {

AdminResponse Json(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

AdminResponse JsonError(int status, std::string_view message) {
  std::string body = "{\"error\":";
  crypto::AppendJsonString(&body, message);
  body += "}\n";
  return Json(status, std::move(body));
}

std::string_view KindName(std::string_view target) {
  if (moderation::ClassifyBanTarget(target) == moderation::BanTargetKind::kUser) return "user";
  return target.find('/') != std::string_view::npos ? "network" : "address";
}

}  // namespace

std::string BanPageJson(std::vector<moderation::ServerBan> bans, const AdminPage& page) {
  std::sort(bans.begin(), bans.end(),
            [](const auto& a, const auto& b) { return a.target < b.target; });
  const size_t end = std::min(bans.size(), static_cast<size_t>(page.offset) + page.limit);
  std::string out =
      "{\"total\":" + std::to_string(bans.size()) + ",\"offset\":" + std::to_string(page.offset) +
      ",\"next_offset\":" + std::to_string(end < bans.size() ? end : 0) + ",\"bans\":[";
  for (size_t i = page.offset; i < end; ++i) {
    const moderation::ServerBan& b = bans[i];
    if (i > page.offset) out += ',';
    out += "{\"target\":";
    crypto::AppendJsonString(&out, b.target);
    out += ",\"kind\":\"";
    out += KindName(b.target);
    out += "\",\"reason\":";
    crypto::AppendJsonString(&out, b.reason);
    out += ",\"actor\":";
    crypto::AppendJsonString(&out, b.actor);
    out += ",\"created_unix_ms\":" + std::to_string(b.created_unix_ms) +
           ",\"until_unix_ms\":" + std::to_string(b.until_unix_ms) + "}";
  }
  out += "]}\n";
  return out;
}

AdminResponse AdminBans::Handle(const AdminRequest& req) {
  absl::StatusOr<AdminQuery> query = ParseAdminQuery(req.query);
  AdminResponse r;
  if (!query.ok()) {
    r = JsonError(400, std::string(query.status().message()));
  } else if (req.method == "GET" || req.method == "HEAD") {
    r = List(*query);
  } else if (req.method == "DELETE") {
    r = Lift(*query);
  } else {
    r = JsonError(405, "method not allowed");
    r.allow = "GET, HEAD, DELETE";
  }
  r.send_body = req.method != "HEAD";
  return r;
}

AdminResponse AdminBans::List(const AdminQuery& query) {
  absl::StatusOr<AdminPage> page = ParseAdminPage(query, kAdminBanPage, kAdminMaxBanPage);
  if (!page.ok()) return JsonError(400, std::string(page.status().message()));
  // The published snapshot holds exactly the active bans; expired ones are left out at
  // `now` even before the next rebuild sheds them.
  const int64_t now = server_->clock().UnixMs();
  std::vector<moderation::ServerBan> active;
  for (const moderation::ServerBan& b : server_->bans()->entries()) {
    if (b.ActiveAt(now)) active.push_back(b);
  }
  return Json(200, BanPageJson(std::move(active), *page));
}

AdminResponse AdminBans::Lift(const AdminQuery& query) {
  auto it = query.find("target");
  if (it == query.end() || it->second.empty()) {
    return JsonError(400, "DELETE /bans wants ?target=<user|ip|cidr>");
  }
  absl::StatusOr<std::string> target = moderation::CanonicalBanTarget(it->second);
  if (!target.ok()) return JsonError(400, std::string(target.status().message()));
  moderation::AuditRecord rec;
  rec.unix_ms = server_->clock().UnixMs();
  rec.actor = kAdminListenerActor;
  rec.action = moderation::AuditAction::kServerUnban;
  rec.target = *target;
  // The storage thread answers through the promise; a shared state outlives a wait
  // that gave up.
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  Server* server = server_;
  const bool queued = server_->RunStorage(
      server_->shard(0),
      [done, rec, server](store::Store& st) {
        absl::Status s = st.RemoveServerBan(rec.target);
        if (s.ok()) s = st.AppendAudit(rec);
        if (s.ok()) server->RepublishBans(st);
        done->set_value(s);
      },
      [] {});
  if (!queued) return JsonError(503, "store busy, try again");
  if (result.wait_for(lift_timeout_) != std::future_status::ready) {
    return JsonError(503, "store did not answer in time; the ban may still be lifted");
  }
  const absl::Status s = result.get();
  if (absl::IsNotFound(s)) return JsonError(404, "no such server ban");
  if (!s.ok()) return JsonError(503, "cannot lift the ban: the store failed");
  server_->log().Warn("ban.lift", {{"target", *target}, {"actor", kAdminListenerActor}});
  moderation::ServerBan lifted;
  lifted.target = *target;
  lifted.actor = kAdminListenerActor;
  // Every other node lifts it too (rooms across nodes; nothing without Redis).
  server_->shard(0).OnSocial(
      [lifted](Social& social) { social.PublishServerBan(lifted, /*add=*/false); });
  std::string body = "{\"lifted\":";
  crypto::AppendJsonString(&body, *target);
  body += "}\n";
  return Json(200, std::move(body));
}

}  // namespace tutti::server
