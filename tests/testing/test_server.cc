#include "tests/testing/test_server.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "crypto/dev_connection.h"
#include "server/clock.h"
#include "server/ids.h"
#include "server/text.h"

namespace tutti::testing {

std::shared_ptr<server::FakeClock> NowFakeClock() {
  const server::SystemClock system;
  return std::make_shared<server::FakeClock>(system.NowUs(), system.UnixMs());
}

TestServer::TestServer(int shards, const std::function<void(server::ServerConfig&)>& tweak,
                       std::shared_ptr<const server::Clock> clock)
    : clock_(clock ? std::move(clock) : std::make_shared<server::SystemClock>()) {
  char tmpl[] = "/tmp/tutti-test-XXXXXX";
  char* made = mkdtemp(tmpl);
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  dir_ = made;
  absl::Status st = crypto::GenerateKeyFiles(dir_, false);
  EXPECT_TRUE(st.ok()) << st;
  auto keys = crypto::LoadServerKeys(dir_);
  EXPECT_TRUE(keys.ok()) << keys.status();
  auto issuer = crypto::LoadIssuerKeys(dir_);
  EXPECT_TRUE(issuer.ok()) << issuer.status();
  issuer_ = std::move(*issuer);
  seal_public_ = keys->seal_public;

  server::ServerConfig config;
  config.port = 0;
  config.shards = shards;
  config.key_dir = dir_;
  config.data_dir = dir_;
  config.web_root = "";  // hermetic: tests that serve files name their own
  // Every test client comes from loopback, many of them within a second: the door's
  // per-address limits are the subject of door_limits_test.cc (which tweaks this back), not of
  // every test that opens a few dozen connections.
  config.exempt_networks = "127.0.0.0/8";
  if (tweak) tweak(config);
  server_ = std::make_unique<server::Server>(config, std::move(*keys), clock_);
  st = server_->Start();
  EXPECT_TRUE(st.ok()) << st;
}

TestServer::~TestServer() {
  server_.reset();  // shuts down and joins the shard threads
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TestServer::Resource(const UserSpec& user) {
  crypto::DevConnectionRequest req;
  req.user_id = user.user_id.empty() ? "u-" + user.name : user.user_id;
  req.name = user.name;
  req.member = user.member;
  req.guest = user.guest;
  req.roles = user.roles;
  req.ttl_s = user.ttl_s;
  req.port = port();
  req.resume_token = user.resume_token;
  req.resume_room = user.resume_room;
  req.resume_epoch = user.resume_epoch;
  req.resume_offset = static_cast<int64_t>(user.resume_offset);
  req.link_token = user.link_token;
  auto dev = crypto::MintDevConnection(req, user.guest ? nullptr : &issuer_, seal_public_,
                                       clock_->UnixMs());
  EXPECT_TRUE(dev.ok()) << dev.status();
  return dev.ok() ? dev->resource : std::string();
}

std::unique_ptr<client::Client> TestServer::Connect(const UserSpec& user, proto::Welcome* welcome) {
  auto c = std::make_unique<client::Client>();
  client::ConnectResult r = c->Connect("127.0.0.1", port(), Resource(user));
  if (!r.ok) {
    ADD_FAILURE() << "connect failed: " << r.http_status << " " << r.error;
    return nullptr;
  }
  auto w = c->WaitFor(proto::ClientMessage::kWelcome, 5s);
  if (!w) {
    ADD_FAILURE() << "no Welcome";
    return nullptr;
  }
  if (welcome) *welcome = w->welcome();
  return c;
}

server::Shard::Counters TestServer::TotalCounters() {
  server::Shard::Counters total;
  for (int i = 0; i < server_->shard_count(); ++i) {
    std::promise<server::Shard::Counters> p;
    server::Shard& s = server_->shard(i);
    s.Post([&p, &s] { p.set_value(s.counters()); });
    server::Shard::Counters c = p.get_future().get();
    total.frames_in += c.frames_in;
    total.frames_out += c.frames_out;
    total.frames_dropped += c.frames_dropped;
    total.slow_consumers_closed += c.slow_consumers_closed;
    total.malformed += c.malformed;
    total.links_attached += c.links_attached;
    total.links_refused += c.links_refused;
    total.links_detached += c.links_detached;
    total.link_frames_dropped += c.link_frames_dropped;
    total.midi_duplicates += c.midi_duplicates;
    total.held_rooms_ticked += c.held_rooms_ticked;
    total.idle_checks += c.idle_checks;
  }
  return total;
}

proto::ServerMessage JoinMsg(const std::string& room, const std::string& password,
                             const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_join_room_by_name()->set_room_name(room);
  m.mutable_join_room_by_name()->set_password(password);
  m.set_request_id(request_id);
  return m;
}

proto::ServerMessage CreateMsg(const std::string& room, proto::RoomType type,
                               const std::string& password, int max_users,
                               const std::string& request_id) {
  proto::ServerMessage m;
  auto* c = m.mutable_create_room_command();
  c->set_room_name(room);
  c->set_room_type(type);
  c->set_password(password);
  c->mutable_settings()->set_max_users(max_users);
  c->mutable_settings()->set_allow_chat(true);
  c->mutable_settings()->set_allow_guests(true);
  m.set_request_id(request_id);
  return m;
}

proto::ServerMessage ChatMsg(const std::string& text, const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_room_chat_message()->set_message(text);
  m.set_request_id(request_id);
  return m;
}

proto::ServerMessage MidiMsg(const std::string& bytes, int64_t timestamp,
                             const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_midi_message()->set_midi_data(bytes);
  m.mutable_midi_message()->set_timestamp(timestamp);
  m.set_request_id(request_id);
  return m;
}

proto::ServerMessage LobbyMsg() {
  proto::ServerMessage m;
  m.mutable_join_next_available_lobby();
  return m;
}

proto::ServerMessage LeaveMsg(const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_leave_room();
  m.set_request_id(request_id);
  return m;
}

bool JoinRoom(client::Client& c, const std::string& room, proto::RoomJoinedResponse* out) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
  (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
  if (!c.Send(m)) {
    ADD_FAILURE() << "send failed";
    return false;
  }
  for (;;) {
    auto r = c.Next(5s);
    if (!r) {
      ADD_FAILURE() << "no RoomJoinedResponse for " << room;
      return false;
    }
    if (r->has_error_message()) {
      ADD_FAILURE() << "join " << room << ": " << r->error_message().error_message();
      return false;
    }
    if (r->has_room_joined_response()) {
      if (out) *out = r->room_joined_response();
      return true;
    }
  }
}

proto::ErrorCode WaitError(client::Client& c, std::chrono::milliseconds timeout,
                           std::string* request_id) {
  auto m = c.WaitFor(proto::ClientMessage::kErrorMessage, timeout);
  if (!m) return proto::ERROR_CODE_UNSPECIFIED;
  if (request_id) *request_id = m->request_id();
  return m->error_message().code();
}

UserSpec Named(const std::string& name) {
  UserSpec spec;
  spec.name = name;
  return spec;
}

UserSpec Staff(const std::string& name, const std::string& role) {
  UserSpec spec = Named(name);
  spec.roles = {role};
  return spec;
}

UserSpec Admin(const std::string& name) { return Staff(name, "admin"); }

proto::ServerMessage HeartbeatMsg(int64_t client_time_us, const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_heartbeat_message()->set_timestamp(client_time_us);
  m.set_request_id(request_id);
  return m;
}

proto::ServerMessage RoomListMsg(const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_get_room_list();
  m.set_request_id(request_id);
  return m;
}

proto::ServerMessage PrivateMsg(const std::string& to, const std::string& text,
                                const std::string& request_id) {
  proto::ServerMessage m;
  m.mutable_private_message()->set_to_user_id(to);
  m.mutable_private_message()->set_message(text);
  m.set_request_id(request_id);
  return m;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

std::optional<proto::ClientMessage> WaitForReply(client::Client& c,
                                                 proto::ClientMessage::MessageCase which,
                                                 const std::string& request_id,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = c.Next(left);
    if (!m) return std::nullopt;
    if (m->message_case() == which && m->request_id() == request_id) return m;
  }
}

std::string RoomNameOnShard(const std::string& prefix, int shard, int shard_count) {
  for (int i = 0; i < 100000; ++i) {
    std::string name = prefix + std::to_string(i);
    if (server::HomeShardOfRoom(server::CanonicalRoomId(name, 64), shard_count) == shard) {
      return name;
    }
  }
  ADD_FAILURE() << "no room name for shard " << shard;
  return prefix;
}

proto::ClientMessage Answer(client::Client& c, const std::string& request_id,
                            std::initializer_list<proto::ClientMessage::MessageCase> also) {
  for (int i = 0; i < 200; ++i) {
    auto m = c.Next(5s);
    if (!m) break;
    if (m->request_id() != request_id) continue;
    if (m->has_command_result() || m->has_error_message() ||
        std::find(also.begin(), also.end(), m->message_case()) != also.end()) {
      return *m;
    }
  }
  ADD_FAILURE() << "no answer for " << request_id;
  return proto::ClientMessage();
}

std::vector<proto::ClientMessage> ReadUntilChat(
    client::Client& c, const std::string& text,
    const std::function<void(const proto::ClientMessage&)>& observe,
    std::chrono::milliseconds quiet) {
  std::vector<proto::ClientMessage> seen;
  for (;;) {
    auto m = c.Next(quiet);
    if (!m) {
      ADD_FAILURE() << "timed out waiting for \"" << text << "\"";
      return seen;
    }
    if (observe) observe(*m);
    if (m->has_stream()) seen.push_back(*m);
    if (m->has_room_chat_message() && m->room_chat_message().message() == text) return seen;
  }
}

bool ConnectInRoom(
    TestServer& ts, const std::string& room,
    std::initializer_list<std::pair<const char*, std::unique_ptr<client::Client>*>> members) {
  for (const auto& [name, client] : members) {
    *client = ts.Connect(name);
    if (!*client) return false;
  }
  for (const auto& [name, client] : members) {
    if (!JoinRoom(**client, room)) return false;
  }
  return true;
}

bool ServerStillServes(TestServer& ts, const std::string& tag) {
  auto a = ts.Connect(tag + "-a");
  auto b = ts.Connect(tag + "-b");
  if (!a || !b) return false;
  const std::string room = tag + " check room";
  if (!JoinRoom(*a, room) || !JoinRoom(*b, room)) return false;
  if (!a->Send(ChatMsg("still here"))) {
    ADD_FAILURE() << "send failed";
    return false;
  }
  auto got = b->WaitFor(proto::ClientMessage::kRoomChatMessage, 5s);
  if (!got || got->room_chat_message().message() != "still here") {
    ADD_FAILURE() << "a fresh client got no chat from another fresh client";
    return false;
  }
  return true;
}

}  // namespace tutti::testing
