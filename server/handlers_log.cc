// Dispatcher handlers for the server's live log (ServerCommand SUBSCRIBE_LOG and
// UNSUBSCRIBE_LOG, server staff): a session subscribes to the ServerLog at a level; each
// line the log lets through its bucket is posted to this shard and sent as a LogLine.
// Runs on the session's shard; the delivery closure runs on whichever thread logged and
// only posts.
#include <memory>
#include <string>
#include <utility>

#include "server/dispatcher.h"
#include "server/envelope.h"
#include "server/server_log.h"
#include "server/shard.h"

namespace tutti::server {
namespace {

proto::LogLevel ToProto(LogLevel level) { return static_cast<proto::LogLevel>(level); }

proto::ClientMessage LogLineMessage(const LogEntry& entry, uint32_t dropped) {
  proto::ClientMessage msg;
  proto::LogLine* line = msg.mutable_log_line();
  line->set_unix_ms(entry.unix_ms);
  line->set_level(ToProto(entry.level));
  line->set_event(entry.event);
  for (const LogField& f : entry.fields) {
    proto::LogField* out = line->add_fields();
    out->set_key(f.key);
    out->set_value(f.value);
  }
  line->set_text(entry.text);
  line->set_dropped(dropped);
  StampType(&msg);
  return msg;
}

}  // namespace

void Dispatcher::OnLogSubscription(Session& s, const proto::ServerCommand& cmd, bool subscribe,
                                   const std::string& rid) {
  if (!s.identity().is_admin && !s.identity().is_moderator) {
    return Error(s, proto::PERMISSION_DENIED, "the server's log is for server staff", rid);
  }
  ServerLog& log = shard_->cluster().log();
  proto::ClientMessage out;
  proto::LogSubscription* sub = out.mutable_log_subscription();
  sub->set_lines_per_second(log.options().lines_per_second);
  sub->set_burst(static_cast<uint32_t>(log.options().burst));
  const SessionId id = s.id();
  // A new subscription replaces the session's old one (a change of level).
  if (auto it = log_subscriptions_.find(id); it != log_subscriptions_.end()) {
    sub->set_dropped_total(log.Unsubscribe(it->second));
    log_subscriptions_.erase(it);
  }
  if (subscribe) {
    auto param = cmd.parameters().find("level");
    absl::StatusOr<LogLevel> level = LogLevel::kInfo;
    if (param != cmd.parameters().end()) level = ParseLogLevel(param->second);
    if (!level.ok()) {
      return Error(s, proto::INVALID_PARAMETERS, "level must be info, warn or error", rid);
    }
    Shard* shard = shard_;
    const uint64_t handle =
        log.Subscribe(*level, [shard, id](const LogEntry& entry, uint32_t dropped) {
          // Built here (on the logging thread), sent on the session's shard.
          auto frame = std::make_shared<Frame>(MakeFrame(LogLineMessage(entry, dropped)));
          shard->Post([shard, id, frame] { shard->SendLocal(id, *frame); });
        });
    if (handle == 0) {
      return Error(s, proto::LIMIT_REACHED, "too many subscribers to the server's log", rid);
    }
    log_subscriptions_[id] = handle;
    sub->set_subscribed(true);
    sub->set_level(ToProto(*level));
    sub->set_dropped_total(0);
    log.Info("log.subscribe",
             {{"user", s.user().user_id()}, {"level", std::string(LogLevelName(*level))}});
  }
  Reply(s, std::move(out), rid);
}

void Dispatcher::SessionEnded(SessionId id) {
  auto it = log_subscriptions_.find(id);
  if (it == log_subscriptions_.end()) return;
  shard_->cluster().log().Unsubscribe(it->second);
  log_subscriptions_.erase(it);
}

}  // namespace tutti::server
