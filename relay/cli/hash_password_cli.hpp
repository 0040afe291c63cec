// relay/cli/hash_password_cli.hpp — `hubrelay hash-password`: read a password on stdin, print
// the "$pbkdf2-sha256$..." string to paste into [policy.NAME].auth_users.
//
// Owns: reading one line (CR/LF stripped), the random salt (16 bytes from OpenSSL's
// RAND_bytes), printing. Never: echoes or logs the password; it is wiped after use.
// Errors: empty input or RNG failure → message on `err`, exit status 2.
#pragma once

#include <iosfwd>

namespace relay {

int hash_password_command(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace relay
