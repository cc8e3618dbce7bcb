// Minimal strict UTF-8 decoding and encoding.
//
// Owns: nothing; pure functions.
// Thread affinity: any thread.
// Owner: the JSON reader/writer in crypto/, and the one cleaning policy for text that
// users type and others see (usernames here, room names, chat and status in server/text).
//
// "Strict" means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF),
// nothing above U+10FFFF. Anything else is treated as invalid so that two
// different byte strings can never display as the same name by accident.
#ifndef TUTTI_CRYPTO_UTF8_H_
#define TUTTI_CRYPTO_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tutti::crypto {

// Decodes the code point starting at `*pos`, advancing `*pos` past it. On an
// invalid sequence returns false and advances `*pos` by one byte, so callers
// can skip or replace it and keep going.
bool NextUtf8CodePoint(std::string_view s, size_t* pos, uint32_t* code_point);

// Appends the UTF-8 form of a valid scalar value (not a surrogate, <= U+10FFFF).
void AppendUtf8(std::string* out, uint32_t code_point);

bool IsValidUtf8(std::string_view s);

// The one cleaning policy for text users type and others see (usernames, room names,
// chat, status). Invalid UTF-8 is dropped; so are characters that show nothing or can
// forge or hide text: C0/C1 controls and DEL, soft hyphen, zero-width characters and
// joiners, bidi embeddings/overrides/isolates, line separators, BOM, interlinear
// annotations, Hangul fillers, noncharacters and tag characters. Whitespace (Unicode
// spaces, tab, CR, NEL, and newlines unless kept) becomes ' '; runs of it collapse to
// one when `collapse_spaces`. The result is trimmed and cut to `max_bytes` at a character
// boundary. Two strings that display alike clean to the same bytes as far as these
// rules reach (case and confusable letters are the caller's business).
struct CleanOptions {
  bool keep_newlines = false;   // multi-line text (welcome messages) keeps '\n'
  bool collapse_spaces = true;  // names: yes; chat keeps the spaces it was typed with
};
std::string CleanUserText(std::string_view raw, size_t max_bytes, CleanOptions options);

// True for a code point the policy above drops.
bool IsInvisibleCodePoint(uint32_t cp);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_UTF8_H_
