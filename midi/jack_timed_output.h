// TimedMidiOutput: a JACK MIDI output that plays each event at its due time, not when the
// thread that scheduled it woke up. The scheduling thread queues (due time, message) into a
// fixed-capacity single-producer/single-consumer ring; the JACK process callback writes every
// event due inside the cycle it is processing at the frame offset of its due time
// (jack_midi_event_write), computed from that cycle's jack_get_cycle_times. RtMidi's JACK output
// (MidiOutput) cannot do this: it writes everything at the first frame of the next cycle, so a
// late wake-up of the caller becomes timing error (docs/TIMING.md, "Play on time").
//
// Rules (docs/TIMING.md states them for users):
//   * An event due in [cycle start, next cycle start) is written at
//     floor((due - cycle start) * nframes / (next cycle start - cycle start)).
//   * An event whose due time already passed when its cycle is processed is written at offset
//     0 of the first cycle that sees it, and counted in late().
//   * The ring is FIFO: an event never goes out before one scheduled ahead of it; offsets within
//     a cycle never decrease (JACK requires it), so an event scheduled after a later one shares
//     that later one's offset or cycle.
//   * A full ring refuses the event and counts it in dropped(); Schedule never blocks.
//
// Owns: one libjack client with one MIDI output port, the ring and its counters.
// Thread affinity: Open*, Schedule, WaitWritten and destruction on one owner thread (the
// producer); the JACK process thread is the only consumer and neither locks nor allocates.
// Counters may be read from any thread.
// Who owns it: tutti-midi-bridge (its output port) and the tests in tests/midi_io; the server
// never links it.
#ifndef TUTTI_MIDI_JACK_TIMED_OUTPUT_H_
#define TUTTI_MIDI_JACK_TIMED_OUTPUT_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "midi/midi_parse.h"

typedef struct _jack_client jack_client_t;
typedef struct _jack_port jack_port_t;

namespace tutti::midi {

struct TimedOutputOptions {
  // Events that can wait in the ring. At the bridge's 10 ms lookahead a few dozen are queued at
  // most; 4096 absorbs a burst (a stall's backlog, a chord storm) without dropping.
  size_t capacity = 4096;
  // How often Schedule re-measures the offset between the local clock (MonotonicNowUs) and
  // JACK's clock (jack_get_time). Both are CLOCK_MONOTONIC with libjack's default timer, so the
  // offset is constant; with another JACK timer they could drift slowly. 0: measured once.
  int64_t clock_refresh_us = 5000000;
};

class TimedMidiOutput {
 public:
  // A new JACK port `client_name:port_name` that other ports can connect to.
  static absl::StatusOr<std::unique_ptr<TimedMidiOutput>> OpenVirtual(
      const std::string& client_name, const std::string& port_name,
      TimedOutputOptions options = {});
  // A new port `client_name:out` connected to the first destination whose full name equals
  // `destination`, else contains it.
  static absl::StatusOr<std::unique_ptr<TimedMidiOutput>> OpenNamed(
      const std::string& client_name, const std::string& destination,
      TimedOutputOptions options = {});
  ~TimedMidiOutput();
  TimedMidiOutput(const TimedMidiOutput&) = delete;
  TimedMidiOutput& operator=(const TimedMidiOutput&) = delete;

  // Queues a message (1-3 bytes) to be played at `due_local_us` (MonotonicNowUs clock). False
  // if the ring is full (counted in dropped()) or the message is empty or longer than 3 bytes.
  bool Schedule(int64_t due_local_us, const uint8_t* data, size_t size);
  bool Schedule(int64_t due_local_us, const ChannelMessage& m);

  // Waits until the process callback has taken every queued event, or the timeout passed
  // (then false). For a clean exit: the last note-offs are due up to a lookahead ahead.
  bool WaitWritten(std::chrono::milliseconds timeout) const;

  // The JACK time (jack_get_time, microseconds) that corresponds to `local_us`, with the
  // offset Schedule uses.
  int64_t JackTimeFromLocal(int64_t local_us) const { return local_us + clock_offset_us_; }

  const std::string& port_name() const { return port_name_; }
  const std::string& connected_to() const { return connected_to_; }
  uint32_t sample_rate() const { return sample_rate_; }

  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  // Written at offset 0 because their due time had passed when their cycle was processed.
  uint64_t late() const { return late_.load(std::memory_order_relaxed); }
  // Refused by Schedule because the ring was full.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // jack_midi_event_write failed (the port's buffer for the cycle was full).
  uint64_t write_failures() const { return write_failures_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    uint64_t due_jack_us = 0;
    uint8_t size = 0;
    std::array<uint8_t, 3> bytes{};
  };

  explicit TimedMidiOutput(TimedOutputOptions options);
  static absl::StatusOr<std::unique_ptr<TimedMidiOutput>> Open(const std::string& client_name,
                                                               const std::string& port_name,
                                                               const std::string* destination,
                                                               TimedOutputOptions options);
  static int OnProcess(uint32_t nframes, void* self);
  void Process(uint32_t nframes);
  // Measures clock_offset_us_ (jack_get_time - MonotonicNowUs) between two close local reads.
  void MeasureClockOffset();

  TimedOutputOptions options_;
  jack_client_t* client_ = nullptr;
  jack_port_t* port_ = nullptr;
  std::string port_name_;
  std::string connected_to_;
  uint32_t sample_rate_ = 0;
  int64_t clock_offset_us_ = 0;    // owner thread only
  int64_t clock_measured_at_ = 0;  // local time of the last measurement; owner thread only
  // SPSC ring: the owner writes at tail_, the JACK thread reads at head_. One slot stays empty
  // so full and empty differ.
  std::vector<Slot> ring_;
  std::atomic<size_t> head_{0};
  std::atomic<size_t> tail_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> late_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> write_failures_{0};
  // Set by the destructor before it deactivates the client: the callback only clears buffers.
  std::atomic<bool> closing_{false};
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_JACK_TIMED_OUTPUT_H_
