// The in-process broker engine: publish sequences, keeps and delivers in one step
// (inline), subscribers see every event once in offset order, history reads the same
// Frames, presence, and a removed stream comes back with a new epoch.
#include "server/memory_broker.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

struct Recorder : StreamSubscriber {
  std::vector<Publication> got;
  void OnPublication(const std::string&, const Publication& pub) override { got.push_back(pub); }
};

PublishRequest Event(int i, SessionId exclude = 0, bool droppable = false) {
  PublishRequest req;
  req.message.set_message_type(proto::ClientMessage::RoomChatMessage);
  req.message.mutable_room_chat_message()->set_message_id(static_cast<uint64_t>(i));
  req.exclude = exclude;
  req.droppable = droppable;
  return req;
}

TEST(InProcessBrokerTest, PublishDeliversInlineInOrderAndHistoryHoldsTheSameFrames) {
  FakeClock clock;
  InProcessBroker broker(&clock, HistoryLimits{});
  Recorder a, b;
  broker.Subscribe("room", &a);
  broker.Subscribe("room", &b);
  broker.Subscribe("room", &a);  // twice is once
  std::vector<Publication> done;
  for (int i = 1; i <= 20; ++i) {
    clock.AdvanceUs(10);
    broker.Publish("room", Event(i, /*exclude=*/7, /*droppable=*/i % 2 == 0),
                   [&](const Publication& p) { done.push_back(p); });
    ASSERT_EQ(done.size(), static_cast<size_t>(i));  // inline
  }
  ASSERT_EQ(a.got.size(), 20u);
  ASSERT_EQ(b.got.size(), 20u);
  const std::string epoch = a.got[0].position.epoch;
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(a.got[i].position, (StreamPosition{epoch, i + 1}));
    EXPECT_EQ(a.got[i].frame.get(), b.got[i].frame.get());
    EXPECT_EQ(a.got[i].exclude, 7u);
    EXPECT_EQ(a.got[i].droppable, i % 2 == 1);
    EXPECT_EQ(a.got[i].server_time_us, clock.NowUs() - static_cast<int64_t>(10 * (19 - i)));
  }
  EXPECT_EQ(broker.Top("room"), (StreamPosition{epoch, 20}));
  broker.History("room", {epoch, 15}, [&](HistoryResult r) {
    ASSERT_TRUE(r.recoverable);
    ASSERT_EQ(r.publications.size(), 5u);
    for (size_t i = 0; i < 5; ++i)
      EXPECT_EQ(r.publications[i].frame.get(), a.got[15 + i].frame.get());
  });
}

TEST(InProcessBrokerTest, UnsubscribedSeesNothingMoreAndStreamsAreSeparate) {
  FakeClock clock;
  InProcessBroker broker(&clock, HistoryLimits{});
  Recorder a, other;
  broker.Subscribe("room", &a);
  broker.Subscribe("other", &other);
  broker.Publish("room", Event(1), nullptr);
  broker.Unsubscribe("room", &a);
  broker.Publish("room", Event(2), nullptr);
  EXPECT_EQ(a.got.size(), 1u);
  EXPECT_TRUE(other.got.empty());
  EXPECT_EQ(broker.Top("other").offset, 0u);
  EXPECT_NE(broker.Top("other").epoch, broker.Top("room").epoch);
}

TEST(InProcessBrokerTest, ARemovedStreamStartsANewEpochAndOldPositionsAreUnrecoverable) {
  FakeClock clock;
  InProcessBroker broker(&clock, HistoryLimits{});
  broker.Publish("room", Event(1), nullptr);
  const StreamPosition before = broker.Top("room");
  broker.RemoveStream("room");
  EXPECT_EQ(broker.Find("room"), nullptr);
  const StreamPosition after = broker.Top("room");
  EXPECT_NE(after.epoch, before.epoch);
  EXPECT_EQ(after.offset, 0u);
  bool called = false;
  broker.History("room", before, [&](HistoryResult r) {
    called = true;
    EXPECT_FALSE(r.recoverable);
    EXPECT_EQ(r.reason, "epoch changed");
    EXPECT_EQ(r.top, after);
  });
  EXPECT_TRUE(called);
}

TEST(InProcessBrokerTest, PresenceIsSetUpdatedAndRemoved) {
  FakeClock clock;
  InProcessBroker broker(&clock, HistoryLimits{});
  broker.SetPresence("room", {1, "ann", false});
  broker.SetPresence("room", {2, "bob", false});
  broker.SetPresence("room", {1, "ann", true});  // ann dropped: reconnecting
  broker.RemovePresence("room", 2);
  std::vector<PresenceEntry> seen;
  broker.Presence("room", [&](std::vector<PresenceEntry> p) { seen = std::move(p); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].user_id, "ann");
  EXPECT_TRUE(seen[0].reconnecting);
}

TEST(InProcessBrokerTest, ASubscriberMayUnsubscribeWhileBeingTold) {
  FakeClock clock;
  InProcessBroker broker(&clock, HistoryLimits{});
  struct Once : StreamSubscriber {
    InProcessBroker* broker;
    int calls = 0;
    void OnPublication(const std::string& s, const Publication&) override {
      ++calls;
      broker->Unsubscribe(s, this);
    }
  } once;
  once.broker = &broker;
  Recorder after;
  broker.Subscribe("room", &once);
  broker.Subscribe("room", &after);
  broker.Publish("room", Event(1), nullptr);
  broker.Publish("room", Event(2), nullptr);
  EXPECT_EQ(once.calls, 1);
  EXPECT_EQ(after.got.size(), 2u);
}

TEST(InProcessBrokerTest, ASoleSubscriberMayUnsubscribeWhileBeingTold) {
  FakeClock clock;
  InProcessBroker broker(&clock, HistoryLimits{});
  struct Once : StreamSubscriber {
    InProcessBroker* broker;
    int calls = 0;
    void OnPublication(const std::string& s, const Publication&) override {
      ++calls;
      broker->Unsubscribe(s, this);
    }
  } once;
  once.broker = &broker;
  broker.Subscribe("room", &once);
  int done = 0;
  broker.Publish("room", Event(1), [&](const Publication&) { ++done; });
  broker.Publish("room", Event(2), [&](const Publication&) { ++done; });
  EXPECT_EQ(once.calls, 1);
  EXPECT_EQ(done, 2);
  EXPECT_EQ(broker.Top("room").offset, 2u);
}

}  // namespace
}  // namespace tutti::server
