#include "server/memory_broker.h"

#include <algorithm>
#include <utility>

namespace tutti::server {

InProcessBroker::InProcessBroker(const Clock* clock, HistoryLimits limits)
    : clock_(clock), limits_(limits) {}

InProcessBroker::Stream& InProcessBroker::Get(const std::string& stream) {
  std::unique_ptr<Stream>& s = streams_[stream];
  if (!s) s = std::make_unique<Stream>(&limits_);
  return *s;
}

void InProcessBroker::Publish(const std::string& stream, PublishRequest req, PublishDone done) {
  Stream& s = Get(stream);
  const Publication pub = s.log.Append(std::move(req), clock_->NowUs());
  if (pub.chat == ChatMark::kClear) s.chat.clear();
  if (pub.chat == ChatMark::kKeep && limits_.chat_lines > 0) {
    s.chat.push_back(pub);
    while (s.chat.size() > limits_.chat_lines) s.chat.pop_front();
  }
  // A subscriber may unsubscribe itself (or another) while being told. The usual case,
  // one subscriber (the room), needs no copy: nothing is touched after the call. With
  // more, walk a copy.
  if (s.subscribers.size() == 1) {
    s.subscribers.front()->OnPublication(stream, pub);
  } else if (!s.subscribers.empty()) {
    const std::vector<StreamSubscriber*> subscribers = s.subscribers;
    for (StreamSubscriber* sub : subscribers) sub->OnPublication(stream, pub);
  }
  if (done) done(pub);
}

void InProcessBroker::Subscribe(const std::string& stream, StreamSubscriber* subscriber) {
  std::vector<StreamSubscriber*>& subs = Get(stream).subscribers;
  if (std::find(subs.begin(), subs.end(), subscriber) == subs.end()) subs.push_back(subscriber);
}

void InProcessBroker::Unsubscribe(const std::string& stream, StreamSubscriber* subscriber) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  std::vector<StreamSubscriber*>& subs = it->second->subscribers;
  subs.erase(std::remove(subs.begin(), subs.end(), subscriber), subs.end());
}

StreamPosition InProcessBroker::Top(const std::string& stream) { return Get(stream).log.top(); }

void InProcessBroker::History(const std::string& stream, const StreamPosition& since,
                              HistoryDone done) {
  done(Get(stream).log.Since(since, clock_->NowUs()));
}

void InProcessBroker::RemoveStream(const std::string& stream) { streams_.erase(stream); }

void InProcessBroker::ChatLines(const std::string& stream, ChatDone done) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return done({});
  done(std::vector<Publication>(it->second->chat.begin(), it->second->chat.end()));
}

void InProcessBroker::SetPresence(const std::string& stream, const PresenceEntry& entry) {
  Get(stream).presence[entry.session] = entry;
}

void InProcessBroker::RemovePresence(const std::string& stream, SessionId session) {
  auto it = streams_.find(stream);
  if (it != streams_.end()) it->second->presence.erase(session);
}

void InProcessBroker::Presence(const std::string& stream, PresenceDone done) {
  std::vector<PresenceEntry> out;
  auto it = streams_.find(stream);
  if (it != streams_.end()) {
    for (const auto& [id, entry] : it->second->presence) out.push_back(entry);
  }
  done(std::move(out));
}

const StreamLog* InProcessBroker::Find(const std::string& stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second->log;
}

}  // namespace tutti::server
