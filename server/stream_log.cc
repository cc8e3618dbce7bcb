#include "server/stream_log.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "crypto/base64url.h"
#include "crypto/sodium_init.h"

namespace tutti::server {

StreamLog::StreamLog(std::string epoch, const HistoryLimits* limits)
    : epoch_(std::move(epoch)), limits_(limits) {}

Publication StreamLog::Append(PublishRequest req, int64_t now_us) {
  Publication pub;
  pub.position = {epoch_, ++top_offset_};
  last_time_us_ = std::max(now_us, last_time_us_);
  pub.server_time_us = last_time_us_;
  proto::StreamPosition* stamp = req.message.mutable_stream();
  stamp->set_epoch(epoch_);
  stamp->set_offset(pub.position.offset);
  stamp->set_server_time(pub.server_time_us);
  pub.frame = MakeFrame(req.message);
  pub.exclude = req.exclude;
  pub.droppable = req.droppable;
  pub.chat = req.chat;
  kept_.push_back(pub);
  kept_bytes_ += pub.frame->wire_size();
  Trim(now_us);
  return pub;
}

void StreamLog::Trim(int64_t now_us) {
  const int64_t oldest_allowed = now_us - limits_->max_age_us;
  while (!kept_.empty() &&
         (kept_.size() > limits_->max_events || kept_bytes_ > limits_->max_bytes ||
          kept_.front().server_time_us < oldest_allowed)) {
    kept_bytes_ -= kept_.front().frame->wire_size();
    kept_.pop_front();
  }
}

HistoryResult StreamLog::Since(const StreamPosition& since, int64_t now_us) {
  Trim(now_us);
  HistoryResult result;
  result.top = top();
  if (since.epoch != epoch_) {
    result.reason = "epoch changed";
    return result;
  }
  if (since.offset > top_offset_) {
    result.reason = "offset beyond the stream";
    return result;
  }
  // Every event after `since` must still be kept: the first one needed is since+1.
  if (since.offset < top_offset_ && first_kept_offset() > since.offset + 1) {
    result.reason = "history trimmed";
    return result;
  }
  result.recoverable = true;
  const uint64_t skip = since.offset + 1 - std::min(first_kept_offset(), since.offset + 1);
  for (auto it =
           kept_.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(skip, kept_.size()));
       it != kept_.end(); ++it) {
    result.publications.push_back(*it);
  }
  return result;
}

std::string NewStreamEpoch() {
  crypto::EnsureSodiumInitialized();
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  return crypto::Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace tutti::server
