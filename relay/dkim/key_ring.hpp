// relay/dkim/key_ring.hpp — the configuration's [dkim.NAME] entries as a ready Signer.
//
// Owns: turning conf::DkimConfig (settings and the key file's text, read by conf/) into
// loaded keys: each must be an unencrypted RSA key of 2048 bits or more or an Ed25519 key.
// A key that is not is reported as a configuration diagnostic at the key_file line
// ("hubrelay.toml:12: dkim.example.key_file: /etc/...pem: RSA key of 1024 bits; ..."), so
// check-config, start-up and SIGHUP report it the way they report every other mistake.
// Called at start-up and on every reload (a reload re-reads the key files: rotation).
// Errors: every bad key, not just the first.
#pragma once

#include <expected>
#include <memory>
#include <vector>

#include "conf/config.hpp"
#include "conf/load.hpp"
#include "relay/dkim/signer.hpp"

namespace relay::dkim {

using SignerPtr = std::shared_ptr<const Signer>;

/// The signer of `config`'s [dkim.NAME] entries (one without keys when there are none).
std::expected<SignerPtr, std::vector<conf::Diagnostic>> load_signer(const conf::Config& config);

/// One entry's settings in relay/dkim's terms.
SignerSettings settings_of(const conf::DkimConfig& entry);

}  // namespace relay::dkim
