#include "tools/netem_relay/netem_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace tutti::netem {

namespace {

constexpr size_t kReadSize = 64 * 1024;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

void SetNoDelay(int fd) {
  // The relay decides when bytes leave; Nagle must not add its own delay on top.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

NetemRelay::NetemRelay(RelayOptions options) : options_(std::move(options)) {}

NetemRelay::~NetemRelay() {
  Stop();
  Wait();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status NetemRelay::Start() {
  if (options_.target_port == 0) return absl::InvalidArgumentError("no target port");
  in_addr host{};
  if (inet_pton(AF_INET, options_.target_host.c_str(), &host) != 1) {
    return absl::InvalidArgumentError("target host is not an IPv4 address: " +
                                      options_.target_host);
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Loopback(options_.listen_port);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(listen_fd_, 64) != 0) {
    return absl::UnavailableError(std::string("bind/listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof(a);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  SetNonBlocking(listen_fd_);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(std::string("eventfd: ") + std::strerror(errno));
  deadline_us_ = NowUs() + options_.duration_us;
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = true;
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void NetemRelay::Sever(int index) {
  std::lock_guard<std::mutex> lock(mu_);
  sever_requests_.push_back(index);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
}

void NetemRelay::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
}

void NetemRelay::Wait() {
  if (thread_.joinable()) thread_.join();
}

bool NetemRelay::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

RelayStats NetemRelay::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

int64_t NetemRelay::SampleTransit(Direction& d, bool* stalled) {
  const DirectionProfile& p = d.profile;
  const double floor = static_cast<double>(std::max<int64_t>(0, p.delay_us - p.jitter_us));
  // Half-normal of scale 1.25 J has mean ~J: the mean transit is `delay`.
  const double jitter = std::abs(d.rng.Normal()) * 1.25 * static_cast<double>(p.jitter_us);
  int64_t transit = std::llround(floor + jitter);
  *stalled = p.stall_prob > 0 && d.rng.Uniform() < p.stall_prob;
  if (*stalled) transit += p.stall_us;
  return transit;
}

void NetemRelay::Accept(int64_t now) {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= options_.max_connections) {
      close(fd);
      continue;
    }
    int target = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(options_.target_port);
    inet_pton(AF_INET, options_.target_host.c_str(), &a.sin_addr);  // checked in Start
    // A connect on loopback (or one veth hop) completes at once; blocking here keeps the
    // state machine simple.
    if (target < 0 || connect(target, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      if (target >= 0) close(target);
      close(fd);
      continue;
    }
    SetNonBlocking(target);
    SetNoDelay(fd);
    SetNoDelay(target);
    Connection c;
    c.index = accepted_++;
    c.client_fd = fd;
    c.target_fd = target;
    c.up.src = fd;
    c.up.dst = target;
    c.up.profile = options_.up;
    c.up.rng = midi::timing::SplitMix64(options_.seed * 1000003 + 2 * c.index);
    c.up.last_release_us = now;
    c.down.src = target;
    c.down.dst = fd;
    c.down.profile = options_.down;
    c.down.rng = midi::timing::SplitMix64(options_.seed * 1000003 + 2 * c.index + 1);
    c.down.last_release_us = now;
    connections_.push_back(std::move(c));
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.connections;
  }
}

void NetemRelay::ReadInto(Connection& c, Direction& d, DirectionStats& st, int64_t now) {
  char buf[kReadSize];
  for (;;) {
    if (d.queued_bytes >= options_.max_queued_bytes) return;
    ssize_t n = recv(d.src, buf, sizeof(buf), 0);
    if (options_.quickack_target && d.src == c.target_fd) {
      int one = 1;  // the kernel clears it again on its own; re-arm after every read
      setsockopt(d.src, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    if (n > 0) {
      if (d.discard) continue;
      bool stalled = false;
      const int64_t transit = SampleTransit(d, &stalled);
      Chunk ch;
      ch.release_us = std::max(now + transit, d.last_release_us);
      ch.bytes.assign(buf, static_cast<size_t>(n));
      d.last_release_us = ch.release_us;
      d.queued_bytes += ch.bytes.size();
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++st.chunks;
        st.bytes += static_cast<uint64_t>(n);
        if (stalled) ++st.stalls;
        if (st.hold_us.size() < options_.max_samples) st.hold_us.push_back(ch.release_us - now);
      }
      d.queue.push_back(std::move(ch));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    // End of stream or reset: pass the end on once everything before it is out.
    d.src_eof = true;
    if (n < 0) c.dead = true;
    return;
  }
}

void NetemRelay::Flush(Connection& c, Direction& d, int64_t now) {
  while (!d.queue.empty() && d.queue.front().release_us <= now) {
    Chunk& ch = d.queue.front();
    if (d.discard) {
      d.queued_bytes -= ch.bytes.size();
      d.queue.pop_front();
      continue;
    }
    ssize_t n = send(d.dst, ch.bytes.data() + ch.offset, ch.bytes.size() - ch.offset, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      c.dead = true;
      return;
    }
    ch.offset += static_cast<size_t>(n);
    if (ch.offset < ch.bytes.size()) return;
    d.queued_bytes -= ch.bytes.size();
    d.queue.pop_front();
  }
  if (d.queue.empty() && d.src_eof && !d.dst_shut) {
    if (!d.discard) shutdown(d.dst, SHUT_WR);
    d.dst_shut = true;
  }
}

void NetemRelay::SeverLocked(Connection& c) {
  // As the kernel does for a killed process: its socket closes; bytes it already sent travel on.
  if (c.client_fd < 0) return;
  close(c.client_fd);
  c.client_fd = -1;
  c.up.src_eof = true;
  c.down.discard = true;
  c.down.dst_shut = true;
}

void NetemRelay::CloseConnection(Connection& c) {
  if (c.client_fd >= 0) close(c.client_fd);
  if (c.target_fd >= 0) close(c.target_fd);
  c.client_fd = c.target_fd = -1;
}

void NetemRelay::TakeCommands() {
  std::vector<int> sever;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sever.swap(sever_requests_);
  }
  for (int index : sever) {
    for (Connection& c : connections_) {
      if (c.index == index) SeverLocked(c);
    }
  }
}

void NetemRelay::Run() {
  std::vector<pollfd> fds;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_requested_) break;
    }
    int64_t now = NowUs();
    if (now >= deadline_us_) break;
    TakeCommands();
    for (Connection& c : connections_) {
      Flush(c, c.up, now);
      Flush(c, c.down, now);
    }
    // A connection is finished once both ends have passed on their end of stream, or on error.
    for (Connection& c : connections_) {
      const bool up_done = c.up.src_eof && c.up.dst_shut;
      const bool down_done = c.down.src_eof && c.down.dst_shut;
      if (c.dead || (up_done && down_done)) CloseConnection(c);
    }
    connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                      [](const Connection& c) { return c.target_fd < 0; }),
                       connections_.end());

    int64_t wake_at = deadline_us_;
    fds.clear();
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({wake_fd_, POLLIN, 0});
    for (Connection& c : connections_) {
      for (Direction* d : {&c.up, &c.down}) {
        short events = 0;
        if (!d->src_eof && d->queued_bytes < options_.max_queued_bytes) events |= POLLIN;
        if (!d->queue.empty() && !d->discard) {
          if (d->queue.front().release_us <= now) {
            fds.push_back({d->dst, POLLOUT, 0});  // due, but the socket was full
          } else {
            wake_at = std::min(wake_at, d->queue.front().release_us);
          }
        }
        if (events != 0) fds.push_back({d->src, events, 0});
      }
    }
    const int64_t wait_us = std::max<int64_t>(0, wake_at - now);
    timespec ts{static_cast<time_t>(wait_us / 1000000),
                static_cast<long>(wait_us % 1000000) * 1000};
    int rc = ppoll(fds.data(), fds.size(), &ts, nullptr);
    if (rc < 0 && errno != EINTR) break;
    now = NowUs();
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &v, sizeof(v));
    }
    if (fds[0].revents & POLLIN) Accept(now);
    for (Connection& c : connections_) {
      if (!c.up.src_eof && c.client_fd >= 0) ReadInto(c, c.up, stats_.up, now);
      if (!c.down.src_eof) ReadInto(c, c.down, stats_.down, now);
    }
  }
  for (Connection& c : connections_) CloseConnection(c);
  connections_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

}  // namespace tutti::netem
