// Base64url (RFC 4648 section 5) without padding, as JWTs and connect URLs use it.
//
// Owns: the codec only; no state.
// Thread affinity: any thread (pure functions).
// Owner: used by every part of crypto/ and by the tools.
//
// Both directions go through libsodium (sodium_bin2base64 / sodium_base642bin with
// sodium_base64_VARIANT_URLSAFE_NO_PADDING), whose codec is constant-time in the
// characters' values, so it serves public data and secret key material alike.
//
// The decoder is strict: it refuses '=', whitespace, any character outside the url-safe
// alphabet, a length that no encoding produces (len % 4 == 1) and non-zero unused
// trailing bits, so every byte string has exactly one accepted text (base64url.cc says
// which of these libsodium checks and which the wrapper adds).
#ifndef TUTTI_CRYPTO_BASE64URL_H_
#define TUTTI_CRYPTO_BASE64URL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tutti::crypto {

std::string Base64UrlEncode(std::string_view bytes);

// std::nullopt when `text` is not the canonical encoding of some bytes.
std::optional<std::string> Base64UrlDecode(std::string_view text);

// Length of the encoding of `n` bytes (no padding).
size_t Base64UrlEncodedLength(size_t n);

// Decodes `text` into exactly `out_len` bytes at `out`. Returns false (and
// leaves `out` zeroed) when the text is invalid or decodes to another length.
// Lets key loading decode straight into sodium_malloc'd memory.
bool Base64UrlDecodeInto(std::string_view text, uint8_t* out, size_t out_len);

}  // namespace tutti::crypto

#endif  // TUTTI_CRYPTO_BASE64URL_H_
