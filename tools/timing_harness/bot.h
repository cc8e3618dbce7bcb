// A timing-harness bot: one client of the layer-2 run (timing_harness.h) with its own skewed
// clock, a blocking Client through its relay, the pump that feeds its Inbox, and the MidiLink it
// drives; with --links 2 also its linked connection (docs/PROTOCOL.md §16) through a relay of its
// own: the clients' bridge::LinkedConnection, which keeps the first copy of each room event.
//
// Owns: its Client, pump, Inbox, MidiLink and LinkedConnection. Thread affinity: one owner thread
// (the sender's thread or the harness's main loop); the pumps post into the Inbox from their own
// threads. Who owns it: RunHarness, for the length of a run. Header-only (used by
// timing_harness.cc).
#ifndef TUTTI_TOOLS_TIMING_HARNESS_BOT_H_
#define TUTTI_TOOLS_TIMING_HARNESS_BOT_H_

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "midi/timing_metrics.h"
#include "tools/client/client.h"
#include "tools/midi_bridge/inbox.h"
#include "tools/midi_bridge/linked_connection.h"
#include "tools/midi_bridge/midi_link.h"

namespace tutti::harness {

using bridge::Inbox;
using bridge::LinkOutput;

inline constexpr int64_t kClockSampleUs = 100000;

// The shared monotonic clock (steady_clock = CLOCK_MONOTONIC; tutti-server stamps with it).
inline int64_t MonoUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::chrono::steady_clock::time_point AtMono(int64_t mono_us) {
  return std::chrono::steady_clock::time_point(std::chrono::microseconds(mono_us));
}

// A bot's own clock: far from server time and skewed, so clock sync has work to do.
struct LocalClock {
  int64_t t0 = 0;
  int64_t offset_us = 0;
  double ppm = 0;
  int64_t Local(int64_t mono) const {
    return mono + offset_us + std::llround(static_cast<double>(mono - t0) * ppm * 1e-6);
  }
  int64_t Mono(int64_t local) const {
    return t0 + std::llround(static_cast<double>(local - offset_us - t0) / (1 + ppm * 1e-6));
  }
};

inline int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One client: a blocking Client (through its relay), the pump, and the MidiLink it drives.
class Bot {
 public:
  Bot(std::string name, LocalClock clock, bridge::MidiLinkOptions lo = {})
      : name_(std::move(name)), clock_(clock), link_(lo) {}
  ~Bot() {
    pump_.reset();  // before the client it reads from
    linked_.reset();
  }

  absl::Status Connect(uint16_t port, const std::string& resource) {
    auto r = client_.Connect("127.0.0.1", port, resource);
    if (!r.ok) {
      return absl::UnavailableError(name_ + ": connect refused: " + std::to_string(r.http_status) +
                                    " " + r.error);
    }
    connect_mono_ = MonoUs();
    if (linked_) linked_->OnPrimaryOpen(&client_, "127.0.0.1", link_port_, link_resource_);
    link_.OnConnected(Local());
    pump_ = std::make_unique<bridge::NetworkPump>(&client_, &inbox_,
                                                  [this] { return clock_.Local(MonoUs()); });
    return absl::OkStatus();
  }

  void JoinRoom(const std::string& room) {
    proto::ServerMessage join;
    join.mutable_server_command()->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
    (*join.mutable_server_command()->mutable_parameters())["room_name"] = room;
    client_.Send(join);
  }

  // With --links 2: the bot's linked connection (docs/PROTOCOL.md §16) goes through a relay
  // of its own at `port`. Call before Connect: the link is asked for once the join is answered.
  void UseLink(uint16_t port, bridge::LinkedConnection::ResourceFor resource_with_token) {
    link_port_ = port;
    link_resource_ = std::move(resource_with_token);
    linked_ = std::make_unique<bridge::LinkedConnection>(&inbox_,
                                                         [this] { return clock_.Local(MonoUs()); });
  }

  // Sleeps until the link's next wake or `cap_mono`, whichever is first; returns what arrived.
  // With a linked connection, only the first copy of each room event is kept and nothing else
  // the link says reaches the MidiLink (bridge::LinkedConnection, shared with the clients).
  bool Wait(int64_t cap_mono, std::vector<Inbox::Item>* items) {
    int64_t wake = std::min(clock_.Mono(link_.NextWake(Local())), cap_mono);
    if (linked_ && linked_->NextWake() != INT64_MAX) {
      wake = std::min(wake, clock_.Mono(linked_->NextWake()));
    }
    items->clear();
    const bool closed = inbox_.Wait(AtMono(wake), items);
    if (!linked_) return closed;
    const int64_t now = Local();
    size_t kept = 0;
    for (auto& item : *items) {
      if (linked_->Filter(item, now)) (*items)[kept++] = std::move(item);
    }
    items->resize(kept);
    linked_->Poll(now);
    return closed;
  }

  // Waits (bounded) until the linked connection UseLink set up is attached.
  absl::Status OpenLink() {
    if (!linked_) return absl::FailedPreconditionError("UseLink before Connect");
    const int64_t deadline = MonoUs() + 10000000;
    std::vector<Inbox::Item> items;
    LinkOutput out;
    while (!linked_->attached()) {
      if (MonoUs() > deadline) {
        return absl::DeadlineExceededError(name_ +
                                           ": link not attached: " + linked_->Describe(Local()));
      }
      Wait(MonoUs() + 20000, &items);
      for (const auto& item : items) Handle(item, &out);
    }
    return absl::OkStatus();
  }

  void Handle(const Inbox::Item& item, LinkOutput* out) {
    if (item.message.has_room_joined_response() && item.message.room_joined_response().success()) {
      joined_ = true;
    }
    link_.OnMessage(item.message, item.arrival_local_us, out);
  }

  // Heartbeats and due events; sends what the link wants sent. Returns the events to play.
  void Poll(LinkOutput* out) {
    link_.Poll(Local(), out);
    for (auto& m : out->send) {
      // With a link, every batch goes on both connections, numbered so the server takes it
      // once; heartbeats (clock sync) stay on the primary.
      if (linked_) {
        linked_->Send(std::move(m));
      } else {
        client_.Send(std::move(m));
      }
    }
    out->send.clear();
  }

  void SampleClock(int64_t mono) {
    if (mono < next_clock_sample_) return;
    next_clock_sample_ = mono + kClockSampleUs;
    const int64_t local = clock_.Local(mono);
    const midi::ClockSync& c = link_.clock();
    // Server time is this machine's monotonic clock: the mapping's error is exact.
    const double err =
        c.has_estimate() ? static_cast<double>(c.ServerTimeFromLocal(local) - mono) : 1e12;
    clock_errors_.Add(mono - connect_mono_, err, c.locked(), c.Status(local).error_bound_us);
  }

  void SummarizeClock(double* p95, double* max, double* at1s, bool* within, double* skew_err) {
    clock_errors_.Summarize(p95, max, at1s, within);
    *skew_err = std::abs(link_.clock().skew_ppm() - midi::timing::TrueOffsetSlopePpm(clock_.ppm));
  }

  int64_t Local() const { return clock_.Local(MonoUs()); }
  const LocalClock& clock() const { return clock_; }
  bridge::MidiLink& link() { return link_; }
  bool joined() const { return joined_; }
  int64_t connect_mono() const { return connect_mono_; }
  int64_t next_clock_sample() const { return next_clock_sample_; }
  // Room events taken from each connection first, and copies dropped.
  uint64_t first_copies(int path) const {
    if (!linked_) return 0;
    return path == 0 ? linked_->first_from_primary() : linked_->first_from_link();
  }
  uint64_t duplicates() const { return linked_ ? linked_->duplicates() : 0; }

 private:
  std::string name_;
  LocalClock clock_;
  Inbox inbox_;
  client::Client client_;
  bridge::MidiLink link_;
  std::unique_ptr<bridge::NetworkPump> pump_;
  // The linked connection (--links 2): after client_ and inbox_, so destroyed first.
  uint16_t link_port_ = 0;
  bridge::LinkedConnection::ResourceFor link_resource_;
  std::unique_ptr<bridge::LinkedConnection> linked_;
  bool joined_ = false;
  int64_t connect_mono_ = 0;
  int64_t next_clock_sample_ = 0;
  midi::timing::ClockErrorLog clock_errors_;
};

}  // namespace tutti::harness

#endif  // TUTTI_TOOLS_TIMING_HARNESS_BOT_H_
