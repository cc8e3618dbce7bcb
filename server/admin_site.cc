#include "server/admin_site.h"

#include <utility>

#include "server/metrics/prometheus_text.h"
#include "server/metrics/status_json.h"

namespace tutti::server {
namespace {

constexpr std::string_view kPaths[] = {"/metrics", "/healthz", "/readyz", "/status"};

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;  // methods we could ever serve are upper case
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

AdminResponse Text(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

AdminParse ParseAdminRequest(std::string_view head, AdminRequest* out) {
  if (head.size() > kAdminMaxRequestHead) return AdminParse::kBad;
  const size_t eol = head.find("\r\n");
  const std::string_view line = eol == std::string_view::npos ? head : head.substr(0, eol);
  // METHOD SP request-target SP HTTP/1.x
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return AdminParse::kBad;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return AdminParse::kBad;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return AdminParse::kBad;
  }
  if (target.empty() || target.front() != '/') return AdminParse::kBad;
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return AdminParse::kBad;
  }
  const size_t q = target.find('?');
  if (q != std::string_view::npos) {
    out->query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  out->method = std::string(method);
  out->path = std::string(target);
  return AdminParse::kOk;
}

std::string SerializeAdminResponse(const AdminResponse& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + Reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  if (!r.allow.empty()) out += "Allow: " + r.allow + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (r.send_body) out += r.body;
  return out;
}

AdminSite::AdminSite(std::function<metrics::MetricsSnapshot()> collect,
                     std::function<double()> now_seconds)
    : collect_(std::move(collect)), now_seconds_(std::move(now_seconds)) {}

AdminResponse AdminSite::BadRequest() { return Text(400, "bad request\n"); }

void AdminSite::AddRoute(std::string path,
                         std::function<AdminResponse(const AdminRequest&)> handler) {
  routes_.emplace_back(std::move(path), std::move(handler));
}

AdminResponse AdminSite::Handle(const AdminRequest& req) {
  for (const auto& [path, handler] : routes_) {
    if (req.path == path) return handler(req);
  }
  bool known = false;
  for (std::string_view p : kPaths) known = known || req.path == p;
  if (!known) return Text(404, "not found\n");
  if (req.method != "GET" && req.method != "HEAD") {
    AdminResponse r = Text(405, "method not allowed\n");
    r.allow = "GET, HEAD";
    return r;
  }
  AdminResponse r;
  if (req.path == "/healthz") {
    // The process answers: alive. Readiness is the separate question below.
    r = Text(200, "ok\n");
  } else {
    const metrics::MetricsSnapshot s = collect_();
    if (req.path == "/readyz") {
      r = s.ready()     ? Text(200, "ready\n")
          : s.draining  ? Text(503, "not ready: draining\n")
          : !s.store_ok ? Text(503, "not ready: store unreachable\n")
                        : Text(503, "not ready: redis unreachable\n");
    } else if (req.path == "/metrics") {
      r = Text(200, metrics::RenderPrometheusText(s));
      r.content_type = metrics::kPrometheusContentType;
    } else {
      const double wall = now_seconds_();
      const double cpu = s.process.cpu_seconds;
      const double pct = last_wall_ > 0
                             ? metrics::CpuPercent(last_cpu_, last_wall_, cpu, wall)
                             : metrics::CpuPercent(0, s.process.start_time_seconds, cpu, wall);
      last_cpu_ = cpu;
      last_wall_ = wall;
      r = Text(200, metrics::RenderStatusJson(s, pct));
      r.content_type = "application/json";
    }
  }
  r.send_body = req.method != "HEAD";
  return r;
}

}  // namespace tutti::server
