// Envelope: message_type derived from the oneof in one place; typed errors.
#include "server/envelope.h"
#include "server/frame.h"

#include <set>

#include <gtest/gtest.h>

namespace tutti::server {
namespace {

TEST(Envelope, ExpectedTypeFollowsOneof) {
  proto::ServerMessage m;
  EXPECT_EQ(ExpectedType(m), proto::ServerMessage::Unspecified);
  m.mutable_midi_message();
  EXPECT_EQ(ExpectedType(m), proto::ServerMessage::MidiMessage);
  m.mutable_join_next_available_lobby();
  EXPECT_EQ(ExpectedType(m), proto::ServerMessage::JoinNextAvailableLobby);
}

TEST(Envelope, EveryServerMessageCaseHasItsOwnType) {
  // Walk every oneof field through reflection: each must map to a distinct type.
  const auto* desc = proto::ServerMessage::descriptor();
  const auto* oneof = desc->FindOneofByName("message");
  ASSERT_NE(oneof, nullptr);
  std::set<int> seen;
  for (int i = 0; i < oneof->field_count(); ++i) {
    proto::ServerMessage m;
    m.GetReflection()->MutableMessage(&m, oneof->field(i));
    auto t = ExpectedType(m);
    EXPECT_NE(t, proto::ServerMessage::Unspecified) << oneof->field(i)->name();
    EXPECT_TRUE(seen.insert(t).second) << oneof->field(i)->name();
  }
  const auto* cdesc = proto::ClientMessage::descriptor();
  const auto* coneof = cdesc->FindOneofByName("message");
  seen.clear();
  for (int i = 0; i < coneof->field_count(); ++i) {
    proto::ClientMessage m;
    m.GetReflection()->MutableMessage(&m, coneof->field(i));
    auto t = ExpectedType(m);
    EXPECT_NE(t, proto::ClientMessage::Unspecified) << coneof->field(i)->name();
    EXPECT_TRUE(seen.insert(t).second) << coneof->field(i)->name();
  }
}

TEST(Envelope, MismatchIsRefusedUnspecifiedIsAccepted) {
  proto::ServerMessage m;
  m.mutable_room_chat_message()->set_message("hi");
  EXPECT_TRUE(TypeMatches(m));
  m.set_message_type(proto::ServerMessage::RoomChatMessage);
  EXPECT_TRUE(TypeMatches(m));
  m.set_message_type(proto::ServerMessage::MidiMessage);
  EXPECT_FALSE(TypeMatches(m));
}

TEST(Envelope, MakeErrorFillsBothCodeFormsAndRequestId) {
  proto::ClientMessage e = MakeError(proto::ROOM_FULL, "full", "req-7");
  EXPECT_EQ(e.message_type(), proto::ClientMessage::ErrorMessage);
  EXPECT_EQ(e.request_id(), "req-7");
  EXPECT_EQ(e.error_message().code(), proto::ROOM_FULL);
  EXPECT_EQ(e.error_message().error_code(), "ROOM_FULL");
  EXPECT_EQ(e.error_message().error_type(), proto::RESOURCE_ERROR);
  EXPECT_EQ(ErrorTypeOf(proto::PERMISSION_DENIED), proto::PERMISSION_ERROR);
  EXPECT_EQ(ErrorTypeOf(proto::MALFORMED_MESSAGE), proto::VALIDATION_ERROR);
  EXPECT_EQ(ErrorTypeOf(proto::INTERNAL_ERROR), proto::SYSTEM_ERROR);
}

TEST(Frame, HeaderLengthsFollowRfc6455) {
  EXPECT_EQ(BinaryFrameHeader(5), std::string("\x82\x05", 2));
  EXPECT_EQ(BinaryFrameHeader(125).size(), 2u);
  EXPECT_EQ(BinaryFrameHeader(126), std::string("\x82\x7e\x00\x7e", 4));
  EXPECT_EQ(BinaryFrameHeader(65535).size(), 4u);
  EXPECT_EQ(BinaryFrameHeader(65536), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
}

TEST(Frame, SerializesOnceBehindItsHeader) {
  proto::ClientMessage m;
  m.mutable_room_chat_message()->set_message("hello");
  StampType(&m);
  Frame f = MakeFrame(m);
  EXPECT_EQ(f->header(), BinaryFrameHeader(f->payload().size()));
  // Past 125 bytes the length moves to the extended field.
  Frame big = MakeFrameFromBytes(std::string(300, 'x'));
  EXPECT_EQ(big->header(), std::string("\x82\x7e\x01\x2c", 4));
  EXPECT_EQ(big->wire_size(), 304u);
  proto::ClientMessage back;
  ASSERT_TRUE(back.ParseFromString(f->payload()));
  EXPECT_EQ(back.room_chat_message().message(), "hello");
  EXPECT_EQ(f->wire_size(), f->payload().size() + 2);
}

}  // namespace
}  // namespace tutti::server
