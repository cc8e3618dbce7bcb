// The operator's counters against a real server on 127.0.0.1: real WebSocket clients
// (from 127.0.0.x source addresses where the door's per-address limits must see distinct
// peers) get refused once for every reason class, hit every rate-limit bucket the test
// can reach, relay MIDI, create a password room and get banned, and a scrape of the admin
// listener shows each of those in its own series: refusals by (status, reason), rate
// limits by bucket, frames and bytes by message kind, close codes, and the histograms
// (join latency, MIDI fan-out, store transactions, password-hash pool), and the outbound
// queue gauge follows a reader that stopped reading. promtool checks a scrape taken while
// clients stream MIDI.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/admin_listener.h"
#include "tests/testing/admin_fixture.h"
#include "tests/testing/admin_http.h"
#include "tests/testing/raw_ws.h"
#include "tests/testing/test_server.h"
#include "tools/client/client.h"

namespace tutti::testing {
namespace {

class MetricsCountersTest : public AdminListenerFixture {
 protected:
  void Start(const std::function<void(server::ServerConfig&)>& tweak, int shards = 2) {
    server_ = std::make_unique<TestServer>(shards, tweak);
    ASSERT_NO_FATAL_FAILURE(StartAdmin());
  }
  // Scrapes until `series` is at least `want`, for at most 10 s; says what it saw.
  ::testing::AssertionResult Reaches(const std::string& series, double want) {
    double seen = 0;
    std::map<std::string, double> last;
    if (WaitUntil(
            [&] {
              last = Scrape();
              seen = last[series];
              return seen >= want;
            },
            10s)) {
      return ::testing::AssertionSuccess();
    }
    // The family's other series say where the count went instead.
    const std::string family = series.substr(0, series.find('{'));
    auto failure = ::testing::AssertionFailure()
                   << series << " is " << seen << ", want >= " << want << "; the family has:";
    for (const auto& [name, value] : last) {
      if (name.compare(0, family.size(), family) == 0) failure << "\n  " << name << " " << value;
    }
    return failure;
  }
  // One upgrade from `source` to `resource`; the HTTP status it got.
  int UpgradeFrom(const std::string& source, const std::string& resource) {
    RawWs ws;
    ws.set_source_address(source);
    if (!ws.ConnectTcp(server_->port())) return 0;
    return ws.Upgrade(resource).status;
  }
};

proto::ServerMessage AvatarMove(float x) {
  proto::ServerMessage m;
  m.mutable_avatar_command()->set_action(proto::UPDATE_POSITION);
  m.mutable_avatar_command()->mutable_avatar_data()->set_x(x);
  m.mutable_avatar_command()->mutable_avatar_data()->set_y(0.5f);
  return m;
}

TEST_F(MetricsCountersTest, EachRefusalClassAndRateBucketShowsInItsSeries) {
  Start([](server::ServerConfig& c) {
    c.exempt_networks = "127.0.0.1/32";  // the named clients; 127.0.0.x others are limited
    c.max_guests_per_address = 1;
    c.upgrades_per_second_per_address = 0.001;  // no refill within the test
    c.upgrade_burst_per_address = 3;
    c.auth_failure_limit = 2;
    c.malformed_strikes = 2;
    // Small buckets that do not refill within the test: the (n+1)th is refused.
    c.chat_per_second = 0.001;
    c.chat_burst = 2;
    c.notes_per_second = 0.001;
    c.note_burst = 4;
    c.controllers_per_second = 0.001;
    c.controller_burst = 1;
    c.leaves_per_second = 0.001;
    c.leave_burst = 1;
    c.avatar_per_second = 0.001;
    c.avatar_burst = 1;
    c.requests_per_second = 0.001;
    c.request_burst = 3;
    c.joins_per_second = 0.001;  // alice and bob join twice each; dave a third time
    c.join_burst = 2;
  });
  const auto before = Scrape();
  EXPECT_EQ(before.at("tutti_rate_limited_total{bucket=\"midi_notes\"}"), 0);

  // --- upgrade refusals, one of each class -------------------------------------------
  EXPECT_EQ(UpgradeFrom("127.0.0.2", "/api/websocket/not-a-payload"), 400);  // auth
  EXPECT_EQ(UpgradeFrom("127.0.0.2", "/nope"), 404);                         // unknown path
  // The failure brake: two failed connects, then the address is refused before auth.
  EXPECT_EQ(UpgradeFrom("127.0.0.4", "/api/websocket/bad"), 400);
  EXPECT_EQ(UpgradeFrom("127.0.0.4", "/api/websocket/bad"), 400);
  EXPECT_EQ(UpgradeFrom("127.0.0.4", "/api/websocket/bad"), 429);
  // The address's upgrade bucket (burst 3): the fourth attempt is refused.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(UpgradeFrom("127.0.0.6", "/nope"), 404);
  EXPECT_EQ(UpgradeFrom("127.0.0.6", "/nope"), 429);
  // A second guest from one address.
  RawWs guest1;
  guest1.set_source_address("127.0.0.3");
  ASSERT_TRUE(guest1.ConnectTcp(server_->port()));
  EXPECT_EQ(guest1.Upgrade(server_->Resource({"g1", "", false, true, {}, 3600})).status, 101);
  EXPECT_EQ(UpgradeFrom("127.0.0.3", server_->Resource({"g2", "", false, true, {}, 3600})), 429);
  // A banned address.
  auto admin = server_->Connect(Admin("admin"));
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->Send(ChatMsg("/sban 127.0.0.8 1h metrics", "ban")));
  ASSERT_TRUE(WaitForReply(*admin, proto::ClientMessage::kCommandResult, "ban"));
  EXPECT_TRUE(WaitUntil([&] { return UpgradeFrom("127.0.0.8", "/nope") == 403; }, 5s));

  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"400\",reason=\"auth\"}", 3));
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"404\",reason=\"unknown_path\"}", 4));
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"429\",reason=\"failure_brake\"}", 1));
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"429\",reason=\"attempts\"}", 1));
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"429\",reason=\"guests_full\"}", 1));
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"403\",reason=\"banned\"}", 1));

  // --- sessions: rate-limit buckets, MIDI by kind, fan-out, joins ----------------------
  auto alice = server_->Connect("alice");
  auto bob = server_->Connect("bob");
  ASSERT_TRUE(alice && bob);
  ASSERT_TRUE(JoinRoom(*alice, "Counted"));
  ASSERT_TRUE(JoinRoom(*bob, "Counted"));
  // Notes: burst 4, so the fifth note-on is refused by the note quota.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(alice->Send(MidiMsg(std::string("\x90\x3c\x60", 3))));
  // Controllers: burst 1.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(alice->Send(MidiMsg(std::string("\xb0\x07\x64", 3))));
  // Chat: burst 2.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bob->Send(ChatMsg("hi")));
  // Requests (room lists): burst 3.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(bob->Send(RoomListMsg()));
  // Avatar moves: burst 1, the rest dropped without an error.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bob->Send(AvatarMove(0.1f * static_cast<float>(i))));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"midi_notes\"}", 1));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"midi_controllers\"}", 1));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"chat\"}", 1));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"request\"}", 1));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"avatar\"}", 1));
  // Leaves: burst 1; the second leave (after rejoining) is refused.
  ASSERT_TRUE(bob->Send(LeaveMsg("l1")));
  ASSERT_TRUE(WaitForReply(*bob, proto::ClientMessage::kRoomLeft, "l1"));
  ASSERT_TRUE(JoinRoom(*bob, "Counted"));
  ASSERT_TRUE(bob->Send(LeaveMsg("l2")));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"leave\"}", 1));
  // Joins: burst 2, so dave's third join is refused by the join bucket.
  auto dave = server_->Connect("dave");
  ASSERT_TRUE(dave);
  ASSERT_TRUE(JoinRoom(*dave, "Joins 1"));
  ASSERT_TRUE(JoinRoom(*dave, "Joins 2"));
  ASSERT_TRUE(dave->Send(JoinMsg("Joins 3")));
  EXPECT_EQ(WaitError(*dave), proto::RATE_LIMITED);
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"join\"}", 1));
  // Releases: their own bucket, twice the note burst at a quarter each (32 note-offs),
  // so the 33rd is refused; dave plays alone in his room, the others' counts stay.
  for (int i = 0; i < 33; ++i) ASSERT_TRUE(dave->Send(MidiMsg(std::string("\x80\x3c\x40", 3))));
  EXPECT_TRUE(Reaches("tutti_rate_limited_total{bucket=\"midi_releases\"}", 1));
  EXPECT_TRUE(Reaches("tutti_errors_sent_total{code=\"RATE_LIMITED\"}", 7));

  // Four notes relayed: in and out by kind, with their bytes; each reached one receiver.
  EXPECT_TRUE(Reaches("tutti_frames_in_total{kind=\"midi_message\"}", 7));
  EXPECT_TRUE(Reaches("tutti_bytes_in_total{kind=\"midi_message\"}", 7 * 3));
  EXPECT_TRUE(Reaches("tutti_frames_out_total{kind=\"midi_message\"}", 5));
  EXPECT_TRUE(Reaches("tutti_bytes_out_total{kind=\"midi_message\"}", 5 * 3));
  EXPECT_TRUE(Reaches("tutti_frames_out_total{kind=\"welcome\"}", 3));
  EXPECT_TRUE(Reaches("tutti_frames_in_total{kind=\"room_chat_message\"}", 3));
  EXPECT_TRUE(Reaches("tutti_midi_fanout_receivers_bucket{le=\"1\"}", 5));
  EXPECT_TRUE(Reaches("tutti_midi_fanout_receivers_count", 5));
  EXPECT_TRUE(Reaches("tutti_deliveries_total", 5));
  EXPECT_TRUE(Reaches("tutti_join_latency_seconds_count", 3));
  EXPECT_TRUE(Reaches("tutti_join_latency_seconds_bucket{le=\"+Inf\"}", 3));

  // A password room: its hash is made on the password pool.
  ASSERT_TRUE(alice->Send(CreateMsg("Secret", proto::PUBLIC, "hunter22", 0, "create")));
  EXPECT_TRUE(WaitForReply(*alice, proto::ClientMessage::kRoomJoinedResponse, "create"));
  EXPECT_TRUE(Reaches("tutti_hash_pool_wait_seconds_count", 1));
  // The ban and the brake's audit record went through the storage thread.
  EXPECT_TRUE(Reaches("tutti_store_transaction_seconds_count", 1));
  EXPECT_TRUE(Reaches("tutti_store_queue_wait_seconds_count", 1));
  EXPECT_TRUE(Reaches("tutti_store_submit_queue_depth_count", 1));

  // Malformed input: strikes counted, and the second closes the session with 1008.
  ASSERT_TRUE(guest1.SendBinary("\xff\xff\xff garbage"));
  ASSERT_TRUE(guest1.SendBinary("\xff\xff\xff garbage"));
  EXPECT_TRUE(Reaches("tutti_malformed_messages_total", 2));
  EXPECT_TRUE(Reaches("tutti_frames_in_total{kind=\"none\"}", 2));
  EXPECT_TRUE(Reaches("tutti_connections_closed_total{code=\"1008\"}", 1));

  // The buckets nothing here refused are listed at zero all the same.
  const auto after = Scrape();
  EXPECT_EQ(after.count("tutti_rate_limited_total{bucket=\"busy\"}"), 1u);
  EXPECT_EQ(after.count("tutti_outbound_queue_bytes{shard=\"1\"}"), 1u);
  EXPECT_EQ(after.count("tutti_hash_pool_queue_depth"), 1u);
}

// The outbound queue gauge is a running sum the connections keep (not a visit to every
// session): it shows the bytes a reader that stopped reading has not taken, and goes back
// to zero once that reader is gone, however its connection ended.
TEST_F(MetricsCountersTest, TheOutboundQueueGaugeCountsAStalledReaderAndEmptiesWhenItIsGone) {
  Start(
      [](server::ServerConfig& c) {
        c.socket_send_buffer = 4096;
        c.outbound_soft_limit = 1 << 20;  // the stalled reader is never cut off here
        c.outbound_hard_limit = 2 << 20;
        c.chat_per_second = 1e6;
        c.chat_burst = 1e6;
      },
      1);
  const std::string series = "tutti_outbound_queue_bytes{shard=\"0\"}";
  auto sender = server_->Connect("sender");
  ASSERT_TRUE(sender);
  ASSERT_TRUE(JoinRoom(*sender, "Queued"));
  RawWs stalled;
  ASSERT_TRUE(stalled.Open(server_->port(), server_->Resource(Named("stalled")), 4096));
  proto::ServerMessage join = JoinMsg("Queued");
  client::StampServerMessageType(&join);
  ASSERT_TRUE(stalled.SendBinary(join.SerializeAsString()));
  auto joined = sender->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s);
  ASSERT_TRUE(joined);
  ASSERT_EQ(joined->user_joined_room().user_info().user_id(), "u-stalled");
  // 200 lines of ~400 bytes: far more than the two 4 KiB socket buffers hold.
  const std::string filler(400, 'q');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(sender->Send(ChatMsg(std::to_string(i) + filler)));
  EXPECT_TRUE(Reaches(series, 16 * 1024));
  stalled.CloseSocket();
  double seen = -1;
  EXPECT_TRUE(WaitUntil(
      [&] {
        seen = Scrape()[series];
        return seen == 0;
      },
      10s))
      << series << " stayed at " << seen << " after the stalled reader went away";
}

// The door's refusals at accept: each case has a server of its own, as a refused
// connection still counts toward the ceiling until the server lets it go; one shard, so
// connections are accepted in the order they were made (with several, each shard's
// listener accepts on its own thread and a later connection may be counted first).
TEST_F(MetricsCountersTest, AnAddressPastItsShareIsCountedAsAddressFull) {
  Start(
      [](server::ServerConfig& c) {
        c.exempt_networks = "";
        c.max_connections_per_address = 1;
      },
      1);
  // One address's second connection: refused at accept (429), before it says a word.
  RawWs held;
  held.set_source_address("127.0.0.5");
  ASSERT_TRUE(held.ConnectTcp(server_->port()));
  RawWs second;
  second.set_source_address("127.0.0.5");
  ASSERT_TRUE(second.ConnectTcp(server_->port()));
  EXPECT_EQ(second.Upgrade("/nope").status, 429);
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"429\",reason=\"address_full\"}", 1));
}

TEST_F(MetricsCountersTest, AConnectionPastTheCeilingIsCountedAsServerFull) {
  Start(
      [](server::ServerConfig& c) {
        c.exempt_networks = "";
        c.max_connections = 2;
      },
      1);
  RawWs held1, held2, over;
  held1.set_source_address("127.0.0.6");
  held2.set_source_address("127.0.0.7");
  over.set_source_address("127.0.0.9");
  ASSERT_TRUE(held1.ConnectTcp(server_->port()));
  ASSERT_TRUE(held2.ConnectTcp(server_->port()));
  ASSERT_TRUE(over.ConnectTcp(server_->port()));
  EXPECT_EQ(over.Upgrade("/nope").status, 503);
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"503\",reason=\"server_full\"}", 1));
}

// The refusals that need a server state of their own: maintenance mode (503 to everyone
// but staff) and a forwarding header from a trusted proxy that cannot be read (400).
TEST_F(MetricsCountersTest, MaintenanceAndUnreadableProxyHeadersHaveTheirOwnClass) {
  Start([](server::ServerConfig& c) {
    c.exempt_networks = "127.0.0.1/32";
    c.trusted_proxies = "127.0.0.10/32";
  });
  // A trusted proxy whose X-Forwarded-For names no address.
  RawWs proxied;
  proxied.set_source_address("127.0.0.10");
  proxied.set_extra_headers("X-Forwarded-For: not an address\r\n");
  ASSERT_TRUE(proxied.ConnectTcp(server_->port()));
  EXPECT_EQ(proxied.Upgrade(server_->Resource(Named("p"))).status, 400);
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"400\",reason=\"proxy_header\"}", 1));

  auto admin = server_->Connect(Admin("admin"));
  ASSERT_TRUE(admin);
  proto::ServerMessage on;
  on.set_message_type(proto::ServerMessage::ServerCommand);
  on.mutable_server_command()->set_commandtype(proto::SET_MAINTENANCE);
  (*on.mutable_server_command()->mutable_parameters())["on"] = "true";
  on.set_request_id("on");
  ASSERT_TRUE(admin->Send(on));
  auto done = WaitForReply(*admin, proto::ClientMessage::kCommandResult, "on", 10s);
  ASSERT_TRUE(done && done->command_result().ok());
  EXPECT_EQ(UpgradeFrom("127.0.0.11", server_->Resource(Named("newcomer"))), 503);
  EXPECT_TRUE(Reaches("tutti_upgrade_refusals_total{status=\"503\",reason=\"maintenance\"}", 1));
  // Neither was counted as "other".
  EXPECT_EQ(Scrape().count("tutti_upgrade_refusals_total{status=\"503\",reason=\"other\"}"), 0u);
  EXPECT_EQ(Scrape().count("tutti_upgrade_refusals_total{status=\"400\",reason=\"other\"}"), 0u);
}

// A member that stops reading: droppable avatar moves are shed past the soft limit and
// counted as drops, then chat lines push its queue past the hard limit and it is closed
// (4001), counted as a slow-consumer close. The bytes sent are far beyond what the
// kernel buffers (4 KB socket buffers, up to 1 MB sent), so the order is fixed.
TEST_F(MetricsCountersTest, ASlowConsumerShowsAsDropsThenAClose) {
  Start([](server::ServerConfig& c) {
    c.socket_send_buffer = 4096;
    c.outbound_soft_limit = 16 * 1024;
    c.outbound_hard_limit = 32 * 1024;
    c.chat_per_second = 1e6;
    c.chat_burst = 1e6;
    c.avatar_per_second = 1e6;
    c.avatar_burst = 1e6;
  });
  auto sender = server_->Connect("sender");
  ASSERT_TRUE(sender);
  ASSERT_TRUE(JoinRoom(*sender, "Firehose"));
  RawWs slow;
  ASSERT_TRUE(slow.Open(server_->port(), server_->Resource(Named("slow")), 4096));
  proto::ServerMessage join = JoinMsg("Firehose");
  client::StampServerMessageType(&join);
  ASSERT_TRUE(slow.SendBinary(join.SerializeAsString()));
  ASSERT_TRUE(sender->WaitFor(proto::ClientMessage::kUserJoinedRoom, 5s));
  EXPECT_EQ(Scrape()["tutti_frames_dropped_total"], 0);
  EXPECT_EQ(Scrape()["tutti_slow_consumer_closes_total"], 0);
  // From here on the slow member reads nothing.
  const std::string filler(1000, 'z');
  bool closed = false;
  // The sender reads its own line back before the next: its queue stays small, however
  // slowly the machine schedules its reader, and only the silent member's grows.
  for (int i = 0; i < 1000 && !closed; ++i) {
    ASSERT_TRUE(sender->Send(AvatarMove(0.5f)));
    ASSERT_TRUE(sender->Send(ChatMsg(filler)));
    ASSERT_TRUE(sender->WaitFor(proto::ClientMessage::kRoomChatMessage, 10s)) << "line " << i;
    if (i % 50 == 49) closed = Scrape()["tutti_slow_consumer_closes_total"] >= 1;
  }
  EXPECT_TRUE(Reaches("tutti_slow_consumer_closes_total", 1));
  EXPECT_TRUE(Reaches("tutti_frames_dropped_total", 1));
  EXPECT_TRUE(Reaches("tutti_connections_closed_total{code=\"4001\"}", 1));
  EXPECT_TRUE(Reaches("tutti_frames_out_total{kind=\"avatar_command\"}", 1));
}

TEST_F(MetricsCountersTest, PromtoolAcceptsAScrapeTakenUnderLoad) {
  Start(nullptr);
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not found (Debian package prometheus; tools/setup.sh installs it)";
  }
  auto alice = server_->Connect("alice");
  auto bob = server_->Connect("bob");
  auto carol = server_->Connect("carol");
  ASSERT_TRUE(alice && bob && carol);
  ASSERT_TRUE(JoinRoom(*alice, "Load"));
  ASSERT_TRUE(JoinRoom(*bob, "Load"));
  ASSERT_TRUE(JoinRoom(*carol, "Load"));
  // Load: notes and chat streaming while scrapes are taken (bounded: 400 notes).
  std::string text;
  int checked = 0;
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(alice->Send(
        MidiMsg(i % 2 ? std::string("\x80\x3c\x40", 3) : std::string("\x90\x3c\x60", 3))));
    if (i % 100 == 99) {
      Scrape(&text);
      const std::string file = server_->dir() + "/scrape" + std::to_string(i) + ".txt";
      std::ofstream(file) << text;
      const std::string out_file = file + ".promtool";
      const int rc = std::system(
          ("promtool check metrics < '" + file + "' > '" + out_file + "' 2>&1").c_str());
      std::ifstream in(out_file);
      const std::string said((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      EXPECT_EQ(rc, 0) << said << "\n--- scrape ---\n" << text;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
  // The load is in what was checked: MIDI went out by kind.
  EXPECT_GT(ParseSamples(text)["tutti_frames_out_total{kind=\"midi_message\"}"], 0);
}

}  // namespace
}  // namespace tutti::testing
