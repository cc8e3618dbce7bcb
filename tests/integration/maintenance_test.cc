// Maintenance mode and drains on a real server with three shards (server/maintenance.h):
// a drain's countdown reaches every client on every shard before the 1001 close with its
// reconnect hint; maintenance mode refuses new upgrades with 503 and the reason (staff
// excepted), tells room owners and staff, and /readyz's flag follows it; only server admins
// may start either.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/maintenance.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

constexpr int kShards = 3;

proto::ServerMessage Command(proto::ServerCommandType type,
                             std::map<std::string, std::string> params, const std::string& rid) {
  proto::ServerMessage m;
  m.set_message_type(proto::ServerMessage::ServerCommand);
  m.mutable_server_command()->set_commandtype(type);
  for (auto& [k, v] : params) (*m.mutable_server_command()->mutable_parameters())[k] = v;
  m.set_request_id(rid);
  return m;
}

// The upgrade answer to a fresh payload for `user`.
HttpResponse UpgradeAs(TestServer& ts, const UserSpec& user) {
  RawWs raw;
  if (!raw.ConnectTcp(ts.port())) return {};
  return raw.Upgrade(ts.Resource(user));
}

bool CommandOk(client::Client& c, const proto::ServerMessage& cmd) {
  if (!c.Send(cmd)) return false;
  auto reply = WaitForReply(c, proto::ClientMessage::kCommandResult, cmd.request_id(), 10s);
  return reply && reply->command_result().ok();
}

TEST(Maintenance, DrainCountdownReachesEveryClientOnEveryShardThenCloses1001) {
  TestServer ts(kShards);
  // Clients until every shard holds two (the listeners share the port; the kernel spreads).
  std::vector<std::unique_ptr<client::Client>> clients;
  std::vector<int> per_shard(kShards, 0);
  for (int i = 0; i < 120; ++i) {
    bool done = true;
    for (int n : per_shard) done = done && n >= 2;
    if (done) break;
    proto::Welcome w;
    auto c = ts.Connect(Named("p" + std::to_string(i)), &w);
    ASSERT_TRUE(c);
    ASSERT_LT(w.shard(), static_cast<uint32_t>(kShards));
    ++per_shard[w.shard()];
    clients.push_back(std::move(c));
  }
  for (int s = 0; s < kShards; ++s) ASSERT_GE(per_shard[s], 2) << "shard " << s;
  auto admin = ts.Connect(Admin());
  ASSERT_TRUE(admin);
  EXPECT_FALSE(ts.server().draining());

  ASSERT_TRUE(CommandOk(*admin, Command(proto::START_DRAIN,
                                        {{"message", "upgrading to 2.0"}, {"seconds", "2"}}, "d")));
  clients.push_back(std::move(admin));
  for (size_t i = 0; i < clients.size(); ++i) {
    auto notice = clients[i]->WaitFor(proto::ClientMessage::kServerNotice, 10s);
    ASSERT_TRUE(notice) << "client " << i;
    EXPECT_EQ(notice->server_notice().kind(), proto::ServerNotice::DRAIN) << "client " << i;
    EXPECT_EQ(notice->server_notice().message(), "upgrading to 2.0");
    EXPECT_EQ(notice->server_notice().seconds_left(), 2);
    EXPECT_GT(notice->server_notice().closes_at_unix_ms(), 0);
    EXPECT_EQ(notice->server_notice().reconnect_after_ms(), 5000);
  }
  EXPECT_TRUE(ts.server().draining());
  for (size_t i = 0; i < clients.size(); ++i) {
    uint16_t code = 0;
    std::string reason;
    ASSERT_TRUE(clients[i]->WaitClosed(30s, &code, &reason)) << "client " << i;
    EXPECT_EQ(code, 1001) << "client " << i;
    EXPECT_NE(reason.find("reconnect in 5 s"), std::string::npos) << reason;
  }
  EXPECT_TRUE(WaitUntil([&] { return ts.server().maintenance().drained(); }, 10s));

  // Over, the server stays in maintenance mode: players are refused, staff come in and
  // lift it.
  HttpResponse refused = UpgradeAs(ts, Named("late"));
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("server unavailable - maintenance mode: upgrading to 2.0"),
            std::string::npos)
      << refused.body;
  auto back = ts.Connect(Admin());
  ASSERT_TRUE(back);
  ASSERT_TRUE(CommandOk(*back, Command(proto::SET_MAINTENANCE, {{"on", "false"}}, "off")));
  EXPECT_TRUE(WaitUntil([&] { return !ts.server().draining(); }, 10s));
  EXPECT_TRUE(ServerStillServes(ts, "after-drain"));
}

TEST(Maintenance, ModeRefusesUpgradesWith503AndTellsOwnersAndStaffOnly) {
  TestServer ts(kShards);
  auto admin = ts.Connect(Admin());
  UserSpec mod_spec = Named("mod");
  mod_spec.roles = {"moderator"};
  auto mod = ts.Connect(mod_spec);
  auto owner = ts.Connect(Named("owner"));
  auto member = ts.Connect(Named("member"));
  auto bystander = ts.Connect(Named("bystander"));
  ASSERT_TRUE(admin && mod && owner && member && bystander);
  ASSERT_TRUE(owner->Send(CreateMsg("Hall", proto::PUBLIC, "", 0, "c")));
  ASSERT_TRUE(WaitForReply(*owner, proto::ClientMessage::kRoomJoinedResponse, "c"));
  ASSERT_TRUE(JoinRoom(*member, "Hall"));

  ASSERT_TRUE(CommandOk(
      *admin, Command(proto::SET_MAINTENANCE, {{"on", "true"}, {"reason", "disk swap"}}, "on")));
  for (client::Client* c : {admin.get(), mod.get(), owner.get()}) {
    auto notice = c->WaitFor(proto::ClientMessage::kServerNotice, 10s);
    ASSERT_TRUE(notice);
    EXPECT_EQ(notice->server_notice().kind(), proto::ServerNotice::MAINTENANCE_ON);
    EXPECT_EQ(notice->server_notice().message(),
              "server unavailable - maintenance mode: disk swap");
  }
  EXPECT_TRUE(ts.server().draining());  // /readyz: not ready

  HttpResponse refused = UpgradeAs(ts, Named("newcomer"));
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("server unavailable - maintenance mode: disk swap"),
            std::string::npos)
      << refused.body;
  UserSpec guest;
  guest.name = "guest";
  guest.guest = true;
  EXPECT_EQ(UpgradeAs(ts, guest).status, 503);
  EXPECT_EQ(UpgradeAs(ts, Admin()).status, 101);  // staff still come in
  EXPECT_EQ(UpgradeAs(ts, mod_spec).status, 101);

  // Off again: owners and staff hear it, upgrades are taken.
  ASSERT_TRUE(CommandOk(*admin, Command(proto::SET_MAINTENANCE, {{"on", "false"}}, "off")));
  auto off = owner->WaitFor(proto::ClientMessage::kServerNotice, 10s);
  ASSERT_TRUE(off);
  EXPECT_EQ(off->server_notice().kind(), proto::ServerNotice::MAINTENANCE_OFF);
  EXPECT_EQ(UpgradeAs(ts, Named("newcomer")).status, 101);
  EXPECT_FALSE(ts.server().draining());

  // A drain reaches everyone; the plain member and the bystander heard nothing before it:
  // their first notice is the drain's (shard 0 sends each shard its notices in order).
  ASSERT_TRUE(CommandOk(*admin, Command(proto::START_DRAIN, {{"seconds", "30"}}, "d")));
  for (client::Client* c : {member.get(), bystander.get()}) {
    auto first = c->WaitFor(proto::ClientMessage::kServerNotice, 10s);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->server_notice().kind(), proto::ServerNotice::DRAIN);
    EXPECT_EQ(first->server_notice().seconds_left(), 30);
  }
  // Called off: everyone who heard the countdown hears that too, and nobody is closed.
  ASSERT_TRUE(CommandOk(*admin, Command(proto::SET_MAINTENANCE, {{"on", "false"}}, "off2")));
  for (client::Client* c : {member.get(), bystander.get()}) {
    auto over = c->WaitFor(proto::ClientMessage::kServerNotice, 10s);
    ASSERT_TRUE(over);
    EXPECT_EQ(over->server_notice().kind(), proto::ServerNotice::MAINTENANCE_OFF);
    EXPECT_TRUE(c->is_open());
  }
  EXPECT_FALSE(ts.server().maintenance().draining());
}

TEST(Maintenance, OnlyAdminsAndOnlyValidParameters) {
  TestServer ts(2);
  UserSpec mod_spec = Named("mod");
  mod_spec.roles = {"moderator"};
  auto mod = ts.Connect(mod_spec);
  auto admin = ts.Connect(Admin());
  ASSERT_TRUE(mod && admin);
  std::string rid;
  ASSERT_TRUE(mod->Send(Command(proto::START_DRAIN, {{"seconds", "5"}}, "m1")));
  EXPECT_EQ(WaitError(*mod, 5s, &rid), proto::PERMISSION_DENIED);
  ASSERT_TRUE(mod->Send(Command(proto::SET_MAINTENANCE, {{"on", "true"}}, "m2")));
  EXPECT_EQ(WaitError(*mod, 5s, &rid), proto::PERMISSION_DENIED);
  for (const char* bad : {"-1", "3601", "ten", "99999999999"}) {
    ASSERT_TRUE(admin->Send(Command(proto::START_DRAIN, {{"seconds", bad}}, "a")));
    EXPECT_EQ(WaitError(*admin, 5s, &rid), proto::INVALID_PARAMETERS) << bad;
  }
  ASSERT_TRUE(admin->Send(Command(proto::SET_MAINTENANCE, {{"on", "yes"}}, "b")));
  EXPECT_EQ(WaitError(*admin, 5s, &rid), proto::INVALID_PARAMETERS);
  ASSERT_TRUE(admin->Send(
      Command(proto::START_DRAIN, {{"message", std::string(513, 'x')}, {"seconds", "1"}}, "c")));
  EXPECT_EQ(WaitError(*admin, 5s, &rid), proto::INVALID_PARAMETERS);
  EXPECT_FALSE(ts.server().draining());
  EXPECT_TRUE(ServerStillServes(ts));
}

// Drains and maintenance mode are server-wide actions of an admin: each is recorded in the
// server's audit log, which server staff (a moderator here) read with /log outside a room;
// a member is not shown it. What a moderator is refused leaves no record.
TEST(Maintenance, DrainsAndTheModeAreInTheServerAuditLogForStaff) {
  TestServer ts(2);
  UserSpec mod_spec = Named("mod");
  mod_spec.roles = {"moderator"};
  auto admin = ts.Connect(Admin());
  auto mod = ts.Connect(mod_spec);
  auto member = ts.Connect(Named("member"));
  ASSERT_TRUE(admin && mod && member);
  std::string rid;
  ASSERT_TRUE(mod->Send(Command(proto::START_DRAIN, {{"message", "not mine"}}, "m")));
  EXPECT_EQ(WaitError(*mod, 5s, &rid), proto::PERMISSION_DENIED);
  ASSERT_TRUE(CommandOk(
      *admin, Command(proto::SET_MAINTENANCE, {{"on", "true"}, {"reason", "disk swap"}}, "on")));
  ASSERT_TRUE(CommandOk(
      *admin, Command(proto::START_DRAIN, {{"message", "back at noon"}, {"seconds", "600"}}, "d")));
  ASSERT_TRUE(CommandOk(*admin, Command(proto::SET_MAINTENANCE, {{"on", "false"}}, "off")));

  // The records are written on the storage thread after the answers: read until all three
  // are there (bounded).
  std::vector<proto::AuditEntry> ours;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (int round = 0; ours.size() < 3 && std::chrono::steady_clock::now() < deadline; ++round) {
    const std::string log_rid = "log" + std::to_string(round);
    ASSERT_TRUE(mod->Send(ChatMsg("/log 50", log_rid)));
    auto log = WaitForReply(*mod, proto::ClientMessage::kAuditLog, log_rid, 10s);
    ASSERT_TRUE(log);
    ours.clear();
    for (const auto& e : log->audit_log().entries()) {
      if (e.action() == proto::MOD_DRAIN || e.action() == proto::MOD_MAINTENANCE_ON ||
          e.action() == proto::MOD_MAINTENANCE_OFF) {
        ours.push_back(e);
      }
    }
  }
  ASSERT_EQ(ours.size(), 3u);
  EXPECT_EQ(ours[0].action(), proto::MOD_MAINTENANCE_ON);
  EXPECT_EQ(ours[0].reason(), "disk swap");
  EXPECT_EQ(ours[1].action(), proto::MOD_DRAIN);
  EXPECT_EQ(ours[1].reason(), "back at noon");
  EXPECT_GT(ours[1].until_unix_ms(), ours[1].unix_ms());
  EXPECT_EQ(ours[2].action(), proto::MOD_MAINTENANCE_OFF);
  for (const auto& e : ours) {
    EXPECT_EQ(e.actor_user_id(), "u-admin");
    EXPECT_EQ(e.room_id(), "");  // server-wide
  }
  // A member outside a room has no log to read.
  ASSERT_TRUE(member->Send(ChatMsg("/log", "ml")));
  EXPECT_EQ(WaitError(*member, 5s, &rid), proto::WRONG_STATE);
  EXPECT_FALSE(ts.server().maintenance().draining());
}

}  // namespace
}  // namespace tutti::testing
