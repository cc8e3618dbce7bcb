// HistoryLimits: how much of each room's recent past the server keeps for resuming
// clients (docs/PROTOCOL.md §12). A plain value in ServerConfig, read-only after start;
// the broker engines trim to it. Header-only, no thread affinity; owned by ServerConfig.
#ifndef TUTTI_SERVER_HISTORY_LIMITS_H_
#define TUTTI_SERVER_HISTORY_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace tutti::server {

// How much of a room's recent past is kept for resuming clients. All three bounds apply;
// the first one reached trims the oldest events.
struct HistoryLimits {
  // A busy room relays ~100 MIDI batches a second; 4,096 events cover the longest drop
  // the resume window is meant for (a few seconds of a Wi-Fi roam or a phone switching
  // networks) with margin, while a flood can hold no more than this many Frames.
  size_t max_events = 4096;
  // Memory per room, whatever the event sizes: 4,096 typical MIDI frames (~60 bytes)
  // fit, so this bound bites only on floods of large events (chat lines, settings); with
  // the 10,000-room ceiling the worst case an operator provisions is 2.5 GiB.
  size_t max_bytes = 256 * 1024;
  // Older events are of no use: a client gone longer than the resume grace period gets a
  // snapshot anyway. The token lives 2 minutes; history keeps as long.
  int64_t max_age_us = 120'000'000;
  // Chat lines kept per stream for joiners (Broker::ChatLines), apart from the events
  // above: ServerConfig::chat_history, set where the engines are made.
  size_t chat_lines = 50;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_HISTORY_LIMITS_H_
