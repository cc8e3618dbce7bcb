// A load-generator worker: one thread running one io_context, with its share of the
// connections (conn.h). Its tick sends on every player's and chatter's schedule (open loop:
// late ticks catch up in bounded bursts), starts churners at the churn rate, heartbeats,
// flushes what was queued and publishes its counts (counters.h) for main's progress lines.
//
// Owns: its connections, its timer and its LoopTally. Thread affinity: everything runs on
// the loop's own thread except StartThread, Join, PostShutdown and published(), which main
// calls. Owner: Run() in loadgen.cc.
#ifndef TUTTI_TOOLS_LOADGEN_LOOP_H_
#define TUTTI_TOOLS_LOADGEN_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tools/loadgen/conn.h"
#include "tools/loadgen/counters.h"
#include "tools/loadgen/run_state.h"

namespace tutti::loadgen {

class Loop {
 public:
  Loop(int index, Shared* shared)
      : index_(index), shared_(shared), timer_(io_), work_(boost::asio::make_work_guard(io_)) {}

  Shared& shared() { return *shared_; }
  LoopTally& tally() { return tally_; }
  const LoopTally& tally() const { return tally_; }
  const PublishedCounts& published() const { return published_; }
  boost::asio::io_context& io() { return io_; }
  int index() const { return index_; }

  void Add(std::shared_ptr<Conn> conn) { members_.push_back(std::move(conn)); }

  void StartThread() {
    thread_ = std::thread([this] {
      boost::asio::post(io_, [this] { Begin(); });
      io_.run();
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void PostShutdown() {
    boost::asio::post(io_, [this] { DoShutdown(); });
  }

  // Called by connections.
  void OnOpened(Conn* c, int64_t now_us) {
    ++tally_.counts[kOpened];
    tally_.counts.last_open_us = now_us;
    ConnectDone(c);
  }
  void OnConnectFailed(Conn* c) {
    ++tally_.counts[kFailed];
    ConnectDone(c);
  }
  void OnJoined(Conn* c) {
    ++tally_.counts[kJoinedRoom];
    if (c->player()) players_.push_back(c);
  }
  void MarkDirty(Conn* c) { dirty_.push_back(c); }
  void ChurnFinished(Conn* c, bool ok);
  void NoteError(const std::string& text) {
    if (tally_.first_error.empty()) tally_.first_error = text;
  }
  bool shutting_down() const { return shutting_down_; }
  // Receivers of one relayed message of `room` (the sender excluded).
  uint64_t Receivers(int room) const {
    const int n = shared_->room_joined[room].load(std::memory_order_relaxed);
    return n > 1 ? static_cast<uint64_t>(n - 1) : 0;
  }
  uint64_t Members(int room) const {
    return static_cast<uint64_t>(shared_->room_joined[room].load(std::memory_order_relaxed));
  }
  size_t read_buffer_size(bool idle) const {
    if (shared_->options.read_buffer > 0) return shared_->options.read_buffer;
    return idle ? 4096 : 64 * 1024;
  }
  const boost::asio::ip::tcp::endpoint& source(int ordinal) const {
    return sources_[static_cast<size_t>(ordinal) % sources_.size()];
  }
  void SetSources(std::vector<boost::asio::ip::tcp::endpoint> s) { sources_ = std::move(s); }
  // Each sender starts at its own phase within one period, so sends spread evenly.
  void SetSchedules(int64_t play_start, const Options& o);

 private:
  void Begin();
  void StartMoreConnects();
  void ConnectDone(Conn* c);
  void ScheduleTick();
  void Tick();
  void StartChurner();
  void Publish() { published_.Store(tally_.counts); }
  void DoShutdown();

  const int index_;
  Shared* const shared_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer timer_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::vector<std::shared_ptr<Conn>> members_;  // members and idle connections
  std::vector<Conn*> players_;
  std::vector<Conn*> dirty_;
  std::unordered_map<Conn*, std::shared_ptr<Conn>> churners_;
  std::vector<boost::asio::ip::tcp::endpoint> sources_;
  size_t next_connect_ = 0;
  int connecting_ = 0;
  int connect_budget_ = 1;
  uint64_t churn_started_ = 0;
  int64_t last_heartbeat_us_ = 0;
  bool heartbeats_started_ = false;
  bool play_started_ = false;
  bool shutting_down_ = false;
  LoopTally tally_;
  PublishedCounts published_;
};

}  // namespace tutti::loadgen

#endif  // TUTTI_TOOLS_LOADGEN_LOOP_H_
