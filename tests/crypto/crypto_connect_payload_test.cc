#include "crypto/connect_payload.h"

#include <set>
#include <string>

#include "crypto/base64url.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"

namespace tutti::crypto {
namespace {

ConnectPayload Sample() {
  ConnectPayload p;
  p.username = "Ann \"quoted\" \xc3\xa9";
  p.uuid = "user-1";
  p.socket_id = "sock-123";
  p.token = "h.p.s";
  p.is_member = true;
  p.ts_ms = 1700000000123;
  return p;
}

TEST(ConnectPayloadTest, JsonRoundTrips) {
  std::string json = ConnectPayloadToJson(Sample());
  absl::StatusOr<ConnectPayload> p = ParseConnectPayloadJson(json);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->username, Sample().username);
  EXPECT_EQ(p->uuid, "user-1");
  EXPECT_EQ(p->socket_id, "sock-123");
  EXPECT_EQ(p->token, "h.p.s");
  EXPECT_TRUE(p->is_member);
  EXPECT_EQ(p->ts_ms, 1700000000123);
}

TEST(ConnectPayloadTest, UsesTheDocumentedKeys) {
  std::string json = ConnectPayloadToJson(Sample());
  for (const char* key : {"\"username\":", "\"uuid\":", "\"socket_id\":", "\"is_member\":",
                          "\"token\":", "\"ts\":"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
}

TEST(ConnectPayloadTest, OnlySocketIdAndTsAreRequired) {
  absl::StatusOr<ConnectPayload> p =
      ParseConnectPayloadJson(R"({"socket_id":"s","ts":5,"future_field":[]})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->socket_id, "s");
  EXPECT_TRUE(p->token.empty());
  EXPECT_FALSE(p->is_member);
}

TEST(ConnectPayloadTest, RefusesBadFields) {
  for (const char* json :
       {R"({"ts":5})", R"({"socket_id":"s"})", R"({"socket_id":"","ts":5})",
        R"({"socket_id":"a b","ts":5})", R"({"socket_id":"a\u00e9","ts":5})",
        R"({"socket_id":"s","ts":"5"})", R"({"socket_id":"s","ts":5.5})",
        R"({"socket_id":"s","ts":5,"is_member":1})", R"({"socket_id":"s","ts":5,"token":7})",
        R"({"socket_id":"s","ts":5,"username":["x"]})",
        R"({"socket_id":"s","ts":5} )"
        R"(garbage)",
        "not json"}) {
    EXPECT_FALSE(ParseConnectPayloadJson(json).ok()) << json;
  }
  std::string long_id =
      R"({"socket_id":")" + std::string(kMaxSocketIdBytes + 1, 'x') + R"(","ts":5})";
  EXPECT_FALSE(ParseConnectPayloadJson(long_id).ok());
  std::string long_name = R"({"socket_id":"s","ts":5,"username":")" +
                          std::string(kMaxPayloadNameBytes + 1, 'x') + R"("})";
  EXPECT_FALSE(ParseConnectPayloadJson(long_name).ok());
}

TEST(ConnectPayloadTest, ResumeFieldsRoundTripAndAreWrittenOnlyWhenAsked) {
  EXPECT_EQ(ConnectPayloadToJson(Sample()).find("resume"), std::string::npos);
  ConnectPayload p = Sample();
  p.resume_token = "rt1.abc";
  p.resume_room = "jam room";
  p.resume_epoch = "e1";
  p.resume_offset = 42;
  absl::StatusOr<ConnectPayload> back = ParseConnectPayloadJson(ConnectPayloadToJson(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->has_resume());
  EXPECT_EQ(back->resume_token, "rt1.abc");
  EXPECT_EQ(back->resume_room, "jam room");
  EXPECT_EQ(back->resume_epoch, "e1");
  EXPECT_EQ(back->resume_offset, 42);
}

TEST(ConnectPayloadTest, RefusesBadResumeFields) {
  for (const char* json : {
           R"({"socket_id":"s","ts":5,"resume_offset":3})",  // position without a token
           R"({"socket_id":"s","ts":5,"resume_room":"r"})",
           R"({"socket_id":"s","ts":5,"resume_token":"t","resume_offset":-1})",
           R"({"socket_id":"s","ts":5,"resume_token":"t","resume_offset":"3"})",
           R"({"socket_id":"s","ts":5,"resume_token":7})",
       }) {
    EXPECT_FALSE(ParseConnectPayloadJson(json).ok()) << json;
  }
  const std::string head = R"({"socket_id":"s","ts":5,"resume_token":")";
  EXPECT_FALSE(
      ParseConnectPayloadJson(head + std::string(kMaxResumeTokenBytes + 1, 't') + R"("})").ok());
  EXPECT_FALSE(ParseConnectPayloadJson(head + R"(t","resume_epoch":")" +
                                       std::string(kMaxResumeEpochBytes + 1, 'e') + R"("})")
                   .ok());
  EXPECT_FALSE(ParseConnectPayloadJson(head + R"(t","resume_room":")" +
                                       std::string(kMaxResumeRoomBytes + 1, 'r') + R"("})")
                   .ok());
}

TEST(ConnectPayloadTest, ResourceOpensToTheSameJson) {
  ServerKeys keys = GenerateServerKeys(PublicKey{});
  std::string resource = BuildConnectResource(Sample(), keys.seal_public);
  ASSERT_EQ(resource.rfind(kConnectPathPrefix, 0), 0u);
  std::optional<std::string> sealed =
      Base64UrlDecode(std::string_view(resource).substr(sizeof(kConnectPathPrefix) - 1));
  ASSERT_TRUE(sealed);
  absl::StatusOr<std::string> json = OpenSealed(*sealed, keys);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, ConnectPayloadToJson(Sample()));
}

TEST(ConnectPayloadTest, RandomSocketIdsAreDistinctAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = RandomSocketId();
    EXPECT_EQ(id.size(), 22u);
    EXPECT_TRUE(Base64UrlDecode(id).has_value());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(SanitizeUsernameTest, TrimsCollapsesAndDropsInvisibles) {
  EXPECT_EQ(SanitizeUsername("  Ann  "), "Ann");
  EXPECT_EQ(SanitizeUsername("Ann \t\n  Lee"), "Ann Lee");
  EXPECT_EQ(SanitizeUsername("A\x01\x1f\x7fnn"), "Ann");
  EXPECT_EQ(SanitizeUsername("\xc2\x85"
                             "Ann\xc2\xa0"
                             "Lee"),
            "Ann Lee");  // NEL, NBSP
  EXPECT_EQ(SanitizeUsername("Ann\xe2\x80\xae"
                             "eeL"),
            "AnneeL");  // RLO override
  EXPECT_EQ(SanitizeUsername("A\xe2\x80\x8b"
                             "nn"),
            "Ann");  // zero-width space
  EXPECT_EQ(SanitizeUsername("\xef\xbb\xbf"
                             "Ann"),
            "Ann");                                   // BOM
  EXPECT_EQ(SanitizeUsername("Ann\xff\xfe"), "Ann");  // invalid UTF-8
  EXPECT_EQ(SanitizeUsername("caf\xc3\xa9 \xf0\x9f\x8e\xb9"), "caf\xc3\xa9 \xf0\x9f\x8e\xb9");
  EXPECT_EQ(SanitizeUsername(""), "");
  EXPECT_EQ(SanitizeUsername(" \t\x01 "), "");
}

TEST(SanitizeUsernameTest, CutsAt32BytesOnACharacterBoundary) {
  EXPECT_EQ(SanitizeUsername(std::string(40, 'a')), std::string(32, 'a'));
  std::string e_acute;
  for (int i = 0; i < 17; ++i) e_acute += "\xc3\xa9";  // 34 bytes
  std::string cut = SanitizeUsername(e_acute);
  EXPECT_EQ(cut.size(), 32u);
  std::string piano;
  for (int i = 0; i < 9; ++i) piano += "\xf0\x9f\x8e\xb9";  // 36 bytes
  EXPECT_EQ(SanitizeUsername(piano).size(), 32u);
  std::string odd = std::string(31, 'a') + "\xc3\xa9";  // 33 bytes: the last char is dropped
  EXPECT_EQ(SanitizeUsername(odd), std::string(31, 'a'));
  // A space that would be last is never kept.
  EXPECT_EQ(SanitizeUsername(std::string(32, 'a') + " b"), std::string(32, 'a'));
  EXPECT_EQ(SanitizeUsername(std::string(31, 'a') + " b"), std::string(31, 'a'));
}

}  // namespace
}  // namespace tutti::crypto
