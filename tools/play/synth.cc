#include "tools/play/synth.h"

#include <fluidsynth.h>

#include <algorithm>
#include <array>
#include <deque>
#include <fstream>
#include <mutex>
#include <utility>

namespace tutti::play {
namespace {

std::mutex g_log_mu;
std::string* g_last_log = new std::string();  // never freed: fluidsynth may log at exit

void KeepLog(int level, const char* message, void*) {
  if (message == nullptr || level > FLUID_WARN) return;
  std::lock_guard<std::mutex> lock(g_log_mu);
  *g_last_log = message;
}

void QuietFluidsynth() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) {
      fluid_set_log_function(level, &KeepLog, nullptr);
    }
  });
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

std::vector<std::string> AutoDrivers() {
#if defined(__APPLE__)
  return {"coreaudio"};
#elif defined(_WIN32)
  return {"wasapi", "dsound", "waveout"};
#else
  return {"pipewire", "pulseaudio", "alsa", "jack", "sdl2"};
#endif
}

}  // namespace

struct Synth::Impl {
  fluid_settings_t* settings = nullptr;
  fluid_synth_t* synth = nullptr;
  fluid_sequencer_t* seq = nullptr;
  fluid_seq_id_t dest = -1;  // the synth as the sequencer's destination
  fluid_audio_driver_t* driver = nullptr;
  // (local us, tick us - local us) readings, decreasing offsets: the window's max in front.
  std::deque<std::pair<int64_t, int64_t>> envelope;
  std::array<unsigned, 16> last_tick{};  // per channel: the latest tick scheduled
  bool offline = false;                  // Render() drives the synth (no audio driver)
  ~Impl() {
    // The audio thread stops first; the sequencer then unhooks its timer from the synth.
    if (driver != nullptr) delete_fluid_audio_driver(driver);
    if (seq != nullptr) delete_fluid_sequencer(seq);
    if (synth != nullptr) delete_fluid_synth(synth);
    if (settings != nullptr) delete_fluid_settings(settings);
  }
};

const std::vector<std::string>& SoundfontSearchPath() {
  static const std::vector<std::string> paths = {
      "/usr/share/sounds/sf2/default-GM.sf2",      "/usr/share/sounds/sf2/FluidR3_GM.sf2",
      "/usr/share/sounds/sf2/TimGM6mb.sf2",        "/usr/share/soundfonts/default.sf2",
      "/usr/share/soundfonts/FluidR3_GM.sf2",      "/usr/local/share/soundfonts/default.sf2",
      "/opt/homebrew/share/soundfonts/default.sf2"};
  return paths;
}

absl::StatusOr<std::string> FindSoundfont() {
  for (const auto& p : SoundfontSearchPath()) {
    if (Exists(p)) return p;
  }
  return absl::NotFoundError(
      "no General MIDI soundfont found (install fluid-soundfont-gm or timgm6mb-soundfont, or "
      "pass --soundfont FILE.sf2)");
}

std::string Synth::last_log() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return *g_last_log;
}

Synth::Synth(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Synth::~Synth() {
  // Whatever happens, nothing keeps sounding while the driver winds down.
  AllNotesOff();
}

absl::StatusOr<std::unique_ptr<Synth>> Synth::Create(const SynthOptions& o) {
  QuietFluidsynth();
  std::string sf = o.soundfont;
  if (sf.empty()) {
    auto found = FindSoundfont();
    if (!found.ok()) return found.status();
    sf = *found;
  } else if (!Exists(sf)) {
    return absl::NotFoundError("soundfont " + sf + " cannot be read");
  }
  auto impl = std::make_unique<Impl>();
  impl->settings = new_fluid_settings();
  if (impl->settings == nullptr) return absl::InternalError("fluidsynth: no settings");
  fluid_settings_setnum(impl->settings, "synth.sample-rate", o.sample_rate);
  fluid_settings_setnum(impl->settings, "synth.gain", o.gain);
  fluid_settings_setint(impl->settings, "audio.period-size", o.period_size);
  fluid_settings_setint(impl->settings, "audio.periods", 2);
  impl->synth = new_fluid_synth(impl->settings);
  if (impl->synth == nullptr) return absl::InternalError("fluidsynth: cannot create the synth");
  if (fluid_synth_sfload(impl->synth, sf.c_str(), 1) == FLUID_FAILED) {
    return absl::InvalidArgumentError("fluidsynth cannot load soundfont " + sf + ": " + last_log());
  }
  // Advanced by the synth's rendering, not the system timer: its ticks are audio time.
  impl->seq = new_fluid_sequencer2(0);
  if (impl->seq == nullptr) return absl::InternalError("fluidsynth: no sequencer");
  impl->dest = fluid_sequencer_register_fluidsynth(impl->seq, impl->synth);
  if (impl->dest == FLUID_FAILED) return absl::InternalError("fluidsynth: sequencer destination");
  std::unique_ptr<Synth> self(new Synth(std::move(impl)));
  self->soundfont_ = sf;
  fluid_settings_t* s = self->impl_->settings;
  std::vector<std::string> drivers;
  if (o.audio_driver == "auto") {
    drivers = AutoDrivers();
  } else if (o.audio_driver == "file") {
    if (o.file.empty()) return absl::InvalidArgumentError("the file audio driver needs a file");
    fluid_settings_setstr(s, "audio.file.name", o.file.c_str());
    fluid_settings_setstr(s, "audio.file.type", "raw");
    fluid_settings_setstr(s, "audio.file.format", "s16");
    fluid_settings_setstr(s, "audio.file.endian", "little");
    drivers = {"file"};
  } else if (o.audio_driver != "none") {
    drivers = {o.audio_driver};
  }
  for (const auto& d : drivers) {
    if (fluid_settings_setstr(s, "audio.driver", d.c_str()) != FLUID_OK) continue;
    self->impl_->driver = new_fluid_audio_driver(s, self->impl_->synth);
    if (self->impl_->driver != nullptr) {
      self->driver_ = d;
      break;
    }
  }
  if (!drivers.empty() && self->driver_.empty()) {
    self->driver_error_ = "no audio output opened (tried";
    for (const auto& d : drivers) self->driver_error_ += " " + d;
    self->driver_error_ += ")";
  }
  return self;
}

int64_t Synth::TickOffsetUs(int64_t local_now) {
  constexpr int64_t kWindowUs = 2000000;
  const int64_t offset =
      static_cast<int64_t>(fluid_sequencer_get_tick(impl_->seq)) * 1000 - local_now;
  auto& env = impl_->envelope;
  while (!env.empty() && env.back().second <= offset) env.pop_back();
  env.emplace_back(local_now, offset);
  while (env.front().first < local_now - kWindowUs) env.pop_front();
  return env.front().second;
}

void Synth::Schedule(const midi::ChannelMessage& m, unsigned tick) {
  fluid_event_t* ev = new_fluid_event();
  fluid_event_set_source(ev, -1);
  fluid_event_set_dest(ev, impl_->dest);
  const int ch = m.channel();
  bool known = true;
  switch (m.kind()) {
    case 0x80:
      fluid_event_noteoff(ev, ch, m.data1);
      break;
    case 0x90:
      if (m.data2 == 0) {
        fluid_event_noteoff(ev, ch, m.data1);
      } else {
        fluid_event_noteon(ev, ch, m.data1, m.data2);
      }
      break;
    case 0xA0:
      fluid_event_key_pressure(ev, ch, m.data1, m.data2);
      break;
    case 0xB0:
      fluid_event_control_change(ev, ch, m.data1, m.data2);
      break;
    case 0xC0:
      fluid_event_program_change(ev, ch, m.data1);
      break;
    case 0xD0:
      fluid_event_channel_pressure(ev, ch, m.data1);
      break;
    case 0xE0:
      fluid_event_pitch_bend(ev, ch, m.data1 | (m.data2 << 7));
      break;
    default:
      known = false;
  }
  if (known && fluid_sequencer_send_at(impl_->seq, ev, tick, 1) == FLUID_OK) {
    impl_->last_tick[static_cast<size_t>(ch)] =
        std::max(impl_->last_tick[static_cast<size_t>(ch)], tick);
    ++scheduled_;
  }
  delete_fluid_event(ev);
}

void Synth::PlayAt(const midi::ChannelMessage& m, int64_t at_us, int64_t local_now) {
  if (impl_->driver == nullptr && !impl_->offline) {
    // Nothing renders (no audio output): the sequencer's clock stands still and whatever
    // was queued would pile up unplayed.
    ++immediate_;
    Play(m);
    return;
  }
  const int64_t tick_us = at_us + TickOffsetUs(local_now);
  const unsigned now_tick = fluid_sequencer_get_tick(impl_->seq);
  const unsigned last = impl_->last_tick[m.channel()];
  const unsigned tick = tick_us <= 0 ? 0u : static_cast<unsigned>(tick_us / 1000);
  if (tick <= now_tick && last <= now_tick) {
    ++immediate_;
    Play(m);
    return;
  }
  Schedule(m, std::max({tick, last, now_tick}));
}

void Synth::Play(const midi::ChannelMessage& m) {
  fluid_synth_t* s = impl_->synth;
  const int ch = m.channel();
  const bool release =
      m.kind() == 0xB0 && ((m.data1 == 64 && m.data2 < 64) || m.data1 == 120 || m.data1 == 123);
  if (release) {
    const unsigned last = impl_->last_tick[static_cast<size_t>(ch)];
    if (last > fluid_sequencer_get_tick(impl_->seq)) Schedule(m, last + 1);
  }
  switch (m.kind()) {
    case 0x80:
      fluid_synth_noteoff(s, ch, m.data1);
      break;
    case 0x90:
      if (m.data2 == 0) {
        fluid_synth_noteoff(s, ch, m.data1);
      } else {
        fluid_synth_noteon(s, ch, m.data1, m.data2);
      }
      break;
    case 0xA0:
      fluid_synth_key_pressure(s, ch, m.data1, m.data2);
      break;
    case 0xB0:
      fluid_synth_cc(s, ch, m.data1, m.data2);
      break;
    case 0xC0:
      fluid_synth_program_change(s, ch, m.data1);
      break;
    case 0xD0:
      fluid_synth_channel_pressure(s, ch, m.data1);
      break;
    case 0xE0:
      fluid_synth_pitch_bend(s, ch, m.data1 | (m.data2 << 7));
      break;
    default:
      break;
  }
}

void Synth::AllNotesOff() {
  fluid_sequencer_remove_events(impl_->seq, -1, impl_->dest, -1);
  impl_->last_tick.fill(0);
  for (int ch = 0; ch < 16; ++ch) {
    fluid_synth_cc(impl_->synth, ch, 64, 0);  // pedal up, or held notes would ring on
  }
  fluid_synth_all_notes_off(impl_->synth, -1);
}

void Synth::Render(int frames, std::vector<float>* out) {
  out->assign(static_cast<size_t>(std::max(frames, 0)) * 2, 0.0f);
  if (impl_->driver != nullptr) return;
  impl_->offline = true;  // the caller's rendering is the sequencer's clock now
  if (frames <= 0) return;
  fluid_synth_write_float(impl_->synth, frames, out->data(), 0, 2, out->data(), 1, 2);
}

}  // namespace tutti::play
