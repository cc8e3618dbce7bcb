// RedisClient: one connection to one Redis server on a Boost.Asio io_context, through
// hiredis's asynchronous API (asio_adapter.h). It reconnects by itself with exponential
// backoff, re-subscribes its channels after a reconnect and tells its owner when the
// link comes and goes. Commands issued in one loop turn leave in one write (hiredis
// buffers them until the socket is writable), which is the pipelining the broker relies
// on. Only RESP2 and classic SUBSCRIBE: hiredis 0.14 has no RESP3 and aborts on
// SSUBSCRIBE.
// Thread affinity: the io_context's thread only (constructed, used and destroyed there).
// Owner: whoever talks to Redis (the Redis broker engine: one per shard and primary).
#ifndef TUTTI_SERVER_REDIS_REDIS_CLIENT_H_
#define TUTTI_SERVER_REDIS_REDIS_CLIENT_H_

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace tutti::server::redis {

struct RedisAddress {
  std::string host;
  int port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// "HOST:PORT" -> address; false on anything else (no port, port out of range).
bool ParseRedisAddress(std::string_view text, RedisAddress* out);

// Reconnect delays: the first retry after `initial_ms`, doubling up to `max_ms`; and
// how a link is judged alive. A Redis that stops answering without closing its socket
// (SIGSTOP, a partition) would otherwise look connected forever: a link counts as up
// only once Redis answered a PING on it, and a link that takes no other commands (not
// subscribed) sends a PING every `ping_interval_ms`; an answer later than
// `ping_timeout_ms` drops the link (and reconnects with the backoff above).
struct RedisBackoff {
  int initial_ms = 50;
  int max_ms = 2000;
  int ping_interval_ms = 1000;
  int ping_timeout_ms = 3000;
};

class RedisClient {
 public:
  // `reply` is null when the connection was lost before the reply came.
  using ReplyFn = std::function<void(const redisReply* reply)>;
  using MessageFn = std::function<void(std::string_view channel, std::string_view payload)>;

  RedisClient(boost::asio::io_context& io, RedisAddress address,
              RedisBackoff backoff = RedisBackoff());
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Called on the io thread each time the link comes up (Redis answered PING; the client
  // re-sent its SUBSCRIBEs) and each time it goes down (with hiredis's reason, or "no
  // answer" when a PING went unanswered).
  void set_on_up(std::function<void()> fn) { on_up_ = std::move(fn); }
  void set_on_down(std::function<void(const std::string& why)> fn) { on_down_ = std::move(fn); }

  // Connects now and keeps reconnecting until Stop or destruction.
  void Start();
  // Disconnects; no callback of this client runs afterwards.
  void Stop();
  // Drops the link now (pending commands get a null reply, on_down runs) and reconnects
  // with the backoff: for an owner that learnt through another link that Redis is gone.
  void Reconnect(const std::string& why);

  bool connected() const { return connected_; }
  // Queues one command (binary-safe arguments). False, and `fn` is not called, when
  // the link is down.
  bool Command(const std::vector<std::string_view>& argv, ReplyFn fn);
  // Classic SUBSCRIBE; kept across reconnects. Every message on `channel` goes to `fn`;
  // `confirmed` (when given) runs each time Redis confirms the subscription (after a
  // reconnect too): from then on, whatever is published on `channel` reaches `fn`.
  void Subscribe(const std::string& channel, MessageFn fn,
                 std::function<void()> confirmed = nullptr);
  void Unsubscribe(const std::string& channel);
  size_t subscriptions() const { return channels_.size(); }

  uint64_t connects() const { return connects_; }
  const RedisAddress& address() const { return address_; }

 private:
  struct Pending;
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnMessage(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  void Connect();
  void LinkLost(const std::string& why);
  void ScheduleReconnect();
  void SendSubscribe(const std::string& channel);
  void SendPing();
  void LinkReady();
  void LinkUp();
  void ArmWatchdog(int delay_ms);
  void OnWatchdog();

  boost::asio::io_context& io_;
  const RedisAddress address_;
  const RedisBackoff backoff_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer watchdog_;  // handshake and keep-alive PINGs
  redisAsyncContext* ac_ = nullptr;
  bool connected_ = false;
  bool running_ = false;
  bool stopping_ = false;  // callbacks run while hiredis frees the context are not passed on
  int next_delay_ms_ = 0;
  // The link's life: bumped at each connect, so a PING answer or a watchdog wait of an
  // earlier link is ignored.
  uint64_t link_gen_ = 0;
  bool ping_outstanding_ = false;
  std::chrono::steady_clock::time_point ping_sent_;
  bool subscribed_mode_ = false;  // a SUBSCRIBE went on this link: no keep-alive PINGs
  std::string drop_reason_;       // set while Reconnect frees the context
  bool drop_was_up_ = false;
  bool link_ready_ = false;  // Redis answered this link's PING (commands may be written)
  std::set<std::string> awaiting_confirm_;  // channels re-subscribed, not yet confirmed
  // Channels whose UNSUBSCRIBE went on this link and is not answered yet. A SUBSCRIBE of
  // one waits for that answer: hiredis keeps one callback per channel and would replace
  // the pending one's, leaking its tag.
  std::set<std::string> unsubscribing_;
  uint64_t connects_ = 0;
  struct Channel {
    MessageFn message;
    std::function<void()> confirmed;
  };
  std::map<std::string, Channel> channels_;
  std::function<void()> on_up_;
  std::function<void(const std::string&)> on_down_;
};

// Reply helpers: the string of a bulk/status reply (empty otherwise), an integer reply
// (also one given as a string), whether the reply is an error, and element `i` of an array
// reply (null when the reply is no array or is shorter).
std::string_view ReplyString(const redisReply* r);
bool ReplyInteger(const redisReply* r, int64_t* out);
bool ReplyIsError(const redisReply* r);
const redisReply* ReplyElement(const redisReply* r, size_t i);

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_REDIS_CLIENT_H_
