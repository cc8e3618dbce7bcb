// ServerConfig: every limit and tunable of the server in one place, with the reason for
// each default beside it. Owned by tutti::server::Server; copied into each shard at start
// and read-only afterwards, so it is safe to read from any thread.
#ifndef TUTTI_SERVER_CONFIG_H_
#define TUTTI_SERVER_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/history_limits.h"
#include "server/music_limits.h"

namespace tutti::server {

struct ServerConfig {
  // --- listening -----------------------------------------------------------------
  std::string listen_address = "127.0.0.1";  // loopback unless the operator opts in
  uint16_t port = 8080;                      // 0 = ephemeral (tests)
  // The operator's HTTP port (/metrics, /healthz, /readyz, /status; server/admin_listener.h),
  // started by tutti-server's main, never on the public port; "" = none.
  std::string admin_listen = "127.0.0.1:9090";
  int shards = 0;                    // 0 = one per core
  std::string key_dir = "var/keys";  // read at start; generated there only in dev mode
  // Development mode (--dev): a missing key set is generated in key_dir and a connect URL
  // printed. Off in production, where missing keys stop the start (server/startup_keys.h).
  bool dev_mode = false;
  std::string data_dir = "var";  // SQLite store lives here
  // --database: a postgres:// URL or a SQLite file; empty = <data_dir>/tutti.db
  std::string store_path;
  bool allow_guests = true;
  // --- rooms across nodes (docs/SCALE-OUT.md) ----------------------------------------
  // Redis primaries "HOST:PORT[,HOST:PORT...]"; empty = one node on the in-process engine.
  // Read at start only: a room's primary is a hash over this list, so changing it moves
  // rooms, which a running node cannot do without dropping them (restart to change it).
  std::string redis;
  // How long a node's online users (and its members' presence in rooms) stay visible to
  // the other nodes without a refresh (refreshed every third of it): a killed node's users
  // go offline elsewhere within this bound. 15 s: five missed refreshes at most cost that.
  int redis_presence_ttl_ms = 15000;
  // The browser client's files (docs/WEB.md), read once at start. Relative to the
  // working directory, which tools/dev.sh sets to the repository root, where the web
  // build writes its bundle. Empty, missing or unreadable: nothing is served but
  // /healthz and /api/server-info; the WebSocket API runs either way.
  std::string web_root = "web/dist";

  // --- transport limits (set at the door) ---------------------------------------
  // A Tutti frame is a few hundred bytes; 64 KiB leaves room for a room snapshot
  // request while making a memory attack by oversize frames pointless.
  size_t max_frame_bytes = 64 * 1024;
  // The sealed payload is ~300 bytes of base64; anything near this size is an attack.
  size_t max_resource_bytes = 2048;
  int handshake_timeout_ms = 5000;  // slowloris guard for the HTTP upgrade
  int close_timeout_ms = 1000;      // a slow consumer must not hold its socket for long
  int idle_timeout_ms = 60000;      // clients heartbeat every 20-30 s (seed 003: 30 s)
  int heartbeat_interval_ms = 20000;
  int socket_send_buffer = 0;  // 0 = kernel default; tests shrink it
  // permessage-deflate (docs/PROTOCOL.md, "Compression"): offered to clients that ask;
  // frames of at least compression_threshold payload bytes (MIDI never) go to them
  // compressed once and shared. Below ~1 KiB deflate saves a few hundred bytes at most
  // and costs a zlib pass per frame.
  bool compression = true;
  size_t compression_threshold = 1024;

  // --- the door: connection ceilings and per-address limits (docs/OPERATIONS.md) ----
  // Open TCP connections (handshakes included) across all shards. Past it a connection is
  // refused with 503 as soon as it is accepted. 0 = derived at start from RLIMIT_NOFILE
  // minus fd_reserve, so that clients leave the server descriptors of its own.
  size_t max_connections = 0;
  // Descriptors kept back from clients: the store (database, WAL, shared memory), key
  // files, each shard's epoll and wake-up descriptors, the spare descriptor each
  // acceptor holds to answer 503 when the process is out of them, and headroom.
  int fd_reserve = 64;
  // Concurrent connections from one IPv4 address or IPv6 /64; 0 = no cap. A classroom
  // or an office behind one NAT address is tens of people with a tab or two each; one
  // address holding hundreds is a script.
  int max_connections_per_address = 256;
  // Guests cost nothing to mint (the seal key is public), so an address gets fewer.
  int max_guests_per_address = 64;
  // Upgrade attempts per address (token bucket, checked before the sealed box is
  // opened, ~290 us of CPU each). A household reconnecting after a restart is a burst
  // of a few dozen; a steady 5/s is a reconnect loop or a script. 0 = no limit.
  double upgrades_per_second_per_address = 5.0;
  double upgrade_burst_per_address = 60.0;
  // Networks exempt from the per-address limits (load generators, a gateway that
  // fronts many users), comma-separated CIDRs. The global ceiling still applies.
  std::string exempt_networks;
  // Reverse proxies whose word on the client's address is taken (comma-separated CIDRs;
  // docs/OPERATIONS.md, "Behind a reverse proxy"), and the one header they say it in:
  // "x-forwarded-for" or "forwarded" (RFC 7239). From any other peer the header is
  // ignored. Empty: every client is its TCP peer.
  std::string trusted_proxies;
  std::string proxy_header = "x-forwarded-for";
  // Control frames (ping, pong) a client may send: a keep-alive needs one every few
  // seconds; a flood costs the server a pong each. Past the burst: close 1008.
  double control_frames_per_second = 5.0;
  double control_frame_burst = 20.0;

  // --- outbound budget per connection (bytes queued in the server, not the kernel) --
  // Past the soft limit droppable traffic (avatar moves) is dropped; past the hard
  // limit the connection is closed (4001) because MIDI and chat are never dropped.
  size_t outbound_soft_limit = 256 * 1024;
  size_t outbound_hard_limit = 1024 * 1024;

  // --- per-client rate limits (token buckets, server time) ----------------------
  double chat_per_second = 2.0;  // a fast typist; floods beyond this are spam
  double chat_burst = 6.0;
  // Note quota in the spirit of Multiplayer Piano's: generous for a pianist playing
  // fast passages with both hands, useless for a flooding bot.
  double notes_per_second = 400.0;
  double note_burst = 1200.0;
  // Controllers (CC, program change, pitch bend, channel and poly pressure) have their own
  // bucket: a pitch wheel and aftertouch moved together stream a few hundred messages a
  // second at full resolution, and a DIN MIDI cable carries at most ~1,000. 500/s with a
  // two-second burst keeps real wheels whole; charged against the note quota instead, a
  // flooder could send 1,600 CCs/s.
  double controllers_per_second = 500.0;
  double controller_burst = 1000.0;
  double joins_per_second = 1.0;
  double join_burst = 5.0;
  // Leaves: each one tells the whole room (RoomLeft, UserLeftRoom, synthetic releases), so a
  // leave/join loop is a room-wide flood. Joins are limited above; leaves get the same pace,
  // with a little more burst so a client can always leave the room it just failed to use.
  double leaves_per_second = 1.0;
  double leave_burst = 6.0;
  double avatar_per_second = 20.0;  // cursor moves; droppable anyway
  double avatar_burst = 40.0;
  double requests_per_second = 50.0;  // everything else (room list, status, ...)
  double request_burst = 100.0;
  // Malformed frames tolerated before the connection is closed (1008).
  int malformed_strikes = 5;
  // Failed upgrades from one address (IPv6: per /64) before a short automatic ban:
  // enough for a user mistyping, far too few for guessing or a flood of forged blobs.
  int auth_failure_limit = 20;
  int64_t auth_failure_window_ms = 60'000;
  int64_t auth_failure_ban_ms = 5 * 60'000;

  // --- rooms ---------------------------------------------------------------------
  size_t max_rooms = 10000;
  int max_users_per_room = 64;  // settings may lower it, never raise it
  int lobby_max_users = 32;
  size_t chat_history = 50;      // messages kept per room and sent to joiners
  size_t max_chat_length = 512;  // bytes of UTF-8 after cleaning
  size_t max_room_name_length = 64;
  size_t max_password_length = 128;
  size_t max_request_id_length = 64;
  size_t max_midi_messages = 64;      // channel messages per MidiMessage batch
  int64_t max_midi_span_us = 500000;  // a batch may spread its events over 0.5 s at most
  int held_notes_snapshot_ms = 1000;
  // Music (docs/PROTOCOL.md, "Music in a room"): performer lists, the shared tempo, link quality.
  size_t max_performers = 64;  // a room's performer list is shown in RoomInfo
  TempoLimits tempo;
  QualityThresholds quality;
  // Room event streams (docs/PROTOCOL.md §12): what each room keeps for resuming clients.
  HistoryLimits room_history;
  // How long a member whose connection dropped stays in its room as `reconnecting` (and its
  // resume token stays valid) before it leaves for good. Wi-Fi roams and phones switching
  // networks come back within seconds; 2 minutes also covers a laptop lid closed for a
  // moment, and matches room_history's age bound, so a resume inside the grace never finds
  // its events aged out. 0 = no grace: a drop is a leave at once and the Welcome carries
  // no resume token.
  int resume_grace_ms = 120000;

  // --- tokens on open sessions -------------------------------------------------
  // Clock skew tolerated on a token's exp and nbf, at the upgrade and on a refresh. A
  // session is closed (4004) at exp + this unless it was given a fresh token.
  int64_t token_leeway_s = 30;
  // TokenExpiring goes out this long before that close, time enough for a client to
  // mint or fetch a token and send UPDATE_PERMISSIONS.
  int64_t token_expiry_notice_s = 60;
  // --- live room list --------------------------------------------------------------
  // Deltas go out at most this often (coalesced in between), to every subscriber.
  int room_list_delta_ms = 250;
  size_t room_list_limit = 500;  // rooms in a list (the busiest), as GetRoomList
  // --- maintenance and restarts (server/maintenance.h) -----------------------------
  // SIGTERM's drain: clients hear the time left, then are closed with 1001. A supervisor's
  // stop timeout must exceed it (contrib/systemd/tutti.service: TimeoutStopSec). 0 = close
  // at once (tests, and supervisors that restart instantly).
  int drain_grace_s = 10;
  // The reconnect hint of a drain's notice and close: long enough for a restart to bind
  // again, short enough that no one gives up.
  int drain_reconnect_after_ms = 5000;
  // --- the server's log (server/server_log.h, docs/OPERATIONS.md "Logs") ---------
  std::string log_format = "kv";  // "kv" (key=value) or "json", one line each, on stderr
  // Lines below this level ("info", "warn", "error") are not written to stderr; live
  // subscribers pick their own level. SIGHUP reloads it.
  std::string log_level = "info";
  // Live log subscribers (staff, SUBSCRIBE_LOG): lines per second each may get, with a
  // burst for a busy moment; past it lines are dropped for that subscriber and counted.
  double log_stream_lines_per_second = 20;
  double log_stream_burst = 100;
  size_t max_log_subscribers = 16;
  // --- audit log -----------------------------------------------------------------
  // Moderation records older than this are deleted, at start-up and every hour after,
  // so the log cannot grow without bound. 0 keeps everything.
  int audit_retention_days = 365;
  // --- recordings (docs/PROTOCOL.md §14) ------------------------------------------
  // Where room recordings are written: <dir>/<hex of room id>/<recording id>.mid. Empty =
  // <data_dir>/recordings; "-" turns recording off (RecordingCommand: UNSUPPORTED).
  std::string recordings_dir;
  // A recording's events, in bytes of the file; reaching it stops the recording ("size
  // limit"). The writer keeps a running recording in memory and rewrites its whole file
  // at each flush, so this bounds both; 16 MiB is over two million events, hours of a
  // busy room.
  size_t max_recording_bytes = 16 * 1024 * 1024;
  // A recording stops after this long ("duration limit"): one forgotten in an empty-
  // sounding room must not fill the disk over days. Four hours is a long session.
  int64_t max_recording_duration_ms = 4LL * 3600 * 1000;
  // Recordings running at once, server-wide: the writer's memory is at most this times
  // max_recording_bytes. Past it RecordingCommand START is LIMIT_REACHED.
  int max_concurrent_recordings = 8;
  // A running recording's file is rewritten (when it changed) at most this often: what a
  // crash can lose, against the cost of rewriting the file.
  int recording_flush_ms = 1000;
  // Events waiting for the writer thread, server-wide; past it events are dropped and
  // counted (RecordingStatus.dropped) so that a shard never waits for the disk.
  size_t recording_queue_events = 65536;
  // A RecordingChunk's data: well below max_frame_bytes, leaving room for the envelope.
  uint32_t recording_chunk_bytes = 48 * 1024;
  // Files kept per room: starting one more deletes the oldest finished ones. 0 = keep all.
  int max_recordings_per_room = 20;
};

}  // namespace tutti::server

#endif  // TUTTI_SERVER_CONFIG_H_
