#include "server/redis/redis_broker.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "server/ids.h"
#include "server/redis/redis_node_bus.h"
#include "server/redis/redis_primary.h"
#include "server/redis/redis_scripts.h"
#include "server/redis/stream_wire.h"
#include "server/stream_log.h"

namespace tutti::server::redis {

size_t RedisBroker::PrimaryOf(const std::string& room, const std::vector<RedisAddress>& primaries) {
  size_t best = 0;
  uint64_t best_score = 0;
  for (size_t i = 0; i < primaries.size(); ++i) {
    const uint64_t score = StableHash(room + "\n" + primaries[i].ToString());
    if (i == 0 || score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

RedisBroker::RedisBroker(boost::asio::io_context& io, const Clock* clock,
                         RedisBrokerOptions options)
    : io_(io),
      clock_(clock),
      options_(std::move(options)),
      origin_(NewStreamEpoch()),
      presence_timer_(io),
      alive_(std::make_shared<bool>(true)) {
  for (const RedisAddress& a : options_.primaries) {
    auto p = std::make_unique<Primary>(io_, a, options_.backoff);
    Primary* raw = p.get();
    raw->cmd.set_on_up([this, raw] {
      std::fprintf(stderr, "tutti: redis %s: connected\n", raw->address.ToString().c_str());
      // Learn the scripts' digests (EVAL is used until then) and re-send what this
      // engine keeps in Redis.
      for (int s = 0; s < kScriptCount; ++s) {
        raw->cmd.Command({"SCRIPT", "LOAD", ScriptText(s)}, [raw, s](const redisReply* r) {
          if (!ReplyIsError(r)) raw->sha[s] = std::string(ReplyString(r));
        });
      }
      for (auto& [name, st] : streams_) {
        if (&PrimaryFor(name) == raw && st.top.epoch.empty()) SeedTop(name);
      }
      for (auto& [name, entries] : presence_) {
        if (&PrimaryFor(name) != raw) continue;
        for (auto& [sid, e] : entries) SendPresence(name, sid, e);
      }
      ResendResume(*raw);
      raw->cmd.Command({"INFO", "server"}, [raw](const redisReply* r) {
        const std::string_view info = ReplyString(r);
        const size_t at = info.find("run_id:");
        if (at == std::string_view::npos) return;
        const size_t end = info.find_first_of("\r\n", at);
        raw->run_id =
            std::string(info.substr(at + 7, end == std::string_view::npos ? end : end - at - 7));
      });
      PrimaryChanged(*raw);
    });
    raw->sub.set_on_up([this, raw] { PrimaryChanged(*raw); });
    raw->cmd.set_on_down([this, raw](const std::string& why) {
      std::fprintf(stderr, "tutti: redis %s: unreachable (%s); retrying\n",
                   raw->address.ToString().c_str(), why.c_str());
      for (std::string& sha : raw->sha) sha.clear();
      PrimaryChanged(*raw);
      // Reads waiting for a subscription cannot go either: they are answered (empty).
      std::vector<std::string> waiting;
      for (auto& [name, st] : streams_) {
        if (&PrimaryFor(name) == raw && !st.reads_waiting.empty()) waiting.push_back(name);
      }
      for (const std::string& name : waiting) {
        auto it = streams_.find(name);
        if (it != streams_.end()) RunWaitingReads(it->second);
      }
      // A Redis that stopped answering may leave the channel link open and silent: it
      // cannot be trusted either, so it starts over too (its SUBSCRIBEs are re-sent).
      if (raw->sub.connected()) raw->sub.Reconnect("the command link to the primary was lost");
    });
    raw->sub.set_on_down([this, raw](const std::string&) {
      PrimaryChanged(*raw);
      // What the channel brings while it is down is lost to this node: forget the
      // tops, so the next event is taken whatever its offset (the receivers see the
      // jump and resynchronise from the history), and run the waiting callbacks.
      for (auto& [name, st] : streams_) {
        if (&PrimaryFor(name) != raw) continue;
        st.top = {};
        st.subscribed = false;  // reads wait for the SUBSCRIBE sent again
        ReleaseAwaiting(st, /*all=*/true);
      }
    });
    primaries_.push_back(std::move(p));
  }
  for (auto& p : primaries_) {
    p->cmd.Start();
    p->sub.Start();
  }
  if (options_.node_bus_ttl_ms > 0 && !options_.primaries.empty()) {
    node_bus_ = std::make_unique<RedisNodeBus>(io_, options_.primaries.front(), options_.backoff,
                                               options_.node_bus_ttl_ms);
  }
}

NodeBus* RedisBroker::node_bus() { return node_bus_.get(); }

RedisBroker::~RedisBroker() {
  *alive_ = false;
  Stop();
}

void RedisBroker::Stop() {
  stopped_ = true;
  presence_timer_.cancel();
  presence_.clear();
  resume_.clear();
  if (node_bus_) node_bus_->Leave();  // a clean stop: its presence goes first
  for (auto& p : primaries_) {
    p->cmd.Stop();
    p->sub.Stop();
  }
}

RedisBroker::Primary& RedisBroker::PrimaryFor(const std::string& stream) {
  if (primaries_.size() == 1) return *primaries_.front();
  return *primaries_[PrimaryOf(stream, options_.primaries)];
}

bool RedisBroker::Available() const { return !stopped_ && primaries_up() == primaries_.size(); }

void RedisBroker::PrimaryChanged(Primary& p) {
  if (stopped_) return;
  const bool up = p.up();
  if (up != p.was_up) {
    p.was_up = up;
    if (!up) {
      p.had_outage = true;
      p.run_id_before = p.run_id;
      for (auto& [name, st] : streams_) {
        if (&PrimaryFor(name) != &p || st.outage) continue;
        st.outage = true;
        st.before_outage = st.top;
      }
    } else if (p.had_outage) {
      CheckAfterOutage(p);
    }
  }
  const bool available = Available();
  if (available == available_) return;
  available_ = available;
  if (!available) ++stats_.outages;
  if (on_availability_) on_availability_(available);
}

void RedisBroker::MarkRefused(const std::string& stream) {
  auto it = streams_.find(stream);
  if (it != streams_.end()) it->second.refused_in_outage = true;
}

void RedisBroker::CheckAfterOutage(Primary& p) {
  for (auto& [name, st] : streams_) {
    if (&PrimaryFor(name) != &p || !st.outage) continue;
    const std::string stream = name;
    const std::string meta = MetaKey(stream);
    const std::string log = LogKey(stream);
    const std::string fresh_epoch = NewStreamEpoch();
    const std::string ttl = std::to_string(options_.key_ttl_seconds);
    RunScript(p, kEnsureEpoch, {meta, log, fresh_epoch, ttl, p.run_id_before}, 2,
              [this, stream](const redisReply* r) {
                auto it = streams_.find(stream);
                const std::string_view epoch = ReplyString(ReplyElement(r, 0));
                int64_t offset = 0;
                // A reply lost with the link: the next recovery checks again (outage still set).
                if (it == streams_.end() || !it->second.outage || epoch.empty() ||
                    !ReplyInteger(ReplyElement(r, 1), &offset)) {
                  return;
                }
                Stream& s = it->second;
                s.outage = false;
                const StreamPosition now{std::string(epoch), static_cast<uint64_t>(offset)};
                std::string reason;
                if (!s.before_outage.epoch.empty() && now.epoch != s.before_outage.epoch) {
                  reason = "epoch changed";
                } else if (now.offset != s.before_outage.offset || s.refused_in_outage) {
                  reason = "events missed";
                }
                s.refused_in_outage = false;
                // Events that came on the channel since the link is back are in order and kept;
                // otherwise the stream's current position is where the next event follows.
                if (s.top.epoch != now.epoch) {
                  if (!s.top.epoch.empty()) ++stats_.epoch_changes;
                  s.top = now;
                }
                if (reason.empty() || s.subscribers.empty()) return;
                ++stats_.resyncs;
                const StreamPosition top = s.top;
                const std::vector<StreamSubscriber*> subscribers = s.subscribers;
                for (StreamSubscriber* sub : subscribers) sub->OnResync(stream, top, reason);
              });
  }
}

size_t RedisBroker::primaries_up() const {
  size_t n = 0;
  for (const auto& p : primaries_) n += p->up() ? 1 : 0;
  return n;
}

bool RedisBroker::RunScript(Primary& p, int script, std::vector<std::string_view> keys_and_args,
                            int key_count, RedisClient::ReplyFn fn) {
  const std::string count = std::to_string(key_count);
  std::vector<std::string_view> argv;
  argv.reserve(keys_and_args.size() + 3);
  const bool known = !p.sha[script].empty();
  argv.push_back(known ? "EVALSHA" : "EVAL");
  argv.push_back(known ? std::string_view(p.sha[script]) : ScriptText(script));
  argv.push_back(count);
  argv.insert(argv.end(), keys_and_args.begin(), keys_and_args.end());
  Primary* raw = &p;
  return p.cmd.Command(argv, [raw, script, fn = std::move(fn)](const redisReply* r) {
    // A SCRIPT FLUSH on the primary: EVAL (which loads it) until it is learnt again.
    if (r != nullptr && r->type == REDIS_REPLY_ERROR && ReplyString(r).substr(0, 8) == "NOSCRIPT") {
      raw->sha[script].clear();
    }
    if (fn) fn(r);
  });
}

void RedisBroker::Publish(const std::string& stream, PublishRequest req, PublishDone done) {
  if (!PrimaryFor(stream).up()) {
    ++stats_.refused;
    MarkRefused(stream);
    TellUnavailable(done);
    return;
  }
  batches_[stream].push_back({EncodeWireRequest(origin_, req), req.chat, std::move(done),
                              std::move(req.penalty), std::move(req.state)});
  if (flush_posted_) return;
  flush_posted_ = true;
  // Everything published in this loop turn goes in one script call per room.
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    Flush();
  });
}

void RedisBroker::Flush() {
  flush_posted_ = false;
  std::map<std::string, std::vector<Pending>> batches;
  batches.swap(batches_);
  for (auto& [stream, batch] : batches) SendBatch(stream, std::move(batch));
}

void RedisBroker::SendBatch(const std::string& stream, std::vector<Pending> batch) {
  Primary& p = PrimaryFor(stream);
  const std::string meta = MetaKey(stream);
  const std::string log = LogKey(stream);
  const std::string channel = Channel(stream);
  const std::string epoch = NewStreamEpoch();
  const std::string maxlen = std::to_string(options_.limits.max_events);
  const std::string age_ms = std::to_string(options_.limits.max_age_us / 1000);
  const std::string ttl = std::to_string(options_.key_ttl_seconds);
  const std::string chat = ChatKey(stream);
  const std::string chat_max = std::to_string(options_.limits.chat_lines);
  std::string marks;
  marks.reserve(batch.size());
  for (const Pending& e : batch) {
    // No lines kept at all: a keep is nothing (LTRIM -0 would keep every line).
    const bool keep = e.chat == ChatMark::kKeep && options_.limits.chat_lines > 0;
    marks.push_back(e.chat == ChatMark::kClear ? '2' : keep ? '1' : '0');
  }
  const std::string bans = BansKey(stream);
  const std::string mutes = MutesKey(stream);
  const std::string state = StateKey(stream);
  const std::string mods = ModsKey(stream);
  const std::string presence = PresenceKey(stream);
  // The batch's ban and mute changes, four arguments each (kind, end, user id, the index
  // of their event), after their count; then its owner, settings and moderator changes,
  // ten each, after theirs; all before the events: the script applies them in the same
  // atomic step that sequences those (and drops an event whose precondition fails, with
  // its changes).
  std::vector<std::string> changes = {""};
  for (size_t i = 0; i < batch.size(); ++i) {
    const Pending& e = batch[i];
    if (!e.penalty) continue;
    const KeptPenalty& k = e.penalty->penalty;
    const bool mute = k.kind == KeptPenalty::Kind::kMute;
    changes.push_back(e.penalty->lift ? (mute ? "M" : "B") : (mute ? "m" : "b"));
    changes.push_back(k.until_unix_ms == 0 ? "+inf" : std::to_string(k.until_unix_ms));
    changes.push_back(k.user_id);
    changes.push_back(std::to_string(i + 1));
  }
  changes[0] = std::to_string((changes.size() - 1) / 4);
  const size_t state_at = changes.size();
  changes.emplace_back();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].state) AppendStateArgs(*batch[i].state, i + 1, &changes);
  }
  changes[state_at] = std::to_string((changes.size() - state_at - 1) / 10);
  std::vector<std::string_view> args = {meta,   log,    chat,     bans,    mutes,
                                        state,  mods,   presence, channel, epoch,
                                        maxlen, age_ms, ttl,      marks,   chat_max};
  for (const std::string& c : changes) args.push_back(c);
  for (const Pending& e : batch) args.push_back(e.wire);
  auto shared = std::make_shared<std::vector<Pending>>(std::move(batch));
  const size_t n = shared->size();
  ++stats_.script_calls;
  const int64_t sent_us = clock_->NowUs();
  const bool sent = RunScript(p, kPublish, std::move(args), 8,
                              [this, stream, shared, sent_us](const redisReply* r) {
                                OnBatchSequenced(stream, std::move(*shared), r, sent_us);
                              });
  if (!sent) {
    stats_.refused += n;
    MarkRefused(stream);
    for (Pending& e : *shared) TellUnavailable(e.done);
  }
}

void RedisBroker::OnBatchSequenced(const std::string& stream, std::vector<Pending> batch,
                                   const redisReply* reply, int64_t sent_us) {
  const std::string_view epoch = ReplyString(ReplyElement(reply, 0));
  int64_t first = 0;
  int64_t time_us = 0;
  if (ReplyIsError(reply) || epoch.empty() || !ReplyInteger(ReplyElement(reply, 1), &first) ||
      !ReplyInteger(ReplyElement(reply, 2), &time_us)) {
    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
      std::fprintf(stderr, "tutti: redis: publish to %s failed: %s\n", stream.c_str(),
                   std::string(ReplyString(reply)).c_str());
    }
    stats_.refused += batch.size();
    MarkRefused(stream);
    // Whether the call ran is unknown (a lost link): what waits is told it was not
    // sequenced; if it was, the check after the outage gives everyone a snapshot.
    for (Pending& e : batch) TellUnavailable(e.done);
    return;
  }
  // The call's stamp is Redis's clock: how far this node's timeline is from it.
  const int64_t answered_us = clock_->NowUs();
  clock_window_.Sample(sent_us, answered_us, time_us);
  if (auto offset = clock_window_.TakeIfDue(answered_us); offset && on_clock_offset_) {
    on_clock_offset_(*offset);
  }
  // Events whose state change the script refused (its precondition failed): never
  // sequenced; the others took the offsets from `first` on, in order.
  std::vector<bool> refused(batch.size(), false);
  const redisReply* refusals = ReplyElement(reply, 3);
  for (size_t j = 0;
       refusals != nullptr && refusals->type == REDIS_REPLY_ARRAY && j < refusals->elements; ++j) {
    int64_t index = 0;
    if (ReplyInteger(refusals->element[j], &index) && index >= 1 &&
        static_cast<size_t>(index) <= batch.size()) {
      refused[static_cast<size_t>(index) - 1] = true;
    }
  }
  // Those refused by their version precondition (a subset of the above).
  std::vector<bool> stale(batch.size(), false);
  const redisReply* staleness = ReplyElement(reply, 4);
  for (size_t j = 0;
       staleness != nullptr && staleness->type == REDIS_REPLY_ARRAY && j < staleness->elements;
       ++j) {
    int64_t index = 0;
    if (ReplyInteger(staleness->element[j], &index) && index >= 1 &&
        static_cast<size_t>(index) <= batch.size()) {
      stale[static_cast<size_t>(index) - 1] = true;
    }
  }
  uint64_t next = static_cast<uint64_t>(first);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (refused[i]) {
      ++stats_.state_refused;
      Publication none;
      none.refused = true;
      none.stale = stale[i];
      if (batch[i].done) batch[i].done(none);
      continue;
    }
    ++stats_.published;
    const uint64_t offset = next++;
    if (!batch[i].done) continue;
    std::string wire = std::string(epoch) + ":" + std::to_string(offset) + ":" +
                       std::to_string(time_us) + ":" + batch[i].wire;
    WireEvent e;
    if (!ParseWireEvent(wire, &e)) continue;
    Publication pub = ToPublication(e, origin_);
    auto it = streams_.find(stream);
    const bool delivered = it == streams_.end() || it->second.subscribers.empty() ||
                           (it->second.top.epoch == epoch && it->second.top.offset >= offset) ||
                           !PrimaryFor(stream).sub.connected();
    if (delivered) {
      batch[i].done(pub);
    } else {
      it->second.awaiting[offset] = {std::move(pub), std::move(batch[i].done)};
    }
  }
}

void RedisBroker::TellUnavailable(const PublishDone& done) {
  if (!done) return;
  Publication none;
  none.unavailable = true;
  done(none);
}

void RedisBroker::OnChannelMessage(const std::string& stream, std::string_view payload) {
  WireEvent e;
  if (!ParseWireEvent(payload, &e)) {
    ++stats_.malformed;
    return;
  }
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  if (e.epoch != s.top.epoch) {
    if (!s.top.epoch.empty()) ++stats_.epoch_changes;
    s.top = {std::string(e.epoch), 0};
  }
  if (e.offset <= s.top.offset) {
    ++stats_.duplicates;
    return;
  }
  const Publication pub = ToPublication(e, origin_);
  s.top = pub.position;
  s.top_time_us = pub.server_time_us;
  Deliver(stream, s, pub);
}

void RedisBroker::Deliver(const std::string& stream, Stream& s, const Publication& pub) {
  ++stats_.delivered;
  // A subscriber may unsubscribe itself or another while being told: walk a copy and
  // look the stream up again afterwards.
  const std::vector<StreamSubscriber*> subscribers = s.subscribers;
  for (StreamSubscriber* sub : subscribers) sub->OnPublication(stream, pub);
  auto it = streams_.find(stream);
  if (it != streams_.end()) ReleaseAwaiting(it->second, /*all=*/false);
}

void RedisBroker::ReleaseAwaiting(Stream& s, bool all) {
  std::vector<std::pair<Publication, PublishDone>> ready;
  // Ready: delivered (at or below the top), or of another epoch than the one the
  // channel now brings (it will never come).
  for (auto it = s.awaiting.begin(); it != s.awaiting.end();) {
    if (all || it->first <= s.top.offset || it->second.first.position.epoch != s.top.epoch) {
      ready.push_back(std::move(it->second));
      it = s.awaiting.erase(it);
    } else {
      ++it;
    }
  }
  // `s` is not touched below: a callback may remove the stream.
  for (auto& [pub, done] : ready) done(pub);
}

void RedisBroker::Subscribe(const std::string& stream, StreamSubscriber* subscriber) {
  Stream& s = streams_[stream];
  for (StreamSubscriber* existing : s.subscribers) {
    if (existing == subscriber) return;
  }
  s.subscribers.push_back(subscriber);
  if (s.subscribers.size() > 1) return;
  PrimaryFor(stream).sub.Subscribe(
      Channel(stream),
      [this, stream](std::string_view, std::string_view payload) {
        OnChannelMessage(stream, payload);
      },
      [this, stream] {
        auto it = streams_.find(stream);
        if (it == streams_.end()) return;
        it->second.subscribed = true;
        RunWaitingReads(it->second);
      });
  SeedTop(stream);
  ArmPresenceRefresh();  // the room's periodic presence read (OnPresence)
}

bool RedisBroker::WhenSubscribed(const std::string& stream, std::function<void()> read) {
  auto it = streams_.find(stream);
  // Nobody here listens (nothing to miss), or the read cannot go now anyway: it is
  // made at once (and answered empty while the command link is down).
  if (it == streams_.end() || it->second.subscribed || !PrimaryFor(stream).cmd.connected()) {
    return false;
  }
  it->second.reads_waiting.push_back(std::move(read));
  return true;
}

void RedisBroker::RunWaitingReads(Stream& s) {
  std::vector<std::function<void()>> reads;
  reads.swap(s.reads_waiting);
  // `s` is not touched below: a read may end in the stream's removal.
  for (auto& read : reads) read();
}

void RedisBroker::SeedTop(const std::string& stream) {
  const std::string meta = MetaKey(stream);
  PrimaryFor(stream).cmd.Command(
      {"HMGET", meta, "epoch", "offset"}, [this, stream](const redisReply* r) {
        auto it = streams_.find(stream);
        const std::string_view epoch = ReplyString(ReplyElement(r, 0));
        int64_t offset = 0;
        if (it == streams_.end() || epoch.empty() || !ReplyInteger(ReplyElement(r, 1), &offset))
          return;
        // Only a stream this node has seen nothing of yet takes the seed: raising a known
        // top would drop the events still on their way through the channel.
        if (it->second.top.epoch.empty())
          it->second.top = {std::string(epoch), static_cast<uint64_t>(offset)};
      });
}

void RedisBroker::Unsubscribe(const std::string& stream, StreamSubscriber* subscriber) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  std::vector<StreamSubscriber*>& subs = it->second.subscribers;
  for (size_t i = 0; i < subs.size(); ++i) {
    if (subs[i] == subscriber) {
      subs.erase(subs.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  if (!subs.empty()) return;
  PrimaryFor(stream).sub.Unsubscribe(Channel(stream));
  std::map<uint64_t, std::pair<Publication, PublishDone>> awaiting;
  awaiting.swap(it->second.awaiting);
  std::vector<std::function<void()>> reads;
  reads.swap(it->second.reads_waiting);
  streams_.erase(it);
  for (auto& [offset, entry] : awaiting) entry.second(entry.first);
  for (auto& read : reads) read();  // nobody listens now: made at once
}

StreamPosition RedisBroker::Top(const std::string& stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() ? StreamPosition{} : it->second.top;
}

}  // namespace tutti::server::redis
