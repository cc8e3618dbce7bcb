#include "tools/play/app.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <utility>

#include "midi/midi_parse.h"
#include "tools/client/token_refresher.h"
#include "tools/play/commands.h"
#include "tools/play/platform.h"

namespace tutti::play {
namespace {

using midi::MonotonicNowUs;
constexpr int64_t kDevicePollUs = 1000000;

// 1 s doubling to 30 s, +-20 %, so that the players a restarted server dropped do not all come
// back in the same instant.
int64_t BackoffUs(int attempt, std::mt19937& rng) {
  const double base_s = std::min(30.0, std::ldexp(1.0, std::min(attempt, 5)));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<int64_t>(base_s * jitter(rng) * 1e6);
}

// Close codes after which coming back would not help: a ban, a protocol error of ours, a
// session whose token ran out or that another connection resumed (docs/PROTOCOL.md, close
// codes).
bool ClosedForGood(uint16_t code) {
  return code == 1008 || code == 1009 || code == 4003 || code == 4004 || code == 4005;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bridge::MidiLinkOptions LinkOptions(const AppOptions& o) {
  bridge::MidiLinkOptions l;
  l.output_lookahead_us = o.output_lookahead_us;
  return l;
}

bridge::LinkedConnectionOptions LinkedOptions(const AppOptions& o) {
  bridge::LinkedConnectionOptions l;
  l.enabled = o.links == 2;
  return l;
}

ClickTrackOptions ClickOptions(const AppOptions& o) {
  ClickTrackOptions c;
  c.lookahead_us = o.output_lookahead_us;
  return c;
}

}  // namespace

App::App(AppOptions options, Settings* settings)
    : o_(std::move(options)),
      settings_(settings),
      link_(LinkOptions(o_)),
      clicks_(ClickOptions(o_)),
      linked_(
          &inbox_, [] { return MonotonicNowUs(); }, LinkedOptions(o_)),
      rng_(static_cast<unsigned>(MonotonicNowUs())) {
  link_.buffer().SetDelayBounds(o_.min_delay_us, o_.max_delay_us);
  const bool line = o_.ui == "line" || (o_.ui == "auto" && !IsInteractiveTerminal());
  if (!line) {
    RedirectStderr(o_.log_file);
    ui_ = MakeCursesUi();
  }
  if (!ui_) ui_ = MakeLineUi([this] { inbox_.Wake(); });
  sound_ = std::make_unique<Sound>([this](const midi::ChannelMessage& m) { Output(m); });
  sound_->set_timed_sink(
      [this](const midi::ChannelMessage& m, int64_t at_us) { OutputAt(m, at_us); });
  sound_->set_on_program([this](uint64_t player, uint8_t program) {
    if (player != Sound::kLocal) choices_.HeardOwnProgram(player, program);
  });
  devices_ = std::make_unique<MidiDevices>(o_.midi_api, "tutti-play");
  keyboard_ = std::make_unique<KeyboardInput>(devices_.get(), [this] { inbox_.Wake(); });
  external_ = std::make_unique<ExternalOutput>(devices_.get());
  if (!o_.input.empty()) {
    const absl::Status s = keyboard_->Choose(o_.input);
    if (!s.ok()) view_.Notice(std::string(s.message()) + " (it opens when it appears)");
  }
  ChooseOutput(o_.output.empty() ? "synth" : o_.output);
  if (!o_.record_file.empty()) {
    record_path_ = o_.record_file;
    recorder_.Start(MonotonicNowUs());
  }
  UpdateStatus();
}

std::string App::NameOf(uint64_t session_id) const {
  auto it = view_.players().find(session_id);
  return it == view_.players().end() ? "" : it->second.name;
}

App::~App() = default;

void App::Output(const midi::ChannelMessage& m) {
  if (use_external_) {
    external_->Send(m);
  } else if (synth_) {
    synth_->Play(m);
  }
}

void App::OutputAt(const midi::ChannelMessage& m, int64_t at_us) {
  const int64_t now = MonotonicNowUs();
  if (!use_external_) {
    if (synth_) synth_->PlayAt(m, at_us, now);
    return;
  }
  if (external_->timed()) {
    external_->SendAt(m, at_us);  // JACK: played at the frame of its time
    return;
  }
  if (at_us <= now && held_.empty()) {
    external_->Send(m);
    return;
  }
  // Kept in time order; equal times keep their arrival order.
  auto at = held_.end();
  while (at != held_.begin() && std::prev(at)->at_us > at_us) --at;
  held_.insert(at, Held{at_us, m});
}

void App::FlushHeld(int64_t now) {
  while (!held_.empty() && held_.front().at_us <= now) {
    if (use_external_) external_->Send(held_.front().message);
    held_.pop_front();
  }
}

void App::ReleaseEverything() {
  held_.clear();  // nothing queued may sound after the release
  sound_->ReleaseAll();
}

void App::FollowTempo(const proto::ClientMessage& m, int64_t now) {
  const proto::TempoState* t = nullptr;
  if (m.has_tempo_state()) {
    t = &m.tempo_state();
  } else if (m.has_room_joined_response() && m.room_joined_response().success()) {
    t = &m.room_joined_response().room_info().tempo();
  } else if (m.has_room_snapshot()) {
    t = &m.room_snapshot().room_info().tempo();
  } else if (m.has_resume_result() && m.resume_result().has_snapshot()) {
    t = &m.resume_result().snapshot().room_info().tempo();
  }
  if (t != nullptr) clicks_.SetTempo(*t, link_.clock(), now);
}

void App::PlayClicks(int64_t now) {
  std::vector<ClickEvent> due;
  clicks_.Poll(link_.clock(), now, &due);
  // Clicks bypass the players' channel map: they are the room's, on the drum channel.
  for (const ClickEvent& c : due) OutputAt(c.message, c.local_us);
}

void App::Stop() {
  stop_.store(true);
  inbox_.Wake();
}

void App::ChooseOutput(const std::string& choice) {
  ReleaseEverything();  // nothing may keep sounding on the output being left
  if (choice == "synth") {
    (void)external_->Choose("none");
    use_external_ = false;
    if (!synth_) {
      auto synth = Synth::Create(o_.synth);
      if (synth.ok()) {
        synth_ = std::move(*synth);
        synth_error_.clear();
      } else {
        synth_error_ = std::string(synth.status().message());
        view_.Error("no built-in synth: " + synth_error_);
      }
    }
    return;
  }
  use_external_ = true;
  if (synth_) synth_->AllNotesOff();
  const absl::Status s = external_->Choose(choice);
  if (!s.ok()) view_.Notice(std::string(s.message()));
}

void App::Join(const std::string& room) {
  if (!connected_) return;
  proto::ServerMessage m;
  if (room.empty()) {
    m.mutable_join_next_available_lobby();
  } else {
    m.mutable_server_command()->set_commandtype(proto::CREATE_OR_JOIN_ROOM);
    (*m.mutable_server_command()->mutable_parameters())["room_name"] = room;
  }
  client_->Send(std::move(m));
}

bool App::Connect() {
  const std::string where = o_.host + ":" + std::to_string(o_.port);
  view_.set_connection("connecting to " + where);
  ui_->Update(view_);
  if (!have_info_) {
    auto info = FetchServerInfo(o_.host, o_.port, std::chrono::seconds(3));
    if (!info.ok()) {
      last_error_ = std::string(info.status().message());
      return false;
    }
    info_ = *info;
    have_info_ = true;
    if (o_.token.empty() && !info_.guests_allowed) {
      view_.Error(
          "this server admits members only: ask its operator for a token "
          "(--token_file or TUTTI_TOKEN, docs/DESKTOP.md)");
      quit_ = true;
      exit_code_ = 1;
      return false;
    }
  }
  // While the last session can be resumed, the payload asks for it (docs/PROTOCOL.md §12).
  client::ConnectOptions keys;
  resume_.Fill(&keys);
  const bool resuming = !keys.resume_token.empty();
  const std::string resource = BuildResource(
      info_, o_.name, o_.token, client::WallClockUnixMs(),
      ResumeKeys{keys.resume_token, keys.resume_room, keys.resume_epoch, keys.resume_offset});
  auto c = std::make_unique<client::Client>();
  const client::ConnectResult r =
      c->Connect(o_.host, static_cast<uint16_t>(o_.port), resource, std::chrono::seconds(5));
  if (!r.ok) {
    // websocketpp names a refused or dropped TCP connect "Underlying Transport Error".
    last_error_ = r.http_status != 0 ? std::to_string(r.http_status) + " " + r.error
                                     : "no answer from " + where + " (" + r.error + ")";
    if (r.http_status == 401 || r.http_status == 403) {
      // Refused for who we are (a bad or expired token, a ban): retrying cannot help.
      view_.Error("the server refused the sign-in: " + last_error_);
      quit_ = true;
      exit_code_ = 1;
    }
    have_info_ = r.http_status == 0 ? false : have_info_;  // a server that moved: ask again
    return false;
  }
  client_ = std::move(c);
  linked_.OnPrimaryOpen(client_.get(), o_.host, o_.port,
                        [this](const std::string& link_token) -> absl::StatusOr<std::string> {
                          return BuildResource(info_, o_.name, o_.token, client::WallClockUnixMs(),
                                               {}, link_token);
                        });
  link_.OnConnected(MonotonicNowUs());
  pump_ = std::make_unique<bridge::NetworkPump>(client_.get(), &inbox_,
                                                [] { return MonotonicNowUs(); });
  connected_ = true;
  if (attempt_ > 0) view_.Notice("reconnected to " + where);
  attempt_ = 0;
  proto::ServerMessage sub;
  sub.mutable_subscribe_room_list();
  client_->Send(std::move(sub));
  // A resume brings the room back by itself (or says to join again).
  if (!resuming) Join(joined_room_.empty() ? o_.room : joined_room_);
  return true;
}

void App::Disconnected(int64_t now) {
  uint16_t code = 0;
  std::string reason;
  client_->WaitClosed(std::chrono::milliseconds(0), &code, &reason);
  // Nobody will send the note-offs for what is sounding now: release it at once.
  bridge::LinkOutput lost;
  link_.OnDisconnected(now, &lost);
  Play(lost);
  ReleaseEverything();
  resume_.OnDisconnected();
  linked_.OnPrimaryLost();
  pump_.reset();  // its thread has returned after reporting the close
  inbox_.Reopen();
  client_.reset();
  connected_ = false;
  view_.OnDisconnected();
  clicks_.Clear();  // the grid comes back with the room
  last_error_ =
      "connection lost (code " + std::to_string(code) + (reason.empty() ? "" : ": " + reason) + ")";
  if (!o_.reconnect || ClosedForGood(code)) {
    view_.Error(last_error_);
    quit_ = true;
    exit_code_ = 1;
    return;
  }
  view_.Notice(last_error_);
  reconnect_at_ = now + BackoffUs(attempt_++, rng_);
}

void App::Play(const bridge::LinkOutput& o) {
  for (const auto& ev : o.play) {
    sound_->PlayAt(ev.session_id, ev.message, ev.local_us);
    recorder_.Add(ev.session_id, NameOf(ev.session_id), ev.local_us, ev.message);
    ++remote_events_;
  }
}

void App::SendLocal(int64_t now, bridge::LinkOutput* out) {
  std::vector<midi::InputMessage> in;
  keyboard_->Drain(&in);
  std::vector<midi::ChannelMessage> group;
  // Messages the driver delivered together share a timestamp and go as one batch.
  for (size_t i = 0; i < in.size();) {
    group.clear();
    size_t k = i;
    for (; k < in.size() && in[k].local_us == in[i].local_us; ++k) {
      midi::ChannelMessage m;
      std::string_view bytes(reinterpret_cast<const char*>(in[k].bytes.data()), in[k].size);
      if (!midi::ParseOneChannelMessage(bytes, &m).ok()) continue;
      sound_->Play(Sound::kLocal, m);  // local echo: heard at once, no round trip
      recorder_.Add(Sound::kLocal, view_.me(), in[k].local_us, m);
      ++local_events_;
      group.push_back(m);
    }
    // Offline or outside a room, playing is not queued: it would arrive later in a burst.
    if (connected_ && !view_.room().empty()) link_.SendLocal(in[i].local_us, group, now, out);
    i = k;
  }
}

void App::ForgetDeparted() {
  // A player who left and whose queued notes have played gives their channel back, so that
  // players who join later get channels of their own.
  for (uint64_t player : sound_->Players()) {
    if (player == Sound::kLocal || view_.players().count(player) != 0) continue;
    if (link_.buffer().queued(player) != 0) continue;
    sound_->Forget(player);
  }
}

void App::PollDevices() {
  const KeyboardInput::State before = keyboard_->state();
  if (keyboard_->Poll()) {
    if (keyboard_->state() == KeyboardInput::State::kOpen) {
      view_.Notice("keyboard " + keyboard_->port() +
                   (before == KeyboardInput::State::kMissing && keyboard_->opens() > 1 ? " is back"
                                                                                       : " found"));
    } else {
      view_.Notice("keyboard unplugged: waiting for " + keyboard_->wanted() + " to come back");
    }
  }
  if (external_->Poll()) {
    view_.Notice(external_->is_open() ? "MIDI out to " + external_->port()
                                      : "MIDI output gone: waiting for " + external_->wanted());
  }
}

void App::UpdateStatus() {
  const int64_t now = MonotonicNowUs();
  std::string device;
  if (!devices_->enabled()) {
    device =
        "no MIDI (" +
        std::string(o_.midi_api == MidiApiChoice::kNone ? "--midi_api none" : devices_->warning()) +
        ")";
  } else {
    switch (keyboard_->state()) {
      case KeyboardInput::State::kNone:
        device = "no keyboard chosen (/devices, then /device N)";
        break;
      case KeyboardInput::State::kOpen:
        device = keyboard_->port();
        break;
      case KeyboardInput::State::kMissing:
        device = "waiting for " + keyboard_->wanted() + " (unplugged?)";
        break;
    }
    device += " [" + devices_->api_name() + "]";
  }
  device +=
      "  played " + std::to_string(local_events_) + ", heard " + std::to_string(remote_events_);
  if (recorder_.recording()) device += "  [REC " + std::to_string(recorder_.events()) + "]";
  view_.set_device(device);
  std::string sound;
  if (use_external_) {
    sound = external_->is_open() ? "MIDI out to " + external_->port()
                                 : "MIDI out: waiting for " + external_->wanted();
  } else if (synth_) {
    sound = "synth " + BaseName(synth_->soundfont()) + ", " +
            (!synth_->driver().empty()        ? "audio " + synth_->driver()
             : synth_->driver_error().empty() ? std::string("no audio output (--audio_driver none)")
                                              : synth_->driver_error());
  } else {
    sound = "no synth: " + synth_error_;
  }
  view_.set_sound(sound);
  if (connected_) {
    view_.set_connection("connected to " + o_.host + ":" + std::to_string(o_.port) + ", " +
                         linked_.Describe(now) +
                         (link_.clock().locked() ? "" : " (clock syncing)"));
  } else if (!quit_) {
    const double in_s = std::max<int64_t>(0, reconnect_at_ - now) / 1e6;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", std::ceil(in_s));
    view_.set_connection("RECONNECTING in " + std::string(buf) + " s (attempt " +
                         std::to_string(attempt_) + "): " + last_error_);
  }
  view_.set_tempo(clicks_.Describe());
  view_.set_beat(clicks_.Beat(link_.clock(), now));
  view_.SetOwnRtt(link_.quality().rtt_us());
  for (const auto& [sid, p] : view_.players()) {
    if (p.you) continue;
    const midi::SenderStats s = link_.buffer().Stats(sid);
    view_.SetTiming(sid, s.target_us, s.note_ons, s.late_note_ons);
  }
}

int App::Run() {
  if (!Connect()) {
    if (quit_) {
      ui_->Update(view_);
      return exit_code_;
    }
    if (!o_.reconnect) {
      view_.Error("cannot connect: " + last_error_);
      ui_->Update(view_);
      return 1;
    }
    view_.Notice("cannot connect: " + last_error_);
    reconnect_at_ = MonotonicNowUs() + BackoffUs(attempt_++, rng_);
  }
  int64_t next_poll = MonotonicNowUs() + kDevicePollUs;
  std::vector<bridge::Inbox::Item> items;
  while (!stop_.load() && !quit_) {
    int64_t now = MonotonicNowUs();
    UpdateStatus();
    ui_->Update(view_);
    int64_t wake_at = std::min(next_poll, now + ui_->poll_interval_us());
    if (connected_) wake_at = std::min({wake_at, link_.NextWake(now), linked_.NextWake()});
    if (auto click = clicks_.NextWake(link_.clock(), now)) wake_at = std::min(wake_at, *click);
    if (!held_.empty()) wake_at = std::min(wake_at, held_.front().at_us);
    if (!connected_) wake_at = std::min(wake_at, reconnect_at_);
    items.clear();
    const bool closed = inbox_.Wait(
        std::chrono::steady_clock::time_point(std::chrono::microseconds(wake_at)), &items);
    now = MonotonicNowUs();
    bridge::LinkOutput out;
    for (const auto& item : items) {
      // The first copy of each room event, from either connection; the link's own talk ends here.
      if (!linked_.Filter(item, now)) continue;
      // A resume's missed events are fast-forwarded, never played late (midi_link.h).
      if (resume_.Observe(item.message) == client::ResumeState::Kind::kReplayed) {
        link_.OnReplayed(item.message, item.arrival_local_us, &out);
      } else {
        link_.OnMessage(item.message, item.arrival_local_us, &out);
      }
      view_.OnMessage(item.message);
      FollowTempo(item.message, item.arrival_local_us);
      if (item.message.has_resume_result() && connected_) {
        if (resume_.needs_rejoin()) {
          resume_.ClearRejoin();
          Join(joined_room_.empty() ? o_.room : joined_room_);
        } else if (item.message.resume_result().outcome() == proto::RESUME_RECOVERED &&
                   !item.message.resume_result().room_id().empty()) {
          // The view forgot the room at the drop: who is here now.
          proto::ServerMessage sync;
          sync.mutable_server_command()->set_commandtype(proto::SYNC_STATE);
          client_->Send(std::move(sync));
        }
      }
      if (item.message.has_room_joined_response() &&
          item.message.room_joined_response().success()) {
        joined_room_ = item.message.room_joined_response().room_info().room_name();
      }
      if (item.message.has_room_left() && view_.room().empty()) {
        joined_room_.clear();  // kicked or the room closed: not rejoined after a reconnect
        ReleaseEverything();
        clicks_.Clear();
      }
    }
    // A player back under a new session (a resume, a rejoin, our reconnect) gets the
    // instrument and volume chosen for them before their notes play.
    choices_.Apply(view_, sound_.get());
    for (const auto& line : ui_->TakeLines()) HandleLine(line, now);
    SendLocal(now, &out);
    if (connected_) {
      link_.Poll(now, &out);
      for (auto& m : out.send) linked_.Send(std::move(m));  // MIDI on both connections
      linked_.Poll(now);
    }
    Play(out);
    PlayClicks(now);
    FlushHeld(MonotonicNowUs());
    if (now >= next_poll) {
      PollDevices();
      ForgetDeparted();
      next_poll = now + kDevicePollUs;
    }
    if (closed && connected_) Disconnected(now);
    if (!connected_ && !quit_ && !stop_.load() && now >= reconnect_at_) {
      if (!Connect() && !quit_) {
        reconnect_at_ = MonotonicNowUs() + BackoffUs(attempt_++, rng_);
      }
    }
  }
  // Whatever happens, nothing may keep sounding, here or for the others.
  bridge::LinkOutput o;
  link_.OnDisconnected(MonotonicNowUs(), &o);
  Play(o);
  ReleaseEverything();
  if (synth_) synth_->AllNotesOff();
  if (recorder_.recording()) ToggleRecording(MonotonicNowUs());  // never lose a take
  if (connected_) client_->Close();
  UpdateStatus();
  ui_->Update(view_);
  return exit_code_;
}

}  // namespace tutti::play
