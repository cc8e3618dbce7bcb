// Fuzz target: what the server does with an inbound frame before any room or session
// state is involved: parse a tutti::proto::ServerMessage from the bytes (into an arena,
// as the dispatcher does), run the envelope checks (server/envelope.h), and run the text
// rules (server/text.h) and the MIDI, command and ServerCommand-parameter parsers on the
// fields that reach them.
// No sockets, no shards: envelope.cc and text.cc are compiled into this target directly.
//
// Properties: ExpectedType names the oneof's message type, and TypeMatches accepts exactly
// an unset message_type or that one; a parsed message survives serialise-and-parse (same
// deterministic bytes, which unlike field comparison holds for NaN floats too);
// CleanText output is valid UTF-8 within the byte limit, free of control characters and
// outer spaces, and a fixed point; CanonicalRoomId is a lower-case, single-spaced fixed
// point.
#include <google/protobuf/arena.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/utf8.h"
#include "midi/midi_parse.h"
#include "protos/tutti.pb.h"
#include "server/envelope.h"
#include "server/link_quality.h"
#include "server/moderation/command_parser.h"
#include "server/server_command_params.h"
#include "server/text.h"
#include "tests/fuzz/fuzz_target.h"

namespace pb = google::protobuf;
namespace proto = tutti::proto;
namespace server = tutti::server;

namespace {

// The dispatcher's limits (server/config.h defaults) for the fields it cleans.
constexpr size_t kMaxChat = 512;
constexpr size_t kMaxRoomName = 64;
constexpr size_t kMaxMidiMessages = 64;

void CheckCleanText(std::string_view in, size_t max_bytes, bool keep_newlines) {
  const std::string out = server::CleanText(in, max_bytes, keep_newlines);
  FUZZ_CHECK(out.size() <= max_bytes);
  FUZZ_CHECK(tutti::crypto::IsValidUtf8(out));
  for (char ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    FUZZ_CHECK((c >= 0x20 && c != 0x7F) || (c == '\n' && keep_newlines));
  }
  if (!out.empty()) {
    FUZZ_CHECK(out.front() != ' ' && out.front() != '\n');
    FUZZ_CHECK(out.back() != ' ' && out.back() != '\n');
  }
  FUZZ_CHECK(server::CleanText(out, max_bytes, keep_newlines) == out);
}

void CheckRoomId(std::string_view name) {
  const std::string id = server::CanonicalRoomId(name, kMaxRoomName);
  FUZZ_CHECK(id.size() <= kMaxRoomName);
  FUZZ_CHECK(id.find("  ") == std::string::npos);
  for (char c : id) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  if (!id.empty()) FUZZ_CHECK(id.front() != ' ' && id.back() != ' ');
  FUZZ_CHECK(server::CanonicalRoomId(id, kMaxRoomName) == id);
  const int lobby = server::LobbyIndexOf(id);
  if (lobby > 0) FUZZ_CHECK(server::CanonicalRoomId(server::LobbyName(lobby), 64) == id);
}

void CheckText(std::string_view s) {
  CheckCleanText(s, kMaxChat, false);
  CheckCleanText(s, kMaxChat, true);
  CheckCleanText(s, 16, false);  // small limits cut inside multi-byte characters
  CheckRoomId(s);
}

// Every string and bytes field, at any depth, goes through the text rules.
void VisitStrings(const pb::Message& message) {
  const pb::Reflection* reflection = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          CheckText(reflection->GetRepeatedString(message, field, i));
        }
      } else {
        CheckText(reflection->GetString(message, field));
      }
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          VisitStrings(reflection->GetRepeatedMessage(message, field, i));
        }
      } else {
        VisitStrings(reflection->GetMessage(message, field));
      }
    }
  }
}

void CheckEnvelope(const proto::ServerMessage& msg) {
  using M = proto::ServerMessage;
  const M::MessageType expected = server::ExpectedType(msg);
  FUZZ_CHECK(M::MessageType_IsValid(expected));
  if (msg.message_case() == M::MESSAGE_NOT_SET) {
    FUZZ_CHECK(expected == M::Unspecified);
  } else {
    // The enum value is named after the oneof field's message type; an independent check
    // of the hand-written switch in envelope.cc.
    const pb::FieldDescriptor* field =
        M::descriptor()->FindFieldByNumber(static_cast<int>(msg.message_case()));
    FUZZ_CHECK(field != nullptr && field->message_type() != nullptr);
    FUZZ_CHECK(M::MessageType_Name(expected) == field->message_type()->name());
  }
  FUZZ_CHECK(server::TypeMatches(msg) ==
             (msg.message_type() == M::Unspecified || msg.message_type() == expected));
}

// The parsing the dispatcher does on the fields that carry structured text or MIDI.
void CheckPayload(const proto::ServerMessage& msg) {
  using M = proto::ServerMessage;
  std::vector<tutti::midi::ChannelMessage> parsed;
  switch (msg.message_case()) {
    case M::kRoomChatMessage: {
      const std::string text =
          server::CleanText(msg.room_chat_message().message(), kMaxChat, false);
      if (tutti::server::moderation::IsCommandLine(text)) {
        (void)tutti::server::moderation::ParseCommand(text);
      }
      break;
    }
    case M::kRoomChatServerCommand: {
      const proto::RoomChatServerCommand& cmd = msg.room_chat_server_command();
      (void)tutti::server::moderation::CommandFromFields(
          server::CleanText(cmd.command(), 32, false),
          server::CleanText(cmd.target_user(), 128, false),
          server::CleanText(cmd.reason(), kMaxChat, false),
          server::CleanText(cmd.duration(), 16, false));
      break;
    }
    case M::kMidiMessage:
      if (!msg.midi_message().midi_data().empty()) {
        (void)tutti::midi::ParseChannelMessages(msg.midi_message().midi_data(), kMaxMidiMessages,
                                                &parsed);
      }
      for (const proto::MidiEvent& e : msg.midi_message().events()) {
        (void)tutti::midi::ParseChannelMessages(e.data(), 1, &parsed);
      }
      break;
    case M::kServerCommand: {
      // UPDATE_SETTINGS's parameters: a refusal or an UpdateRoomCommand that only uses
      // what the map said (no settings without a settings key).
      auto update = server::UpdateRoomFromParameters(msg.server_command().parameters());
      if (update.ok()) {
        FUZZ_CHECK(!msg.server_command().parameters().empty());
        FUZZ_CHECK(update->settings().max_users() >= 0);
        FUZZ_CHECK(update->set_password() ==
                   (msg.server_command().parameters().count("password") > 0));
      }
      break;
    }
    case M::kHeartbeatMessage:
      // A link-quality report: accepted only within its bounds, and then graded.
      if (msg.heartbeat_message().has_quality()) {
        const proto::ConnectionQuality& q = msg.heartbeat_message().quality();
        const server::QualityThresholds limits;
        if (server::ValidateQuality(q, limits).ok()) {
          FUZZ_CHECK(q.rtt_us() <= limits.max_rtt_us);
          FUZZ_CHECK(q.late_percent() >= 0 && q.late_percent() <= 100);
          FUZZ_CHECK(q.dropped_percent() >= 0 && q.dropped_percent() <= 100);
          const proto::QualityGrade g = server::GradeQuality(q, limits);
          FUZZ_CHECK(g == proto::QUALITY_GOOD || g == proto::QUALITY_FAIR ||
                     g == proto::QUALITY_POOR);
        }
      }
      break;
    default:
      break;
  }
}

// Map entries in key order, so that equal messages give equal bytes.
std::string DeterministicBytes(const pb::Message& message) {
  std::string out;
  {
    pb::io::StringOutputStream stream(&out);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    FUZZ_CHECK(message.SerializeToCodedStream(&coded));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in a string field is a refusal, not news: keep protobuf quiet about it.
  static const bool quiet = [] {
    pb::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;

  const std::string_view bytes = tutti::fuzz::AsText(data, size);
  // The raw bytes, too: protobuf only lets valid UTF-8 into string fields.
  CheckText(bytes.substr(0, 4 * kMaxChat));

  alignas(16) char block[4096];
  pb::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof(block);
  pb::Arena arena(options);
  auto* msg = pb::Arena::CreateMessage<proto::ServerMessage>(&arena);
  if (!msg->ParseFromArray(data, static_cast<int>(size))) return 0;

  CheckEnvelope(*msg);
  VisitStrings(*msg);
  CheckPayload(*msg);

  const std::string bytes_out = DeterministicBytes(*msg);
  proto::ServerMessage again;
  FUZZ_CHECK(again.ParseFromString(bytes_out));
  FUZZ_CHECK(DeterministicBytes(again) == bytes_out);
  return 0;
}
