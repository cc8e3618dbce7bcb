// Inbox and NetworkPump: how the threads of a MIDI client reach its single owner loop.
//
// Owns: Inbox owns the queue of received server messages (each with its local arrival time)
// and the condition the owner loop sleeps on. NetworkPump owns one thread that moves messages
// from a blocking tutti::client::Client into an Inbox.
// Thread affinity: Post, PostClosed and Wake may be called from any thread (the pump, an RtMidi
// input callback, a signal thread): they only copy and notify. Wait is for the one owner loop.
// Who owns it: tutti-midi-bridge, tutti-play and the timing harness bots, one pair per
// connection.
//
// Arrival times are taken by the pump right after the client hands a message over, on the
// caller's local clock: a few tens of microseconds after the socket read, the same for every
// message, so the jitter buffer's transit samples are not skewed by when the loop wakes.
#ifndef TUTTI_TOOLS_MIDI_BRIDGE_INBOX_H_
#define TUTTI_TOOLS_MIDI_BRIDGE_INBOX_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "protos/tutti.pb.h"
#include "tools/client/client.h"

namespace tutti::bridge {

class Inbox {
 public:
  struct Item {
    proto::ClientMessage message;
    int64_t arrival_local_us = 0;
    int path = 0;  // which connection it came on: 0 the primary, >= 1 a linked connection
  };

  void Post(Item item);
  // The connection is closed: Wait reports it once everything before it is taken.
  void PostClosed();
  // Wakes the owner without a message (e.g. MIDI input arrived, a signal).
  void Wake();
  // A new connection replaces the closed one: forget the close (and anything left over).
  void Reopen();

  // Sleeps until `deadline`, a post or a wake; appends what was posted. Returns true once the
  // connection is closed and nothing is left.
  bool Wait(std::chrono::steady_clock::time_point deadline, std::vector<Item>* out);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool closed_ = false;
  bool woken_ = false;
};

class NetworkPump {
 public:
  // `local_now` is the owner's clock (called on the pump thread; must be thread-safe).
  // `path` tags the items (0 the primary; a linked connection's are numbered from 1, a new
  // number per link); a pump that does not `report_close` (a link's, whose loss is not the
  // session's) only wakes the owner when its connection closes.
  NetworkPump(client::Client* client, Inbox* inbox, std::function<int64_t()> local_now,
              int path = 0, bool report_close = true);
  ~NetworkPump();  // stops and joins the thread
  NetworkPump(const NetworkPump&) = delete;
  NetworkPump& operator=(const NetworkPump&) = delete;

 private:
  client::Client* client_;
  Inbox* inbox_;
  std::function<int64_t()> local_now_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tutti::bridge

#endif  // TUTTI_TOOLS_MIDI_BRIDGE_INBOX_H_
