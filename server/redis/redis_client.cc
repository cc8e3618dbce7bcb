#include "server/redis/redis_client.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <utility>

#include <boost/asio/post.hpp>

#include "server/redis/asio_adapter.h"

namespace tutti::server::redis {

bool ParseRedisAddress(std::string_view text, RedisAddress* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) return false;
  int port = 0;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port <= 0 || port > 65535) return false;
  out->host = std::string(text.substr(0, colon));
  out->port = port;
  return true;
}

std::string_view ReplyString(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
      r->type != REDIS_REPLY_ERROR) {
    return {};
  }
  return {r->str, r->len};
}

bool ReplyInteger(const redisReply* r, int64_t* out) {
  if (r == nullptr) return false;
  if (r->type == REDIS_REPLY_INTEGER) {
    *out = r->integer;
    return true;
  }
  if (r->type != REDIS_REPLY_STRING) return false;
  auto [ptr, ec] = std::from_chars(r->str, r->str + r->len, *out);
  return ec == std::errc() && ptr == r->str + r->len;
}

bool ReplyIsError(const redisReply* r) { return r == nullptr || r->type == REDIS_REPLY_ERROR; }

const redisReply* ReplyElement(const redisReply* r, size_t i) {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY && i < r->elements ? r->element[i] : nullptr;
}

// The privdata of one command: who asked, and what to call with the reply.
struct RedisClient::Pending {
  RedisClient* owner;
  ReplyFn fn;
};

namespace {
// The privdata of one SUBSCRIBE: hiredis calls it for every message of the channel.
struct SubscriptionTag {
  void* owner;
  std::string channel;
};
}  // namespace

RedisClient::RedisClient(boost::asio::io_context& io, RedisAddress address, RedisBackoff backoff)
    : io_(io), address_(std::move(address)), backoff_(backoff), retry_(io), watchdog_(io) {}

RedisClient::~RedisClient() { Stop(); }

void RedisClient::Start() {
  if (running_) return;
  running_ = true;
  stopping_ = false;
  next_delay_ms_ = backoff_.initial_ms;
  Connect();
}

void RedisClient::Stop() {
  running_ = false;
  retry_.cancel();
  watchdog_.cancel();
  if (ac_ != nullptr) {
    stopping_ = true;
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    connected_ = false;
    link_ready_ = false;
    // Runs every pending callback with a null reply (ignored: stopping_) and frees.
    redisAsyncFree(ac);
  }
}

void RedisClient::Connect() {
  if (!running_ || ac_ != nullptr) return;
  redisAsyncContext* ac = redisAsyncConnect(address_.host.c_str(), address_.port);
  if (ac == nullptr) return ScheduleReconnect();
  if (ac->err) {
    const std::string why = ac->errstr;
    redisAsyncFree(ac);
    LinkLost(why);
    return;
  }
  ac->data = this;
  redisAsyncSetConnectCallback(ac, &RedisClient::OnConnect);
  redisAsyncSetDisconnectCallback(ac, &RedisClient::OnDisconnect);
  AttachAsio(ac, io_);
  ac_ = ac;
  ++link_gen_;
  link_ready_ = false;
  subscribed_mode_ = false;
  // A connect that never completes (a stopped Redis still accepts TCP) or a first PING
  // that is never answered is a failed attempt like a refused one.
  ping_sent_ = std::chrono::steady_clock::now();
  ping_outstanding_ = true;
  ArmWatchdog(backoff_.ping_timeout_ms);
}

void RedisClient::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self->stopping_) return;
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns.
    self->ac_ = nullptr;
    self->LinkLost(ac->errstr != nullptr ? ac->errstr : "connect failed");
    return;
  }
  // The socket is open; the link is up once Redis answers (LinkReady).
  self->SendPing();
}

void RedisClient::SendPing() {
  if (ac_ == nullptr) return;
  ping_outstanding_ = true;
  ping_sent_ = std::chrono::steady_clock::now();
  const uint64_t gen = link_gen_;
  auto* pending = new Pending{this, [this, gen](const redisReply* r) {
                                if (gen != link_gen_ || r == nullptr || ReplyIsError(r)) return;
                                ping_outstanding_ = false;
                                if (!link_ready_) LinkReady();
                              }};
  const char* argv[] = {"PING"};
  const size_t lens[] = {4};
  if (redisAsyncCommandArgv(ac_, &RedisClient::OnReply, pending, 1, argv, lens) != REDIS_OK) {
    delete pending;
  }
}

void RedisClient::LinkReady() {
  link_ready_ = true;
  ++connects_;
  next_delay_ms_ = backoff_.initial_ms;
  ArmWatchdog(backoff_.ping_interval_ms);
  // Up once Redis confirmed every channel: a message published after on_up reaches us.
  awaiting_confirm_.clear();
  unsubscribing_.clear();  // a new link: nothing of the old one is in flight here
  for (const auto& [channel, handlers] : channels_) {
    awaiting_confirm_.insert(channel);
    SendSubscribe(channel);
  }
  if (awaiting_confirm_.empty()) LinkUp();
}

void RedisClient::LinkUp() {
  connected_ = true;
  if (on_up_) on_up_();
}

void RedisClient::ArmWatchdog(int delay_ms) {
  watchdog_.expires_after(std::chrono::milliseconds(delay_ms));
  watchdog_.async_wait([this, gen = link_gen_](const boost::system::error_code& ec) {
    if (!ec && gen == link_gen_ && running_ && ac_ != nullptr) OnWatchdog();
  });
}

void RedisClient::OnWatchdog() {
  const auto now = std::chrono::steady_clock::now();
  if (ping_outstanding_) {
    if (now - ping_sent_ >= std::chrono::milliseconds(backoff_.ping_timeout_ms)) {
      return Reconnect(connected_ ? "no answer to PING" : "no answer to the first PING");
    }
    // Not due yet: look again when it is.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        ping_sent_ + std::chrono::milliseconds(backoff_.ping_timeout_ms) - now);
    return ArmWatchdog(static_cast<int>(left.count()) + 1);
  }
  // A subscribed connection answers PING in a form hiredis 0.14 cannot match to the
  // command: such a link is checked by its owner through another link (Reconnect).
  if (subscribed_mode_) return;
  SendPing();
  ArmWatchdog(backoff_.ping_interval_ms);
}

void RedisClient::Reconnect(const std::string& why) {
  if (ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  // Commands issued by the callbacks that run during the free are refused (connected_).
  drop_was_up_ = connected_;
  connected_ = false;
  link_ready_ = false;
  drop_reason_ = why;
  ++link_gen_;
  // Runs every pending callback with a null reply, then OnDisconnect (which clears ac_
  // and reports the loss with drop_reason_).
  redisAsyncFree(ac);
  drop_reason_.clear();
  if (ac_ == ac) {
    // hiredis did not call the disconnect callback (the connect had not completed).
    ac_ = nullptr;
    connected_ = drop_was_up_;  // LinkLost reports the loss only if it had been up
    LinkLost(why);
  }
}

void RedisClient::OnDisconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self->stopping_) return;
  self->ac_ = nullptr;  // freed by hiredis when this returns
  if (!self->drop_reason_.empty()) {
    // Reconnect freed it: report the loss as up if the link had been.
    self->connected_ = self->drop_was_up_;
    return self->LinkLost(self->drop_reason_);
  }
  self->LinkLost(ac->errstr != nullptr && ac->err ? ac->errstr : "connection closed");
}

void RedisClient::LinkLost(const std::string& why) {
  const bool was_up = connected_;
  connected_ = false;
  link_ready_ = false;
  if (was_up && on_down_) on_down_(why);
  ScheduleReconnect();
}

void RedisClient::ScheduleReconnect() {
  if (!running_) return;
  retry_.expires_after(std::chrono::milliseconds(next_delay_ms_));
  next_delay_ms_ = std::min(next_delay_ms_ * 2, backoff_.max_ms);
  retry_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Connect();
  });
}

bool RedisClient::Command(const std::vector<std::string_view>& argv, ReplyFn fn) {
  if (!connected_ || ac_ == nullptr) return false;
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* pending = new Pending{this, std::move(fn)};
  if (redisAsyncCommandArgv(ac_, &RedisClient::OnReply, pending, static_cast<int>(argv.size()),
                            ptrs.data(), lens.data()) != REDIS_OK) {
    delete pending;
    return false;
  }
  return true;
}

void RedisClient::OnReply(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
  if (pending->owner->stopping_ || !pending->fn) return;
  pending->fn(static_cast<const redisReply*>(reply));
}

void RedisClient::Subscribe(const std::string& channel, MessageFn fn,
                            std::function<void()> confirmed) {
  const bool fresh = channels_.count(channel) == 0;
  channels_[channel] = {std::move(fn), std::move(confirmed)};
  // While its UNSUBSCRIBE is in flight, the answer to it subscribes again (OnMessage).
  if (fresh && link_ready_ && unsubscribing_.count(channel) == 0) SendSubscribe(channel);
}

void RedisClient::SendSubscribe(const std::string& channel) {
  subscribed_mode_ = true;
  auto* tag = new SubscriptionTag{this, channel};
  const char* argv[] = {"SUBSCRIBE", channel.data()};
  const size_t lens[] = {9, channel.size()};
  if (redisAsyncCommandArgv(ac_, &RedisClient::OnMessage, tag, 2, argv, lens) != REDIS_OK) {
    delete tag;
  }
}

void RedisClient::Unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0 || !link_ready_) return;
  if (awaiting_confirm_.erase(channel) > 0 && awaiting_confirm_.empty() && !connected_) {
    // Not from inside the owner's call: it may be iterating what on_up looks at.
    boost::asio::post(io_, [this, gen = link_gen_] {
      if (gen == link_gen_ && link_ready_ && !connected_ && awaiting_confirm_.empty()) LinkUp();
    });
  }
  // A Subscribe made while an earlier UNSUBSCRIBE was in flight sent nothing: neither
  // does this (the answer on its way finds the channel not wanted).
  if (!unsubscribing_.insert(channel).second) return;
  const char* argv[] = {"UNSUBSCRIBE", channel.data()};
  const size_t lens[] = {11, channel.size()};
  redisAsyncCommandArgv(ac_, nullptr, nullptr, 2, argv, lens);
}

void RedisClient::OnMessage(redisAsyncContext*, void* reply_ptr, void* privdata) {
  auto* tag = static_cast<SubscriptionTag*>(privdata);
  auto* self = static_cast<RedisClient*>(tag->owner);
  const auto* reply = static_cast<const redisReply*>(reply_ptr);
  // A null reply is hiredis dropping the callback (the link went): nothing follows.
  if (reply == nullptr) {
    delete tag;
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  const std::string_view kind = ReplyString(reply->element[0]);
  if (kind == "unsubscribe") {
    // hiredis has removed this callback; a Subscribe made while the UNSUBSCRIBE was in
    // flight subscribes again now.
    const std::string channel = tag->channel;
    delete tag;
    self->unsubscribing_.erase(channel);
    if (!self->stopping_ && self->link_ready_ && self->channels_.count(channel)) {
      self->SendSubscribe(channel);
    }
    return;
  }
  if (kind == "subscribe" && !self->stopping_) {
    auto it = self->channels_.find(tag->channel);
    // A copy: the owner may subscribe or unsubscribe from inside it.
    const std::function<void()> confirmed =
        it == self->channels_.end() ? nullptr : it->second.confirmed;
    if (confirmed) confirmed();
    if (!self->connected_ && self->awaiting_confirm_.erase(tag->channel) > 0 &&
        self->awaiting_confirm_.empty()) {
      self->LinkUp();
    }
    return;
  }
  if (kind != "message" || self->stopping_) return;
  auto it = self->channels_.find(tag->channel);
  if (it == self->channels_.end()) return;
  it->second.message(tag->channel, ReplyString(reply->element[2]));
}

}  // namespace tutti::server::redis
