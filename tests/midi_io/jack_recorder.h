// Recorder: a raw libjack client with one MIDI input port that records, for every event, the
// cycle it arrived in (jack_get_cycle_times as this client sees them) and its frame offset, so
// tests and reports compare JACK frames with JACK's clock, never with wall time.
//
// Owns: its JACK client and a preallocated array of arrivals (1024 by default).
// Thread affinity: constructed, read and destroyed on one thread; the JACK process thread
// fills the array (no allocation, no lock) and publishes the count with release order.
// Who owns it: tests/midi_io (jack_timed_output_test, jack_output_report).
#ifndef TUTTI_TESTS_MIDI_IO_JACK_RECORDER_H_
#define TUTTI_TESTS_MIDI_IO_JACK_RECORDER_H_

#include <jack/jack.h>
#include <jack/midiport.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace tutti::midi {

// What the reading client saw of one event.
struct Arrival {
  uint32_t cycle_frames = 0;
  uint64_t cycle_start = 0;
  uint64_t next_start = 0;
  uint64_t processed_at = 0;  // jack_get_time() when the recording callback ran
  uint32_t nframes = 0;
  uint32_t offset = 0;
  uint8_t size = 0;
  std::array<uint8_t, 3> bytes{};

  // The JACK time (us) of its frame, on this cycle's own mapping of frames to time.
  double jack_time_us() const {
    return static_cast<double>(cycle_start) +
           static_cast<double>(offset) * static_cast<double>(next_start - cycle_start) / nframes;
  }
};

// A JACK client with one MIDI input port; its process callback copies every event into a
// preallocated array (no allocation, no lock on the JACK thread).
class Recorder {
 public:
  explicit Recorder(size_t capacity = 1024) : arrivals_(capacity) {
    client_ = jack_client_open("tutti-rec", JackNoStartServer, nullptr);
    if (client_ == nullptr) return;
    port_ = jack_port_register(client_, "in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    jack_set_process_callback(client_, &Recorder::OnProcess, this);
    if (port_ != nullptr && jack_activate(client_) == 0) ok_ = true;
  }
  ~Recorder() {
    if (client_ != nullptr) {
      jack_deactivate(client_);
      jack_client_close(client_);
    }
  }
  bool ok() const { return ok_; }
  std::string port_name() const { return jack_port_name(port_); }

  // The arrivals so far once `count` arrived, or what came before the deadline.
  std::vector<Arrival> WaitFor(size_t count, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count_.load(std::memory_order_acquire) < count &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const size_t n = count_.load(std::memory_order_acquire);
    return std::vector<Arrival>(arrivals_.begin(), arrivals_.begin() + static_cast<long>(n));
  }
  size_t count() const { return count_.load(std::memory_order_acquire); }

 private:
  static int OnProcess(jack_nframes_t nframes, void* arg) {
    auto* self = static_cast<Recorder*>(arg);
    void* buffer = jack_port_get_buffer(self->port_, nframes);
    jack_nframes_t frames = 0;
    jack_time_t start = 0;
    jack_time_t next = 0;
    float period = 0;
    jack_get_cycle_times(self->client_, &frames, &start, &next, &period);
    const uint32_t n = jack_midi_get_event_count(buffer);
    size_t c = self->count_.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < n && c < self->arrivals_.size(); ++i) {
      jack_midi_event_t ev;
      if (jack_midi_event_get(&ev, buffer, i) != 0) continue;
      Arrival& a = self->arrivals_[c++];
      a.cycle_frames = frames;
      a.cycle_start = start;
      a.next_start = next;
      a.processed_at = jack_get_time();
      a.nframes = nframes;
      a.offset = ev.time;
      a.size = static_cast<uint8_t>(ev.size > 3 ? 3 : ev.size);
      for (size_t k = 0; k < a.size; ++k) a.bytes[k] = ev.buffer[k];
    }
    self->count_.store(c, std::memory_order_release);
    return 0;
  }

  jack_client_t* client_ = nullptr;
  jack_port_t* port_ = nullptr;
  bool ok_ = false;
  std::vector<Arrival> arrivals_;
  std::atomic<size_t> count_{0};
};

}  // namespace tutti::midi

#endif  // TUTTI_TESTS_MIDI_IO_JACK_RECORDER_H_
