// MIDI ports of the native tools: RtMidi over JACK (RtMidi::UNIX_JACK, never ALSA: the
// machines this runs on have no /dev/snd, and RtMidi's default API tries ALSA first).
//
// Owns: one RtMidi input or output (its JACK client and port) per object; for an input, a
// fixed-capacity single-producer/single-consumer ring of received messages. Besides, one
// process-wide libjack "probe" client (not activated, never in the process graph) for listing
// and connecting ports, guarded by its own mutex so any thread may use the free functions.
// Thread affinity: open, Drain, Send and destruction on the owner's thread. RtMidi calls the
// input callback on the JACK process thread; that callback only copies the bytes and a
// timestamp into the ring and calls the owner's wake-up hook (principle 13: foreign threads
// copy and post). Nothing else is shared.
// Caveat (libjack 1.9.21, docs/TIMING.md): a process whose port feeds a JACK client that is
// leaving can crash inside libjack; where one program owns both ends, close the feeding object
// (its JACK thread stops before the destructor returns) before the fed one leaves.
// Who owns it: the tools that bridge MIDI (tutti-midi-bridge) and their tests; the server never
// links this library.
//
// Timestamps are the local monotonic clock (steady_clock, microseconds) read in the JACK
// process cycle that delivered the message. JACK delivers input once per period, so times are
// quantized to the period (5.33 ms at -r 48000 -p 256; use a smaller -p for finer times).
// RtMidi's own delta times are measured the same way and add nothing.
#ifndef TUTTI_MIDI_RTMIDI_PORT_H_
#define TUTTI_MIDI_RTMIDI_PORT_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "midi/midi_parse.h"

class RtMidiIn;
class RtMidiOut;

namespace tutti::midi {

// The tools' local clock: steady_clock in microseconds (CLOCK_MONOTONIC on Linux, the same
// clock tutti-server stamps with).
int64_t MonotonicNowUs();

// One message as read from an input port.
struct InputMessage {
  int64_t local_us = 0;  // MonotonicNowUs() in the JACK cycle that delivered it
  uint8_t size = 0;      // 1..3
  std::array<uint8_t, 3> bytes{};
};

// True if a JACK server answers (the one JACK_DEFAULT_SERVER names, or the default). Never
// starts one.
bool JackServerRunning();

// Closes the process's probe client (the one libjack client that lists and connects ports; it
// is otherwise kept open). Call it before the process exits or before stopping the JACK server
// it talks to; the next call that needs the probe opens it again.
void ReleaseJackProbe();

// Full JACK names ("client:port") of MIDI ports: sources an input can read from (JACK output
// ports) or destinations an output can write to (JACK input ports).
absl::StatusOr<std::vector<std::string>> ListMidiSources();
absl::StatusOr<std::vector<std::string>> ListMidiDestinations();

// Connects a source port to a destination port by full JACK name (what jack_connect does).
absl::Status ConnectMidiPorts(const std::string& source, const std::string& destination);

class MidiInput {
 public:
  // Called on the JACK thread after a message was queued. It must only wake the owner (notify
  // a condition variable, write an eventfd); it must not block or call back into this object.
  // Closing a JACK client cancels its thread asynchronously (libjack), so a call in flight
  // while the input is destroyed can be cut short; the destructor makes that window small.
  using WakeFn = std::function<void()>;

  // A new JACK port `client_name:port_name` that other ports can connect to.
  static absl::StatusOr<std::unique_ptr<MidiInput>> OpenVirtual(const std::string& client_name,
                                                                const std::string& port_name,
                                                                WakeFn wake,
                                                                size_t capacity = 4096);
  // A new port connected to the first source whose full name contains `source` (exact match
  // preferred).
  static absl::StatusOr<std::unique_ptr<MidiInput>> OpenNamed(const std::string& client_name,
                                                              const std::string& source,
                                                              WakeFn wake, size_t capacity = 4096);
  ~MidiInput();
  MidiInput(const MidiInput&) = delete;
  MidiInput& operator=(const MidiInput&) = delete;

  // Appends every queued message, oldest first.
  void Drain(std::vector<InputMessage>* out);

  // This port's full JACK name.
  const std::string& port_name() const { return port_name_; }
  // The source it was opened on (OpenNamed), else empty.
  const std::string& connected_to() const { return connected_to_; }
  // Messages lost because the ring was full, and messages not kept (SysEx, system real-time
  // and anything longer than 3 bytes: the wire carries channel messages only).
  uint64_t overflows() const { return overflows_.load(std::memory_order_relaxed); }
  uint64_t ignored() const { return ignored_.load(std::memory_order_relaxed); }

 private:
  MidiInput(size_t capacity, WakeFn wake);
  static absl::StatusOr<std::unique_ptr<MidiInput>> Open(const std::string& client_name,
                                                         const std::string& port_name,
                                                         const std::string* source, WakeFn wake,
                                                         size_t capacity);
  static void OnMessage(double delta_s, std::vector<unsigned char>* message, void* self);
  void Push(const std::vector<unsigned char>& message);

  // What RtMidi last reported through its error callback. RtMidi keeps a pointer to it for the
  // life of `in_`, so it is declared before `in_` (destroyed after it).
  std::string rtmidi_warning_;
  std::unique_ptr<RtMidiIn> in_;
  std::string port_name_;
  std::string connected_to_;
  WakeFn wake_;
  // SPSC ring: the JACK thread writes at tail_, the owner reads at head_. One slot stays
  // empty so full and empty differ.
  std::vector<InputMessage> ring_;
  std::atomic<size_t> head_{0};
  std::atomic<size_t> tail_{0};
  std::atomic<uint64_t> overflows_{0};
  std::atomic<uint64_t> ignored_{0};
  // Set by the destructor before it closes the client: the JACK thread stops queueing/waking.
  std::atomic<bool> closing_{false};
};

class MidiOutput {
 public:
  static absl::StatusOr<std::unique_ptr<MidiOutput>> OpenVirtual(const std::string& client_name,
                                                                 const std::string& port_name);
  // A new port connected to the first destination whose full name contains `destination`.
  static absl::StatusOr<std::unique_ptr<MidiOutput>> OpenNamed(const std::string& client_name,
                                                               const std::string& destination);
  ~MidiOutput();
  MidiOutput(const MidiOutput&) = delete;
  MidiOutput& operator=(const MidiOutput&) = delete;

  // Queues bytes for the next JACK cycle (sent at the cycle's first frame).
  absl::Status Send(const uint8_t* data, size_t size);
  absl::Status Send(const ChannelMessage& m);

  const std::string& port_name() const { return port_name_; }
  const std::string& connected_to() const { return connected_to_; }

 private:
  MidiOutput() = default;
  static absl::StatusOr<std::unique_ptr<MidiOutput>> Open(const std::string& client_name,
                                                          const std::string& port_name,
                                                          const std::string* destination);

  std::string rtmidi_warning_;  // see MidiInput::rtmidi_warning_
  std::unique_ptr<RtMidiOut> out_;
  std::string port_name_;
  std::string connected_to_;
};

}  // namespace tutti::midi

#endif  // TUTTI_MIDI_RTMIDI_PORT_H_
