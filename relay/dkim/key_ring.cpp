// relay/dkim/key_ring.cpp — see key_ring.hpp.
#include "relay/dkim/key_ring.hpp"

namespace relay::dkim {
namespace {

Canonicalization canonicalization_of(conf::DkimCanonicalization c) {
  return c == conf::DkimCanonicalization::simple ? Canonicalization::simple : Canonicalization::relaxed;
}

}  // namespace

SignerSettings settings_of(const conf::DkimConfig& entry) {
  SignerSettings s;
  s.name = entry.name;
  s.identity = SignerIdentity{entry.domain, entry.selector, entry.subdomains};
  s.headers = entry.headers;
  s.oversign = entry.oversign;
  s.canonicalization = {canonicalization_of(entry.header_canonicalization),
                        canonicalization_of(entry.body_canonicalization)};
  s.expiration = entry.expiration;
  s.directions = entry.directions;
  return s;
}

std::expected<SignerPtr, std::vector<conf::Diagnostic>> load_signer(const conf::Config& config) {
  std::vector<KeyedSettings> keys;
  std::vector<conf::Diagnostic> problems;
  for (const auto& entry : config.dkim) {
    auto key = SigningKey::from_pem(entry.key_pem);
    if (!key) {
      problems.push_back(conf::Diagnostic{config.source_file, entry.key_file_line, "dkim." + entry.name + ".key_file",
                                          entry.key_file + ": " + key.error()});
      continue;
    }
    keys.push_back(KeyedSettings{settings_of(entry), std::move(*key)});
  }
  if (!problems.empty()) return std::unexpected(std::move(problems));
  return std::make_shared<const Signer>(std::move(keys));
}

}  // namespace relay::dkim
