// The Redis broker engine against a real redis-server: two engines (two nodes) on one
// room see one sequence with the same contents; the sender's `done` comes after the
// delivery; one script call per room per loop turn; history across engines with its
// unrecoverable cases; presence that expires when a node stops refreshing it; Redis
// restarted (refused while down, a new epoch after); the seat script's claims of a room's
// last seat; a SCRIPT FLUSH; a read of what is
// kept that waits for the channel's subscription; the wire form of an event; rooms spread
// over primaries. What the engine keeps for rooms beside the stream is tested in
// redis_room_state_test.cc; the shared fixture is broker_fixture.h.
#include "server/redis/redis_broker.h"

#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "server/clock.h"
#include "server/redis/redis_scripts.h"
#include "server/redis/stream_wire.h"
#include "tests/redis/broker_fixture.h"

namespace tutti::server::redis {
namespace {

using namespace std::chrono_literals;

TEST_F(RedisBrokerTest, TwoEnginesDeliverOneSequence) {
  auto a = Engine();
  auto b = Engine();
  Recorder ra, rb;
  a->Subscribe("hall", &ra);
  b->Subscribe("hall", &rb);
  WaitSubscribers("hall", 2);
  // Both engines publish, several per loop turn, interleaved across turns.
  for (int turn = 0; turn < 10; ++turn) {
    for (int i = 0; i < 5; ++i) {
      a->Publish("hall", Chat("a" + std::to_string(turn * 5 + i), /*exclude=*/7), nullptr);
      b->Publish("hall", Chat("b" + std::to_string(turn * 5 + i)), nullptr);
    }
    io_.restart();
    io_.poll();
  }
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return ra.got.size() == 100 && rb.got.size() == 100; }));
  std::set<std::string> texts;
  for (size_t i = 0; i < 100; ++i) {
    const Publication& x = ra.got[i];
    const Publication& y = rb.got[i];
    EXPECT_EQ(x.position, y.position);
    EXPECT_EQ(x.position.offset, i + 1);
    EXPECT_EQ(x.server_time_us, y.server_time_us);
    EXPECT_EQ(x.frame->payload(), y.frame->payload());
    const proto::ClientMessage m = Parse(x);
    EXPECT_EQ(m.stream().epoch(), x.position.epoch);
    EXPECT_EQ(m.stream().offset(), x.position.offset);
    EXPECT_EQ(m.stream().server_time(), x.server_time_us);
    const std::string& text = m.room_chat_message().message();
    texts.insert(text);
    // The exclusion means something only on the node that published.
    EXPECT_EQ(x.exclude, text[0] == 'a' ? 7u : 0u);
    EXPECT_EQ(y.exclude, 0u);
    if (i > 0) {
      EXPECT_GE(x.server_time_us, ra.got[i - 1].server_time_us);
    }
  }
  EXPECT_EQ(texts.size(), 100u);  // every event once
  EXPECT_EQ(a->Top("hall"), ra.got.back().position);
  EXPECT_EQ(b->Top("hall"), ra.got.back().position);
  EXPECT_EQ(a->stats().published, 50u);
  EXPECT_EQ(a->stats().script_calls, 10u);  // one per room per loop turn
  EXPECT_EQ(a->stats().delivered, 100u);
}

TEST_F(RedisBrokerTest, DoneRunsAfterTheSubscribersWithThePosition) {
  auto a = Engine();
  Recorder r;
  a->Subscribe("room", &r);
  WaitSubscribers("room", 1);
  std::vector<std::pair<uint64_t, size_t>> done;  // offset, deliveries seen by then
  for (int i = 0; i < 3; ++i) {
    a->Publish("room", Chat("x"), [&](const Publication& p) {
      done.emplace_back(p.position.offset, r.got.size());
      EXPECT_EQ(Parse(p).room_chat_message().message(), "x");
    });
  }
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return done.size() == 3; }));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(done[i].first, i + 1);
    EXPECT_GE(done[i].second, i + 1);
  }
}

TEST_F(RedisBrokerTest, HistoryServesAnotherEngineAndSaysWhenItCannot) {
  HistoryLimits small;
  small.max_events = 8;
  auto a = Engine(small);
  auto b = Engine(small);
  Recorder r;
  a->Subscribe("room", &r);
  WaitSubscribers("room", 1);
  for (int i = 1; i <= 6; ++i) a->Publish("room", Chat("m" + std::to_string(i)), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return r.got.size() == 6; }));
  const std::string epoch = r.got[0].position.epoch;

  auto history = [&](StreamPosition since) {
    HistoryResult out;
    bool got = false;
    b->History("room", since, [&](HistoryResult h) {
      out = std::move(h);
      got = true;
    });
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    return out;
  };
  HistoryResult h = history({epoch, 2});
  ASSERT_TRUE(h.recoverable) << h.reason;
  EXPECT_EQ(h.top, (StreamPosition{epoch, 6}));
  ASSERT_EQ(h.publications.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(h.publications[i].position.offset, i + 3);
    EXPECT_EQ(h.publications[i].frame->payload(), r.got[i + 2].frame->payload());
  }
  h = history({epoch, 6});
  EXPECT_TRUE(h.recoverable);
  EXPECT_TRUE(h.publications.empty());
  h = history({"another", 2});
  EXPECT_FALSE(h.recoverable);
  EXPECT_EQ(h.reason, "epoch changed");
  h = history({epoch, 9});
  EXPECT_FALSE(h.recoverable);
  EXPECT_EQ(h.reason, "offset beyond the stream");
  // More than the count bound behind: trimmed.
  for (int i = 7; i <= 20; ++i) a->Publish("room", Chat("m" + std::to_string(i)), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return r.got.size() == 20; }));
  h = history({epoch, 2});
  EXPECT_FALSE(h.recoverable);
  EXPECT_EQ(h.reason, "history trimmed");
  h = history({epoch, 14});
  ASSERT_TRUE(h.recoverable) << h.reason;
  EXPECT_EQ(h.publications.size(), 6u);
}

TEST_F(RedisBrokerTest, PresenceAcrossEnginesExpiresWithoutRefresh) {
  auto a = Engine({}, /*presence_ttl_ms=*/600);
  auto b = Engine({}, 600);
  a->SetPresence("room", {11, "u-alice", false});
  b->SetPresence("room", {22, "u-bob", true});
  std::vector<PresenceEntry> seen;
  auto read = [&] {
    bool got = false;
    a->Presence("room", [&](std::vector<PresenceEntry> e) {
      seen = std::move(e);
      got = true;
    });
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got; }));
    return seen.size();
  };
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return read() == 2; }));
  std::set<std::string> users;
  for (const auto& e : seen) {
    users.insert(e.user_id);
    EXPECT_EQ(e.reconnecting, e.user_id == "u-bob");
    EXPECT_EQ(e.session, e.user_id == "u-bob" ? 22u : 11u);
  }
  EXPECT_EQ(users, (std::set<std::string>{"u-alice", "u-bob"}));
  // Engine a keeps refreshing its entry past several TTLs; b's node is gone. The read
  // that deletes b's expired entry returns it, flagged, with b's origin and user, once.
  b.reset();
  auto expired = [&] {
    for (const auto& e : seen) {
      if (e.expired) return &e;
    }
    return static_cast<const PresenceEntry*>(nullptr);
  };
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return read() > 0 && expired() != nullptr; }));
  EXPECT_EQ(expired()->session, 22u);
  EXPECT_EQ(expired()->user.user_id(), "u-bob");
  EXPECT_EQ(expired()->user.session_id(), 22u);
  EXPECT_FALSE(expired()->origin.empty());
  ASSERT_EQ(read(), 1u);
  EXPECT_EQ(expired(), nullptr);
  EXPECT_EQ(seen[0].user_id, "u-alice");
  EXPECT_EQ(seen[0].origin, "");  // a's own entry
  a->RemovePresence("room", 11);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return read() == 0; }));
}

// Joins across nodes (docs/SCALE-OUT.md, "Joins across nodes"): two engines' claims of a
// room's last seat, sent at once, are decided by the seat script one after the other: one
// takes it (its entry written, marked claiming), the other is told the room is full and
// writes nothing. An expired entry is no seat (and stays for the read that reports it);
// a session whose entry is there already is not refused for its own seat.
TEST_F(RedisBrokerTest, TheLastSeatGoesToOneOfTwoEnginesClaims) {
  auto a = Engine();
  auto b = Engine();
  a->SetPresence("room", {11, "u-ann", false});
  // A member of a node that died, its entry expired (1 ms after the epoch).
  ASSERT_TRUE(Run({"HSET", PresenceKey("room"), "gone:77", "1:0:"}));
  std::map<SessionId, SeatClaim> answers;
  auto claim = [&](RedisBroker& engine, SessionId s, const std::string& user, int capacity) {
    PresenceEntry e;
    e.session = s;
    e.user_id = user;
    e.user.set_user_id(user);
    engine.ClaimSeat("room", e, capacity, -1, [&answers, s](SeatClaim c) { answers[s] = c; });
  };
  // Capacity 2, ann in it: one seat left, claimed by both engines in the same loop turn.
  claim(*a, 12, "u-bob", 2);
  claim(*b, 22, "u-cay", 2);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return answers.size() == 2; }));
  // Which one wins is the script's order, not the test's: one of each.
  EXPECT_NE(answers[12], answers[22]);
  EXPECT_TRUE(answers[12] == SeatClaim::kTaken || answers[12] == SeatClaim::kFull);
  EXPECT_TRUE(answers[22] == SeatClaim::kTaken || answers[22] == SeatClaim::kFull);
  const SessionId winner = answers[12] == SeatClaim::kTaken ? 12 : 22;
  const SessionId loser = winner == 12 ? 22 : 12;

  std::vector<PresenceEntry> seen;
  auto read = [&] {
    bool got_read = false;
    a->Presence("room", [&](std::vector<PresenceEntry> e) {
      seen = std::move(e);
      got_read = true;
    });
    EXPECT_TRUE(RunLoopUntil(io_, [&] { return got_read; }));
  };
  auto find = [&](SessionId s) -> const PresenceEntry* {
    for (const auto& e : seen) {
      if (e.session == s) return &e;
    }
    return nullptr;
  };
  read();
  ASSERT_NE(find(winner), nullptr);
  EXPECT_TRUE(find(winner)->claiming);
  EXPECT_EQ(find(winner)->user.session_id(), winner);
  EXPECT_EQ(find(loser), nullptr) << "a refused claim writes nothing";
  ASSERT_NE(find(11), nullptr);
  EXPECT_FALSE(find(11)->claiming);
  // The expired entry was not counted, and was left for this read to report.
  ASSERT_NE(find(77), nullptr);
  EXPECT_TRUE(find(77)->expired);

  // Full now (ann and the winner): a third claim is refused, but a session already
  // there is not refused its own seat, and its member entry stays as it was.
  answers.clear();
  claim(*b, 33, "u-dee", 2);
  claim(*a, 11, "u-ann", 2);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return answers.size() == 2; }));
  EXPECT_EQ(answers[33], SeatClaim::kFull);
  EXPECT_EQ(answers[11], SeatClaim::kTaken);
  read();
  ASSERT_NE(find(11), nullptr);
  EXPECT_FALSE(find(11)->claiming);
  EXPECT_EQ(find(33), nullptr);

  // The winner's room confirms the seat as a member's entry.
  (winner == 12 ? *a : *b).SetPresence("room", {winner, winner == 12 ? "u-bob" : "u-cay", false});
  read();
  ASSERT_NE(find(winner), nullptr);
  EXPECT_FALSE(find(winner)->claiming);
}

// Resume state (docs/SCALE-OUT.md, "Resume on another node"): written by one engine,
// taken once by another; an update never brings back a state another engine took; a
// parked session's state expires on its own.
TEST_F(RedisBrokerTest, ResumeStateIsTakenOnceAndExpiresWhenParked) {
  auto a = Engine({}, 15'000, 60'000);
  auto b = Engine({}, 15'000, 60'000);
  ASSERT_TRUE(a->SharesResume());
  SharedResume state;
  state.user.set_user_id("u-ann");
  state.user.set_session_id(7);
  state.room_id = "jam";
  a->KeepResume(7, "k1", state, /*create=*/true);
  std::vector<ResumeTake> got;
  auto take = [&](RedisBroker& e, const std::string& key) {
    const size_t before = got.size();
    e.TakeResume(key, [&](ResumeTake t) { got.push_back(std::move(t)); });
    return RunLoopUntil(io_, [&] { return got.size() > before; });
  };
  // The write and the take go over two links: wait until the state is there.
  auto exists = [&](const std::string& key) {
    int64_t n = -1;
    EXPECT_TRUE(Run({"EXISTS", ResumeKey(key)}, [&](const redisReply* r) { ReplyInteger(r, &n); }));
    return n == 1;
  };
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return exists("k1"); }));
  ASSERT_TRUE(take(*b, "k1"));
  ASSERT_EQ(got.back().status, ResumeTake::Status::kFound);
  EXPECT_EQ(got.back().state.user.user_id(), "u-ann");
  EXPECT_EQ(got.back().state.user.session_id(), 7u);
  EXPECT_EQ(got.back().state.room_id, "jam");
  ASSERT_TRUE(take(*b, "k1"));
  EXPECT_EQ(got.back().status, ResumeTake::Status::kMissing) << "taken twice";
  // Engine A still thinks it keeps the state: its update must not make it again.
  state.room_id = "other";
  a->KeepResume(7, "k1", state, /*create=*/false);
  ASSERT_TRUE(take(*a, "k1"));  // the same link as the update: it ran first
  EXPECT_EQ(got.back().status, ResumeTake::Status::kMissing) << "an update brought it back";

  // Parked with a short window: gone without anyone taking it.
  auto c = Engine({}, 15'000, 300);
  c->KeepResume(8, "k2", state, /*create=*/true);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return exists("k2"); }));
  c->ParkResume(8);
  EXPECT_TRUE(RunLoopUntil(io_, [&] { return !exists("k2"); })) << "a parked state never expired";
  // A session that ends takes its state with it.
  c->KeepResume(9, "k3", state, /*create=*/true);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return exists("k3"); }));
  c->DropResume(9);
  EXPECT_TRUE(RunLoopUntil(io_, [&] { return !exists("k3"); }));
  // Without a resume window (resume turned off) nothing is shared.
  EXPECT_FALSE(Engine({}, 15'000, 0)->SharesResume());
}

TEST_F(RedisBrokerTest, RedisRestartRefusesThenStartsANewEpoch) {
  auto a = Engine();
  Recorder r;
  a->Subscribe("room", &r);
  WaitSubscribers("room", 1);
  a->Publish("room", Chat("before"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return r.got.size() == 1; }));
  const std::string first_epoch = r.got[0].position.epoch;

  redis_.Stop(SIGKILL);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return !a->Available(); }));
  a->Publish("room", Chat("lost"), nullptr);
  EXPECT_EQ(a->stats().refused, 1u);
  bool history_done = false;
  a->History("room", {first_epoch, 0}, [&](HistoryResult h) {
    EXPECT_FALSE(h.recoverable);
    history_done = true;
  });
  EXPECT_TRUE(history_done);  // answered at once: nothing to ask

  ASSERT_TRUE(redis_.Start());
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return a->Available(); }));
  WaitSubscribers("room", 1);
  a->Publish("room", Chat("after"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return r.got.size() == 2; }));
  EXPECT_NE(r.got[1].position.epoch, first_epoch);
  EXPECT_EQ(r.got[1].position.offset, 1u);
  EXPECT_EQ(Parse(r.got[1]).room_chat_message().message(), "after");
}

// A SCRIPT FLUSH on the primary (an operator, or a failover to a replica that never
// loaded the script): the batch in flight is refused, never half sequenced, and the next
// one loads the script again with EVAL; the stream goes on at the next offset, so
// receivers see no gap (docs/SCALE-OUT.md, failure cases).
TEST_F(RedisBrokerTest, AScriptFlushRefusesOneBatchAndTheStreamGoesOnWithoutAGap) {
  auto a = Engine();
  Recorder r;
  a->Subscribe("room", &r);
  WaitSubscribers("room", 1);
  a->Publish("room", Chat("one"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return r.got.size() == 1; }));

  bool flushed = false;
  ASSERT_TRUE(Run({"SCRIPT", "FLUSH"}, [&](const redisReply* reply) {
    flushed = reply != nullptr && !ReplyIsError(reply);
  }));
  ASSERT_TRUE(flushed);

  a->Publish("room", Chat("refused"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return a->stats().refused == 1; }));
  EXPECT_TRUE(a->Available());  // Redis is there: only that batch failed
  a->Publish("room", Chat("two"), nullptr);
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return r.got.size() == 2; }));
  EXPECT_EQ(Parse(r.got[1]).room_chat_message().message(), "two");
  EXPECT_EQ(r.got[1].position.epoch, r.got[0].position.epoch);
  EXPECT_EQ(r.got[1].position.offset, 2u);
  EXPECT_EQ(a->stats().published, 2u);
  EXPECT_EQ(a->stats().refused, 1u);
}

TEST(StreamWireTest, RoundTripsAndRejectsMalformed) {
  PublishRequest req = Chat("hi", 42);
  req.droppable = true;
  const std::string wire = "EPOCH:5:1700000000000123:" + EncodeWireRequest("node1", req);
  WireEvent e;
  ASSERT_TRUE(ParseWireEvent(wire, &e));
  EXPECT_EQ(e.epoch, "EPOCH");
  EXPECT_EQ(e.offset, 5u);
  EXPECT_EQ(e.server_time_us, 1700000000000123);
  EXPECT_EQ(e.origin, "node1");
  EXPECT_EQ(e.exclude, 42u);
  EXPECT_TRUE(e.droppable);
  const Publication mine = ToPublication(e, "node1");
  EXPECT_EQ(mine.exclude, 42u);
  EXPECT_EQ(ToPublication(e, "node2").exclude, 0u);
  // The origin is told only to the other nodes (a room's roster of their members).
  EXPECT_EQ(mine.origin, "");
  EXPECT_EQ(ToPublication(e, "node2").origin, "node1");
  const proto::ClientMessage m = Parse(mine);
  EXPECT_EQ(m.room_chat_message().message(), "hi");
  EXPECT_EQ(m.stream().offset(), 5u);
  for (const char* bad :
       {"", "E:1:2:o:3:0", ":1:2:o:3:0:", "E:0:2:o:3:0:", "E:x:2:o:3:0:", "E:1:2:o:3:6:",
        "E:1:2:o:-3:0:", "E:1::o:3:0:", "E\xff:1:2:o:3:0:", "E:1:2:o\xfe:3:0:", "E:1:2:o:3:12:"}) {
    EXPECT_FALSE(ParseWireEvent(bad, &e)) << bad;
  }
  // The chat mark travels in the flags, beside droppable.
  for (ChatMark mark : {ChatMark::kNone, ChatMark::kKeep, ChatMark::kClear}) {
    PublishRequest marked = Chat("line", 0);
    marked.chat = mark;
    const std::string w = "E:1:2:" + EncodeWireRequest("o", marked);
    ASSERT_TRUE(ParseWireEvent(w, &e)) << w;
    EXPECT_EQ(e.chat, mark);
    EXPECT_FALSE(e.droppable);
    EXPECT_EQ(ToPublication(e, "o").chat, mark);
  }
}

// A room opening on a node reads the chat lines kept with the stream on the command link
// and subscribes on the channel link. A line sequenced after that read but before Redis
// took the SUBSCRIBE would be in neither, so the read waits for the subscription to be
// confirmed. Here engine A's channel link is cut and cannot come back (Redis takes no new
// connections; the open ones go on) while its command link works: the read of a room
// opening then waits, and a line engine B keeps meanwhile is in what it reads once the
// link is back.
TEST_F(RedisBrokerTest, AReadOfTheKeptChatWaitsForTheChannelsSubscription) {
  auto a = Engine();
  auto b = Engine();
  Recorder warm, jam;
  a->Subscribe("warm", &warm);
  WaitSubscribers("warm", 1);
  ASSERT_TRUE(Run({"CONFIG", "SET", "port", "0"}));
  ASSERT_TRUE(Run({"CLIENT", "KILL", "TYPE", "pubsub"}));  // engine A's channel link only
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return !a->Available(); }));

  a->Subscribe("jam", &jam);
  bool read = false;
  std::vector<Publication> lines;
  a->ChatLines("jam", [&](std::vector<Publication> l) {
    lines = std::move(l);
    read = true;
  });
  PublishRequest line = Chat("said meanwhile");
  line.chat = ChatMark::kKeep;
  bool said = false;
  b->Publish("jam", std::move(line), [&](const Publication& p) { said = p.position.offset > 0; });
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return said; }));
  EXPECT_FALSE(read) << "the chat read went before the channel was subscribed";

  ASSERT_TRUE(Run({"CONFIG", "SET", "port", std::to_string(redis_.port())}));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return read; }));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Parse(lines[0]).room_chat_message().message(), "said meanwhile");
}

// A read put off until the channel's subscription is confirmed cannot wait for it once
// the command link is gone too: it is answered at once, empty (as any read while Redis
// is away), so the joins waiting for it go on.
TEST_F(RedisBrokerTest, AReadWaitingForTheSubscriptionIsAnsweredWhenTheCommandLinkGoes) {
  auto a = Engine();
  Recorder warm, jam;
  a->Subscribe("warm", &warm);
  WaitSubscribers("warm", 1);
  ASSERT_TRUE(Run({"CONFIG", "SET", "port", "0"}));
  ASSERT_TRUE(Run({"CLIENT", "KILL", "TYPE", "pubsub"}));
  ASSERT_TRUE(RunLoopUntil(io_, [&] { return !a->Available(); }));
  a->Subscribe("jam", &jam);
  bool read = false;
  a->ChatLines("jam", [&](std::vector<Publication> lines) { read = lines.empty(); });
  EXPECT_FALSE(read) << "the read went before the channel was subscribed";
  // Every other plain connection goes: engine A's command link.
  ASSERT_TRUE(Run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}));
  const bool answered = RunLoopUntil(io_, [&] { return read; });
  ASSERT_TRUE(Run({"CONFIG", "SET", "port", std::to_string(redis_.port())}));
  EXPECT_TRUE(answered) << "the read waited on with both links gone";
}

// A publish whose script call is lost with the link (Redis stopped answering while the
// call was out) is told it was not sequenced, so whoever waits for it can answer
// STREAM_UNAVAILABLE rather than wait for ever; so is one made while Redis is away.
TEST_F(RedisBrokerTest, APublishLostWithTheLinkIsToldItWasNotSequenced) {
  auto a = Engine();
  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  int told = 0, unavailable = 0;
  auto done = [&](const Publication& p) {
    ++told;
    unavailable += p.unavailable ? 1 : 0;
  };
  a->Publish("jam", Chat("lost with the link"), done);
  const bool answered = RunLoopUntil(
      io_, [&] { return told == 1; }, std::chrono::seconds(30));
  if (answered) a->Publish("jam", Chat("while away"), done);
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);
  ASSERT_TRUE(answered) << "the publisher was never told";
  EXPECT_EQ(told, 2);
  EXPECT_EQ(unavailable, 2);
}

TEST(RedisPrimaryOfTest, SpreadsRoomsAndMovesOnlyTheLostPrimarysRooms) {
  const std::vector<RedisAddress> three = {
      {"10.0.0.1", 6379}, {"10.0.0.2", 6379}, {"10.0.0.3", 6379}};
  const std::vector<RedisAddress> two = {three[0], three[1]};
  int per[3] = {0, 0, 0};
  for (int i = 0; i < 300; ++i) {
    const std::string room = "room-" + std::to_string(i);
    const size_t p3 = RedisBroker::PrimaryOf(room, three);
    ++per[p3];
    // Dropping primary 2 moves its rooms only.
    if (p3 != 2) {
      EXPECT_EQ(RedisBroker::PrimaryOf(room, two), p3) << room;
    }
  }
  for (int n : per) EXPECT_GT(n, 50);
}

}  // namespace
}  // namespace tutti::server::redis
