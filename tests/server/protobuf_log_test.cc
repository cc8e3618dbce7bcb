// The brake on libprotobuf's log lines (server/protobuf_log.h): counted on a fake clock,
// and what a flood of frames with strings that are not UTF-8 leaves on stderr.
#include "server/protobuf_log.h"

#include <gtest/gtest.h>

#include <string>

#include "protos/tutti.pb.h"

namespace tutti::server {
namespace {

TEST(LogBrake, LetsAFewLinesThroughPerWindowAndCountsTheRest) {
  LogBrake brake(/*window_ms=*/1000, /*lines_per_window=*/3);
  uint64_t held = 99;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(brake.Admit(100 + i, &held));
    EXPECT_EQ(held, 0u);
  }
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(brake.Admit(200 + i, &held));
  EXPECT_FALSE(brake.Admit(1099, &held));  // still the first window
  ASSERT_TRUE(brake.Admit(1100, &held));   // a new window: the first line says what was held
  EXPECT_EQ(held, 8u);
  ASSERT_TRUE(brake.Admit(1101, &held));
  EXPECT_EQ(held, 0u);
}

TEST(ProtobufLogBrake, AFloodOfNonUtf8StringsLeavesAFewLines) {
  proto::ServerMessage bad;
  bad.mutable_room_chat_message()->set_message("ok");
  std::string bytes = bad.SerializeAsString();
  const size_t at = bytes.find("ok");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = static_cast<char>(0xC3);  // a lead byte with no continuation
  bytes[at + 1] = 'k';

  google::protobuf::LogHandler* previous = InstallProtobufLogBrake();
  ::testing::internal::CaptureStderr();
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    proto::ServerMessage m;
    if (!m.ParseFromString(bytes)) ++refused;
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  google::protobuf::SetLogHandler(previous);

  EXPECT_EQ(refused, 200);  // the brake changes what is printed, not what is parsed
  int lines = 0;
  for (char c : err) lines += c == '\n';
  EXPECT_GE(lines, 1) << err;
  EXPECT_LE(lines, 5) << err;
  EXPECT_NE(err.find("libprotobuf ERROR"), std::string::npos) << err;
}

}  // namespace
}  // namespace tutti::server
