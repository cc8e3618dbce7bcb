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
  EXPECT_EQ(CleanText("a\nb", 100, false), "ab");
  EXPECT_EQ(CleanText("a\nb", 100, true), "a\nb");
}

TEST(CleanText, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(CleanText("a\xFF"
                      "b",
                      100, false),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(CleanText("\xC0\xAF", 100, false), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(CleanText("\xED\xA0\x80", 100, false),                           // surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
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
