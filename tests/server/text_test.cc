// Text rules: chat cleaning, canonical room ids, lobby names.
#include "server/text.h"

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

TEST(CleanText, StripsControlsAndBidiOverridesKeepsUnicode) {
  EXPECT_EQ(CleanText("a\x01"
                      "b\x7f"
                      "c",
                      100, false),
            "abc");
  EXPECT_EQ(CleanText("caf\xC3\xA9 \xE2\x99\xAA", 100, false), "caf\xC3\xA9 \xE2\x99\xAA");
  EXPECT_EQ(CleanText("x\xE2\x80\xAEy", 100, false), "xy");  // U+202E right-to-left override
  EXPECT_EQ(CleanText("a\tb", 100, false), "a b");
  EXPECT_EQ(CleanText("a\nb", 100, false), "a b");   // a line break separates words
  EXPECT_EQ(CleanText("a  b", 100, false), "a  b");  // chat keeps its spacing
  EXPECT_EQ(CleanText("a\nb", 100, true), "a\nb");
}

TEST(CleanText, InvalidUtf8IsDroppedAsInUsernames) {
  EXPECT_EQ(CleanText("a\xFF"
                      "b",
                      100, false),
            "ab");
  EXPECT_EQ(CleanText("\xC0\xAF", 100, false), "");      // overlong '/'
  EXPECT_EQ(CleanText("\xED\xA0\x80", 100, false), "");  // surrogate
}

// One policy: what the username cleaning drops, chat, status and room names drop too.
TEST(CleanText, InvisibleCharactersAreDropped) {
  EXPECT_EQ(CleanText("a\xE2\x80\x8B"
                      "b",
                      100, false),
            "ab");  // U+200B zero-width space
  EXPECT_EQ(CleanText("a\xC2\xAD"
                      "b",
                      100, false),
            "ab");  // U+00AD soft hyphen
  EXPECT_EQ(CleanText("a\xF3\xA0\x81\x81"
                      "b",
                      100, false),
            "ab");  // U+E0041 tag latin capital A
  EXPECT_EQ(CleanText("a\xE2\x81\xA0"
                      "b",
                      100, false),
            "ab");  // U+2060 word joiner
  EXPECT_EQ(CleanText("\xEF\xBB\xBF"
                      "ab",
                      100, false),
            "ab");  // BOM
  EXPECT_EQ(CleanText("a\xE3\x80\x80"
                      "b",
                      100, false),
            "a b");  // U+3000 ideographic space is a space
}

TEST(CleanText, KeptNewlinesDropCarriageReturns) {
  EXPECT_EQ(CleanText("one\r\ntwo\n", 100, true), "one\ntwo");
}

TEST(CleanName, FoldsWhitespaceRunsLikeUsernames) {
  EXPECT_EQ(CleanName("  My \t  Room\xE2\x80\x8B ", 64), "My Room");
}

TEST(CleanText, TruncatesOnCharacterBoundaryAndTrims) {
  EXPECT_EQ(CleanText("  hi  ", 100, false), "hi");
  EXPECT_EQ(CleanText("\xC3\xA9\xC3\xA9", 3, false), "\xC3\xA9");
  EXPECT_EQ(CleanText("abcdef", 4, false), "abcd");
  EXPECT_EQ(CleanText("\x01\x02", 10, false), "");
}

TEST(CanonicalRoomId, FoldsCaseAndWhitespace) {
  EXPECT_EQ(CanonicalRoomId("  My   Room ", 64), "my room");
  EXPECT_EQ(CanonicalRoomId("MY ROOM", 64), CanonicalRoomId("my room", 64));
  EXPECT_EQ(CanonicalRoomId("\t\x01", 64), "");
  EXPECT_EQ(CanonicalRoomId(std::string(200, 'a'), 64).size(), 64u);
}

// Names that differ only by invisible characters would be different rooms that look the
// same: they are one room.
TEST(CanonicalRoomId, InvisibleCharactersDoNotMakeANewRoom) {
  const std::string plain = CanonicalRoomId("Jazz Club", 64);
  EXPECT_EQ(CanonicalRoomId("Jazz\xE2\x80\x8B Club", 64), plain);      // zero-width space
  EXPECT_EQ(CanonicalRoomId("Ja\xC2\xADzz Club", 64), plain);          // soft hyphen
  EXPECT_EQ(CanonicalRoomId("Jazz Club\xF3\xA0\x80\x81", 64), plain);  // tag character
  EXPECT_EQ(CanonicalRoomId("Jazz\xC2\xA0"
                            "Club",
                            64),
            plain);  // no-break space
  EXPECT_EQ(CanonicalRoomId("\xE2\x80\x8B", 64), "");
}

TEST(Lobbies, NamesAndIndexes) {
  EXPECT_EQ(LobbyName(1), "Lobby");
  EXPECT_EQ(LobbyName(3), "Lobby 3");
  EXPECT_EQ(LobbyIndexOf("lobby"), 1);
  EXPECT_EQ(LobbyIndexOf("lobby 12"), 12);
  EXPECT_EQ(LobbyIndexOf("lobby 1"), 0);  // "Lobby 1" is spelled "Lobby"
  EXPECT_EQ(LobbyIndexOf("lobby 02"), 0);
  EXPECT_EQ(LobbyIndexOf("lobbyist"), 0);
  EXPECT_EQ(LobbyIndexOf("lobby x"), 0);
}

}  // namespace
}  // namespace tutti::server
