// ViewOrder: the node bus's messages that arrive while a refresh is out wait for its
// answer and follow its view; outside a refresh they go on at once; a refresh lost with
// its link lets them go; a later refresh still out keeps them waiting. Pure, no sockets.
#include "server/redis/view_order.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tutti::server::redis {
namespace {

struct Log {
  std::vector<std::string> seen;
  ViewOrder order{[this](std::string_view b) { seen.emplace_back(b); }};
  std::function<void()> View(const std::string& name) {
    return [this, name] { seen.push_back("view:" + name); };
  }
};

TEST(ViewOrderTest, AMessageArrivingBeforeTheAnswerFollowsTheView) {
  Log l;
  l.order.Message("before");
  EXPECT_EQ(l.seen, std::vector<std::string>{"before"});
  l.order.Asked();
  // Redis ran the refresh, then published "room jam opened"; the message came first.
  l.order.Message("jam opened");
  EXPECT_EQ(l.order.held(), 1u);
  l.order.Answered(l.View("without jam"));
  EXPECT_EQ(l.seen, (std::vector<std::string>{"before", "view:without jam", "jam opened"}));
  EXPECT_EQ(l.order.held(), 0u);
  l.order.Message("after");
  EXPECT_EQ(l.seen.back(), "after");
}

TEST(ViewOrderTest, MessagesWaitUntilNoRefreshIsOut) {
  Log l;
  l.order.Asked();
  l.order.Message("one");
  l.order.Asked();  // the periodic refresh went out before the first was answered
  l.order.Message("two");
  l.order.Answered(l.View("first"));
  // The second view may still be older than both messages.
  EXPECT_EQ(l.seen, std::vector<std::string>{"view:first"});
  l.order.Answered(l.View("second"));
  EXPECT_EQ(l.seen, (std::vector<std::string>{"view:first", "view:second", "one", "two"}));
}

TEST(ViewOrderTest, ARefreshLostWithItsLinkLetsTheMessagesGo) {
  Log l;
  l.order.Asked();
  l.order.Message("held");
  l.order.Answered(nullptr);
  EXPECT_EQ(l.seen, std::vector<std::string>{"held"});
  // An answer nobody asked for (counted already) changes nothing.
  l.order.Answered(nullptr);
  l.order.Message("now");
  EXPECT_EQ(l.seen.back(), "now");
}

TEST(ViewOrderTest, WhatWaitsIsBoundedAndClearedOnStop) {
  Log l;
  l.order.Asked();
  for (size_t i = 0; i < ViewOrder::kMaxHeld + 3; ++i) l.order.Message(std::to_string(i));
  // The oldest went on at once rather than growing without bound.
  EXPECT_EQ(l.order.held(), ViewOrder::kMaxHeld);
  EXPECT_EQ(l.seen, (std::vector<std::string>{"0", "1", "2"}));
  l.order.Clear();
  EXPECT_EQ(l.order.held(), 0u);
  l.order.Message("after stop");
  EXPECT_EQ(l.seen.back(), "after stop");
}

}  // namespace
}  // namespace tutti::server::redis
