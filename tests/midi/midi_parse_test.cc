#include "midi/midi_parse.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::midi {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

TEST(ParseChannelMessagesTest, ParsesEveryChannelKind) {
  std::vector<ChannelMessage> out;
  const std::string data = Bytes(
      {0x80, 60, 0, 0x91, 61, 100, 0xA2, 62, 5, 0xB3, 64, 127, 0xC4, 7, 0xD5, 9, 0xE6, 0x00, 0x40});
  ASSERT_TRUE(ParseChannelMessages(data, 16, &out).ok());
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].kind(), 0x80);
  EXPECT_EQ(out[1].channel(), 1);
  EXPECT_EQ(out[1].data2, 100);
  EXPECT_EQ(out[3].size, 3);
  EXPECT_EQ(out[4].size, 2);
  EXPECT_EQ(out[4].data1, 7);
  EXPECT_EQ(out[4].data2, 0);
  EXPECT_EQ(out[5].size, 2);
  EXPECT_EQ(out[6].kind(), 0xE0);
  EXPECT_EQ(out[6].data2, 0x40);
}

TEST(ParseChannelMessagesTest, AppendsToExistingOutput) {
  std::vector<ChannelMessage> out = {MakeNoteOn(0, 1, 2)};
  ASSERT_TRUE(ParseChannelMessages(Bytes({0x90, 60, 1}), 1, &out).ok());
  EXPECT_EQ(out.size(), 2u);
}

TEST(ParseChannelMessagesTest, RoundTripsThroughAppendBytes) {
  const std::string data = Bytes({0x9F, 127, 127, 0xCF, 0, 0xB0, 123, 0});
  std::vector<ChannelMessage> out;
  ASSERT_TRUE(ParseChannelMessages(data, 3, &out).ok());
  std::string back;
  for (const auto& m : out) AppendBytes(m, &back);
  EXPECT_EQ(back, data);
}

void ExpectRefused(const std::string& data, size_t max, const std::string& reason_part) {
  std::vector<ChannelMessage> out = {MakeNoteOn(0, 1, 2)};
  absl::Status s = ParseChannelMessages(data, max, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << reason_part;
  EXPECT_NE(std::string(s.message()).find(reason_part), std::string::npos) << s.message();
  EXPECT_EQ(out.size(), 1u) << "refusal must leave the output untouched";
}

TEST(ParseChannelMessagesTest, RefusesEmpty) { ExpectRefused("", 4, "empty"); }

TEST(ParseChannelMessagesTest, RefusesTooMany) {
  ExpectRefused(Bytes({0x90, 60, 1, 0x80, 60, 0, 0x90, 61, 1}), 2, "too many");
}

TEST(ParseChannelMessagesTest, RefusesRunningStatus) {
  ExpectRefused(Bytes({0x90, 60, 1, 61, 1}), 4, "status byte");
}

TEST(ParseChannelMessagesTest, RefusesLeadingDataByte) {
  ExpectRefused(Bytes({0x3C, 0x40}), 4, "status byte");
}

TEST(ParseChannelMessagesTest, RefusesSysExAndSystem) {
  ExpectRefused(Bytes({0xF0, 0x7E, 0xF7}), 4, "system");
  ExpectRefused(Bytes({0xF8}), 4, "system");
  ExpectRefused(Bytes({0xFF}), 4, "system");
  ExpectRefused(Bytes({0x90, 60, 1, 0xF2, 0, 0}), 4, "system");
}

TEST(ParseChannelMessagesTest, RefusesTruncated) {
  ExpectRefused(Bytes({0x90, 60}), 4, "truncated");
  ExpectRefused(Bytes({0xC0}), 4, "truncated");
  ExpectRefused(Bytes({0x90, 60, 1, 0xE0, 1}), 4, "truncated");
}

TEST(ParseChannelMessagesTest, RefusesHighDataByte) {
  ExpectRefused(Bytes({0x90, 0x80, 1}), 4, "above 0x7F");
  ExpectRefused(Bytes({0x90, 60, 0x90}), 4, "above 0x7F");
  ExpectRefused(Bytes({0xC0, 0xFF}), 4, "above 0x7F");
}

TEST(ParseOneChannelMessageTest, AcceptsExactlyOne) {
  ChannelMessage m;
  ASSERT_TRUE(ParseOneChannelMessage(Bytes({0xB2, 64, 127}), &m).ok());
  EXPECT_EQ(m, MakeControlChange(2, 64, 127));
  EXPECT_FALSE(ParseOneChannelMessage(Bytes({0x90, 1, 1, 0x80, 1, 0}), &m).ok());
  EXPECT_FALSE(ParseOneChannelMessage("", &m).ok());
}

TEST(ChannelMessageTest, NoteOnVelocityZeroIsNoteOff) {
  EXPECT_TRUE(MakeNoteOn(0, 60, 1).IsNoteOn());
  EXPECT_FALSE(MakeNoteOn(0, 60, 0).IsNoteOn());
  EXPECT_TRUE(MakeNoteOn(0, 60, 0).IsNoteOff());
  EXPECT_TRUE(MakeNoteOff(3, 60, 64).IsNoteOff());
  EXPECT_FALSE(MakeControlChange(0, 64, 0).IsNoteOff());
  EXPECT_EQ(MakeNoteOff(3, 60).channel(), 3);
}

TEST(ChannelMessageSizeTest, Sizes) {
  EXPECT_EQ(ChannelMessageSize(0x7F), 0);
  EXPECT_EQ(ChannelMessageSize(0x80), 3);
  EXPECT_EQ(ChannelMessageSize(0xC0), 2);
  EXPECT_EQ(ChannelMessageSize(0xDF), 2);
  EXPECT_EQ(ChannelMessageSize(0xEF), 3);
  EXPECT_EQ(ChannelMessageSize(0xF0), 0);
}

}  // namespace
}  // namespace tutti::midi
