#include "server/config_file.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace tutti::server {
namespace {

// --- the schema --------------------------------------------------------------------------

enum class Type { kString, kBool, kInt, kInt64, kUint32, kSize, kDouble, kPort };

template <typename T>
constexpr Type TypeOf();
template <>
constexpr Type TypeOf<std::string>() {
  return Type::kString;
}
template <>
constexpr Type TypeOf<bool>() {
  return Type::kBool;
}
template <>
constexpr Type TypeOf<int>() {
  return Type::kInt;
}
template <>
constexpr Type TypeOf<int64_t>() {
  return Type::kInt64;
}
template <>
constexpr Type TypeOf<size_t>() {
  return Type::kSize;
}
template <>
constexpr Type TypeOf<uint32_t>() {
  return Type::kUint32;
}
template <>
constexpr Type TypeOf<double>() {
  return Type::kDouble;
}
template <>
constexpr Type TypeOf<uint16_t>() {
  return Type::kPort;
}

struct Key {
  const char* name;
  Type type;
  double lo, hi;  // numbers only
  bool reloadable;
  void* (*field)(ServerConfig*);
};

#define TUTTI_KEY(path, lo, hi, reload)                                                          \
  Key {                                                                                          \
#path, TypeOf < std::remove_reference_t < decltype(ServerConfig().path)>>(), lo, hi, reload, \
        [](ServerConfig * c) -> void* { return &c->path; }                                       \
  }

constexpr double kBig = 1e9;

// Every field of ServerConfig. Reloadable (SIGHUP) are the ones read where they are used,
// on every use, from the server's one ServerConfig; the others are copied into objects at
// start (sockets, buckets, the door, timers) and need a restart.
const Key kKeys[] = {
    TUTTI_KEY(listen_address, 0, 0, false),
    TUTTI_KEY(port, 0, 65535, false),
    TUTTI_KEY(admin_listen, 0, 0, false),
    TUTTI_KEY(shards, 0, 1024, false),
    TUTTI_KEY(key_dir, 0, 0, false),
    TUTTI_KEY(dev_mode, 0, 0, false),
    TUTTI_KEY(data_dir, 0, 0, false),
    TUTTI_KEY(store_path, 0, 0, false),
    TUTTI_KEY(allow_guests, 0, 0, false),
    TUTTI_KEY(redis, 0, 0, false),
    TUTTI_KEY(redis_presence_ttl_ms, 300, 3600000, false),
    TUTTI_KEY(web_root, 0, 0, false),
    TUTTI_KEY(max_frame_bytes, 1, kBig, false),
    TUTTI_KEY(max_resource_bytes, 64, 1 << 20, false),
    TUTTI_KEY(handshake_timeout_ms, 1, kBig, false),
    TUTTI_KEY(close_timeout_ms, 1, kBig, false),
    TUTTI_KEY(idle_timeout_ms, 1, kBig, false),
    TUTTI_KEY(heartbeat_interval_ms, 1, kBig, false),
    TUTTI_KEY(socket_send_buffer, 0, kBig, false),
    TUTTI_KEY(compression, 0, 0, false),
    TUTTI_KEY(compression_threshold, 0, kBig, false),
    TUTTI_KEY(max_connections, 0, kBig, false),
    TUTTI_KEY(fd_reserve, 0, 1e6, false),
    TUTTI_KEY(max_connections_per_address, 0, kBig, false),
    TUTTI_KEY(max_guests_per_address, 0, kBig, false),
    TUTTI_KEY(upgrades_per_second_per_address, 0, 1e6, false),
    TUTTI_KEY(upgrade_burst_per_address, 1, kBig, false),
    TUTTI_KEY(exempt_networks, 0, 0, false),
    TUTTI_KEY(trusted_proxies, 0, 0, false),
    TUTTI_KEY(proxy_header, 0, 0, false),
    TUTTI_KEY(control_frames_per_second, 0, kBig, false),
    TUTTI_KEY(control_frame_burst, 1, kBig, false),
    TUTTI_KEY(outbound_soft_limit, 1, 1e12, false),
    TUTTI_KEY(outbound_hard_limit, 1, 1e12, false),
    TUTTI_KEY(chat_per_second, 0, kBig, false),
    TUTTI_KEY(chat_burst, 0, kBig, false),
    TUTTI_KEY(notes_per_second, 0, kBig, false),
    TUTTI_KEY(note_burst, 0, kBig, false),
    TUTTI_KEY(controllers_per_second, 0, kBig, false),
    TUTTI_KEY(controller_burst, 0, kBig, false),
    TUTTI_KEY(joins_per_second, 0, kBig, false),
    TUTTI_KEY(join_burst, 0, kBig, false),
    TUTTI_KEY(leaves_per_second, 0, kBig, false),
    TUTTI_KEY(leave_burst, 0, kBig, false),
    TUTTI_KEY(avatar_per_second, 0, kBig, false),
    TUTTI_KEY(avatar_burst, 0, kBig, false),
    TUTTI_KEY(requests_per_second, 0, kBig, false),
    TUTTI_KEY(request_burst, 0, kBig, false),
    TUTTI_KEY(malformed_strikes, 1, 1e6, true),
    TUTTI_KEY(auth_failure_limit, 1, kBig, false),
    TUTTI_KEY(auth_failure_window_ms, 1, 1e12, false),
    TUTTI_KEY(auth_failure_ban_ms, 0, 1e12, false),
    TUTTI_KEY(max_rooms, 1, kBig, true),
    TUTTI_KEY(max_users_per_room, 1, 1e6, true),
    TUTTI_KEY(lobby_max_users, 1, 1e6, true),
    TUTTI_KEY(chat_history, 0, 1e6, true),
    TUTTI_KEY(max_chat_length, 1, 1e6, true),
    TUTTI_KEY(max_room_name_length, 1, 4096, true),
    TUTTI_KEY(max_password_length, 1, 4096, true),
    TUTTI_KEY(max_request_id_length, 1, 4096, true),
    TUTTI_KEY(max_midi_messages, 1, 1e6, true),
    TUTTI_KEY(max_midi_span_us, 0, 1e12, false),
    TUTTI_KEY(held_notes_snapshot_ms, 1, 1e7, false),
    TUTTI_KEY(room_history.max_events, 1, kBig, false),
    TUTTI_KEY(room_history.max_bytes, 1, 1e12, false),
    TUTTI_KEY(room_history.max_age_us, 0, 1e15, false),
    TUTTI_KEY(resume_grace_ms, 0, 3600000, false),
    TUTTI_KEY(token_leeway_s, 0, 1e6, false),
    TUTTI_KEY(token_expiry_notice_s, 0, 1e6, false),
    TUTTI_KEY(room_list_delta_ms, 1, 1e7, false),
    TUTTI_KEY(room_list_limit, 1, 1e6, false),
    TUTTI_KEY(audit_retention_days, 0, 1e6, true),
    TUTTI_KEY(drain_grace_s, 0, 3600, true),
    TUTTI_KEY(drain_reconnect_after_ms, 0, 3600000, true),
    // The recording writer reads these on its own thread, which a reload does not reach.
    TUTTI_KEY(recordings_dir, 0, 0, false),
    TUTTI_KEY(max_recording_bytes, 1024, 1 << 30, false),
    TUTTI_KEY(max_recording_duration_ms, 1000, 1e9, false),
    TUTTI_KEY(max_concurrent_recordings, 0, 1e4, false),
    TUTTI_KEY(recording_flush_ms, 1, 3600000, false),
    TUTTI_KEY(recording_queue_events, 1, 1e8, false),
    TUTTI_KEY(recording_chunk_bytes, 1, 1 << 20, false),
    TUTTI_KEY(max_recordings_per_room, 0, 1e6, false),
    TUTTI_KEY(log_format, 0, 0, false),
    TUTTI_KEY(log_level, 0, 0, true),  // applied to the ServerLog by tutti-server's reload
    TUTTI_KEY(log_stream_lines_per_second, 0.01, 1e6, false),
    TUTTI_KEY(log_stream_burst, 1, 1e6, false),
    TUTTI_KEY(max_log_subscribers, 0, 1e6, false),
};

#undef TUTTI_KEY

absl::Status LineError(int line, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("config line ", line, ": ", std::string(what)));
}

const Key* FindKey(const std::string& name) {
  for (const Key& k : kKeys) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

// The value as a number for a numeric key; false when it is not one.
bool AsNumber(const ConfigEntry& e, bool integer_only, double* out) {
  if (e.kind == ConfigEntry::Kind::kInteger) {
    *out = static_cast<double>(e.integer);
    return true;
  }
  if (e.kind == ConfigEntry::Kind::kFloat && !integer_only) {
    *out = e.number;
    return true;
  }
  return false;
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s = buf;
  // A float must read back as a float: 5 -> 5.0.
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string ValueText(const Key& k, const ServerConfig& config) {
  void* p = k.field(const_cast<ServerConfig*>(&config));
  switch (k.type) {
    case Type::kString:
      return Quote(*static_cast<std::string*>(p));
    case Type::kBool:
      return *static_cast<bool*>(p) ? "true" : "false";
    case Type::kInt:
      return std::to_string(*static_cast<int*>(p));
    case Type::kInt64:
      return std::to_string(*static_cast<int64_t*>(p));
    case Type::kUint32:
      return std::to_string(*static_cast<uint32_t*>(p));
    case Type::kSize:
      return std::to_string(*static_cast<size_t*>(p));
    case Type::kPort:
      return std::to_string(*static_cast<uint16_t*>(p));
    case Type::kDouble:
      return FormatDouble(*static_cast<double*>(p));
  }
  return "";
}

}  // namespace

absl::Status ApplyConfigText(std::string_view text, ServerConfig* config) {
  absl::StatusOr<std::vector<ConfigEntry>> entries = ParseConfigText(text);
  if (!entries.ok()) return entries.status();
  ServerConfig next = *config;
  for (const ConfigEntry& e : *entries) {
    const Key* k = FindKey(e.key);
    if (k == nullptr) {
      return LineError(e.line, absl::StrCat("unknown key '", e.key,
                                            "' (the keys: tutti-server --print-config)"));
    }
    void* p = k->field(&next);
    if (k->type == Type::kString) {
      if (e.kind != ConfigEntry::Kind::kString) {
        return LineError(e.line, absl::StrCat("'", e.key, "' wants a quoted string"));
      }
      *static_cast<std::string*>(p) = e.text;
      continue;
    }
    if (k->type == Type::kBool) {
      if (e.kind != ConfigEntry::Kind::kBool) {
        return LineError(e.line, absl::StrCat("'", e.key, "' wants true or false"));
      }
      *static_cast<bool*>(p) = e.boolean;
      continue;
    }
    double v = 0;
    if (!AsNumber(e, k->type != Type::kDouble, &v)) {
      return LineError(e.line, absl::StrCat("'", e.key, "' wants ",
                                            k->type == Type::kDouble ? "a number" : "an integer"));
    }
    if (!(v >= k->lo && v <= k->hi)) {
      return LineError(e.line,
                       absl::StrCat("'", e.key, "' wants a number from ", k->lo, " to ", k->hi));
    }
    switch (k->type) {
      case Type::kInt:
        *static_cast<int*>(p) = static_cast<int>(e.integer);
        break;
      case Type::kInt64:
        *static_cast<int64_t*>(p) = e.integer;
        break;
      case Type::kUint32:
        *static_cast<uint32_t*>(p) = static_cast<uint32_t>(e.integer);
        break;
      case Type::kSize:
        *static_cast<size_t*>(p) = static_cast<size_t>(e.integer);
        break;
      case Type::kPort:
        *static_cast<uint16_t*>(p) = static_cast<uint16_t>(e.integer);
        break;
      case Type::kDouble:
        *static_cast<double*>(p) = v;
        break;
      case Type::kString:
      case Type::kBool:
        break;
    }
  }
  *config = std::move(next);
  return absl::OkStatus();
}

absl::Status ApplyConfigFile(const std::string& path, ServerConfig* config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the config file ", path));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is larger than ", kMaxConfigFileBytes, " bytes"));
    }
  }
  absl::Status st = ApplyConfigText(text, config);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", st.message()));
  return st;
}

std::string FormatConfig(const ServerConfig& config) {
  std::string out =
      "# tutti-server configuration (docs/OPERATIONS.md, \"Configuration file\").\n"
      "# Every key of server/config.h; (reload) marks what SIGHUP applies to a running "
      "server.\n";
  for (const Key& k : kKeys) {
    absl::StrAppend(&out, k.name, " = ", ValueText(k, config), k.reloadable ? "  # (reload)" : "",
                    "\n");
  }
  return out;
}

ConfigChanges DiffConfig(const ServerConfig& a, const ServerConfig& b) {
  ConfigChanges changes;
  for (const Key& k : kKeys) {
    if (ValueText(k, a) == ValueText(k, b)) continue;
    (k.reloadable ? changes.reloadable : changes.restart_needed).push_back(k.name);
  }
  return changes;
}

void CopyReloadable(const ServerConfig& from, ServerConfig* to) {
  ServerConfig source = from;
  for (const Key& k : kKeys) {
    if (!k.reloadable) continue;
    void* src = k.field(&source);
    void* dst = k.field(to);
    switch (k.type) {
      case Type::kString:
        *static_cast<std::string*>(dst) = *static_cast<std::string*>(src);
        break;
      case Type::kBool:
        *static_cast<bool*>(dst) = *static_cast<bool*>(src);
        break;
      case Type::kInt:
        *static_cast<int*>(dst) = *static_cast<int*>(src);
        break;
      case Type::kInt64:
        *static_cast<int64_t*>(dst) = *static_cast<int64_t*>(src);
        break;
      case Type::kUint32:
        *static_cast<uint32_t*>(dst) = *static_cast<uint32_t*>(src);
        break;
      case Type::kSize:
        *static_cast<size_t*>(dst) = *static_cast<size_t*>(src);
        break;
      case Type::kPort:
        *static_cast<uint16_t*>(dst) = *static_cast<uint16_t*>(src);
        break;
      case Type::kDouble:
        *static_cast<double*>(dst) = *static_cast<double*>(src);
        break;
    }
  }
}

}  // namespace tutti::server
