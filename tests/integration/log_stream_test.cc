// The server's live log over real sockets (ServerCommand SUBSCRIBE_LOG): staff receive
// LogLines at their level and above, others are refused; the stream is rate limited per
// subscriber and says how many lines it dropped. Time is a FakeClock the test moves, and
// lines are made by refused upgrades (one warn line each), so every count is exact.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"

namespace tutti::testing {
namespace {

proto::ServerMessage LogCmd(proto::ServerCommandType type, const std::string& level,
                            const std::string& rid) {
  proto::ServerMessage m;
  m.mutable_server_command()->set_commandtype(type);
  if (!level.empty()) (*m.mutable_server_command()->mutable_parameters())["level"] = level;
  m.set_request_id(rid);
  return m;
}

// One refused upgrade: a payload that does not open. The server logs it (warn) before it
// answers, so the line exists once this returns.
void FailedUpgrade(TestServer& ts) {
  RawWs ws;
  ASSERT_TRUE(ws.ConnectTcp(ts.port()));
  EXPECT_EQ(ws.Upgrade("/api/websocket/AAAA").status, 400);
}

std::optional<proto::LogLine> NextLine(client::Client& c) {
  auto m = c.WaitFor(proto::ClientMessage::kLogLine, 5s);
  if (!m) return std::nullopt;
  return m->log_line();
}

std::string FieldOf(const proto::LogLine& line, const std::string& key) {
  for (const auto& f : line.fields()) {
    if (f.key() == key) return f.value();
  }
  return "";
}

TEST(LogStream, StaffGetLinesAtTheirLevelOthersAreRefused) {
  TestServer ts(2);
  auto mod = ts.Connect(Staff("mod", "moderator"));
  auto bob = ts.Connect("bob");
  ASSERT_TRUE(mod && bob);
  ASSERT_TRUE(bob->Send(LogCmd(proto::SUBSCRIBE_LOG, "", "b")));
  auto refused = WaitForReply(*bob, proto::ClientMessage::kErrorMessage, "b");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_message().code(), proto::PERMISSION_DENIED);
  ASSERT_TRUE(mod->Send(LogCmd(proto::SUBSCRIBE_LOG, "loud", "bad")));
  auto bad = WaitForReply(*mod, proto::ClientMessage::kErrorMessage, "bad");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->error_message().code(), proto::INVALID_PARAMETERS);

  ASSERT_TRUE(mod->Send(LogCmd(proto::SUBSCRIBE_LOG, "warn", "s")));
  auto ok = WaitForReply(*mod, proto::ClientMessage::kLogSubscription, "s");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->log_subscription().subscribed());
  EXPECT_EQ(ok->log_subscription().level(), proto::LOG_WARN);
  // An info line (a connection opening), then a warn line (a refused upgrade): only the
  // warn line comes, and it names the address.
  auto carol = ts.Connect("carol");
  ASSERT_TRUE(carol);
  FailedUpgrade(ts);
  auto line = NextLine(*mod);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->level(), proto::LOG_WARN);
  EXPECT_EQ(line->event(), "conn.refused");
  EXPECT_EQ(FieldOf(*line, "ip"), "127.0.0.1");
  EXPECT_EQ(FieldOf(*line, "status"), "400");
  EXPECT_NE(line->text().find("event=conn.refused"), std::string::npos) << line->text();
  EXPECT_EQ(line->dropped(), 0u);
  // Bob never gets a line.
  EXPECT_FALSE(bob->WaitFor(proto::ClientMessage::kLogLine, 200ms));

  // At info, the connection lines come too.
  ASSERT_TRUE(mod->Send(LogCmd(proto::SUBSCRIBE_LOG, "info", "i")));
  ASSERT_TRUE(WaitForReply(*mod, proto::ClientMessage::kLogSubscription, "i"));
  auto dave = ts.Connect("dave");
  ASSERT_TRUE(dave);
  bool saw_open = false;
  for (int i = 0; i < 10 && !saw_open; ++i) {
    auto l = NextLine(*mod);
    ASSERT_TRUE(l);
    saw_open = l->event() == "conn.open" && FieldOf(*l, "user") == "u-dave";
  }
  EXPECT_TRUE(saw_open);
  ASSERT_TRUE(mod->Send(LogCmd(proto::UNSUBSCRIBE_LOG, "", "u")));
  auto off = WaitForReply(*mod, proto::ClientMessage::kLogSubscription, "u");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->log_subscription().subscribed());
  EXPECT_EQ(ts.server().log().subscribers(), 0u);
}

TEST(LogStream, PastItsBucketASubscriberLosesLinesAndIsToldHowMany) {
  auto clock = NowFakeClock();
  TestServer ts(
      2,
      [](server::ServerConfig& c) {
        c.log_stream_lines_per_second = 1;
        c.log_stream_burst = 3;
      },
      clock);
  auto admin = ts.Connect(Staff("admin", "admin"));
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->Send(LogCmd(proto::SUBSCRIBE_LOG, "warn", "s")));
  auto sub = WaitForReply(*admin, proto::ClientMessage::kLogSubscription, "s");
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->log_subscription().burst(), 3u);
  for (int i = 0; i < 5; ++i) FailedUpgrade(ts);
  for (int i = 0; i < 3; ++i) {
    auto line = NextLine(*admin);
    ASSERT_TRUE(line) << i;
    EXPECT_EQ(line->dropped(), 0u);
  }
  // The clock stands still: nothing more comes for the two past the burst.
  EXPECT_FALSE(admin->WaitFor(proto::ClientMessage::kLogLine, 200ms));
  clock->AdvanceUs(1'000'000);  // one line's worth
  FailedUpgrade(ts);
  auto next = NextLine(*admin);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->dropped(), 2u);
  ASSERT_TRUE(admin->Send(LogCmd(proto::UNSUBSCRIBE_LOG, "", "u")));
  auto off = WaitForReply(*admin, proto::ClientMessage::kLogSubscription, "u");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->log_subscription().dropped_total(), 2u);
}

TEST(LogStream, AClosedSessionLeavesNoSubscription) {
  TestServer ts(2);
  {
    auto admin = ts.Connect(Staff("admin", "admin"));
    ASSERT_TRUE(admin);
    ASSERT_TRUE(admin->Send(LogCmd(proto::SUBSCRIBE_LOG, "", "s")));
    ASSERT_TRUE(WaitForReply(*admin, proto::ClientMessage::kLogSubscription, "s"));
    EXPECT_EQ(ts.server().log().subscribers(), 1u);
  }
  EXPECT_TRUE(WaitUntil([&] { return ts.server().log().subscribers() == 0; }));
}

}  // namespace
}  // namespace tutti::testing
