// Fuzz target: the wire form of a room event inside Redis (server/redis/stream_wire.h),
// which every node parses from its rooms' channels and from the history stream: a
// misbehaving or compromised peer node, or anything else with access to Redis, can put
// any bytes there.
//
// Input: the text, parsed as a wire event.
// Properties: a parsed event has a non-empty epoch, an offset above 0 and a body that is
// the tail of the input; its publication's frame payload is the body followed by the
// encoded position, and when the body is a ClientMessage the framed bytes are one too,
// carrying exactly the parsed position; `exclude` survives only for the publishing engine.
#include <string>
#include <string_view>

#include "server/redis/stream_wire.h"
#include "tests/fuzz/fuzz_target.h"

namespace redis = tutti::server::redis;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);
  redis::WireEvent e;
  if (!redis::ParseWireEvent(text, &e)) return 0;
  FUZZ_CHECK(!e.epoch.empty());
  FUZZ_CHECK(e.offset > 0);
  FUZZ_CHECK(e.body.size() <= text.size());
  FUZZ_CHECK(text.substr(text.size() - e.body.size()) == e.body);

  const tutti::server::Publication mine = redis::ToPublication(e, e.origin);
  const tutti::server::Publication other = redis::ToPublication(e, std::string(e.origin) + "x");
  FUZZ_CHECK(mine.exclude == e.exclude);
  FUZZ_CHECK(other.exclude == 0);
  FUZZ_CHECK(mine.position.offset == e.offset);
  FUZZ_CHECK(mine.position.epoch == e.epoch);
  const std::string& payload = mine.frame->payload();
  FUZZ_CHECK(payload.size() > e.body.size());
  FUZZ_CHECK(std::string_view(payload).substr(0, e.body.size()) == e.body);
  tutti::proto::ClientMessage body;
  if (body.ParseFromArray(e.body.data(), static_cast<int>(e.body.size()))) {
    tutti::proto::ClientMessage framed;
    FUZZ_CHECK(framed.ParseFromString(payload));
    FUZZ_CHECK(framed.stream().epoch() == e.epoch);
    FUZZ_CHECK(framed.stream().offset() == e.offset);
    FUZZ_CHECK(framed.stream().server_time() == e.server_time_us);
  }
  return 0;
}
