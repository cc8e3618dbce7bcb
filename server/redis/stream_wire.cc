#include "server/redis/stream_wire.h"

#include <charconv>

namespace tutti::server::redis {
namespace {

// Cuts the text up to the next ':' off `rest` into `field`; false when there is none.
bool Take(std::string_view* rest, std::string_view* field) {
  const size_t colon = rest->find(':');
  if (colon == std::string_view::npos) return false;
  *field = rest->substr(0, colon);
  rest->remove_prefix(colon + 1);
  return true;
}

template <typename T>
bool Number(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Epochs and origins are what NewStreamEpoch draws (base64url): anything else in them
// came from somewhere else, and an epoch goes into a protobuf string field, which must
// be UTF-8.
bool IsToken(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (unsigned char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string EncodeWireRequest(std::string_view origin, const PublishRequest& req) {
  std::string out;
  out.reserve(origin.size() + 24 + static_cast<size_t>(req.message.ByteSizeLong()));
  out.append(origin);
  out.push_back(':');
  out.append(std::to_string(req.exclude));
  // Flags: 1 = droppable, plus 2 x the ChatMark (2 keep, 4 clear).
  out.push_back(':');
  out.push_back(static_cast<char>('0' + (req.droppable ? 1 : 0) + 2 * static_cast<int>(req.chat)));
  out.push_back(':');
  req.message.AppendToString(&out);
  return out;
}

bool ParseWireEvent(std::string_view wire, WireEvent* out) {
  std::string_view rest = wire;
  std::string_view offset, time, exclude, flags;
  if (!Take(&rest, &out->epoch) || !Take(&rest, &offset) || !Take(&rest, &time) ||
      !Take(&rest, &out->origin) || !Take(&rest, &exclude) || !Take(&rest, &flags)) {
    return false;
  }
  if (!IsToken(out->epoch) || !IsToken(out->origin) || !Number(offset, &out->offset) ||
      out->offset == 0 || !Number(time, &out->server_time_us) || !Number(exclude, &out->exclude) ||
      flags.size() != 1 || flags[0] < '0' || flags[0] > '5') {
    return false;
  }
  const int f = flags[0] - '0';
  out->droppable = (f & 1) != 0;
  out->chat = static_cast<ChatMark>(f >> 1);
  out->body = rest;
  return true;
}

Publication ToPublication(const WireEvent& e, std::string_view self) {
  Publication pub;
  pub.position = {std::string(e.epoch), e.offset};
  pub.server_time_us = e.server_time_us;
  const bool own = e.origin == self;
  pub.exclude = own ? e.exclude : 0;
  if (!own) pub.origin = std::string(e.origin);
  pub.droppable = e.droppable;
  pub.chat = e.chat;
  proto::ClientMessage tail;
  proto::StreamPosition* stamp = tail.mutable_stream();
  stamp->set_epoch(pub.position.epoch);
  stamp->set_offset(e.offset);
  stamp->set_server_time(e.server_time_us);
  std::string bytes;
  bytes.reserve(e.body.size() + 32);
  bytes.append(e.body);
  tail.AppendToString(&bytes);
  pub.frame = MakeFrameFromBytes(std::move(bytes));
  return pub;
}

}  // namespace tutti::server::redis
