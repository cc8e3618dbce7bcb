// AdminListener: the operator's HTTP port (--admin-listen, 127.0.0.1:9090 by default,
// never the public port): /metrics, /healthz, /readyz and /status, answered by an
// AdminSite. One thread of its own with its own Boost.Asio io_context, so a scrape never
// runs on (or waits for) a shard's event loop: it reads the shards' counters, which are
// relaxed atomics (server/metrics/shard_counter.h). One request per connection, the
// head capped at 8 KiB and 5 s; at most kMaxConnectionsPerAddress open connections from
// one address and kMaxConnections in all (more are answered 429/503 and closed at once),
// so an idle or trickling client cannot hold the port's descriptors. Owned by main() (or
// a test), next to the Server it reads; destroy it before that Server.
#ifndef TUTTI_SERVER_ADMIN_LISTENER_H_
#define TUTTI_SERVER_ADMIN_LISTENER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "server/admin_bans.h"
#include "server/admin_site.h"

namespace tutti::server {

class Server;

// "host:port" (IPv6 as "[::1]:9090"); port 0 picks a free one.
absl::Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port);

class AdminListener {
 public:
  static constexpr int kMaxConnectionsPerAddress = 8;
  static constexpr int kMaxConnections = 64;

  explicit AdminListener(Server* server);
  ~AdminListener();
  AdminListener(const AdminListener&) = delete;
  AdminListener& operator=(const AdminListener&) = delete;

  // Binds `address` ("host:port") and starts the thread. Refuses the server's own
  // public port: metrics are not for the public.
  absl::Status Start(const std::string& address);
  uint16_t port() const { return port_; }
  void Stop();

 private:
  class Connection;
  void Accept();
  // Counts a connection from `address` in; false (and nothing counted) past a cap, with
  // the status to refuse it with.
  bool Admit(const std::string& address, int* refuse_status);
  void Release(const std::string& address);
  // Answers a connection past a cap with `status` and closes it.
  void Refuse(boost::asio::ip::tcp::socket socket, int status);

  Server* const server_;
  // Open connections by peer address, and in all; touched only on the listener's
  // thread. Declared before io_: connections still queued in it release into these
  // when it is destroyed.
  std::map<std::string, int> open_by_address_;
  int open_ = 0;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  boost::asio::steady_timer retry_{io_};
  std::unique_ptr<AdminSite> site_;
  std::unique_ptr<AdminBans> bans_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_ADMIN_LISTENER_H_
