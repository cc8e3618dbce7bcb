// The scenarios of the timing simulation (declared in tests/midi/timing_sim.h): the networks,
// clocks and players that the simulation tests assert and midi_timing_report prints.
#include <cstdio>
#include <string>
#include <vector>

#include "tests/midi/timing_sim.h"

namespace tutti::midi::sim {

namespace scenarios {

namespace {
SenderSpec HonestSender(int64_t duration_us, uint64_t seed) {
  SenderSpec s;
  s.clock = ClientClock{123456789012, 100};
  s.up = ReferencePath();
  s.down = ReferencePath();
  s.stream = MixedPiece(2000000, duration_us - 2000000, seed);
  return s;
}

Scenario Base(const std::string& name, int64_t duration_us) {
  Scenario sc;
  sc.name = name;
  sc.duration_us = duration_us;
  sc.receiver.clock = ClientClock{-5000000, -100};
  sc.receiver.up = ReferencePath();
  sc.receiver.down = ReferencePath();
  sc.senders.push_back(HonestSender(duration_us, 1));
  return sc;
}
}  // namespace

Scenario Reference() { return Base("reference 30+-10 ms each way", 150000000); }

Scenario Loopback() {
  Scenario sc = Base("loopback", 40000000);
  sc.receiver.up = sc.receiver.down = LoopbackPath();
  sc.senders[0].up = sc.senders[0].down = LoopbackPath();
  return sc;
}

Scenario GaussianJitter() {
  Scenario sc = Base("gaussian 30+-5 ms each way (symmetric)", 60000000);
  PathProfile p;
  p.floor_us = 0;
  p.gaussian = true;
  p.jitter_scale_us = 30000;
  p.gaussian_sd_us = 5000;
  sc.receiver.up = sc.receiver.down = p;
  sc.senders[0].up = sc.senders[0].down = p;
  return sc;
}

Scenario Lossy(double loss) {
  char name[64];
  std::snprintf(name, sizeof(name), "lossy %.1f%% per message, both legs", loss * 100);
  Scenario sc = Base(name, 60000000);
  sc.receiver.down.loss = loss;
  sc.receiver.up.loss = loss;
  sc.senders[0].up.loss = loss;
  sc.senders[0].down.loss = loss;
  return sc;
}

Scenario PacketLossFullRto(double loss) {
  char name[80];
  std::snprintf(name, sizeof(name), "packet loss %.1f%%, full RTO per loss, backoff, both legs",
                loss * 100);
  Scenario sc = Base(name, 60000000);
  for (PathProfile* p :
       {&sc.receiver.down, &sc.receiver.up, &sc.senders[0].up, &sc.senders[0].down}) {
    p->loss = loss;
    p->rto_us = 260000;
    p->lossy_retransmissions = true;
  }
  return sc;
}

Scenario PacketLoss(double loss) {
  char name[80];
  std::snprintf(name, sizeof(name), "packet loss %.1f%%, Linux TCP recovery, both legs",
                loss * 100);
  Scenario sc = Base(name, 60000000);
  for (PathProfile* p :
       {&sc.receiver.down, &sc.receiver.up, &sc.senders[0].up, &sc.senders[0].down}) {
    p->loss = loss;
    p->recovery = LossRecovery::kTcp;
  }
  return sc;
}

Scenario StepChanges() {
  Scenario sc = Base("step +40 ms at 20 s, -40 ms at 40 s", 60000000);
  sc.senders[0].up.steps = {{20000000, 40000}, {40000000, 0}};
  // The second entry must undo the first from 40 s on.
  sc.senders[0].up.steps = {{20000000, 40000}, {40000000, -40000}};
  return sc;
}

Scenario Asymmetric() {
  Scenario sc = Base("asymmetric 45 ms up / 10 ms down floors", 60000000);
  for (PathProfile* p : {&sc.receiver.up, &sc.senders[0].up}) p->floor_us = 45000;
  for (PathProfile* p : {&sc.receiver.down, &sc.senders[0].down}) p->floor_us = 10000;
  return sc;
}

Scenario KilledMidChord(bool synthetic_note_offs) {
  Scenario sc = Base(synthetic_note_offs ? "sender killed mid-chord, pedal down"
                                         : "sender killed, no synthetic note-offs (watchdog)",
                     30000000);
  SenderSpec& s = sc.senders[0];
  s.stream = MixedPiece(2000000, 20000000, 3);
  s.stream = Merge(s.stream, {{22500000, {MakeControlChange(0, kCcSustain, 127)}},
                              {22600000, {MakeNoteOn(0, 60, 90), MakeNoteOn(0, 64, 90)}},
                              {22610000, {MakeNoteOn(0, 67, 90)}},
                              {22700000, {MakeNoteOff(0, 64)}}});
  s.kill_us = 22650000;
  sc.synthetic_note_offs = synthetic_note_offs;
  sc.receiver.options.stuck_note_timeout_us = 5000000;
  return sc;
}

Scenario ReceiverDrops() {
  Scenario sc = Base("receiver connection drops at 12.3 s", 20000000);
  sc.senders[0].stream = Merge(PedalHolds(2000000, 18000000), Chords(2100000, 17000000));
  sc.receiver_drop_us = 12300000;
  return sc;
}

Scenario WithAbuser(Abuse a) {
  static const char* kNames[] = {"none", "stamps +10 s", "stamps -10 s", "60 s spans",
                                 "flood 500 batches/s"};
  Scenario sc = Base(std::string("abuser: ") + kNames[static_cast<int>(a)], 40000000);
  SenderSpec abuser = HonestSender(40000000, 2);
  abuser.clock = ClientClock{777000000, -60};
  abuser.abuse = a;
  abuser.stream = MixedPiece(2000000, 38000000, 2);
  sc.senders.push_back(abuser);
  return sc;
}

Scenario Unsynced() {
  Scenario sc = Base("unsynced sender (restamped on arrival)", 40000000);
  sc.senders[0].sync = false;
  return sc;
}

Scenario WithLinks(Scenario sc, int links) {
  sc.links = links;
  sc.name += ", " + std::to_string(links) + " linked connections";
  return sc;
}

std::vector<Scenario> All() {
  return {Reference(),
          Loopback(),
          GaussianJitter(),
          Asymmetric(),
          StepChanges(),
          Lossy(0.005),
          Lossy(0.02),
          PacketLossFullRto(0.01),
          PacketLoss(0.01),
          WithLinks(Lossy(0.005), 2),
          WithLinks(PacketLossFullRto(0.01), 2),
          WithLinks(PacketLoss(0.01), 2),
          Unsynced(),
          KilledMidChord(true),
          KilledMidChord(false),
          ReceiverDrops(),
          WithAbuser(Abuse::kFutureStamps),
          WithAbuser(Abuse::kPastStamps),
          WithAbuser(Abuse::kLongSpans),
          WithAbuser(Abuse::kFlood)};
}

}  // namespace scenarios

}  // namespace tutti::midi::sim
