// ViewOrder: keeps the node bus's messages in order with its refreshes' views. A
// refresh's answer (every node's users and rooms, read by a script) comes on the command
// link and the bus's messages on the channel link; a message that Redis published after
// it ran the script can reach this node before the answer. Applied in that order, the
// older view would undo the newer message (a room or user one node just announced gone
// again, or an old count back) until the next refresh. So a message that arrives while a
// refresh is asked and not yet answered waits and is handed on right after the view. A
// message Redis published before the script ran comes after the view then, saying
// something as old as the view or older; the change that made it stale was written before
// the script and is published after it, so it follows and puts it right (every change is
// written to its key and then published). What the view and the messages settle on is
// the same either way; only a glimpse of the older word can show between them.
//
// Pure, no I/O. Thread affinity: its owner's (RedisNodeBus, shard 0's io thread); not
// thread-safe. Owner: RedisNodeBus; unit tests.
#ifndef TUTTI_SERVER_REDIS_VIEW_ORDER_H_
#define TUTTI_SERVER_REDIS_VIEW_ORDER_H_

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace tutti::server::redis {

class ViewOrder {
 public:
  // Bounds what waits for one answer (a burst of messages during one round trip); past
  // it the oldest goes on at once (out of order with the view, put right by the next).
  static constexpr size_t kMaxHeld = 4096;

  explicit ViewOrder(std::function<void(std::string_view)> deliver)
      : deliver_(std::move(deliver)) {}

  // A refresh went out.
  void Asked() { ++asked_; }
  // A refresh was answered (`apply_view` hands its view on) or lost with its link
  // (`apply_view` empty): the messages that waited for it go on once no refresh is out.
  void Answered(const std::function<void()>& apply_view) {
    if (asked_ > 0) --asked_;
    if (apply_view) apply_view();
    if (asked_ > 0) return;
    std::deque<std::string> held;
    held.swap(held_);
    for (const std::string& bytes : held) deliver_(bytes);
  }
  // A message from the channel: handed on now, or after the answer that is out.
  void Message(std::string_view bytes) {
    if (asked_ == 0) return deliver_(bytes);
    if (held_.size() >= kMaxHeld) {
      deliver_(held_.front());
      held_.pop_front();
    }
    held_.emplace_back(bytes);
  }
  // The links were closed for good: nothing waits any more.
  void Clear() {
    asked_ = 0;
    held_.clear();
  }

  size_t held() const { return held_.size(); }

 private:
  std::function<void(std::string_view)> deliver_;
  int asked_ = 0;
  std::deque<std::string> held_;
};

}  // namespace tutti::server::redis

#endif  // TUTTI_SERVER_REDIS_VIEW_ORDER_H_
