// Minimal strict UTF-8 decoding and encoding.
//
// Owns: nothing; pure functions.
// Thread affinity: any thread.
// Owner: the JSON reader/writer and username sanitising in crypto/.
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

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_UTF8_H_
