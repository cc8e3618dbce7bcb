// AdminSite: the admin listener's answers — GET (or HEAD) /metrics, /healthz, /readyz and
// /status; 405 with Allow for another method on those paths, 404 for every other path,
// 400 for a request head that does not parse. ParseAdminRequest reads the request head
// (bytes up to the blank line); it is the only parser the listener has and has a fuzz
// target (tests/fuzz/fuzz_admin_request.cc). Pure: no sockets, no Server. Made by
// AdminListener and called only on its thread; `collect` is called for each request that
// needs a snapshot.
#ifndef TUTTI_SERVER_ADMIN_SITE_H_
#define TUTTI_SERVER_ADMIN_SITE_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/metrics/snapshot.h"

namespace tutti::server {

inline constexpr size_t kAdminMaxRequestHead = 8192;

struct AdminRequest {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // after the '?', undecoded (server/admin_query.h reads it)
};

enum class AdminParse { kOk, kBad };

// `head` is the request line and headers, without the final blank line.
AdminParse ParseAdminRequest(std::string_view head, AdminRequest* out);

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  bool send_body = true;  // false for HEAD
  std::string allow;      // for 405
};

// The whole HTTP/1.1 response, Connection: close.
std::string SerializeAdminResponse(const AdminResponse& r);

class AdminSite {
 public:
  // `now_seconds` gives the wall time the CPU % is measured over (a Clock in the server).
  AdminSite(std::function<metrics::MetricsSnapshot()> collect, std::function<double()> now_seconds);

  AdminResponse Handle(const AdminRequest& req);
  // Serves `path` with `handler` (any method; the handler answers 405 itself), for
  // routes that need more than a metrics snapshot (server/admin_bans.h). Before the
  // listener starts.
  void AddRoute(std::string path, std::function<AdminResponse(const AdminRequest&)> handler);
  // For a head ParseAdminRequest refused, or one over kAdminMaxRequestHead.
  static AdminResponse BadRequest();

 private:
  std::function<metrics::MetricsSnapshot()> collect_;
  std::function<double()> now_seconds_;
  std::vector<std::pair<std::string, std::function<AdminResponse(const AdminRequest&)>>> routes_;
  double last_cpu_ = 0;   // for CPU % between two /status requests
  double last_wall_ = 0;  // 0: none yet
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ADMIN_SITE_H_
