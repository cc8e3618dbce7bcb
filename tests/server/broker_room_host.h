// BrokerRoomHost: the RoomHost of the unit tests that run a room against a real stream engine
// in process (room_stream_test, room_roster_test): a fake clock, the engine (`Engine`, built
// from that clock and default history limits), and a record of what the room hands out:
// frames for the shard's fan-out (with the session they skip), frames for one session, and the
// sessions that left, and the rooms it said were empty. Storage is refused. No sockets, no threads.
//
// Owns: the clock, the engine and the records. Thread affinity: the test's thread, which drives
// the room. Who owns it: one test. Header only.
#ifndef TUTTI_TESTS_SERVER_BROKER_ROOM_HOST_H_
#define TUTTI_TESTS_SERVER_BROKER_ROOM_HOST_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/clock.h"
#include "server/memory_broker.h"
#include "server/room.h"
#include "server/store/store.h"

namespace tutti::server {

template <typename Engine>
class BrokerRoomHost : public RoomHost {
 public:
  BrokerRoomHost() : broker_(&clock_, HistoryLimits{}) {}
  int64_t NowUs() override { return clock_.NowUs(); }
  void DeliverToShard(int, const std::string&, const Frame& frame, SessionId exclude,
                      bool) override {
    fanned.push_back({Parse(frame), exclude});
  }
  void SendToSession(SessionId s, const Frame& f) override { direct[s].push_back(Parse(f)); }
  void MemberJoined(SessionId s, const std::string&, const Frame& f) override {
    direct[s].push_back(Parse(f));
  }
  void JoinFailed(SessionId s, const std::string&, const Frame& f) override {
    direct[s].push_back(Parse(f));
  }
  void MemberLeft(SessionId s, const std::string&, const Frame& f) override {
    left.push_back(s);
    if (f) direct[s].push_back(Parse(f));
  }
  void RoomEmpty(const std::string& room) override { emptied.push_back(room); }
  int64_t UnixMs() override { return clock_.UnixMs(); }
  bool Storage(std::function<void(store::Store&)>, std::function<void()>) override { return false; }
  Broker* broker() override { return &broker_; }

  static proto::ClientMessage Parse(const Frame& f) {
    proto::ClientMessage m;
    EXPECT_TRUE(m.ParseFromString(f->payload()));
    return m;
  }
  std::vector<std::string> emptied;  // RoomEmpty calls, in order
  struct Fanned {
    proto::ClientMessage msg;
    SessionId exclude;
  };
  std::vector<Fanned> fanned;
  std::map<SessionId, std::vector<proto::ClientMessage>> direct;
  std::vector<SessionId> left;
  Engine& engine() { return broker_; }

 private:
  FakeClock clock_;
  Engine broker_;
};

}  // namespace tutti::server

#endif  // TUTTI_TESTS_SERVER_BROKER_ROOM_HOST_H_
