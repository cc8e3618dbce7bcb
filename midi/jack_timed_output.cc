#include "midi/jack_timed_output.h"

#include <jack/jack.h>
#include <jack/midiport.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "midi/rtmidi_port.h"

namespace tutti::midi {

namespace {

// The first destination equal to `want`, else the first containing it (as MidiOutput does).
std::string FindDestination(const std::vector<std::string>& ports, const std::string& want) {
  for (const auto& p : ports) {
    if (p == want) return p;
  }
  for (const auto& p : ports) {
    if (p.find(want) != std::string::npos) return p;
  }
  return {};
}

}  // namespace

TimedMidiOutput::TimedMidiOutput(TimedOutputOptions options)
    : options_(options), ring_(options.capacity < 1 ? 2 : options.capacity + 1) {}

TimedMidiOutput::~TimedMidiOutput() {
  if (client_ == nullptr) return;
  closing_.store(true, std::memory_order_release);
  // jack_deactivate returns once the process thread no longer runs our callback, so the ring
  // and the port can go after it.
  jack_deactivate(client_);
  jack_client_close(client_);
}

absl::StatusOr<std::unique_ptr<TimedMidiOutput>> TimedMidiOutput::OpenVirtual(
    const std::string& client_name, const std::string& port_name, TimedOutputOptions options) {
  return Open(client_name, port_name, nullptr, options);
}

absl::StatusOr<std::unique_ptr<TimedMidiOutput>> TimedMidiOutput::OpenNamed(
    const std::string& client_name, const std::string& destination, TimedOutputOptions options) {
  return Open(client_name, "out", &destination, options);
}

absl::StatusOr<std::unique_ptr<TimedMidiOutput>> TimedMidiOutput::Open(
    const std::string& client_name, const std::string& port_name, const std::string* destination,
    TimedOutputOptions options) {
  std::string dest_port;
  if (destination != nullptr) {
    auto dests = ListMidiDestinations();
    if (!dests.ok()) return dests.status();
    dest_port = FindDestination(*dests, *destination);
    if (dest_port.empty()) {
      return absl::NotFoundError("no MIDI destination matches '" + *destination + "'");
    }
  }
  std::unique_ptr<TimedMidiOutput> self(new TimedMidiOutput(options));
  jack_status_t status;
  self->client_ = jack_client_open(client_name.c_str(), JackNoStartServer, &status);
  if (self->client_ == nullptr) {
    return absl::UnavailableError(
        "no JACK server answers (start one: jackd --no-realtime -d dummy -r 48000 -p 256; "
        "JACK_DEFAULT_SERVER selects a named server)");
  }
  self->port_ = jack_port_register(self->client_, port_name.c_str(), JACK_DEFAULT_MIDI_TYPE,
                                   JackPortIsOutput, 0);
  if (self->port_ == nullptr) {
    return absl::UnavailableError("cannot register JACK MIDI port " + port_name);
  }
  self->port_name_ = jack_port_name(self->port_);
  self->sample_rate_ = jack_get_sample_rate(self->client_);
  self->MeasureClockOffset();
  jack_set_process_callback(self->client_, &TimedMidiOutput::OnProcess, self.get());
  if (jack_activate(self->client_) != 0) {
    return absl::UnavailableError("cannot activate JACK client " + client_name);
  }
  if (!dest_port.empty()) {
    if (absl::Status s = ConnectMidiPorts(self->port_name_, dest_port); !s.ok()) return s;
    self->connected_to_ = dest_port;
  }
  return self;
}

void TimedMidiOutput::MeasureClockOffset() {
  // The tightest of a few sandwiches (local, jack, local): a preemption between the reads only
  // widens one of them.
  int64_t best_width = INT64_MAX;
  for (int i = 0; i < 8; ++i) {
    const int64_t a = MonotonicNowUs();
    const auto j = static_cast<int64_t>(jack_get_time());
    const int64_t b = MonotonicNowUs();
    if (b - a < best_width) {
      best_width = b - a;
      clock_offset_us_ = j - (a + b) / 2;
    }
  }
  clock_measured_at_ = MonotonicNowUs();
}

bool TimedMidiOutput::Schedule(int64_t due_local_us, const uint8_t* data, size_t size) {
  if (size == 0 || size > 3) return false;
  if (options_.clock_refresh_us > 0 &&
      MonotonicNowUs() - clock_measured_at_ >= options_.clock_refresh_us) {
    MeasureClockOffset();
  }
  const size_t tail = tail_.load(std::memory_order_relaxed);
  const size_t next = (tail + 1) % ring_.size();
  if (next == head_.load(std::memory_order_acquire)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  Slot& s = ring_[tail];
  const int64_t due_jack = JackTimeFromLocal(due_local_us);
  s.due_jack_us = due_jack < 0 ? 0 : static_cast<uint64_t>(due_jack);
  s.size = static_cast<uint8_t>(size);
  std::copy(data, data + size, s.bytes.begin());
  tail_.store(next, std::memory_order_release);
  return true;
}

bool TimedMidiOutput::Schedule(int64_t due_local_us, const ChannelMessage& m) {
  const uint8_t bytes[3] = {m.status, m.data1, m.data2};
  return Schedule(due_local_us, bytes, m.size == 0 ? 3 : m.size);
}

bool TimedMidiOutput::WaitWritten(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (head_.load(std::memory_order_acquire) != tail_.load(std::memory_order_relaxed)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

int TimedMidiOutput::OnProcess(uint32_t nframes, void* self) {
  static_cast<TimedMidiOutput*>(self)->Process(nframes);
  return 0;
}

void TimedMidiOutput::Process(uint32_t nframes) {
  // JACK process thread: no lock, no allocation, no system call beyond libjack's own.
  void* buffer = jack_port_get_buffer(port_, nframes);
  jack_midi_clear_buffer(buffer);
  if (closing_.load(std::memory_order_acquire) || nframes == 0) return;
  jack_nframes_t cycle_frames = 0;
  jack_time_t cycle_start = 0;
  jack_time_t next_start = 0;
  float period_us = 0;
  if (jack_get_cycle_times(client_, &cycle_frames, &cycle_start, &next_start, &period_us) != 0 ||
      next_start <= cycle_start) {
    // Not available (an old server): derive the cycle from the frame clock instead.
    cycle_frames = jack_last_frame_time(client_);
    cycle_start = jack_frames_to_time(client_, cycle_frames);
    next_start = jack_frames_to_time(client_, cycle_frames + nframes);
    if (next_start <= cycle_start) next_start = cycle_start + 1;
  }
  const uint64_t span = next_start - cycle_start;
  size_t head = head_.load(std::memory_order_relaxed);
  const size_t tail = tail_.load(std::memory_order_acquire);
  uint32_t last_offset = 0;
  while (head != tail) {
    const Slot& s = ring_[head];
    if (s.due_jack_us >= next_start) break;  // a later cycle's (and FIFO: so is the rest)
    uint32_t offset = 0;
    if (s.due_jack_us < cycle_start) {
      late_.fetch_add(1, std::memory_order_relaxed);
    } else {
      offset = static_cast<uint32_t>((s.due_jack_us - cycle_start) * nframes / span);
      offset = std::min(offset, nframes - 1);
    }
    offset = std::max(offset, last_offset);
    if (jack_midi_event_write(buffer, offset, s.bytes.data(), s.size) == 0) {
      written_.fetch_add(1, std::memory_order_relaxed);
    } else {
      write_failures_.fetch_add(1, std::memory_order_relaxed);
    }
    last_offset = offset;
    head = (head + 1) % ring_.size();
  }
  head_.store(head, std::memory_order_release);
}

}  // namespace tutti::midi
