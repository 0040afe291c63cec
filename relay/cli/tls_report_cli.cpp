// relay/cli/tls_report_cli.cpp — `hubrelay tls-report send [--today]`.
//
// Owns: asking the running daemon (its admin API, relay/cli/admin_cli's admin_call) to
// send the TLS reports (RFC 8460) now: those of finished days, and with --today the
// counts of today so far. The daemon does the work and logs it; this prints its answer.
// Exit status: 0 done, 1 refused or daemon unreachable, 2 usage or configuration error.
#include <iostream>

#include "conf/load.hpp"
#include "relay/cli/admin_cli.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"

namespace relay {

int tls_report_main(const std::vector<std::string>& words, const std::string& default_config) {
  const auto at = cli::first_positional(words);
  auto parsed = cli::parse_words(words, {.flags = {"today"}, .valued = {}});
  if (!parsed) return cli::usage_error("tls-report", parsed.error());
  if (parsed->help || !at) {
    (parsed->help ? std::cout : std::cerr) << *cli::help_for("tls-report");
    return parsed->help ? 0 : 2;
  }
  if (parsed->positional != std::vector<std::string>{"send"})
    return cli::usage_error("tls-report", "the command is: tls-report send [--today]");
  auto loaded = conf::load_file(parsed->config.value_or(default_config));
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  const bool today = parsed->flags.contains("today");
  auto answer = admin_call((*loaded)->admin, "POST", "/api/tls-reports/send",
                           today ? R"({"include_today":true})" : "{}");
  if (!answer) {
    std::cerr << "hubrelay tls-report: " << answer.error() << "\n";
    return 1;
  }
  if (answer->status != 200) {
    std::cerr << "hubrelay tls-report send: " << answer->status << ": " << answer->body << "\n";
    return 1;
  }
  std::cout << answer->body << "\n";
  return 0;
}

}  // namespace relay
