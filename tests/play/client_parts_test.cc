// tutti-play's pure parts: commands, the room view built from server messages, the per-player
// channel routing, sign-in documents and tokens, remembered settings.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "crypto/base64url.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "gtest/gtest.h"
#include "midi/smf_reader.h"
#include "tests/play/play_process.h"
#include "tools/play/commands.h"
#include "tools/play/recorder.h"
#include "tools/play/room_view.h"
#include "tools/play/settings.h"
#include "tools/play/sign_in.h"
#include "tools/play/sound.h"

namespace tutti::play {
namespace {

TEST(CommandsTest, ChatAndClientCommands) {
  EXPECT_EQ(ParseCommand("  ").kind, Command::Kind::kNothing);
  Command c = ParseCommand("hello there ");
  EXPECT_EQ(c.kind, Command::Kind::kChat);
  EXPECT_EQ(c.text, "hello there");
  c = ParseCommand("/join  Jam Session");
  EXPECT_EQ(c.kind, Command::Kind::kJoin);
  EXPECT_EQ(c.arg, "Jam Session");
  EXPECT_EQ(ParseCommand("/join").kind, Command::Kind::kInvalid);
  c = ParseCommand("/device 2");
  EXPECT_EQ(c.kind, Command::Kind::kDevice);
  EXPECT_EQ(c.arg, "2");
  c = ParseCommand("/program Anna Lee 40");
  EXPECT_EQ(c.kind, Command::Kind::kProgram);
  EXPECT_EQ(c.arg, "Anna Lee");
  EXPECT_EQ(c.value, 40);
  EXPECT_EQ(ParseCommand("/volume me 128").kind, Command::Kind::kInvalid);
  EXPECT_EQ(ParseCommand("/volume me").kind, Command::Kind::kInvalid);
  EXPECT_EQ(ParseCommand("/volume 99").kind, Command::Kind::kInvalid);
  EXPECT_EQ(ParseCommand("/volume me -1").kind, Command::Kind::kInvalid);
  EXPECT_EQ(ParseCommand("/quit").kind, Command::Kind::kQuit);
  // The server's own slash commands go to it as chat.
  c = ParseCommand("/kick Bob");
  EXPECT_EQ(c.kind, Command::Kind::kChat);
  EXPECT_EQ(c.text, "/kick Bob");
}

proto::UserInfo User(const std::string& name, uint64_t sid) {
  proto::UserInfo u;
  u.set_username(name);
  u.set_user_id("id-" + name);
  u.set_session_id(sid);
  return u;
}

TEST(RoomViewTest, JoinChatLeaveAndTheRoomList) {
  RoomView v;
  proto::ClientMessage m;
  *m.mutable_welcome()->mutable_user() = User("Ann", 7);
  EXPECT_TRUE(v.OnMessage(m));
  EXPECT_EQ(v.me(), "Ann");
  m.Clear();
  auto* j = m.mutable_room_joined_response();
  j->set_success(true);
  j->mutable_room_info()->set_room_name("Jam");
  j->mutable_room_info()->set_room_id("jam");
  *j->add_current_users() = User("Ann", 7);
  *j->add_current_users() = User("Bob", 9);
  auto* h = j->add_chat_history();
  h->set_username("Bob");
  h->set_message("earlier");
  v.OnMessage(m);
  EXPECT_EQ(v.room(), "Jam");
  ASSERT_EQ(v.players().size(), 2u);
  EXPECT_TRUE(v.players().at(7).you);
  EXPECT_EQ(v.FindPlayer("bob"), 9u);
  EXPECT_EQ(v.chat().front().kind, ChatLine::Kind::kNotice);
  bool history = false;
  for (const auto& l : v.chat())
    history = history || (l.kind == ChatLine::Kind::kHistory && l.text == "earlier");
  EXPECT_TRUE(history);
  m.Clear();
  m.mutable_room_chat_message()->set_username("Bob");
  m.mutable_room_chat_message()->set_message("hi");
  v.OnMessage(m);
  EXPECT_EQ(v.chat().back().who, "Bob");
  EXPECT_EQ(v.chat().back().text, "hi");
  m.Clear();
  m.mutable_user_left_room()->set_session_id(9);
  v.OnMessage(m);
  EXPECT_EQ(v.players().size(), 1u);
  EXPECT_EQ(v.chat().back().text, "Bob left");
  // A RoomLeft for a room we already moved out of does not empty the current one.
  m.Clear();
  m.mutable_room_left()->set_room_id("lobby");
  v.OnMessage(m);
  EXPECT_EQ(v.room(), "Jam");
  m.Clear();
  m.mutable_room_left()->set_room_id("jam");
  m.mutable_room_left()->set_reason("kicked");
  v.OnMessage(m);
  EXPECT_EQ(v.room(), "");
  EXPECT_EQ(v.chat().back().text, "you left Jam (kicked)");
  m.Clear();
  auto* r = m.mutable_room_list()->add_rooms();
  r->set_room_id("a");
  r->set_room_name("A");
  r->set_user_count(3);
  v.OnMessage(m);
  m.Clear();
  m.mutable_room_list_delta()->add_removed("a");
  auto* up = m.mutable_room_list_delta()->add_upserted();
  up->set_room_id("b");
  up->set_room_name("B");
  v.OnMessage(m);
  ASSERT_EQ(v.rooms().size(), 1u);
  EXPECT_EQ(v.rooms()[0].name, "B");
}

// A player whose connection drops shows as reconnecting, then comes back under a new
// session id; our own resume's snapshot rebuilds the player list without repeating chat.
TEST(RoomViewTest, ReconnectingPlayersAndOurOwnResume) {
  RoomView v;
  proto::ClientMessage m;
  *m.mutable_welcome()->mutable_user() = User("Ann", 7);
  v.OnMessage(m);
  m.Clear();
  auto* j = m.mutable_room_joined_response();
  j->set_success(true);
  j->mutable_room_info()->set_room_name("Jam");
  j->mutable_room_info()->set_room_id("jam");
  *j->add_current_users() = User("Ann", 7);
  *j->add_current_users() = User("Bob", 9);
  v.OnMessage(m);
  m.Clear();
  m.mutable_member_connection()->set_session_id(9);
  m.mutable_member_connection()->set_reconnecting(true);
  v.OnMessage(m);
  ASSERT_EQ(v.players().count(9), 1u);
  EXPECT_TRUE(v.players().at(9).reconnecting);
  EXPECT_EQ(v.chat().back().text, "Bob lost the connection");
  m.Clear();
  m.mutable_member_connection()->set_session_id(12);
  m.mutable_member_connection()->set_previous_session_id(9);
  v.OnMessage(m);
  EXPECT_EQ(v.players().count(9), 0u);
  ASSERT_EQ(v.players().count(12), 1u);
  EXPECT_FALSE(v.players().at(12).reconnecting);
  EXPECT_EQ(v.FindPlayer("bob"), 12u);
  EXPECT_EQ(v.chat().back().text, "Bob is back");
  // Our own drop and an unrecoverable resume: the snapshot is the room now.
  v.OnDisconnected();
  EXPECT_EQ(v.room(), "");
  m.Clear();
  auto* r = m.mutable_resume_result();
  r->set_outcome(proto::RESUME_UNRECOVERABLE);
  r->set_room_id("jam");
  r->set_reason("history trimmed");
  r->mutable_snapshot()->mutable_room_info()->set_room_name("Jam");
  r->mutable_snapshot()->mutable_room_info()->set_room_id("jam");
  *r->mutable_snapshot()->add_users() = User("Ann", 7);
  *r->mutable_snapshot()->add_users() = User("Bob", 12);
  r->mutable_snapshot()->add_chat_history()->set_message("not again");
  v.OnMessage(m);
  EXPECT_EQ(v.room(), "Jam");
  EXPECT_EQ(v.players().size(), 2u);
  EXPECT_EQ(v.chat().back().text, "resumed in Jam (history trimmed)");
  for (const auto& l : v.chat()) EXPECT_NE(l.text, "not again");
}

TEST(RoomViewTest, ChatIsBounded) {
  RoomView v;
  for (size_t i = 0; i < RoomView::kMaxChat + 10; ++i) v.Notice(std::to_string(i));
  EXPECT_EQ(v.chat().size(), RoomView::kMaxChat);
  EXPECT_EQ(v.chat_total(), RoomView::kMaxChat + 10);
  EXPECT_EQ(v.chat().back().text, std::to_string(RoomView::kMaxChat + 9));
}

TEST(SoundTest, EachPlayerHasAChannelProgramAndVolume) {
  std::vector<midi::ChannelMessage> out;
  Sound s([&](const midi::ChannelMessage& m) { out.push_back(m); });
  s.Play(Sound::kLocal, {0x90, 60, 100, 3});
  ASSERT_EQ(s.ChannelOf(Sound::kLocal), 0);
  EXPECT_EQ(out.back().status, 0x90);
  s.Play(42, {0x90, 62, 100, 3});  // a remote player on channel 1 of their keyboard
  ASSERT_EQ(s.ChannelOf(42), 1);
  EXPECT_EQ(out.back().status, 0x91);
  s.Play(43, {0x93, 64, 100, 3});
  EXPECT_EQ(s.ChannelOf(43), 2);
  EXPECT_EQ(out.back().status, 0x92);
  // Drums stay on the drum channel.
  s.Play(43, {0x99, 36, 100, 3});
  EXPECT_EQ(out.back().status, 0x99);
  out.clear();
  s.SetProgram(42, 40);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, 0xC1);
  EXPECT_EQ(out[0].data1, 40);
  s.SetVolume(43, 64);
  EXPECT_EQ(out.back().status, 0xB2);
  EXPECT_EQ(out.back().data1, 7);
  EXPECT_EQ(out.back().data2, 64);
  // The channel order skips the drum channel and wraps onto the last one.
  for (uint64_t p = 100; p < 120; ++p) s.Play(p, {0x90, 60, 1, 3});
  for (uint64_t p = 100; p < 120; ++p) EXPECT_NE(s.ChannelOf(p), 9);
  out.clear();
  s.ReleaseAll();
  EXPECT_EQ(out.size(), 32u);  // pedal up and all notes off on 16 channels
}

TEST(SoundTest, ForgettingAPlayerReleasesTheirChannel) {
  std::vector<midi::ChannelMessage> out;
  Sound s([&](const midi::ChannelMessage& m) { out.push_back(m); });
  s.Play(5, {0x90, 60, 100, 3});
  out.clear();
  s.Forget(5);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].status, 0xB1);
  EXPECT_EQ(out[1].data1, 123);
  EXPECT_FALSE(s.ChannelOf(5).has_value());
  EXPECT_TRUE(s.Players().empty());
  // The freed channel goes to the next player.
  s.Play(6, {0x90, 60, 100, 3});
  EXPECT_EQ(s.ChannelOf(6), 1);
  EXPECT_EQ(s.Players(), std::vector<uint64_t>{6});
  // Settings go with the player: a long session keeps none for players gone.
  s.SetVolume(6, 40);
  s.SetProgram(8, 12);  // chosen before 8 was heard: no channel yet, settings kept
  EXPECT_EQ(s.Players(), (std::vector<uint64_t>{6, 8}));
  s.Forget(6);
  s.Forget(8);
  EXPECT_TRUE(s.Players().empty());
  EXPECT_EQ(s.SettingsOf(6).volume, 100);
  EXPECT_EQ(s.SettingsOf(8).program, 0);
}

TEST(SignInTest, ServerInfoDocument) {
  crypto::EnsureSodiumInitialized();
  const std::string key(32, '\x07');
  const std::string doc = "{\"version\":\"1\",\"guests_allowed\":false,\"seal_public_key\":\"" +
                          crypto::Base64UrlEncode(key) + "\"}";
  auto info = ParseServerInfo(doc);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->guests_allowed);
  EXPECT_EQ(info->seal_public[0], 7);
  EXPECT_FALSE(ParseServerInfo("{}").ok());
  EXPECT_FALSE(ParseServerInfo("<html>").ok());
  EXPECT_FALSE(ParseServerInfo("{\"seal_public_key\":\"AAAA\"}").ok());
}

TEST(SignInTest, TokenFromFileOrEnvironmentAndItsIdentity) {
  crypto::EnsureSodiumInitialized();
  auto issuer = crypto::GenerateIssuerKeys();
  crypto::TokenClaims claims;
  claims.sub = "user-17";
  claims.name = "Ann";
  claims.exp = 4000000000;
  const std::string token = crypto::MintToken(claims, issuer);
  char path[] = "/tmp/tutti-play-token-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = token + "\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto loaded = LoadToken(path);
  std::remove(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, token);
  auto id = ReadTokenIdentity(*loaded);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->user_id, "user-17");
  EXPECT_EQ(id->name, "Ann");
  EXPECT_FALSE(LoadToken("/nonexistent/token").ok());
  setenv("TUTTI_TOKEN", " abc.def.ghi ", 1);
  EXPECT_EQ(*LoadToken(""), "abc.def.ghi");
  unsetenv("TUTTI_TOKEN");
  EXPECT_EQ(*LoadToken(""), "");
  EXPECT_FALSE(ReadTokenIdentity("not-a-token").ok());
  EXPECT_FALSE(ReadTokenIdentity("a.!!!.c").ok());
}

TEST(SettingsTest, RememberedAcrossRuns) {
  char dir[] = "/tmp/tutti-play-settings-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string sub = std::string(dir) + "/a/b";
  {
    Settings s(sub);
    EXPECT_EQ(s.Get("input"), "");
    s.Set("input", "USB Keyboard:USB Keyboard MIDI 1");
    s.Set("name", "two\nlines");
  }
  Settings again(sub);
  EXPECT_EQ(again.Get("input"), "USB Keyboard:USB Keyboard MIDI 1");
  EXPECT_EQ(again.Get("name"), "twolines");
  Settings none("");
  none.Set("x", "y");  // remembers nothing, writes nothing
  EXPECT_EQ(none.path(), "");
  std::remove((sub + "/play.conf").c_str());
  rmdir(sub.c_str());
  rmdir((std::string(dir) + "/a").c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace tutti::play

namespace tutti::play {
namespace {

TEST(RecorderTest, OneTrackPerPlayerWithNamesAndNotesParsesBack) {
  Recorder r;
  EXPECT_FALSE(r.recording());
  r.Add(1, "Ann", 0, {0x90, 60, 100, 3});  // not recording: ignored
  r.Start(1000000);
  r.Add(Sound::kLocal, "Ann", 1000000, {0x90, 60, 100, 3});
  r.Add(77, "Bob", 1250000, {0x91, 64, 90, 3});
  r.Add(Sound::kLocal, "Ann", 1500000, {0x80, 60, 0, 3});
  r.Add(77, "Bob", 1750000, {0xC1, 40, 0, 2});
  r.Add(77, "Bob", 2000000, {0x81, 64, 0, 3});
  EXPECT_EQ(r.events(), 5u);
  auto smf = midi::ReadSmf(r.Smf());
  ASSERT_TRUE(smf.ok()) << smf.status();
  EXPECT_EQ(smf->format, 1);
  EXPECT_EQ(smf->division, Recorder::kTicksPerQuarter);
  ASSERT_EQ(smf->tracks.size(), 3u);  // tempo, Ann, Bob
  EXPECT_EQ(smf->tracks[1].name, "Ann");
  EXPECT_EQ(smf->tracks[2].name, "Bob");
  for (const auto& t : smf->tracks) EXPECT_TRUE(t.ended);
  ASSERT_EQ(smf->tracks[1].events.size(), 2u);
  EXPECT_EQ(smf->tracks[1].events[0].status, 0x90);
  EXPECT_EQ(smf->tracks[1].events[0].tick, 0);
  EXPECT_EQ(smf->tracks[1].events[1].status, 0x80);
  // Half a second at 120 bpm is a quarter.
  EXPECT_EQ(smf->tracks[1].events[1].tick, Recorder::kTicksPerQuarter);
  ASSERT_EQ(smf->tracks[2].events.size(), 3u);
  EXPECT_EQ(smf->tracks[2].events[1].status, 0xC1);
  EXPECT_EQ(smf->tracks[2].events[1].data1, 40);
  EXPECT_EQ(smf->tracks[2].events[2].tick, 2 * Recorder::kTicksPerQuarter);

  char path[] = "/tmp/tutti-play-rec-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(r.StopAndSave(path).ok());
  EXPECT_FALSE(r.recording());
  auto saved = midi::ReadSmf(testing::ReadFile(path));
  std::remove(path);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->tracks.size(), 3u);
  EXPECT_FALSE(r.StopAndSave("/nonexistent-dir/x.mid").ok());
}

}  // namespace
}  // namespace tutti::play
