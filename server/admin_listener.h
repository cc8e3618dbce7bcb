// AdminListener: the operator's HTTP port (--admin-listen, 127.0.0.1:9090 by default,
// never the public port): /metrics, /healthz, /readyz and /status, answered by an
// AdminSite. One thread of its own with its own Boost.Asio io_context, so a scrape never
// runs on (or waits for) a shard's event loop: it reads the shards' counters, which are
// relaxed atomics (server/metrics/shard_counter.h). One request per connection, the
// head capped at 8 KiB and 5 s. Owned by main() (or a test), next to the Server it reads;
// destroy it before that Server.
#ifndef TUTTI_SERVER_ADMIN_LISTENER_H_
#define TUTTI_SERVER_ADMIN_LISTENER_H_

#include <cstdint>
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

  Server* const server_;
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
