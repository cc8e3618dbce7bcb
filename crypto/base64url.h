// Base64url (RFC 4648 section 5) without padding, as JWTs and connect URLs use it.
//
// Owns: the codec only; no state.
// Thread affinity: any thread (pure functions).
// Owner: used by every part of crypto/ and by the tools.
//
// The decoder is strict: it refuses '=', any character outside the url-safe
// alphabet, a length that no encoding produces (len % 4 == 1) and non-zero
// unused trailing bits, so every byte string has exactly one accepted text.
// Encoding and Base64UrlDecodeInto avoid data-dependent table lookups and
// branches on the input bytes, so they are also used for secret key material.
// Base64UrlDecode uses a lookup table and is only for public data (connect
// payloads, tokens), where speed matters more.
#ifndef TUTTI_CRYPTO_BASE64URL_H_
#define TUTTI_CRYPTO_BASE64URL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tutti::crypto {

std::string Base64UrlEncode(std::string_view bytes);

// Public data only (table lookups depend on the input); same strictness as below.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Length of the encoding of `n` bytes (no padding).
size_t Base64UrlEncodedLength(size_t n);

// Decodes `text` into exactly `out_len` bytes at `out`. Returns false (and
// leaves `out` zeroed) when the text is invalid or decodes to another length.
// Lets key loading decode straight into sodium_malloc'd memory.
bool Base64UrlDecodeInto(std::string_view text, uint8_t* out, size_t out_len);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_BASE64URL_H_
