#include "server/server_command_params.h"

#include <charconv>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tutti::server {
namespace {

bool ParseBool(const std::string& v, bool* out) {
  if (v == "true" || v == "1") {
    *out = true;
    return true;
  }
  if (v == "false" || v == "0") {
    *out = false;
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<proto::UpdateRoomCommand> UpdateRoomFromParameters(
    const google::protobuf::Map<std::string, std::string>& parameters) {
  if (parameters.empty()) return absl::InvalidArgumentError("no settings given");
  proto::UpdateRoomCommand cmd;
  for (const auto& [key, value] : parameters) {
    auto bad = [&key = key]() {
      return absl::InvalidArgumentError(absl::StrCat("bad value for ", key));
    };
    proto::RoomSettings* s = cmd.mutable_settings();
    bool b = false;
    if (key == "max_users") {
      int32_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 0) return bad();
      s->set_max_users(n);
    } else if (key == "allow_chat" || key == "allow_guests" || key == "auto_moderation" ||
               key == "require_pro" || key == "persistent") {
      if (!ParseBool(value, &b)) return bad();
      if (key == "allow_chat") s->set_allow_chat(b);
      if (key == "allow_guests") s->set_allow_guests(b);
      if (key == "auto_moderation") s->set_auto_moderation(b);
      if (key == "require_pro") s->set_require_pro(b);
      if (key == "persistent") s->set_persistent(b);
    } else if (key == "welcome_message") {
      s->set_welcome_message(value);
    } else if (key == "password") {
      cmd.set_set_password(true);
      cmd.set_password(value);
    } else if (key == "room_type") {
      if (value == "PUBLIC") {
        cmd.set_room_type(proto::PUBLIC);
      } else if (value == "PRIVATE") {
        cmd.set_room_type(proto::PRIVATE);
      } else {
        return bad();
      }
      cmd.set_set_room_type(true);
    } else {
      return absl::InvalidArgumentError("unknown parameter (see docs/PROTOCOL.md §5)");
    }
  }
  // mutable_settings() above made `settings` present for the setting keys only.
  const bool any_setting = parameters.count("max_users") || parameters.count("allow_chat") ||
                           parameters.count("allow_guests") ||
                           parameters.count("auto_moderation") || parameters.count("require_pro") ||
                           parameters.count("persistent") || parameters.count("welcome_message");
  if (!any_setting) cmd.clear_settings();
  return cmd;
}

}  // namespace tutti::server
