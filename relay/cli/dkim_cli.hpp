// relay/cli/dkim_cli.hpp — `hubrelay dkim keygen` and `hubrelay dkim check`.
//
// Owns: keygen (a new RSA or Ed25519 key written with mode 0600, never over an existing
// file, and the DNS TXT record to publish printed) and check (each [dkim.NAME] selector's
// TXT record looked up through the relay's own resolver, routing/dns_resolver with [dns],
// and compared with the configured key: match, mismatch, revoked, missing).
// Errors: usage → status 2; configuration problems → file:line: key: message, status 2;
// check: 0 when every record matches, 1 otherwise (or when a lookup fails).
// See docs/dkim.md.
#pragma once

#include <string>
#include <vector>

namespace relay {

int dkim_command(const std::vector<std::string>& words, const std::string& default_config);

}  // namespace relay
