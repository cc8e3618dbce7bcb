// Fuzz target: the link token parser and the MIDI sequence window (server/link_token.h).
//
// Properties: ParseLinkToken accepts only the token's exact shape, and the session it
// returns is the one the hex digits spell (a token issued for it parses back to it); a
// random text is never redeemed against an issued credential; the sequence window, fed the
// input as batch numbers, never takes a nonzero number twice while it stays in the window.
#include <cstring>
#include <set>
#include <string>

#include "server/link_token.h"
#include "tests/fuzz/fuzz_target.h"

using tutti::server::IssueLinkToken;
using tutti::server::LinkCredential;
using tutti::server::ParseLinkToken;
using tutti::server::RedeemLinkToken;
using tutti::server::SequenceWindow;
using tutti::server::SessionId;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = tutti::fuzz::AsText(data, size);
  if (auto id = ParseLinkToken(text)) {
    FUZZ_CHECK(text.size() == 4 + 16 + 1 + 43);
    FUZZ_CHECK(text.substr(0, 4) == "lk1.");
    FUZZ_CHECK(*id != 0);
    LinkCredential cred;
    const std::string issued = IssueLinkToken(*id, 0, &cred);
    FUZZ_CHECK(issued.substr(0, 21) == text.substr(0, 21));
    FUZZ_CHECK(ParseLinkToken(issued) == id);
  }
  LinkCredential cred;
  const std::string issued = IssueLinkToken(42, 0, &cred);
  if (text != issued) FUZZ_CHECK(!RedeemLinkToken(&cred, text, 1));

  // Batch numbers, 8 bytes each: once taken, a number is never taken again.
  SequenceWindow window;
  std::set<uint64_t> taken;
  uint64_t highest = 0;
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t seq;
    std::memcpy(&seq, data + i, 8);
    seq %= 4096;  // numbers near each other, so the window is exercised
    const bool took = window.Take(seq);
    if (seq == 0) {
      FUZZ_CHECK(took);
      continue;
    }
    if (seq > highest) FUZZ_CHECK(took);
    if (took) {
      FUZZ_CHECK(taken.insert(seq).second);
      if (seq > highest) highest = seq;
    }
  }
  return 0;
}
