#include "crypto/base64url.h"

#include <cctype>
#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

TEST(Base64UrlTest, Rfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE"), "fooba");
  EXPECT_EQ(Base64UrlDecode(""), "");
}

TEST(Base64UrlTest, UsesUrlSafeAlphabet) {
  EXPECT_EQ(Base64UrlEncode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), std::string("\xfb\xff", 2));
  std::string all;
  for (int i = 0; i < 64; ++i) all.push_back(static_cast<char>(i << 2));
  // Every sextet value appears in the first character of some triple.
  std::string encoded = Base64UrlEncode(all);
  for (char c : encoded) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  }
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::mt19937 rng(42);
  for (size_t len = 0; len < 300; ++len) {
    std::string bytes(len, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.size(), Base64UrlEncodedLength(len));
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(encoded), bytes) << "len " << len;
  }
  std::string every;
  for (int i = 0; i < 256; ++i) every.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(every)), every);
}

TEST(Base64UrlTest, RejectsPaddingBadCharactersAndBadLengths) {
  EXPECT_FALSE(Base64UrlDecode("Zg=="));
  EXPECT_FALSE(Base64UrlDecode("Zm8="));
  EXPECT_FALSE(Base64UrlDecode("Z"));      // no encoding has length % 4 == 1
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));  // same
  EXPECT_FALSE(Base64UrlDecode("Zm+v"));   // standard alphabet, not url-safe
  EXPECT_FALSE(Base64UrlDecode("Zm/v"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n"));
  EXPECT_FALSE(Base64UrlDecode(" Zm9v"));
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0v", 4)));
  EXPECT_FALSE(Base64UrlDecode("Zm9v%3D"));
}

TEST(Base64UrlTest, RejectsNonCanonicalTrailingBits) {
  // "Zg" is "f"; "Zh" carries a set bit past the last byte.
  EXPECT_TRUE(Base64UrlDecode("Zg"));
  EXPECT_FALSE(Base64UrlDecode("Zh"));
  EXPECT_TRUE(Base64UrlDecode("Zm8"));
  EXPECT_FALSE(Base64UrlDecode("Zm9"));
}

// Every byte value in every position of a group: libsodium alone accepts some bytes above
// 0x7F (it reads them as negative chars), which base64url.cc refuses.
TEST(Base64UrlTest, ExactlyTheAlphabetIsAccepted) {
  for (int c = 0; c < 256; ++c) {
    std::string text = "AA";
    text.push_back(static_cast<char>(c));
    text.push_back('A');
    bool in_alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
    EXPECT_EQ(Base64UrlDecode(text).has_value(), in_alphabet) << "char " << c;
  }
}

TEST(Base64UrlTest, DecodeIntoNeedsTheExactLengthAndZeroesOnFailure) {
  uint8_t out[3] = {1, 2, 3};
  EXPECT_TRUE(Base64UrlDecodeInto("Zm9v", out, 3));
  EXPECT_EQ(out[0], 'f');
  EXPECT_EQ(out[2], 'o');
  EXPECT_FALSE(Base64UrlDecodeInto("Zm8", out, 3));  // decodes to 2 bytes
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 0);
  out[0] = 7;
  EXPECT_FALSE(Base64UrlDecodeInto("Zm9=", out, 3));
  EXPECT_EQ(out[0], 0);
}

// libsodium's decoder accepts whitespace when asked to ignore it, padding in the padded
// variants, and stops quietly at the first character outside the alphabet when given a
// b64_end: the wrapper must keep all of that out.
TEST(Base64UrlTest, RejectsWhatLibsodiumCouldBeAskedToAccept) {
  EXPECT_FALSE(Base64UrlDecode("Zm 9v"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\r\n"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\t"));
  EXPECT_FALSE(Base64UrlDecode("Zm9vYg=="));
  EXPECT_FALSE(Base64UrlDecode("Zm9vYg="));
  EXPECT_FALSE(Base64UrlDecode("Zm9v="));
  EXPECT_FALSE(Base64UrlDecode("Zm9v.Zm9v"));  // a JWT is split before decoding
  uint8_t out[6] = {1, 2, 3, 4, 5, 6};
  EXPECT_FALSE(Base64UrlDecodeInto("Zm9v Zm9v", out, 6));
  for (uint8_t b : out) EXPECT_EQ(b, 0);
}

// The accepted two-character texts are exactly the 256 encodings of one byte.
TEST(Base64UrlTest, AcceptedTextsAreExactlyTheCanonicalEncodings) {
  std::set<std::string> canonical;
  for (int b = 0; b < 256; ++b)
    canonical.insert(Base64UrlEncode(std::string(1, static_cast<char>(b))));
  ASSERT_EQ(canonical.size(), 256u);
  int accepted = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string text{static_cast<char>(a), static_cast<char>(b)};
      const bool ok = Base64UrlDecode(text).has_value();
      ASSERT_EQ(ok, canonical.count(text) == 1) << a << "," << b;
      accepted += ok ? 1 : 0;
    }
  }
  EXPECT_EQ(accepted, 256);
}

// Base64UrlDecode (any length) and Base64UrlDecodeInto (an exact length, zeroed on failure)
// must accept and refuse exactly the same texts with the same bytes: every pair of byte
// values, and each byte value in each position of a 4-character group.
TEST(Base64UrlTest, DecodeAndDecodeIntoAgreeOnEveryInput) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string text{static_cast<char>(a), static_cast<char>(b)};
      uint8_t out = 0;
      const bool ok = Base64UrlDecodeInto(text, &out, 1);
      const auto table = Base64UrlDecode(text);
      ASSERT_EQ(table.has_value(), ok) << a << "," << b;
      if (ok) {
        ASSERT_EQ(static_cast<uint8_t>((*table)[0]), out) << a << "," << b;
      }
    }
  }
  for (int pos = 0; pos < 4; ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string text = "Zm9v";
      text[pos] = static_cast<char>(c);
      uint8_t out[3] = {};
      const bool ok = Base64UrlDecodeInto(text, out, 3);
      const auto table = Base64UrlDecode(text);
      ASSERT_EQ(table.has_value(), ok) << pos << "," << c;
      if (ok) {
        ASSERT_EQ(*table, std::string(reinterpret_cast<char*>(out), 3));
      }
    }
  }
}

}  // namespace
}  // namespace tutti::crypto
