// relay/cli/admin_cli.hpp — `hubrelay hop` and `hubrelay path`: the daemon's admin API from the shell.
//
// Owns: `hop suspend NAME --for DURATION [--reason TEXT]`, `hop resume NAME`,
// `path force NAME down|up --for DURATION [--reason TEXT]`, `path release NAME`, and the
// one HTTP client the CLI uses to reach the running daemon (admin_call: [admin] listen, the
// bearer token), which `hubrelay stats` uses too. Hop and path state lives in the daemon,
// so these commands go through its admin API — the very code the HTTP caller runs — and
// the daemon writes the audit line. Queue commands need no daemon (relay/cli/queue_cli.cpp).
// Never: changes anything itself.
// Threading: single-threaded, run from main(). Exit status: 0 done, 1 refused or daemon
// unreachable, 2 usage or configuration error.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"

namespace relay {

struct AdminAnswer {
  int status = 0;
  std::string body;
};

/// One request to the daemon's admin endpoint; the error is a sentence for stderr.
std::expected<AdminAnswer, std::string> admin_call(const conf::AdminConfig& admin, std::string_view method,
                                                   std::string_view target, std::string_view body = {});

/// `words`: everything after "hop" or "path" (`noun`).
int admin_cli_main(std::string_view noun, const std::vector<std::string>& words, const std::string& default_config);

/// `hubrelay tls-report send [--today]` (relay/cli/tls_report_cli.cpp); `words` after "tls-report".
int tls_report_main(const std::vector<std::string>& words, const std::string& default_config);

}  // namespace relay
