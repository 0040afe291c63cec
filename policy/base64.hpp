// policy/base64.hpp — RFC 4648 §4 base64, as SASL (RFC 4954) and the password hash use it.
//
// Owns: encoding, and strict decoding (padding required, no whitespace, no characters
// outside the alphabet, canonical trailing bits). Strictness matters for AUTH: a sloppy
// decoder accepts several spellings of one credential.
// Never: allocates beyond the output, performs I/O. Thread-safe (pure functions).
// Errors: decode returns std::nullopt on any malformed input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace policy {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace policy
