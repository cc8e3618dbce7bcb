#include "midi/rtmidi_port.h"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include "RtMidi.h"

namespace tutti::midi {

namespace {

// What RtMidi does not expose (whether a server answers, the port list, the real name of a port
// we opened, connections by name) goes through one libjack client per process, opened on first
// use and kept until its server changes, goes away, or ReleaseJackProbe() closes it.
//
// Why not a short-lived client per call: JACK 1.9.21 hands a closed client's reference number to
// the next client at once, and each process keeps a table from reference numbers to the clients'
// wake-up semaphores that the server updates by asynchronous notifications. A client opened in a
// process that has not yet seen the removal of the previous owner of its number can wait on the
// wrong semaphore and is never woken: jackd then logs "client X was not finished, state =
// Triggered" every cycle and no MIDI passes through X. A probe opened and closed per query (tests
// poll the port list) made that happen in about one bridge test run in ten.
struct ProbeState {
  std::mutex mu;
  jack_client_t* client = nullptr;  // guarded by mu
  std::string server;               // JACK_DEFAULT_SERVER when `client` was opened; guarded by mu
  std::atomic<bool> gone{false};    // set by JACK's shutdown callback on its own thread
};

// Never destroyed: a JACK thread may still call OnProbeShutdown while the process exits.
ProbeState& Probe() {
  static ProbeState* state = new ProbeState();
  return *state;
}

std::string CurrentServer() {
  const char* s = std::getenv("JACK_DEFAULT_SERVER");
  return s != nullptr ? s : "";
}

void OnProbeShutdown(void* arg) { static_cast<ProbeState*>(arg)->gone.store(true); }

void CloseProbeLocked(ProbeState& s) {
  if (s.client != nullptr) jack_client_close(s.client);
  s.client = nullptr;
}

// Holds the process's probe (and its lock) for one operation.
class JackProbe {
 public:
  JackProbe() : lock_(Probe().mu) {
    ProbeState& s = Probe();
    const std::string server = CurrentServer();
    if (s.client != nullptr && (s.gone.load() || s.server != server)) CloseProbeLocked(s);
    if (s.client == nullptr) {
      jack_status_t status;
      s.client = jack_client_open("tutti-probe", JackNoStartServer, &status);
      if (s.client != nullptr) {
        s.server = server;
        s.gone.store(false);
        jack_on_shutdown(s.client, &OnProbeShutdown, &s);
      }
    }
    client_ = s.client;
  }
  JackProbe(const JackProbe&) = delete;
  JackProbe& operator=(const JackProbe&) = delete;

  bool ok() const { return client_ != nullptr; }
  jack_client_t* get() const { return client_; }

  std::vector<std::string> Ports(unsigned long flags) const {
    std::vector<std::string> out;
    const char** ports = jack_get_ports(client_, nullptr, JACK_DEFAULT_MIDI_TYPE, flags);
    if (ports == nullptr) return out;
    for (size_t i = 0; ports[i] != nullptr; ++i) out.emplace_back(ports[i]);
    jack_free(ports);
    return out;
  }

 private:
  std::unique_lock<std::mutex> lock_;
  jack_client_t* client_ = nullptr;
};

absl::Status NoServer() {
  return absl::UnavailableError(
      "no JACK server answers (start one: jackd --no-realtime -d dummy -r 48000 -p 256; "
      "JACK_DEFAULT_SERVER selects a named server)");
}

// The first port whose name equals `want`, else the first that contains it.
std::string FindPort(const std::vector<std::string>& ports, const std::string& want) {
  for (const auto& p : ports) {
    if (p == want) return p;
  }
  for (const auto& p : ports) {
    if (p.find(want) != std::string::npos) return p;
  }
  return {};
}

// The port that appeared in `after` but not in `before` and ends in ":port_name" (JACK may have
// renamed a client whose name was taken).
std::string NewPort(const std::vector<std::string>& before, const std::vector<std::string>& after,
                    const std::string& client_name, const std::string& port_name) {
  const std::string exact = client_name + ":" + port_name;
  const std::string suffix = ":" + port_name;
  for (const auto& p : after) {
    if (p == exact) return p;
  }
  for (const auto& p : after) {
    bool existed = false;
    for (const auto& b : before) existed = existed || b == p;
    if (!existed && p.size() > suffix.size() &&
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        p.rfind(client_name, 0) == 0) {
      return p;
    }
  }
  return {};
}

// RtMidi reports warnings (e.g. "JACK server not running?") through this instead of stderr.
void QuietErrors(RtMidiError::Type type, const std::string& text, void* user) {
  if (user != nullptr) *static_cast<std::string*>(user) = text;
}

}  // namespace

int64_t MonotonicNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool JackServerRunning() { return JackProbe().ok(); }

void ReleaseJackProbe() {
  std::lock_guard<std::mutex> lock(Probe().mu);
  CloseProbeLocked(Probe());
}

absl::StatusOr<std::vector<std::string>> ListMidiSources() {
  JackProbe probe;
  if (!probe.ok()) return NoServer();
  return probe.Ports(JackPortIsOutput);
}

absl::StatusOr<std::vector<std::string>> ListMidiDestinations() {
  JackProbe probe;
  if (!probe.ok()) return NoServer();
  return probe.Ports(JackPortIsInput);
}

absl::Status ConnectMidiPorts(const std::string& source, const std::string& destination) {
  JackProbe probe;
  if (!probe.ok()) return NoServer();
  const int rc = jack_connect(probe.get(), source.c_str(), destination.c_str());
  if (rc != 0 && rc != EEXIST) {
    return absl::NotFoundError("cannot connect " + source + " to " + destination);
  }
  return absl::OkStatus();
}

// --- input ------------------------------------------------------------------------------------

MidiInput::MidiInput(size_t capacity, WakeFn wake)
    : wake_(std::move(wake)), ring_(capacity < 2 ? 2 : capacity + 1) {}

MidiInput::~MidiInput() {
  // The JACK thread drops what arrives from now on (see OnMessage), and with the port closed
  // RtMidi stops delivering from the next cycle. Destroying the RtMidiIn then closes its JACK
  // client, and jack_client_close returns only once that client's process thread has ended
  // (libjack cancels it), so after this nothing calls OnMessage and the ring and wake_ can go.
  // Not cancelCallback(): it clears RtMidi's callback pointer, its user data and its "using
  // callback" flag one by one, unsynchronized, while the JACK thread may be reading them to
  // deliver a message, which can then call a null function or pass a null `self`.
  closing_.store(true, std::memory_order_release);
  if (in_) in_->closePort();
  in_.reset();
}

absl::StatusOr<std::unique_ptr<MidiInput>> MidiInput::OpenVirtual(const std::string& client_name,
                                                                  const std::string& port_name,
                                                                  WakeFn wake, size_t capacity) {
  return Open(client_name, port_name, nullptr, std::move(wake), capacity);
}

absl::StatusOr<std::unique_ptr<MidiInput>> MidiInput::OpenNamed(const std::string& client_name,
                                                                const std::string& source,
                                                                WakeFn wake, size_t capacity) {
  return Open(client_name, "in", &source, std::move(wake), capacity);
}

absl::StatusOr<std::unique_ptr<MidiInput>> MidiInput::Open(const std::string& client_name,
                                                           const std::string& port_name,
                                                           const std::string* source, WakeFn wake,
                                                           size_t capacity) {
  JackProbe probe;
  if (!probe.ok()) return NoServer();
  std::string source_port;
  if (source != nullptr) {
    source_port = FindPort(probe.Ports(JackPortIsOutput), *source);
    if (source_port.empty()) return absl::NotFoundError("no MIDI source matches '" + *source + "'");
  }
  const std::vector<std::string> before = probe.Ports(JackPortIsInput);
  std::unique_ptr<MidiInput> self(new MidiInput(capacity, std::move(wake)));
  const std::string& warning = self->rtmidi_warning_;
  try {
    self->in_ = std::make_unique<RtMidiIn>(RtMidi::UNIX_JACK, client_name);
    // RtMidi keeps this pointer for the object's life, so it must outlive `in_` (not a local
    // of this function: a later warning would write into a dead stack frame).
    self->in_->setErrorCallback(&QuietErrors, &self->rtmidi_warning_);
    // Channel messages only: SysEx, MIDI clock and active sensing never go on the wire.
    self->in_->ignoreTypes(true, true, true);
    self->in_->setCallback(&MidiInput::OnMessage, self.get());
    self->in_->openVirtualPort(port_name);
  } catch (const RtMidiError& e) {
    return absl::UnavailableError("RtMidi input: " + e.getMessage());
  }
  self->port_name_ = NewPort(before, probe.Ports(JackPortIsInput), client_name, port_name);
  if (self->port_name_.empty()) {
    return absl::UnavailableError("RtMidi input port did not appear" +
                                  (warning.empty() ? std::string() : ": " + warning));
  }
  if (!source_port.empty()) {
    // Connected by name (not by RtMidi's port index, which can shift as ports come and go).
    const int rc = jack_connect(probe.get(), source_port.c_str(), self->port_name_.c_str());
    if (rc != 0 && rc != EEXIST) {
      return absl::UnavailableError("cannot connect " + source_port + " to " + self->port_name_);
    }
    self->connected_to_ = source_port;
  }
  return self;
}

void MidiInput::OnMessage(double /*delta_s*/, std::vector<unsigned char>* message, void* self) {
  auto* input = static_cast<MidiInput*>(self);
  if (message != nullptr && !input->closing_.load(std::memory_order_acquire)) input->Push(*message);
}

void MidiInput::Push(const std::vector<unsigned char>& message) {
  // JACK thread: copy, publish, wake. No allocation, no lock.
  if (message.empty() || message.size() > 3 || message[0] < 0x80 || message[0] >= 0xF0) {
    ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  InputMessage m;
  m.local_us = MonotonicNowUs();
  m.size = static_cast<uint8_t>(message.size());
  for (size_t i = 0; i < message.size(); ++i) m.bytes[i] = message[i];
  const size_t tail = tail_.load(std::memory_order_relaxed);
  const size_t next = (tail + 1) % ring_.size();
  if (next == head_.load(std::memory_order_acquire)) {
    overflows_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  ring_[tail] = m;
  tail_.store(next, std::memory_order_release);
  if (wake_) wake_();
}

void MidiInput::Drain(std::vector<InputMessage>* out) {
  size_t head = head_.load(std::memory_order_relaxed);
  const size_t tail = tail_.load(std::memory_order_acquire);
  while (head != tail) {
    out->push_back(ring_[head]);
    head = (head + 1) % ring_.size();
  }
  head_.store(head, std::memory_order_release);
}

// --- output -----------------------------------------------------------------------------------

MidiOutput::~MidiOutput() {
  if (out_) out_->closePort();
}

absl::StatusOr<std::unique_ptr<MidiOutput>> MidiOutput::OpenVirtual(const std::string& client_name,
                                                                    const std::string& port_name) {
  return Open(client_name, port_name, nullptr);
}

absl::StatusOr<std::unique_ptr<MidiOutput>> MidiOutput::OpenNamed(const std::string& client_name,
                                                                  const std::string& destination) {
  return Open(client_name, "out", &destination);
}

absl::StatusOr<std::unique_ptr<MidiOutput>> MidiOutput::Open(const std::string& client_name,
                                                             const std::string& port_name,
                                                             const std::string* destination) {
  JackProbe probe;
  if (!probe.ok()) return NoServer();
  std::string dest_port;
  if (destination != nullptr) {
    dest_port = FindPort(probe.Ports(JackPortIsInput), *destination);
    if (dest_port.empty()) {
      return absl::NotFoundError("no MIDI destination matches '" + *destination + "'");
    }
  }
  const std::vector<std::string> before = probe.Ports(JackPortIsOutput);
  std::unique_ptr<MidiOutput> self(new MidiOutput());
  const std::string& warning = self->rtmidi_warning_;
  try {
    self->out_ = std::make_unique<RtMidiOut>(RtMidi::UNIX_JACK, client_name);
    // Kept by RtMidi for the object's life (see MidiInput::Open).
    self->out_->setErrorCallback(&QuietErrors, &self->rtmidi_warning_);
    self->out_->openVirtualPort(port_name);
  } catch (const RtMidiError& e) {
    return absl::UnavailableError("RtMidi output: " + e.getMessage());
  }
  self->port_name_ = NewPort(before, probe.Ports(JackPortIsOutput), client_name, port_name);
  if (self->port_name_.empty()) {
    return absl::UnavailableError("RtMidi output port did not appear" +
                                  (warning.empty() ? std::string() : ": " + warning));
  }
  if (!dest_port.empty()) {
    const int rc = jack_connect(probe.get(), self->port_name_.c_str(), dest_port.c_str());
    if (rc != 0 && rc != EEXIST) {
      return absl::UnavailableError("cannot connect " + self->port_name_ + " to " + dest_port);
    }
    self->connected_to_ = dest_port;
  }
  return self;
}

absl::Status MidiOutput::Send(const uint8_t* data, size_t size) {
  if (size == 0) return absl::InvalidArgumentError("empty MIDI message");
  try {
    out_->sendMessage(data, size);
  } catch (const RtMidiError& e) {
    return absl::UnavailableError("RtMidi send: " + e.getMessage());
  }
  return absl::OkStatus();
}

absl::Status MidiOutput::Send(const ChannelMessage& m) {
  const uint8_t bytes[3] = {m.status, m.data1, m.data2};
  return Send(bytes, m.size == 0 ? 3 : m.size);
}

}  // namespace tutti::midi
