// The configuration file reader (server/config_file.h): what it takes, what it refuses (each
// refusal names its line), and that --print-config's text reads back to the same values.
#include "server/config_file.h"

#include <string>

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

absl::Status Apply(const std::string& text, ServerConfig* c) { return ApplyConfigText(text, c); }

TEST(ConfigFile, SetsTheKeysItNamesAndKeepsTheRest) {
  ServerConfig c;
  ASSERT_TRUE(Apply("# a comment\n"
                    "\n"
                    "listen_address = \"0.0.0.0\"\n"
                    "port = 8_081   # trailing comment\n"
                    "allow_guests = false\r\n"
                    "chat_per_second = 2.5\n"
                    "notes_per_second = 300\n"
                    "web_root = 'C:\\no\\escapes'\n"
                    "exempt_networks = \"10.0.0.0/8,\\u0031\\u0030.1.0.0/16\"\n"
                    "room_history.max_events = 2048\n"
                    "max_chat_length = 100\n",
                    &c)
                  .ok());
  EXPECT_EQ(c.listen_address, "0.0.0.0");
  EXPECT_EQ(c.port, 8081);
  EXPECT_FALSE(c.allow_guests);
  EXPECT_DOUBLE_EQ(c.chat_per_second, 2.5);
  EXPECT_DOUBLE_EQ(c.notes_per_second, 300);
  EXPECT_EQ(c.web_root, "C:\\no\\escapes");
  EXPECT_EQ(c.exempt_networks, "10.0.0.0/8,10.1.0.0/16");
  EXPECT_EQ(c.room_history.max_events, 2048u);
  EXPECT_EQ(c.max_chat_length, 100u);
  EXPECT_EQ(c.max_rooms, ServerConfig().max_rooms);  // not named: the default stays
}

TEST(ConfigFile, RefusesWhatItDoesNotKnowNamingTheLine) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"max_room = 5\n", "line 1: unknown key 'max_room'"},
      {"port = 1\nport = 2\n", "line 2: 'port' is given twice"},
      {"[server]\n", "line 1: tables are not part"},
      {"port = \"8080\"\n", "'port' wants an integer"},
      {"port = 8080.5\n", "'port' wants an integer"},
      {"port = 70000\n", "'port' wants a number from 0 to 65535"},
      {"max_rooms = 0\n", "'max_rooms' wants a number from 1"},
      {"chat_burst = -1\n", "'chat_burst' wants a number from 0"},
      {"allow_guests = yes\n", "line 1: not a value: 'yes'"},
      {"allow_guests = 1\n", "'allow_guests' wants true or false"},
      {"web_root = web\n", "not a value"},
      {"web_root = \"open\n", "not closed"},
      {"web_root = \"a\\qb\"\n", "unknown escape"},
      {"web_root = \"\\uD800\"\n", "surrogate"},
      {"max_rooms = 007\n", "leading zero"},
      {"max_rooms = 1__0\n", "underscore"},
      {"max_rooms = 99999999999999999999\n", "out of range"},
      {"chat_burst = 1e999\n", "not a finite number"},
      {"chat_burst = nan\n", "not a value"},
      {"port = 1 2\n", "only a comment may follow"},
      {"port 1\n", "'=' is expected"},
      {"= 1\n", "a key is expected"},
      {"port = 1\rmax_rooms = 2\n", "control character"},
      {"web_root = \"\xff\"\n", "not UTF-8"},
  };
  for (const Case& k : cases) {
    ServerConfig c;
    absl::Status st = Apply(k.text, &c);
    EXPECT_FALSE(st.ok()) << k.text;
    EXPECT_NE(std::string(st.message()).find(k.says), std::string::npos)
        << k.text << " -> " << st.message();
    EXPECT_EQ(c.port, ServerConfig().port) << "a refused file changes nothing: " << k.text;
  }
}

TEST(ConfigFile, RedisKeysNeedARestart) {
  ServerConfig c;
  ASSERT_TRUE(
      Apply("redis = \"10.0.0.1:6379,10.0.0.2:6379\"\nredis_presence_ttl_ms = 4000\n", &c).ok());
  EXPECT_EQ(c.redis, "10.0.0.1:6379,10.0.0.2:6379");
  EXPECT_EQ(c.redis_presence_ttl_ms, 4000);
  // A room's primary is a hash over the list: a running node cannot take a new one.
  ServerConfig d = c;
  d.redis = "10.0.0.1:6379";
  d.redis_presence_ttl_ms = 5000;
  const ConfigChanges changes = DiffConfig(c, d);
  EXPECT_TRUE(changes.reloadable.empty());
  EXPECT_EQ(changes.restart_needed.size(), 2u);
  EXPECT_FALSE(Apply("redis_presence_ttl_ms = 299\n", &c).ok());
}

TEST(ConfigFile, RecordingKeysSetTheWritersLimitsAndNeedARestart) {
  ServerConfig c;
  ASSERT_TRUE(Apply("recordings_dir = \"-\"\n"
                    "max_recording_bytes = 1_048_576\n"
                    "max_recording_duration_ms = 600_000\n"
                    "recording_chunk_bytes = 16384\n"
                    "max_recordings_per_room = 0\n",
                    &c)
                  .ok());
  EXPECT_EQ(c.recordings_dir, "-");
  EXPECT_EQ(c.max_recording_bytes, 1048576u);
  EXPECT_EQ(c.max_recording_duration_ms, 600000);
  EXPECT_EQ(c.recording_chunk_bytes, 16384u);
  EXPECT_EQ(c.max_recordings_per_room, 0);
  // A chunk must fit a frame: past 1 MiB (or empty) the file is refused, naming the line.
  absl::Status st = Apply("\nrecording_chunk_bytes = 2_000_000\n", &c);
  EXPECT_NE(st.message().find("config line 2"), std::string_view::npos) << st;
  EXPECT_FALSE(Apply("recording_chunk_bytes = 0\n", &c).ok());
  EXPECT_EQ(c.recording_chunk_bytes, 16384u);  // a refused file changes nothing
  ServerConfig d = c;
  d.recording_flush_ms = 250;
  const ConfigChanges changes = DiffConfig(c, d);
  EXPECT_TRUE(changes.reloadable.empty());
  ASSERT_EQ(changes.restart_needed.size(), 1u);
  EXPECT_EQ(changes.restart_needed[0], "recording_flush_ms");
  EXPECT_NE(FormatConfig(c).find("recording_chunk_bytes = 16384\n"), std::string::npos);
}

TEST(ConfigFile, PrintedConfigurationReadsBackToTheSameValues) {
  ServerConfig c;
  c.listen_address = "say \"hi\"\\\n";
  c.chat_per_second = 0.1;
  c.notes_per_second = 5;
  c.max_connections = 123456;
  c.allow_guests = false;
  const std::string printed = FormatConfig(c);
  ServerConfig back;
  ASSERT_TRUE(Apply(printed, &back).ok()) << printed;
  EXPECT_EQ(FormatConfig(back), printed);
  EXPECT_EQ(back.listen_address, c.listen_address);
  EXPECT_DOUBLE_EQ(back.chat_per_second, 0.1);
  const ConfigChanges none = DiffConfig(c, back);
  EXPECT_TRUE(none.reloadable.empty() && none.restart_needed.empty());
  // Every field of ServerConfig has a key: one line each, and the printed file names
  // the nested history limits too.
  EXPECT_NE(printed.find("room_history.max_age_us = "), std::string::npos);
  EXPECT_NE(printed.find("max_chat_length = 512  # (reload)"), std::string::npos);
}

TEST(ConfigFile, DiffSplitsReloadableFromRestartNeeded) {
  ServerConfig a, b;
  b.max_chat_length = 10;
  b.idle_timeout_ms = 1;
  const ConfigChanges d = DiffConfig(a, b);
  EXPECT_EQ(d.reloadable, std::vector<std::string>{"max_chat_length"});
  EXPECT_EQ(d.restart_needed, std::vector<std::string>{"idle_timeout_ms"});
  ServerConfig c = a;
  CopyReloadable(b, &c);
  EXPECT_EQ(c.max_chat_length, 10u);
  EXPECT_EQ(c.idle_timeout_ms, a.idle_timeout_ms);
}

}  // namespace
}  // namespace tutti::server
