// tutti-cli: a small interactive client. Connects with a URL or by minting a payload
// from key files, joins a room, sends chat lines and test notes typed on stdin, and
// prints every decoded server message on one line. Two of them in two terminals show
// a room working end to end. It keeps its clock synced with the server (midi/clock_sync.h),
// reports its link quality in the heartbeats, and clicks the room's shared tempo
// (/metronome on): one printed line per beat, on the beat. A dropped connection is
// retried with backoff and the session resumed (docs/PROTOCOL.md §12).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "midi/clock_sync.h"
#include "midi/metronome.h"
#include "tools/client/client.h"
#include "tools/client/connect_flags.h"
#include "tools/client/connect_target.h"
#include "tools/client/resume_state.h"
#include "tools/client/token_refresher.h"
#include "tools/common/main_flags.h"

ABSL_FLAG(std::string, room, "", "room to create or join after connecting");
ABSL_FLAG(bool, lobby, false,
          "join the next lobby with room to spare after connecting (wins over --room)");
ABSL_FLAG(int, linger, 500, "ms to keep printing after stdin ends, before leaving");

namespace {

using namespace std::chrono_literals;
using tutti::proto::ClientMessage;
using tutti::proto::ServerMessage;

int64_t MonoUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr char kUsage[] =
    "a small interactive client (docs/OPERATIONS.md). Usage:\n"
    "  tutti-cli (--url WS_URL | --keys DIR [--host H] [--port P])\n"
    "            [--name NAME] [--user-id ID] [--guest] [--roles admin,moderator]\n"
    "            [--room NAME | --lobby] [--linger MS] [--token-ttl S]\n"
    "With --keys the token is minted for S seconds (default 3600) and renewed on the\n"
    "open connection before it runs out (UPDATE_PERMISSIONS), and a lost connection is\n"
    "retried with backoff and the session resumed (missed events are printed as \"(missed)\").\n"
    "Type a line to chat. Commands:\n"
    "  /note N [VEL]      play MIDI note N (note-on, note-off 300 ms later)\n"
    "  /play              a C major scale\n"
    "  /metronome on|off  print the room's beats as they fall   /panic [all]  all notes off\n"
    "  (/tempo BPM [N/M] [start|stop] and /perform, /audience go to the server)\n"
    "  /join ROOM [PW]    /create ROOM [PW]   /leave   /lobby   /rooms   /sync\n"
    "  /status online|away|busy|invisible [TEXT]   /pm USER TEXT   /quit\n"
    "Any other /command is sent as chat for the server to run (try /help).";

std::string Describe(const tutti::proto::MidiMessage& m) {
  std::string out;
  auto describe_one = [&out](const std::string& d) {
    for (size_t i = 0; i + 1 < d.size();) {
      uint8_t st = static_cast<uint8_t>(d[i]);
      uint8_t kind = st & 0xF0;
      size_t len = (kind == 0xC0 || kind == 0xD0) ? 2 : 3;
      if (i + len > d.size()) break;
      char buf[64];
      uint8_t a = static_cast<uint8_t>(d[i + 1]);
      uint8_t b = len == 3 ? static_cast<uint8_t>(d[i + 2]) : 0;
      if (kind == 0x90 && b > 0) {
        std::snprintf(buf, sizeof buf, " on %u/%u", a, b);
      } else if (kind == 0x80 || kind == 0x90) {
        std::snprintf(buf, sizeof buf, " off %u", a);
      } else if (kind == 0xB0) {
        std::snprintf(buf, sizeof buf, " cc%u=%u", a, b);
      } else {
        std::snprintf(buf, sizeof buf, " 0x%02x", st);
      }
      out += buf;
      i += len;
    }
  };
  describe_one(m.midi_data());
  for (const auto& e : m.events()) describe_one(e.data());
  return out;
}

void PrintTempo(const tutti::proto::TempoState& t);

void Print(const ClientMessage& m) {
  switch (m.message_case()) {
    case ClientMessage::kWelcome:
      std::printf("* welcome %s (%s) on shard %u, server %s\n",
                  m.welcome().user().username().c_str(), m.welcome().user().user_id().c_str(),
                  m.welcome().shard(), m.welcome().server_version().c_str());
      break;
    case ClientMessage::kRoomJoinedResponse: {
      const auto& r = m.room_joined_response();
      std::printf("* joined %s (%d users):", r.room_info().room_name().c_str(),
                  r.room_info().user_count());
      for (const auto& u : r.current_users()) std::printf(" %s", u.username().c_str());
      std::printf("\n");
      for (const auto& line : r.chat_history()) {
        std::printf("  [history] %s: %s\n", line.username().c_str(), line.message().c_str());
      }
      break;
    }
    case ClientMessage::kUserJoinedRoom:
      std::printf("* %s joined\n", m.user_joined_room().user_info().username().c_str());
      break;
    case ClientMessage::kUserLeftRoom:
      std::printf("* %s left (%s)\n", m.user_left_room().user_id().c_str(),
                  m.user_left_room().reason().c_str());
      break;
    case ClientMessage::kRoomLeft:
      std::printf("* you left %s (%s)\n", m.room_left().room_id().c_str(),
                  m.room_left().reason().c_str());
      break;
    case ClientMessage::kRoomChatMessage:
      std::printf(
          "%s: %s\n",
          m.room_chat_message().username().empty() ? "*" : m.room_chat_message().username().c_str(),
          m.room_chat_message().message().c_str());
      break;
    case ClientMessage::kPrivateMessage:
      std::printf("[pm] %s -> %s: %s\n", m.private_message().from_username().c_str(),
                  m.private_message().to_user_id().c_str(), m.private_message().message().c_str());
      break;
    case ClientMessage::kMidiMessage:
      std::printf("~ %s #%llu%s%s\n", m.midi_message().user_id().c_str(),
                  static_cast<unsigned long long>(m.midi_message().sequence()),
                  Describe(m.midi_message()).c_str(),
                  (m.midi_message().flags() & 4) ? " (synthetic)" : "");
      break;
    case ClientMessage::kRoomList:
      std::printf("* %d rooms:\n", m.room_list().rooms_size());
      for (const auto& r : m.room_list().rooms()) {
        std::printf("  %s (%d/%d)%s\n", r.room_name().c_str(), r.user_count(),
                    r.settings().max_users(), r.has_password() ? " [password]" : "");
      }
      break;
    case ClientMessage::kErrorMessage:
      std::printf("! %s: %s\n", m.error_message().error_code().c_str(),
                  m.error_message().error_message().c_str());
      break;
    case ClientMessage::kCommandResult:
      for (const auto& line : m.command_result().lines()) std::printf("  %s\n", line.c_str());
      break;
    case ClientMessage::kHeartbeatMessage:
      break;  // clock sync; not interesting to a person
    case ClientMessage::kTempoState:
      PrintTempo(m.tempo_state());
      break;
    case ClientMessage::kPanicNotice:
      std::printf("* all notes off%s%s (by %s)\n",
                  m.panic_notice().target_user_id().empty() ? " for everyone" : ": ",
                  m.panic_notice().target_user_id().c_str(),
                  m.panic_notice().actor_user_id().c_str());
      break;
    case ClientMessage::kMemberQuality: {
      const auto& q = m.member_quality().quality();
      std::printf(
          "* link of %s: grade %d, rtt %.1f ms, clock +-%.1f ms, late %.1f%%, "
          "dropped %.1f%%\n",
          m.member_quality().user_id().c_str(), static_cast<int>(q.grade()), q.rtt_us() / 1000.0,
          q.offset_error_us() / 1000.0, q.late_percent(), q.dropped_percent());
      break;
    }
    case ClientMessage::kHeldNotesSnapshot: {
      std::printf("~ %s holds", m.held_notes_snapshot().user_id().c_str());
      for (const auto& n : m.held_notes_snapshot().notes()) std::printf(" %u", n.note());
      std::printf("%s\n", m.held_notes_snapshot().sustain_channels() ? " +pedal" : "");
      break;
    }
    case ClientMessage::kRoomUpdated:
      std::printf("* room %s: owner %s, %d users\n",
                  m.room_updated().room_info().room_name().c_str(),
                  m.room_updated().room_info().owner_id().c_str(),
                  m.room_updated().room_info().user_count());
      break;
    default: {
      std::string text = m.ShortDebugString();
      if (text.size() > 300) text = text.substr(0, 300) + "...";
      std::printf("* %s\n", text.c_str());
    }
  }
  std::fflush(stdout);
}

tutti::midi::TempoGrid GridOf(const tutti::proto::TempoState& t) {
  tutti::midi::TempoGrid g;
  g.bpm = t.bpm();
  g.beats_per_bar = t.beats_per_bar();
  g.beat_unit = t.beat_unit();
  g.running = t.running();
  g.anchor_server_us = t.anchor_server_time();
  g.anchor_beat = t.anchor_beat();
  return g;
}

// The room's tempo as a person reads it.
void PrintTempo(const tutti::proto::TempoState& t) {
  std::printf("* tempo %.1f BPM %u/%u, %s%s%s\n", t.bpm(), t.beats_per_bar(), t.beat_unit(),
              t.running() ? "running" : "stopped",
              t.changed_by_username().empty() ? "" : ", set by ", t.changed_by_username().c_str());
}

// The state the printer thread keeps about the link and the room's beat.
struct Music {
  tutti::midi::ClockSync clock;
  tutti::midi::Metronome metronome;
  std::atomic<bool> metronome_on{false};
  int64_t min_rtt_us = -1;  // lowest round trip of the exchanges so far
  uint64_t midi_batches = 0, gaps = 0;
  std::map<std::string, uint64_t> last_sequence;  // per "user#session"

  void OnTempo(const tutti::proto::TempoState& t) {
    metronome.SetGrid(GridOf(t), clock.ServerTimeFromLocal(MonoUs()));
  }
  // Sequence gaps count as dropped (the server relays every batch of a sender in order).
  void OnMidi(const tutti::proto::MidiMessage& m) {
    ++midi_batches;
    uint64_t& last = last_sequence[m.user_id() + "#" + std::to_string(m.session_id())];
    if (last != 0 && m.sequence() > last + 1) gaps += m.sequence() - last - 1;
    last = std::max(last, m.sequence());
  }
  ServerMessage Heartbeat() const {
    ServerMessage hb;
    const int64_t now = MonoUs();
    auto* h = hb.mutable_heartbeat_message();
    h->set_timestamp(now);
    const tutti::midi::ClockSyncStatus st = clock.Status(now);
    h->mutable_clock()->set_synced(st.synced);
    h->mutable_clock()->set_offset_us(st.offset_us);
    h->mutable_clock()->set_error_bound_us(st.error_bound_us);
    h->mutable_clock()->set_skew_ppm(st.skew_ppm);
    if (st.synced && min_rtt_us >= 0) {
      // tutti-cli plays nothing, so nothing it receives is late; lost batches show as gaps.
      auto* q = h->mutable_quality();
      q->set_rtt_us(static_cast<uint32_t>(std::min<int64_t>(min_rtt_us, 60'000'000)));
      q->set_offset_error_us(
          static_cast<uint32_t>(std::clamp<int64_t>(st.error_bound_us, 0, 60'000'000)));
      const uint64_t seen = midi_batches + gaps;
      q->set_dropped_percent(seen ? 100.0f * static_cast<float>(gaps) / static_cast<float>(seen)
                                  : 0.0f);
    }
    return hb;
  }
};

ServerMessage Note(int note, int velocity) {
  ServerMessage m;
  std::string data;
  data.push_back(static_cast<char>(velocity > 0 ? 0x90 : 0x80));
  data.push_back(static_cast<char>(note & 0x7F));
  data.push_back(static_cast<char>(velocity & 0x7F));
  m.mutable_midi_message()->set_midi_data(data);
  return m;
}

// Delay before reconnect attempt `attempt` (0, 1, ...): 1 s doubling to 30 s, +-20 %.
std::chrono::milliseconds Backoff(int attempt, std::mt19937& rng) {
  const double base = std::min(30000.0, 1000.0 * std::pow(2.0, std::min(attempt, 5)));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(static_cast<int64_t>(base * jitter(rng)));
}

// Closes after which reconnecting cannot help: the server said goodbye for a reason (4005:
// another connection resumed this session and holds it now).
bool ClosedForGood(uint16_t code) {
  return code == 1000 || code == 1008 || code == 4003 || code == 4004 || code == 4005;
}

}  // namespace

int main(int argc, char** argv) {
  tutti::main_support::ParseFlags(argc, argv, kUsage);
  const tutti::client::ConnectOptions connect =
      tutti::client::ConnectOptionsFromFlags("cli", "cli-");
  const std::string room = absl::GetFlag(FLAGS_room);
  const bool lobby = absl::GetFlag(FLAGS_lobby);
  const int linger_ms = absl::GetFlag(FLAGS_linger);
  if (linger_ms < 0) tutti::main_support::UsageError("--linger must not be negative");

  auto target = tutti::client::ResolveConnectTarget(connect);
  if (!target.ok()) {
    std::fprintf(stderr, "tutti-cli: %s\n", std::string(target.status().message()).c_str());
    return 1;
  }
  // The connection of the moment: replaced by the printer thread after a drop, used by both
  // threads, so reached only under the lock.
  std::mutex client_mu;
  auto client = std::make_unique<tutti::client::Client>();
  auto r = client->Connect(target->host, static_cast<uint16_t>(target->port), target->resource);
  if (!r.ok) {
    std::fprintf(stderr, "tutti-cli: connect refused: %d %s\n", r.http_status, r.error.c_str());
    return 1;
  }
  auto send = [&](ServerMessage m) {
    std::lock_guard<std::mutex> lock(client_mu);
    if (!client || !client->is_open() || !client->Send(std::move(m))) {
      std::printf("* not connected; not sent\n");
      std::fflush(stdout);
    }
  };
  auto join = [&] {
    ServerMessage m;
    if (lobby) {
      m.mutable_join_next_available_lobby();
    } else if (!room.empty()) {
      m.mutable_server_command()->set_commandtype(tutti::proto::CREATE_OR_JOIN_ROOM);
      (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
    } else {
      return;
    }
    send(std::move(m));
  };

  std::atomic<bool> done{false};
  std::atomic<bool> settled{room.empty() && !lobby};  // the first join answered
  // The session follows its token: renew it before the server closes the connection.
  tutti::client::TokenRefresher refresher(connect);
  Music music;
  // A dropped connection is resumed (docs/PROTOCOL.md §12); a --url payload is single use,
  // so only --keys reconnects.
  tutti::client::ResumeState resume;
  const bool can_reconnect = connect.url.empty();
  std::thread printer([&] {
    std::mt19937 rng(static_cast<unsigned>(MonoUs()));
    while (!done) {
      // Wake for the next click when the metronome is on; otherwise poll for messages.
      auto wait = 200ms;
      if (music.metronome_on && music.clock.locked()) {
        if (auto next = music.metronome.Next()) {
          const int64_t in_us = music.clock.LocalFromServer(next->server_us) - MonoUs();
          wait = std::clamp(std::chrono::milliseconds(in_us / 1000), 0ms, 200ms);
        }
      }
      bool open = false;
      {
        std::lock_guard<std::mutex> lock(client_mu);
        open = client->is_open();
      }
      // Next() blocks: called without the lock (the main thread only sends, and the client
      // object is replaced only by this thread).
      std::optional<ClientMessage> m = client->Next(wait);
      if (music.clock.locked()) {
        auto click = music.metronome.Poll(music.clock.ServerTimeFromLocal(MonoUs()));
        if (click && music.metronome_on && click->beat >= 0) {
          std::printf("%s bar %lld beat %u\n", click->beat_in_bar == 0 ? "TICK" : "tick",
                      static_cast<long long>(click->bar + 1), click->beat_in_bar + 1);
          std::fflush(stdout);
        }
      }
      if (m) {
        if (m->has_heartbeat_message()) {
          const auto& h = m->heartbeat_message();
          const int64_t t4 = MonoUs();
          if (music.clock.OnSample(h.timestamp(), h.server_receive_time(), h.server_send_time(),
                                   t4)) {
            const int64_t rtt =
                (t4 - h.timestamp()) - (h.server_send_time() - h.server_receive_time());
            if (music.min_rtt_us < 0 || rtt < music.min_rtt_us) music.min_rtt_us = rtt;
          }
        } else if (m->has_midi_message()) {
          music.OnMidi(m->midi_message());
        } else if (m->has_tempo_state()) {
          music.OnTempo(m->tempo_state());
        } else if (m->has_room_joined_response()) {
          music.OnTempo(m->room_joined_response().room_info().tempo());
        }
        refresher.OnMessage(*m, tutti::client::WallClockUnixMs());
        const bool replayed = resume.Observe(*m) == tutti::client::ResumeState::Kind::kReplayed;
        if (m->has_permissions_updated() && m->permissions_updated().room_id().empty()) {
          std::printf("* token renewed\n");
          std::fflush(stdout);
        } else {
          if (replayed) std::printf("(missed) ");
          Print(*m);
        }
        if (m->has_room_joined_response() || m->has_error_message()) settled = true;
        if (resume.needs_rejoin()) {
          resume.ClearRejoin();
          join();
        }
        continue;
      }
      if (!open && !client->is_open()) {
        uint16_t code = 0;
        std::string why;
        client->WaitClosed(0ms, &code, &why);
        std::printf("* connection closed (%u %s)\n", code, why.c_str());
        std::fflush(stdout);
        resume.OnDisconnected();
        if (!can_reconnect || ClosedForGood(code)) {
          done = true;
          break;
        }
        // Reconnect with backoff, a fresh payload each time, asking to resume.
        for (int attempt = 0; !done; ++attempt) {
          const auto backoff = Backoff(attempt, rng);
          std::printf("* reconnecting in %.1f s\n", static_cast<double>(backoff.count()) / 1000);
          std::fflush(stdout);
          for (auto slept = 0ms; slept < backoff && !done; slept += 100ms) {
            std::this_thread::sleep_for(100ms);
          }
          tutti::client::ConnectOptions again = connect;
          resume.Fill(&again);
          auto fresh = tutti::client::ResolveConnectTarget(again);
          if (!fresh.ok()) continue;
          auto c = std::make_unique<tutti::client::Client>();
          auto cr = c->Connect(fresh->host, static_cast<uint16_t>(fresh->port), fresh->resource);
          if (!cr.ok) {
            std::printf("* reconnect failed: %d %s\n", cr.http_status, cr.error.c_str());
            if (cr.http_status == 401 || cr.http_status == 403) done = true;
            continue;
          }
          {
            std::lock_guard<std::mutex> lock(client_mu);
            client = std::move(c);
          }
          std::printf("* reconnected%s\n", resume.has_token() ? "; resuming" : "");
          std::fflush(stdout);
          // Without a token to resume with, the room is joined again at once.
          if (!resume.has_token()) join();
          break;
        }
        continue;
      }
      if (auto renew = refresher.Poll(tutti::client::WallClockUnixMs())) send(*renew);
      if (std::string e = refresher.TakeError(); !e.empty()) {
        std::fprintf(stderr, "tutti-cli: cannot renew the token: %s\n", e.c_str());
      }
      // Clock-sync pings: a burst at first, then every half second (they keep the
      // connection alive too).
      if (music.clock.NextPingDelay(MonoUs()) <= 0) {
        send(music.Heartbeat());
        music.clock.OnPingSent(MonoUs());
      }
    }
  });

  join();

  // Typing before the join is answered would only earn "not in a room".
  for (int i = 0; i < 50 && !settled && !done; ++i) std::this_thread::sleep_for(100ms);

  std::string line;
  while (!done && std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    ServerMessage m;
    if (cmd == "/quit") {
      break;
    } else if (cmd == "/note") {
      int note = 60, vel = 100;
      in >> note >> vel;
      send(Note(note, vel));
      std::this_thread::sleep_for(300ms);
      send(Note(note, 0));
      continue;
    } else if (cmd == "/play") {
      for (int n : {60, 62, 64, 65, 67, 69, 71, 72}) {
        send(Note(n, 90));
        std::this_thread::sleep_for(200ms);
        send(Note(n, 0));
      }
      continue;
    } else if (cmd == "/join" || cmd == "/create") {
      std::string name_arg, pw;
      in >> name_arg >> pw;
      if (cmd == "/join") {
        m.mutable_join_room_by_name()->set_room_name(name_arg);
        m.mutable_join_room_by_name()->set_password(pw);
      } else {
        auto* c = m.mutable_create_room_command();
        c->set_room_name(name_arg);
        c->set_password(pw);
        c->mutable_settings()->set_allow_chat(true);
        c->mutable_settings()->set_allow_guests(true);
      }
    } else if (cmd == "/metronome") {
      std::string arg;
      in >> arg;
      music.metronome_on = arg != "off";
      std::printf("* metronome %s\n", music.metronome_on ? "on" : "off");
      std::fflush(stdout);
      continue;
    } else if (cmd == "/panic") {
      std::string arg;
      in >> arg;
      m.mutable_panic()->set_everyone(arg == "all");
    } else if (cmd == "/leave") {
      m.mutable_leave_room();
    } else if (cmd == "/lobby") {
      m.mutable_join_next_available_lobby();
    } else if (cmd == "/rooms") {
      m.mutable_get_room_list();
    } else if (cmd == "/sync") {
      m.mutable_server_command()->set_commandtype(tutti::proto::SYNC_STATE);
    } else if (cmd == "/pm") {
      std::string to, rest;
      in >> to;
      std::getline(in, rest);
      m.mutable_private_message()->set_to_user_id(to);
      m.mutable_private_message()->set_message(rest);
    } else if (cmd == "/status" && line.find(' ') != std::string::npos) {
      std::string s, rest;
      in >> s;
      std::getline(in, rest);
      tutti::proto::UserStatus st = tutti::proto::ONLINE;
      if (s == "away") st = tutti::proto::AWAY;
      if (s == "busy") st = tutti::proto::BUSY;
      if (s == "invisible") st = tutti::proto::INVISIBLE;
      m.mutable_user_status_update()->set_status(st);
      m.mutable_user_status_update()->set_status_text(rest);
    } else {
      m.mutable_room_chat_message()->set_message(line);
    }
    send(m);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(linger_ms));
  done = true;
  printer.join();
  if (client->is_open()) client->Close();
  return 0;
}
