#include "server/maintenance_command.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/envelope.h"
#include "server/frame.h"
#include "server/maintenance.h"
#include "server/session.h"
#include "server/shard.h"

namespace tutti::server {
namespace {

std::string Param(const proto::ServerCommand& cmd, const char* key) {
  auto it = cmd.parameters().find(key);
  return it == cmd.parameters().end() ? std::string() : it->second;
}

// A decimal from 0 to Maintenance::kMaxDrainSeconds ("" = `fallback`); false otherwise.
bool ParseSeconds(const std::string& text, int64_t fallback, int64_t* out) {
  if (text.empty()) {
    *out = fallback;
    return true;
  }
  if (text.size() > 4) return false;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n > Maintenance::kMaxDrainSeconds) return false;
  *out = n;
  return true;
}

void Answer(Shard& shard, Session& s, proto::ClientMessage msg, const std::string& rid) {
  msg.set_request_id(rid);
  StampType(&msg);
  shard.SendLocal(s.id(), MakeFrame(msg));
}

void Done(Shard& shard, Session& s, const char* command, std::string line, const std::string& rid) {
  proto::ClientMessage msg;
  auto* result = msg.mutable_command_result();
  result->set_command(command);
  result->set_ok(true);
  result->add_lines(std::move(line));
  Answer(shard, s, std::move(msg), rid);
}

}  // namespace

void HandleMaintenanceCommand(Shard& shard, Session& s, const proto::ServerCommand& cmd,
                              const std::string& rid) {
  if (!s.identity().is_admin) {
    return Answer(shard, s, MakeError(proto::PERMISSION_DENIED, "server administrators only", rid),
                  rid);
  }
  Maintenance& maintenance = shard.cluster().maintenance();
  const std::string message = Param(cmd, "message");
  if (message.size() > Maintenance::kMaxMessageBytes ||
      Param(cmd, "reason").size() > Maintenance::kMaxMessageBytes) {
    return Answer(shard, s,
                  MakeError(proto::INVALID_PARAMETERS,
                            absl::StrCat("message and reason are at most ",
                                         Maintenance::kMaxMessageBytes, " bytes"),
                            rid),
                  rid);
  }
  if (cmd.commandtype() == proto::START_DRAIN) {
    int64_t seconds = 0;
    if (!ParseSeconds(Param(cmd, "seconds"), kDefaultDrainSeconds, &seconds)) {
      return Answer(shard, s,
                    MakeError(proto::INVALID_PARAMETERS,
                              absl::StrCat("seconds must be a number from 0 to ",
                                           Maintenance::kMaxDrainSeconds),
                              rid),
                    rid);
    }
    maintenance.StartDrain(message, seconds, s.user().user_id());
    return Done(shard, s, "drain",
                absl::StrCat("draining: every connection closes in ", seconds, " s"), rid);
  }
  const std::string on = Param(cmd, "on");
  if (on != "true" && on != "false") {
    return Answer(shard, s,
                  MakeError(proto::INVALID_PARAMETERS, "on must be \"true\" or \"false\"", rid),
                  rid);
  }
  maintenance.SetMode(on == "true", Param(cmd, "reason"), s.user().user_id());
  Done(shard, s, "maintenance",
       on == "true" ? "maintenance mode on: new connections refused (503), staff excepted"
                    : "maintenance mode off",
       rid);
}

}  // namespace tutti::server
