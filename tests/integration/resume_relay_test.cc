// Session resume as a property (docs/PROTOCOL.md §12): receivers connected through
// tutti-netem-relay (the in-process NetemRelay: delay and jitter on every chunk, bytes never
// reordered) are cut at random points while two producers keep a room busy, many times,
// and each resumes through the relay with its ResumeState. At the end every receiver's
// stream events, concatenated over all its connections, are exactly what a member present
// all along saw after the receiver joined: same epoch, every offset once, in order, with
// the same bytes. Every resume must be RESUME_RECOVERED: the gaps are far inside the
// history bounds, so an unrecoverable answer (the documented reset) is a failure here.
// The cut points come from a seeded RNG: TUTTI_RESUME_SEED=<n> replays a run; every
// failure prints the seed. Waits have deadlines; the producers' pacing only shapes load:
// each cut allows them more messages than the cut waits for (they can neither run dry nor
// outrun the history), the history, quotas and token lifetime are set beyond anything
// the run can reach, and every cut has the observer say one line while the receiver is
// away, so each resume has something to replay however the timing fell.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/test_server.h"
#include "tools/client/resume_state.h"
#include "tools/netem_relay/netem_relay.h"

namespace tutti::testing {
namespace {

constexpr int kReceivers = 3;
constexpr int kCuts = 30;
// Each cut lets every producer send this many more messages, more than a cut waits for
// (at most 39 events), so the events a receiver waits for are always on their way however
// slowly anything runs; the producers never run dry before the cuts are done.
constexpr int kMessagesPerCut = 40;
const std::string kRoom = "busy";
const std::string kNoteOn("\x90\x3c\x64", 3);
const std::string kNoteOff("\x80\x3c\x00", 3);

uint64_t SeedFromEnv() {
  const char* s = std::getenv("TUTTI_RESUME_SEED");
  if (s != nullptr && *s != '\0') return std::strtoull(s, nullptr, 10);
  return 20261203;
}

// Quotas far above what the producers send, and bounds the run can never reach: how long a
// cut and resume takes on a loaded machine must not decide whether a gap is still in the
// history or the token still valid.
void Busy(server::ServerConfig& c) {
  c.chat_per_second = 1000;
  c.chat_burst = 1000;
  c.notes_per_second = 10000;
  c.note_burst = 10000;
  c.requests_per_second = 1000;
  c.request_burst = 1000;
  c.room_history.max_events = 1 << 20;
  c.room_history.max_bytes = size_t{256} << 20;
  c.room_history.max_age_us = 3'600'000'000;
  c.resume_grace_ms = 3600000;
}

// One receiver: a logical session over successive relay connections.
struct Receiver {
  std::string name;
  std::unique_ptr<client::Client> conn;
  int relay_index = -1;  // the relay's accept-order index of `conn`
  client::ResumeState state;
  proto::StreamPosition joined;              // the position its join reflected
  std::vector<proto::ClientMessage> events;  // every stream event, over all connections
  int resumes = 0;
  uint64_t replayed = 0;  // events the RESUME_RECOVERED answers announced
};

class RelayedReceivers {
 public:
  RelayedReceivers(TestServer& ts, netem::NetemRelay& relay) : ts_(ts), relay_(relay) {}

  // Opens a connection through the relay (with the resume keys when `r` has a token) and
  // takes its Welcome. False (with a test failure) when that does not happen.
  bool Open(Receiver& r) {
    UserSpec u = Named(r.name);
    if (r.state.has_token()) {
      u.resume_token = ResumeToken(r);
      u.resume_room = r.state.room_id();
      u.resume_epoch = r.state.position().epoch();
      u.resume_offset = r.state.position().offset();
    }
    r.conn = std::make_unique<client::Client>();
    r.relay_index = next_index_++;
    client::ConnectResult c = r.conn->Connect("127.0.0.1", relay_.port(), ts_.Resource(u), 10s);
    if (!c.ok) {
      ADD_FAILURE() << r.name << ": connect through the relay failed: " << c.http_status << " "
                    << c.error;
      return false;
    }
    auto w = r.conn->Next(10s);
    if (!w || !w->has_welcome()) {
      ADD_FAILURE() << r.name << ": no Welcome";
      return false;
    }
    Take(r, *w);
    return true;
  }

  // Records one received message.
  static void Take(Receiver& r, const proto::ClientMessage& m) {
    r.state.Observe(m);
    if (m.has_stream()) r.events.push_back(m);
  }

  // Reads until `r` has processed `n` more stream events (or the deadline passes).
  static bool ReadEvents(Receiver& r, int n) {
    const size_t want = r.events.size() + static_cast<size_t>(n);
    while (r.events.size() < want) {
      auto m = r.conn->Next(10s);
      if (!m) return false;
      Take(r, *m);
    }
    return true;
  }

  // Takes what has already arrived, without waiting.
  static void Drain(Receiver& r) {
    while (auto m = r.conn->Next(0ms)) Take(r, *m);
  }

  // Cuts `r` at the relay, takes what reached it before the cut, has `gap_sender` say
  // something the closed connection cannot have received (so every resume has at least
  // one event to replay, however the producers' timing fell), and resumes it.
  bool CutAndResume(Receiver& r, client::Client& gap_sender, const std::string& gap_line) {
    relay_.Sever(r.relay_index);
    if (!r.conn->WaitClosed(10s)) {
      ADD_FAILURE() << r.name << ": the severed connection did not end";
      return false;
    }
    if (!gap_sender.Send(ChatMsg(gap_line))) {
      ADD_FAILURE() << "the gap line " << gap_line << " was not sent";
      return false;
    }
    Drain(r);
    r.state.OnDisconnected();
    r.conn.reset();
    if (!Open(r)) return false;
    for (;;) {
      auto m = r.conn->Next(10s);
      if (!m) {
        ADD_FAILURE() << r.name << ": no ResumeResult";
        return false;
      }
      Take(r, *m);
      if (!m->has_resume_result()) continue;
      ++r.resumes;
      r.replayed += m->resume_result().replayed();
      EXPECT_EQ(m->resume_result().outcome(), proto::RESUME_RECOVERED)
          << r.name << ": " << m->resume_result().ShortDebugString();
      EXPECT_EQ(m->resume_result().room_id(), kRoom);
      return m->resume_result().outcome() == proto::RESUME_RECOVERED;
    }
  }

 private:
  // ResumeState keeps its token private to the tool; the next connect's options carry it.
  static std::string ResumeToken(const Receiver& r) {
    client::ConnectOptions o;
    r.state.Fill(&o);
    return o.resume_token;
  }

  TestServer& ts_;
  netem::NetemRelay& relay_;
  int next_index_ = 0;
};

TEST(ResumeRelay, ReceiversCutAtRandomPointsEndCompleteAndGapFree) {
  const uint64_t seed = SeedFromEnv();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (TUTTI_RESUME_SEED reproduces it)");
  std::mt19937_64 rng(seed);

  TestServer ts(3, Busy);
  netem::RelayOptions ro;
  ro.target_port = ts.port();
  ro.up.delay_us = ro.down.delay_us = 1000;
  ro.up.jitter_us = ro.down.jitter_us = 500;
  ro.seed = seed;
  ro.duration_us = 280'000'000;  // within the test's ctest timeout
  netem::NetemRelay relay(ro);
  ASSERT_TRUE(relay.Start().ok());

  // The reference: a member present all along that listens, and says one gap line
  // while each cut receiver is away.
  auto observer = ts.Connect("observer");
  ASSERT_TRUE(observer);
  proto::RoomJoinedResponse observer_joined;
  ASSERT_TRUE(JoinRoom(*observer, kRoom, &observer_joined));
  std::vector<std::unique_ptr<client::Client>> producers;
  for (const char* name : {"p0", "p1"}) {
    producers.push_back(ts.Connect(name));
    ASSERT_TRUE(producers.back());
    ASSERT_TRUE(JoinRoom(*producers.back(), kRoom));
  }

  RelayedReceivers relayed(ts, relay);
  std::vector<Receiver> receivers(kReceivers);
  for (int i = 0; i < kReceivers; ++i) {
    Receiver& r = receivers[i];
    r.name = "r" + std::to_string(i);
    ASSERT_TRUE(relayed.Open(r));
    ASSERT_TRUE(r.conn->Send(JoinMsg(kRoom)));
    for (;;) {
      auto m = r.conn->Next(10s);
      ASSERT_TRUE(m) << r.name << ": no RoomJoinedResponse";
      RelayedReceivers::Take(r, *m);
      if (m->has_room_joined_response()) {
        ASSERT_TRUE(m->room_joined_response().success());
        r.joined = m->room_joined_response().stream_position();
        break;
      }
    }
  }

  // The busy room: chat lines and notes from two producers, as many as the cuts allow,
  // until told to stop.
  std::atomic<bool> stop{false};
  std::atomic<int> allowed{kMessagesPerCut};
  std::atomic<int> sent{0};
  std::thread producing([&] {
    for (int i = 0; !stop.load();) {
      if (i >= allowed.load()) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      for (size_t p = 0; p < producers.size(); ++p) {
        proto::ServerMessage m = i % 2 == 0
                                     ? ChatMsg("p" + std::to_string(p) + " " + std::to_string(i))
                                     : MidiMsg(i % 4 == 1 ? kNoteOn : kNoteOff);
        if (!producers[p]->Send(m)) return;
        ++sent;
      }
      ++i;
      std::this_thread::sleep_for(2ms);  // load shape only; nothing waits on it
    }
  });

  // The cuts: a random receiver, after a random number of further events (0 cuts it
  // right after its ResumeResult, inside the replay), many times.
  bool ok = true;
  for (int cut = 0; cut < kCuts && ok; ++cut) {
    for (Receiver& r : receivers) RelayedReceivers::Drain(r);
    Receiver& victim = receivers[rng() % kReceivers];
    const int after = static_cast<int>(rng() % 40);
    allowed += kMessagesPerCut;
    ok = RelayedReceivers::ReadEvents(victim, after);
    EXPECT_TRUE(ok) << victim.name << " got no events for 10 s before cut " << cut;
    if (ok) ok = relayed.CutAndResume(victim, *observer, "gap " + std::to_string(cut));
  }
  stop = true;
  producing.join();
  ASSERT_TRUE(ok);
  EXPECT_GT(sent.load(), 0);

  // The end mark, after everything the producers sent: all must reach it.
  ASSERT_TRUE(producers[0]->Send(ChatMsg("end")));
  const std::vector<proto::ClientMessage> reference = ReadUntilChat(*observer, "end", {}, 10s);
  for (Receiver& r : receivers) {
    SCOPED_TRACE(r.name);
    std::vector<proto::ClientMessage> rest = ReadUntilChat(
        *r.conn, "end", [&r](const proto::ClientMessage& m) { r.state.Observe(m); }, 10s);
    r.events.insert(r.events.end(), rest.begin(), rest.end());
  }
  ASSERT_FALSE(HasFailure()) << "a connection never got the end mark";

  int total_resumes = 0;
  uint64_t total_replayed = 0;
  for (const Receiver& r : receivers) {
    SCOPED_TRACE(r.name);
    total_resumes += r.resumes;
    total_replayed += r.replayed;
    // What the observer saw after this receiver's join position: the whole expectation.
    std::vector<const proto::ClientMessage*> want;
    for (const auto& m : reference) {
      EXPECT_EQ(m.stream().epoch(), r.joined.epoch());
      if (m.stream().offset() > r.joined.offset()) want.push_back(&m);
    }
    ASSERT_FALSE(want.empty());
    ASSERT_EQ(r.events.size(), want.size())
        << "first " << r.events.front().stream().ShortDebugString() << ", last "
        << r.events.back().stream().ShortDebugString();
    uint64_t expect = r.joined.offset() + 1;
    for (size_t i = 0; i < r.events.size(); ++i) {
      const proto::ClientMessage& got = r.events[i];
      ASSERT_EQ(got.stream().epoch(), r.joined.epoch()) << "event " << i;
      ASSERT_EQ(got.stream().offset(), expect) << "event " << i << " (gap or duplicate)";
      ASSERT_EQ(got.SerializeAsString(), want[i]->SerializeAsString())
          << "offset " << expect << ": " << got.ShortDebugString() << " vs "
          << want[i]->ShortDebugString();
      ++expect;
    }
  }
  EXPECT_EQ(total_resumes, kCuts);
  // Every resume replayed at least its gap line, whatever else it missed.
  EXPECT_GE(total_replayed, static_cast<uint64_t>(kCuts));
  RecordProperty("replayed", static_cast<int>(total_replayed));
  EXPECT_GE(relay.stats().connections, static_cast<uint64_t>(kReceivers + kCuts));
}

}  // namespace
}  // namespace tutti::testing
