// Fuzz target: what tutti-play reads from outside itself: the server's /api/server-info
// document (tools/play/sign_in.h), a token file's claims, and a line typed into the UI
// (tools/play/commands.h).
//
// Input: the same bytes as each of the three.
// Properties: nothing crashes or hangs; an accepted server-info document has a 32-byte seal
// key; an accepted token names a user; a parsed command's fields are in range (a join names a
// room, a program or volume is 0..127 for a named player), and chat is never empty.
#include <string>

#include "tests/fuzz/fuzz_target.h"
#include "tools/play/commands.h"
#include "tools/play/sign_in.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(tutti::fuzz::AsText(data, size));

  auto info = tutti::play::ParseServerInfo(text);
  if (info.ok()) FUZZ_CHECK(info->seal_public.size() == 32);

  auto id = tutti::play::ReadTokenIdentity(text);
  if (id.ok()) FUZZ_CHECK(!id->user_id.empty());

  const tutti::play::Command c = tutti::play::ParseCommand(text);
  using K = tutti::play::Command::Kind;
  switch (c.kind) {
    case K::kJoin:
    case K::kDevice:
    case K::kOutput:
      FUZZ_CHECK(!c.arg.empty());
      break;
    case K::kProgram:
    case K::kVolume:
      FUZZ_CHECK(!c.arg.empty() && c.value >= 0 && c.value <= 127);
      break;
    case K::kChat:
      FUZZ_CHECK(!c.text.empty());
      break;
    default:
      break;
  }
  return 0;
}
