// relay/cli/hash_password_cli.cpp — see hash_password_cli.hpp.
#include "relay/cli/hash_password_cli.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <istream>
#include <ostream>
#include <string>

#include "policy/password_hash.hpp"

namespace relay {

int hash_password_command(std::istream& in, std::ostream& out, std::ostream& err) {
  std::string password;
  std::getline(in, password);
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
  if (password.empty()) {
    err << "hubrelay hash-password: no password on standard input\n";
    return 2;
  }
  std::string salt(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    OPENSSL_cleanse(password.data(), password.size());
    err << "hubrelay hash-password: the random number generator failed\n";
    return 2;
  }
  const std::string hash = policy::hash_password(password, salt);
  OPENSSL_cleanse(password.data(), password.size());
  out << hash << "\n";
  return 0;
}

}  // namespace relay
