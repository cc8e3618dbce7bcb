#include "crypto/json.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

bool Parses(std::string_view text) { return ParseFlatJsonObject(text).ok(); }

TEST(JsonTest, ParsesEveryAcceptedValueKind) {
  absl::StatusOr<JsonObject> o = ParseFlatJsonObject(
      R"( { "s":"str", "i":-42, "d":1.5e2, "t":true, "f":false, "n":null,
            "a":["x","y"], "e":[] } )");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->at("s").string_value, "str");
  EXPECT_TRUE(o->at("i").is_integer);
  EXPECT_EQ(o->at("i").int_value, -42);
  EXPECT_FALSE(o->at("d").is_integer);
  EXPECT_DOUBLE_EQ(o->at("d").double_value, 150.0);
  EXPECT_TRUE(o->at("t").bool_value);
  EXPECT_EQ(o->at("f").type, JsonValue::Type::kBool);
  EXPECT_EQ(o->at("n").type, JsonValue::Type::kNull);
  EXPECT_EQ(o->at("a").array_value, (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(o->at("e").array_value.empty());
  EXPECT_TRUE(Parses("{}"));
}

TEST(JsonTest, DecodesEscapes) {
  absl::StatusOr<JsonObject> o = ParseFlatJsonObject(
      R"({"k":"\"\\\/\b\f\n\r\t","u":"caf\u00e9 \u20ac","p":"\ud83c\udfb9","z":"\u00E9"})");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->at("k").string_value, "\"\\/\b\f\n\r\t");
  EXPECT_EQ(o->at("u").string_value, "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(o->at("p").string_value, "\xf0\x9f\x8e\xb9");  // U+1F3B9 musical keyboard
  EXPECT_EQ(o->at("z").string_value, "\xc3\xa9");
  // Raw UTF-8 passes through unchanged.
  o = ParseFlatJsonObject("{\"r\":\"\xe2\x99\xab\"}");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->at("r").string_value, "\xe2\x99\xab");
}

TEST(JsonTest, RefusesBadStrings) {
  EXPECT_FALSE(Parses(R"({"k":"\ud83c"})"));        // lone high surrogate
  EXPECT_FALSE(Parses(R"({"k":"\ud83cx"})"));       // high surrogate + text
  EXPECT_FALSE(Parses(R"({"k":"\ud83c\u0041"})"));  // high + non-low
  EXPECT_FALSE(Parses(R"({"k":"\udfb9"})"));        // lone low surrogate
  EXPECT_FALSE(Parses(R"({"k":"\u0000"})"));        // NUL refused on purpose
  EXPECT_FALSE(Parses(R"({"k":"\u12"})"));
  EXPECT_FALSE(Parses(R"({"k":"\u12G4"})"));
  EXPECT_FALSE(Parses(R"({"k":"\x41"})"));
  EXPECT_FALSE(Parses(R"({"k":"\'"})"));
  EXPECT_FALSE(Parses("{\"k\":\"a\nb\"}"));  // raw control character
  EXPECT_FALSE(Parses("{\"k\":\"\t\"}"));
  EXPECT_FALSE(Parses(std::string("{\"k\":\"\0\"}", 8)));
  EXPECT_FALSE(Parses("{\"k\":\"\xc0\x80\"}"));          // overlong NUL
  EXPECT_FALSE(Parses("{\"k\":\"\xed\xa0\x80\"}"));      // encoded surrogate
  EXPECT_FALSE(Parses("{\"k\":\"\xf4\x90\x80\x80\"}"));  // above U+10FFFF
  EXPECT_FALSE(Parses("{\"k\":\"\xe2\x99\"}"));          // truncated sequence
  EXPECT_FALSE(Parses("{\"k\":\"\xff\"}"));
  EXPECT_FALSE(Parses(R"({"k":"unterminated})"));
  EXPECT_FALSE(Parses(R"({"k":"trailing backslash\)"));
  EXPECT_FALSE(Parses("{\"\xff\":1}"));  // keys are checked too
}

TEST(JsonTest, RefusesBadStructure) {
  for (const char* text : {"",
                           " ",
                           "[]",
                           "\"s\"",
                           "1",
                           "null",
                           "{",
                           "}",
                           "{\"a\"}",
                           "{\"a\":}",
                           "{\"a\" 1}",
                           "{\"a\":1,}",
                           "{,\"a\":1}",
                           "{\"a\":1 \"b\":2}",
                           "{\"a\":1}x",
                           "{\"a\":1}{}",
                           "{\"a\":1}}",
                           "{a:1}",
                           "{'a':1}",
                           "{\"a\":tru}",
                           "{\"a\":nul}",
                           "{\"a\":True}",
                           "{\"a\":{}}",
                           "{\"a\":{\"b\":1}}",
                           "{\"a\":[[]]}",
                           "{\"a\":[1]}",
                           "{\"a\":[\"x\",]}",
                           "{\"a\":[\"x\" \"y\"]}",
                           "{\"a\":[\"x\"}",
                           "{\"a\":1,\"a\":2}",
                           "\xef\xbb\xbf{}"}) {
    EXPECT_FALSE(Parses(text)) << text;
  }
  // A NUL after the object is trailing data, not an end marker.
  EXPECT_FALSE(Parses(std::string("{\"a\":1}\0", 8)));
}

TEST(JsonTest, NumbersFollowTheGrammar) {
  for (const char* bad : {"01", "-", "+1", "1.", ".5", "1e", "1e+", "--1", "0x10", "1.e3", "NaN",
                          "Infinity", "-Infinity", "1e999", "-1e999"}) {
    EXPECT_FALSE(Parses(std::string("{\"n\":") + bad + "}")) << bad;
  }
  absl::StatusOr<JsonObject> o = ParseFlatJsonObject(
      R"({"max":9223372036854775807,"min":-9223372036854775808,"over":9223372036854775808,
          "frac":1.0,"exp":1e3,"zero":-0,"small":1E-3})");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->at("max").int_value, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(o->at("min").int_value, std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(o->at("over").is_integer);  // kept as a double only
  EXPECT_FALSE(o->at("frac").is_integer);
  EXPECT_FALSE(o->at("exp").is_integer);
  EXPECT_TRUE(o->at("zero").is_integer);
  EXPECT_DOUBLE_EQ(o->at("small").double_value, 0.001);
}

TEST(JsonTest, DeepNestingIsRefusedWithoutRecursion) {
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  JsonLimits big;
  big.max_bytes = deep.size();
  EXPECT_FALSE(ParseFlatJsonObject(deep, big).ok());
  std::string braces(100000, '{');
  EXPECT_FALSE(ParseFlatJsonObject(braces, big).ok());
}

TEST(JsonTest, LimitsAreEnforced) {
  JsonLimits limits;
  limits.max_bytes = 64;
  limits.max_members = 2;
  limits.max_array_items = 2;
  limits.max_string_bytes = 8;
  EXPECT_TRUE(ParseFlatJsonObject(R"({"a":"12345678"})", limits).ok());
  EXPECT_FALSE(ParseFlatJsonObject(R"({"a":"123456789"})", limits).ok());
  EXPECT_FALSE(ParseFlatJsonObject(R"({"a":"\u00e9\u00e9\u00e9\u00e9\u00e9"})", limits).ok());
  EXPECT_FALSE(ParseFlatJsonObject(R"({"a":1,"b":2,"c":3})", limits).ok());
  EXPECT_FALSE(ParseFlatJsonObject(R"({"a":["1","2","3"]})", limits).ok());
  EXPECT_FALSE(ParseFlatJsonObject("{\"a\":\"" + std::string(100, 'x') + "\"}", limits).ok());
  // The default limit refuses a huge document before looking at it.
  std::string huge = "{\"a\":\"" + std::string(1 << 20, 'x') + "\"}";
  EXPECT_FALSE(Parses(huge));
}

TEST(JsonTest, TypedGettersRefuseWrongTypes) {
  absl::StatusOr<JsonObject> o =
      ParseFlatJsonObject(R"({"s":"x","i":3,"d":3.5,"b":true,"a":["r"],"n":null})");
  ASSERT_TRUE(o.ok());
  std::string s = "unchanged";
  int64_t i = -1;
  bool b = false;
  std::vector<std::string> a;
  EXPECT_TRUE(GetJsonString(*o, "s", true, &s).ok());
  EXPECT_EQ(s, "x");
  EXPECT_FALSE(GetJsonString(*o, "i", false, &s).ok());
  EXPECT_TRUE(GetJsonInt64(*o, "i", true, &i).ok());
  EXPECT_EQ(i, 3);
  EXPECT_FALSE(GetJsonInt64(*o, "d", false, &i).ok());
  EXPECT_FALSE(GetJsonInt64(*o, "s", false, &i).ok());
  EXPECT_TRUE(GetJsonBool(*o, "b", true, &b).ok());
  EXPECT_TRUE(b);
  EXPECT_FALSE(GetJsonBool(*o, "i", false, &b).ok());
  EXPECT_TRUE(GetJsonStringArray(*o, "a", true, &a).ok());
  EXPECT_FALSE(GetJsonStringArray(*o, "s", false, &a).ok());
  // Missing and null: fine when optional, an error when required.
  s = "keep";
  EXPECT_TRUE(GetJsonString(*o, "missing", false, &s).ok());
  EXPECT_TRUE(GetJsonString(*o, "n", false, &s).ok());
  EXPECT_EQ(s, "keep");
  EXPECT_FALSE(GetJsonString(*o, "missing", true, &s).ok());
  EXPECT_FALSE(GetJsonString(*o, "n", true, &s).ok());
}

TEST(JsonTest, WriterEscapesAndRoundTrips) {
  std::string controls;
  for (int c = 1; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  controls += "\x7f\"\\/ plain \xc3\xa9\xf0\x9f\x8e\xb9";
  std::string text = JsonObjectWriter()
                         .String("s", controls)
                         .String("quote\"key", "v")
                         .Int("i", std::numeric_limits<int64_t>::min())
                         .Bool("b", true)
                         .StringArray("a", {"admin", "x\"y"})
                         .Finish();
  for (char c : text) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  absl::StatusOr<JsonObject> o = ParseFlatJsonObject(text);
  ASSERT_TRUE(o.ok()) << o.status() << " in " << text;
  EXPECT_EQ(o->at("s").string_value, controls);
  EXPECT_EQ(o->at("quote\"key").string_value, "v");
  EXPECT_EQ(o->at("i").int_value, std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(o->at("b").bool_value);
  EXPECT_EQ(o->at("a").array_value, (std::vector<std::string>{"admin", "x\"y"}));
}

TEST(JsonTest, WriterReplacesInvalidUtf8) {
  std::string out;
  AppendJsonString(&out,
                   "a\xff"
                   "b\xc0\x80"
                   "c\xed\xa0\x80");
  EXPECT_TRUE(ParseFlatJsonObject("{\"k\":" + out + "}").ok()) << out;
  EXPECT_EQ(out.find('\xff'), std::string::npos);
  EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
}

TEST(JsonTest, GarbageNeverCrashes) {
  std::mt19937 rng(7);
  const std::string valid =
      R"({"username":"A\u00e9","uuid":"u","socket_id":"s","is_member":true,"token":"t.t.t",)"
      R"("ts":1700000000000,"roles":["admin"],"n":null,"d":-1.5e-3})";
  ASSERT_TRUE(Parses(valid));
  const std::string alphabet = "{}[]\",:\\u0123456789abcdefnulltrue-+.eE \t\n\xc3\xa9\xff";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string text;
    if (iter % 2 == 0) {
      text = valid;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        size_t pos = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[pos] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            text.erase(pos, 1 + rng() % 3);
            break;
          default:
            text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
        }
        if (text.empty()) text = "{";
      }
    } else {
      size_t len = rng() % 64;
      for (size_t k = 0; k < len; ++k) text.push_back(alphabet[rng() % alphabet.size()]);
    }
    (void)ParseFlatJsonObject(text);  // must simply return
  }
}

}  // namespace
}  // namespace tutti::crypto
