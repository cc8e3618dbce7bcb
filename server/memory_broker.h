// InProcessBroker: the embedded broker engine (broker.h) — streams, history and presence
// in this process's memory, for the rooms homed on one shard. Every call completes
// inline: Publish has sequenced, kept and delivered the event to the subscribers when it
// returns, so a room's events reach its fan-out in offset order with no queue between.
// It keeps no room state beside the streams and checks no precondition
// (RoomStateChange::check): on one node the room's own copy, which the room checked
// before publishing, is the only one, so every check holds and no change is refused.
// Thread affinity: the owning shard's thread only (no lock).
// Owner: the Shard (one engine per shard; its rooms' streams only).
#ifndef TUTTI_SERVER_MEMORY_BROKER_H_
#define TUTTI_SERVER_MEMORY_BROKER_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/broker.h"
#include "server/clock.h"
#include "server/stream_log.h"

namespace tutti::server {

class InProcessBroker final : public Broker {
 public:
  // `clock` gives the server time events are stamped with; both must outlive the broker.
  InProcessBroker(const Clock* clock, HistoryLimits limits);

  void Publish(const std::string& stream, PublishRequest req, PublishDone done) override;
  void Subscribe(const std::string& stream, StreamSubscriber* subscriber) override;
  void Unsubscribe(const std::string& stream, StreamSubscriber* subscriber) override;
  StreamPosition Top(const std::string& stream) override;
  void History(const std::string& stream, const StreamPosition& since, HistoryDone done) override;
  void RemoveStream(const std::string& stream) override;
  void ChatLines(const std::string& stream, ChatDone done) override;
  void SetPresence(const std::string& stream, const PresenceEntry& entry) override;
  void RemovePresence(const std::string& stream, SessionId session) override;
  void Presence(const std::string& stream, PresenceDone done) override;

  // For tests and metrics: the log of a stream, or null.
  const StreamLog* Find(const std::string& stream) const;
  size_t stream_count() const { return streams_.size(); }

 private:
  struct Stream {
    explicit Stream(const HistoryLimits* limits) : log(NewStreamEpoch(), limits) {}
    StreamLog log;
    std::vector<StreamSubscriber*> subscribers;
    std::map<SessionId, PresenceEntry> presence;
    std::deque<Publication> chat;  // ChatMark::kKeep events since the last kClear
  };
  // Creates the stream (with a fresh epoch) on first use.
  Stream& Get(const std::string& stream);

  const Clock* clock_;
  const HistoryLimits limits_;
  std::unordered_map<std::string, std::unique_ptr<Stream>> streams_;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_MEMORY_BROKER_H_
