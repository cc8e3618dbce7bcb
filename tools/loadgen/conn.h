// One load-generator WebSocket connection: the upgrade with its own sealed payload, the
// frames in and out (tools/loadgen/wire.h), the join, and the MIDI and chat it sends on its
// loop's schedule; what it sees is counted in its loop's LoopTally (counters.h). Members
// join a room and stay; idle connections only heartbeat; churners join, leave and close.
//
// Owns: its socket and buffers. Thread affinity: its loop's thread only; async handlers hold
// a shared_ptr, so a connection outlives its last pending operation. Owner: its Loop.
#ifndef TUTTI_TOOLS_LOADGEN_CONN_H_
#define TUTTI_TOOLS_LOADGEN_CONN_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "protos/tutti.pb.h"

namespace tutti::loadgen {

class Loop;

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  enum class Kind { kMember, kIdle, kChurn };

  Conn(Loop* loop, Kind kind, int user, int room, bool player, int ordinal);

  void Start();
  void Shutdown();  // end of run: close without ceremony
  bool open() const { return state_ >= kWelcomed && state_ < kClosed; }
  bool joined() const { return state_ == kJoined; }
  bool player() const { return player_; }
  int room() const { return room_; }

  // Hot path, on the loop's tick. Appends to the pending write; Flush() writes it.
  void SendMidi(int64_t now_us);
  void SendChat(int64_t now_us);
  void SendHeartbeat(bool with_clock);
  void Flush();

  // Players' and chatters' schedules (server time, fractional microseconds).
  double next_midi_us = 0;
  double next_chat_us = 0;
  int64_t started_us = 0;

 private:
  enum State {
    kIdleState,
    kConnecting,
    kHandshake,
    kWelcomed,
    kJoining,
    kJoined,
    kLeaving,
    kClosed
  };

  void OnConnected(const boost::system::error_code& ec);
  void StartRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  bool ProcessFrames(int64_t now_us);
  void OnMessage(const uint8_t* data, size_t size, int64_t now_us);
  void OnControl(int message_case, const uint8_t* data, size_t size);
  void SendProto(const proto::ServerMessage& msg);
  void QueueFrame(uint8_t opcode, std::string_view payload);
  void MarkDirty();
  void Fail(const std::string& why, bool connected);
  void Finish();

  // Server time minus NowUs() for this connection's node (ServerTimelineOffsetUs, from
  // its Welcome): sent stamps and received ones are in server time.
  int64_t timeline_us_ = 0;
  Loop* const loop_;
  const Kind kind_;
  const int user_;
  const int room_;
  const bool player_;
  const int ordinal_;
  boost::asio::ip::tcp::socket socket_;
  State state_ = kIdleState;
  uint32_t mask_key_;
  std::vector<uint8_t> rbuf_;
  size_t rlen_ = 0;
  std::string pending_, inflight_;
  bool writing_ = false;
  bool dirty_ = false;
  bool closing_ = false;  // we sent a close frame (churn) or are shutting down
  // Player state: which step of the note pattern comes next.
  uint32_t step_ = 0;
  uint8_t held_[3] = {0, 0, 0};
  int held_count_ = 0;
  friend class Loop;
};

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_CONN_H_
