#include "tools/play/midi_devices.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <utility>

#include "RtMidi.h"
#include "tools/play/platform.h"

namespace tutti::play {
namespace {

// RtMidi reports warnings (a missing JACK server, a vanished port) through this, not stderr,
// which belongs to the terminal UI.
void KeepWarning(RtMidiError::Type, const std::string& text, void* user) {
  if (user != nullptr) *static_cast<std::string*>(user) = text;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Compiled(RtMidi::Api api) {
  std::vector<RtMidi::Api> apis;
  RtMidi::getCompiledApi(apis);
  return std::find(apis.begin(), apis.end(), api) != apis.end();
}

RtMidi::Api Resolve(MidiApiChoice c) {
  switch (c) {
    case MidiApiChoice::kAlsa:
      return RtMidi::LINUX_ALSA;
    case MidiApiChoice::kJack:
      return RtMidi::UNIX_JACK;
    case MidiApiChoice::kCoreMidi:
      return RtMidi::MACOSX_CORE;
    case MidiApiChoice::kWindowsMm:
      return RtMidi::WINDOWS_MM;
    case MidiApiChoice::kNone:
      return RtMidi::RTMIDI_DUMMY;
    case MidiApiChoice::kAuto:
      break;
  }
  if (Compiled(RtMidi::LINUX_ALSA) && AlsaSequencerPresent()) return RtMidi::LINUX_ALSA;
  if (Compiled(RtMidi::MACOSX_CORE)) return RtMidi::MACOSX_CORE;
  if (Compiled(RtMidi::WINDOWS_MM)) return RtMidi::WINDOWS_MM;
  if (Compiled(RtMidi::UNIX_JACK)) return RtMidi::UNIX_JACK;
  return RtMidi::RTMIDI_DUMMY;
}

template <typename T>
std::vector<std::string> List(T* rt) {
  std::vector<std::string> out;
  if (rt == nullptr) return out;
  try {
    const unsigned n = rt->getPortCount();
    for (unsigned i = 0; i < n; ++i) out.push_back(rt->getPortName(i));
  } catch (const RtMidiError&) {
    // A port vanished while listing: the next poll sees the new list.
  }
  return out;
}

}  // namespace

absl::StatusOr<MidiApiChoice> ParseMidiApi(const std::string& name) {
  if (name == "auto") return MidiApiChoice::kAuto;
  if (name == "alsa") return MidiApiChoice::kAlsa;
  if (name == "jack") return MidiApiChoice::kJack;
  if (name == "coremidi") return MidiApiChoice::kCoreMidi;
  if (name == "winmm") return MidiApiChoice::kWindowsMm;
  if (name == "none") return MidiApiChoice::kNone;
  return absl::InvalidArgumentError("unknown MIDI API '" + name +
                                    "' (auto, alsa, jack, coremidi, winmm, none)");
}

std::string StableName(const std::string& port) {
  // Strip a trailing " <digits>:<digits>".
  const size_t space = port.rfind(' ');
  if (space == std::string::npos) return port;
  const std::string tail = port.substr(space + 1);
  const size_t colon = tail.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == tail.size()) return port;
  for (size_t i = 0; i < tail.size(); ++i) {
    if (i != colon && !std::isdigit(static_cast<unsigned char>(tail[i]))) return port;
  }
  return port.substr(0, space);
}

std::optional<size_t> PickPort(const std::vector<std::string>& ports, const std::string& choice) {
  if (choice.empty()) return std::nullopt;
  if (std::all_of(choice.begin(), choice.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    const size_t n = choice.size() > 6 ? 0 : std::stoul(choice);
    if (n >= 1 && n <= ports.size()) return n - 1;
    return std::nullopt;
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i] == choice) return i;
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    if (StableName(ports[i]) == choice) return i;
  }
  const std::string want = Lower(choice);
  for (size_t i = 0; i < ports.size(); ++i) {
    if (Lower(ports[i]).find(want) != std::string::npos) return i;
  }
  return std::nullopt;
}

// --- MidiDevices ---------------------------------------------------------------------------

MidiDevices::MidiDevices(MidiApiChoice choice, std::string client_name)
    : client_name_(std::move(client_name)) {
  const RtMidi::Api api = Resolve(choice);
  api_ = static_cast<int>(api);
  if (api == RtMidi::RTMIDI_DUMMY || !Compiled(api)) return;
  try {
    scan_in_ = std::make_unique<RtMidiIn>(api, client_name_ + "-list");
    scan_in_->setErrorCallback(&KeepWarning, &warning_);
    scan_out_ = std::make_unique<RtMidiOut>(api, client_name_ + "-list");
    scan_out_->setErrorCallback(&KeepWarning, &warning_);
    enabled_ = true;
  } catch (const RtMidiError& e) {
    warning_ = e.getMessage();
    scan_in_.reset();
    scan_out_.reset();
  }
}

MidiDevices::~MidiDevices() = default;

std::string MidiDevices::api_name() const {
  if (!enabled_) return "none";
  return RtMidi::getApiName(static_cast<RtMidi::Api>(api_));
}

std::vector<std::string> MidiDevices::Inputs() { return List(scan_in_.get()); }
std::vector<std::string> MidiDevices::Outputs() { return List(scan_out_.get()); }

// --- KeyboardInput -------------------------------------------------------------------------

// The input's RtMidi client and ring, kept across reopens (closePort/openPort). Destroying the
// RtMidiIn stops RtMidi's thread before it returns (ALSA joins its input thread; JACK's client
// close ends its process thread).
struct KeyboardInput::Port {
  explicit Port(size_t capacity, WakeFn* wake) : ring(capacity + 1), wake(wake) {}
  ~Port() {
    closing.store(true, std::memory_order_release);
    if (in) in->closePort();
    in.reset();
  }

  static void OnMessage(double, std::vector<unsigned char>* message, void* user) {
    auto* self = static_cast<Port*>(user);
    if (message == nullptr || self->closing.load(std::memory_order_acquire)) return;
    // Foreign thread: copy, publish, wake. No allocation, no lock.
    if (message->empty() || message->size() > 3 || (*message)[0] < 0x80 || (*message)[0] >= 0xF0) {
      return;  // SysEx, clock and active sensing never go on the wire
    }
    midi::InputMessage m;
    m.local_us = midi::MonotonicNowUs();
    m.size = static_cast<uint8_t>(message->size());
    for (size_t i = 0; i < message->size(); ++i) m.bytes[i] = (*message)[i];
    const size_t tail = self->tail.load(std::memory_order_relaxed);
    const size_t next = (tail + 1) % self->ring.size();
    if (next == self->head.load(std::memory_order_acquire)) {
      self->overflows.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    self->ring[tail] = m;
    self->tail.store(next, std::memory_order_release);
    if (*self->wake) (*self->wake)();
  }

  void Drain(std::vector<midi::InputMessage>* out) {
    size_t h = head.load(std::memory_order_relaxed);
    const size_t t = tail.load(std::memory_order_acquire);
    while (h != t) {
      out->push_back(ring[h]);
      h = (h + 1) % ring.size();
    }
    head.store(h, std::memory_order_release);
  }

  std::string warning;  // kept by RtMidi for the life of `in`
  std::unique_ptr<RtMidiIn> in;
  std::vector<midi::InputMessage> ring;
  std::atomic<size_t> head{0};
  std::atomic<size_t> tail{0};
  std::atomic<uint64_t> overflows{0};
  std::atomic<bool> closing{false};
  WakeFn* wake;
};

KeyboardInput::KeyboardInput(MidiDevices* devices, WakeFn wake, size_t capacity)
    : devices_(devices), wake_(std::move(wake)), capacity_(capacity < 1 ? 1 : capacity) {}

KeyboardInput::~KeyboardInput() { port_.reset(); }

uint64_t KeyboardInput::overflows() const {
  return port_ ? port_->overflows.load(std::memory_order_relaxed) : 0;
}

absl::Status KeyboardInput::Choose(const std::string& choice) {
  Close();
  wanted_.clear();
  state_ = State::kNone;
  if (choice.empty() || choice == "none") return absl::OkStatus();
  const std::vector<std::string> ports = devices_->Inputs();
  const std::optional<size_t> index = PickPort(ports, choice);
  const bool number = std::all_of(choice.begin(), choice.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (!index) {
    if (number) return absl::NotFoundError("there is no MIDI input number " + choice);
    wanted_ = choice;
    state_ = State::kMissing;
    return absl::NotFoundError("no MIDI input matches '" + choice + "' yet");
  }
  wanted_ = number ? StableName(ports[*index]) : choice;
  Open(ports[*index], *index);
  return state_ == State::kOpen ? absl::OkStatus()
                                : absl::UnavailableError("cannot open " + ports[*index]);
}

void KeyboardInput::Open(const std::string& port_name, size_t index) {
  state_ = State::kMissing;
  try {
    // One RtMidi client for this object's life, its port closed and reopened across replugs:
    // with JACK 1.9.21 a client opened just after another closed can be left unscheduled
    // (midi/rtmidi_port.cc), and MIDI then never reaches it.
    if (!port_) {
      auto port = std::make_unique<Port>(capacity_, &wake_);
      port->in = std::make_unique<RtMidiIn>(static_cast<RtMidi::Api>(devices_->api()),
                                            devices_->client_name());
      port->in->setErrorCallback(&KeepWarning, &port->warning);
      port->in->ignoreTypes(true, true, true);
      port->in->setCallback(&Port::OnMessage, port.get());
      port_ = std::move(port);
    }
    // RtMidi opens by index; the list could have changed since it was read, so check the
    // name at that index first.
    if (index >= port_->in->getPortCount() || port_->in->getPortName(index) != port_name) return;
    port_->in->openPort(index, "keyboard");
  } catch (const RtMidiError&) {
    return;
  }
  if (!port_->in->isPortOpen()) return;
  port_name_ = port_name;
  state_ = State::kOpen;
  ++opens_;
}

void KeyboardInput::Close() {
  if (port_ && port_->in->isPortOpen()) port_->in->closePort();
  port_name_.clear();
}

bool KeyboardInput::Poll() {
  if (wanted_.empty()) return false;
  const std::vector<std::string> ports = devices_->Inputs();
  if (state_ == State::kOpen) {
    if (std::find(ports.begin(), ports.end(), port_name_) != ports.end()) return false;
    Close();  // unplugged
    state_ = State::kMissing;
    return true;
  }
  const std::optional<size_t> index = PickPort(ports, wanted_);
  if (!index) return false;
  Open(ports[*index], *index);
  return state_ == State::kOpen;
}

void KeyboardInput::Drain(std::vector<midi::InputMessage>* out) {
  if (port_) port_->Drain(out);
}

// --- ExternalOutput ------------------------------------------------------------------------

ExternalOutput::ExternalOutput(MidiDevices* devices) : devices_(devices) {}

ExternalOutput::~ExternalOutput() {
  // The last releases may be queued up to a lookahead ahead: let them out first.
  if (timed_) timed_->WaitWritten(std::chrono::milliseconds(500));
  Close();
}

bool ExternalOutput::is_open() const {
  return timed_ != nullptr || (out_ != nullptr && out_->isPortOpen());
}

void ExternalOutput::Close() {
  timed_.reset();  // deactivates, then closes its client
  if (out_ != nullptr && out_->isPortOpen()) out_->closePort();
  port_name_.clear();
}

absl::Status ExternalOutput::Choose(const std::string& choice) {
  Close();
  wanted_.clear();
  if (choice.empty() || choice == "none") return absl::OkStatus();
  const std::vector<std::string> ports = devices_->Outputs();
  const std::optional<size_t> index = PickPort(ports, choice);
  const bool number = std::all_of(choice.begin(), choice.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (!index) {
    if (number) return absl::NotFoundError("there is no MIDI output number " + choice);
    wanted_ = choice;
    return absl::NotFoundError("no MIDI output matches '" + choice + "' yet");
  }
  wanted_ = number ? StableName(ports[*index]) : choice;
  Open(ports[*index], *index);
  return is_open() ? absl::OkStatus() : absl::UnavailableError("cannot open " + ports[*index]);
}

void ExternalOutput::Open(const std::string& port_name, size_t index) {
  if (devices_->api_name() == "jack") {
    // Timed: events land at the frame of their time, not when the loop woke.
    auto timed = midi::TimedMidiOutput::OpenNamed(devices_->client_name() + "-out", port_name);
    if (timed.ok() && (*timed)->connected_to() == port_name) {
      timed_ = std::move(*timed);
      port_name_ = port_name;
    }
    return;
  }
  try {
    // One client for the object's life (see KeyboardInput::Open).
    if (!out_) {
      out_ = std::make_unique<RtMidiOut>(static_cast<RtMidi::Api>(devices_->api()),
                                         devices_->client_name());
      out_->setErrorCallback(&KeepWarning, &warning_);
    }
    if (index >= out_->getPortCount() || out_->getPortName(index) != port_name) return;
    out_->openPort(index, "synth");
  } catch (const RtMidiError&) {
    return;
  }
  if (is_open()) port_name_ = port_name;
}

bool ExternalOutput::Poll() {
  if (wanted_.empty()) return false;
  const std::vector<std::string> ports = devices_->Outputs();
  if (is_open()) {
    if (std::find(ports.begin(), ports.end(), port_name_) != ports.end()) return false;
    Close();
    return true;
  }
  const std::optional<size_t> index = PickPort(ports, wanted_);
  if (!index) return false;
  Open(ports[*index], *index);
  return is_open();
}

bool ExternalOutput::SendAt(const midi::ChannelMessage& m, int64_t at_us) {
  if (timed_) return timed_->Schedule(at_us, m);
  return Send(m);
}

bool ExternalOutput::Send(const midi::ChannelMessage& m) {
  if (timed_) return timed_->Schedule(midi::MonotonicNowUs(), m);
  if (!is_open()) return false;
  const unsigned char bytes[3] = {m.status, m.data1, m.data2};
  try {
    out_->sendMessage(bytes, m.size == 0 ? 3 : m.size);
  } catch (const RtMidiError&) {
    return false;
  }
  return true;
}

}  // namespace tutti::play
