// MidiDevices, KeyboardInput and ExternalOutput: tutti-play's MIDI hardware, through RtMidi on
// the platform's native API (ALSA sequencer on Linux, JACK when asked or when ALSA is absent,
// CoreMIDI, Windows MM). Devices are listed, picked by number or name, and followed: when the
// chosen keyboard is unplugged its port is closed, and when it comes back it is reopened.
//
// Owns: MidiDevices owns one RtMidiIn and one RtMidiOut that never open a port (the listing
// clients: one per process and API, because JACK 1.9.21 misbehaves when clients come and go per
// query, see midi/rtmidi_port.cc). KeyboardInput owns the open input and a fixed-capacity
// single-producer/single-consumer ring; ExternalOutput the open output (on JACK a
// midi::TimedMidiOutput: a client of its own per opened destination, so it comes and goes only
// when the output is chosen or replugged, never per query).
// Thread affinity: everything on the owner's thread (tutti-play's main loop), except the input
// callback, which RtMidi calls on its own thread (ALSA's input thread, the JACK process thread,
// CoreMIDI's): it only copies the message and a timestamp into the ring and calls the wake-up
// hook; and the timed output's JACK process thread, which only reads its ring. Who owns it:
// tutti-play's main loop; its tests.
//
// Timestamps are MonotonicNowUs() read in the callback (the driver's delivery time).
#ifndef TUTTI_TOOLS_PLAY_MIDI_DEVICES_H_
#define TUTTI_TOOLS_PLAY_MIDI_DEVICES_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "midi/channel_message.h"
#include "midi/jack_timed_output.h"
#include "midi/rtmidi_port.h"

class RtMidiIn;
class RtMidiOut;

namespace tutti::play {

// "auto", "alsa", "jack", "coremidi", "winmm" or "none" (no MIDI hardware at all).
enum class MidiApiChoice { kAuto, kAlsa, kJack, kCoreMidi, kWindowsMm, kNone };
absl::StatusOr<MidiApiChoice> ParseMidiApi(const std::string& name);

// Picks from `ports` (as listed): "3" is the third (1-based, as /devices shows them); otherwise
// an exact name, then the first whose stable name equals it, then the first containing it
// (case-insensitive).
std::optional<size_t> PickPort(const std::vector<std::string>& ports, const std::string& choice);

// The part of a port name that survives a replug: ALSA appends the client:port numbers
// ("USB Keyboard:USB Keyboard MIDI 1 24:0"), which change when the device comes back.
std::string StableName(const std::string& port);

class MidiDevices {
 public:
  // kAuto: ALSA where the sequencer device exists and RtMidi has it, else JACK, else the
  // first API RtMidi was built with. kNone: no devices (every list is empty).
  MidiDevices(MidiApiChoice choice, std::string client_name);
  ~MidiDevices();
  MidiDevices(const MidiDevices&) = delete;
  MidiDevices& operator=(const MidiDevices&) = delete;

  // Sources (keyboards) and destinations (synths, DAWs) now present.
  std::vector<std::string> Inputs();
  std::vector<std::string> Outputs();

  bool enabled() const { return enabled_; }
  int api() const { return api_; }  // RtMidi::Api
  std::string api_name() const;
  const std::string& client_name() const { return client_name_; }
  // What RtMidi last warned about (e.g. "JACK server not running?"), for the status line.
  const std::string& warning() const { return warning_; }

 private:
  bool enabled_ = false;
  int api_ = 0;
  std::string client_name_;
  std::string warning_;  // RtMidi keeps a pointer to it: declared before the RtMidi objects
  std::unique_ptr<RtMidiIn> scan_in_;
  std::unique_ptr<RtMidiOut> scan_out_;
};

class KeyboardInput {
 public:
  enum class State { kNone, kOpen, kMissing };
  using WakeFn = std::function<void()>;

  // `devices` must outlive this object. `wake` runs on RtMidi's thread after a message was
  // queued: it must only wake the owner.
  KeyboardInput(MidiDevices* devices, WakeFn wake, size_t capacity = 4096);
  ~KeyboardInput();
  KeyboardInput(const KeyboardInput&) = delete;
  KeyboardInput& operator=(const KeyboardInput&) = delete;

  // Chooses the device by number or name and opens it if present; a number is turned into
  // the device's stable name, so the choice still means that device after a replug. "" or
  // "none" closes the input. NotFound if nothing matches now (the choice is kept: the device
  // opens when it appears).
  absl::Status Choose(const std::string& choice);
  // Notices the device unplugged (closes its port) or back (reopens it). Call it about once a
  // second. True when the state changed.
  bool Poll();
  // Appends every message received since the last call, oldest first.
  void Drain(std::vector<midi::InputMessage>* out);

  State state() const { return state_; }
  const std::string& wanted() const { return wanted_; }
  const std::string& port() const { return port_name_; }
  uint64_t opens() const { return opens_; }
  uint64_t overflows() const;

 private:
  struct Port;
  void Open(const std::string& port_name, size_t index);
  void Close();

  MidiDevices* devices_;
  WakeFn wake_;
  size_t capacity_;
  std::string wanted_;
  std::string port_name_;
  State state_ = State::kNone;
  uint64_t opens_ = 0;
  std::unique_ptr<Port> port_;  // created at the first open, kept until destruction
};

class ExternalOutput {
 public:
  explicit ExternalOutput(MidiDevices* devices);
  ~ExternalOutput();
  ExternalOutput(const ExternalOutput&) = delete;
  ExternalOutput& operator=(const ExternalOutput&) = delete;

  // As KeyboardInput::Choose, for a destination.
  absl::Status Choose(const std::string& choice);
  bool Poll();
  // Sends when open; false otherwise.
  bool Send(const midi::ChannelMessage& m);
  // On JACK the output is timed (midi/jack_timed_output.h): SendAt plays `m` at the frame of
  // local time at_us, and Send queues behind what was scheduled (a release never overtakes a
  // queued note). Elsewhere RtMidi has no timestamps: timed() is false and SendAt sends now.
  bool SendAt(const midi::ChannelMessage& m, int64_t at_us);
  bool timed() const { return timed_ != nullptr; }
  bool is_open() const;
  const std::string& wanted() const { return wanted_; }
  const std::string& port() const { return port_name_; }

 private:
  void Open(const std::string& port_name, size_t index);
  void Close();
  MidiDevices* devices_;
  std::string wanted_;
  std::string port_name_;
  std::string warning_;
  std::unique_ptr<RtMidiOut> out_;
  // The JACK output: a client of its own per opened destination (closed at an unplug, never
  // reused), deactivated and closed by its destructor before the next one opens.
  std::unique_ptr<midi::TimedMidiOutput> timed_;
};

}  // namespace tutti::play

#endif  // TUTTI_TOOLS_PLAY_MIDI_DEVICES_H_
