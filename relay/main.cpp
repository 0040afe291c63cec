// relay/main.cpp — the `hubrelay` command: subcommand dispatch.
//
// Subcommands: serve, check-config, queue, stats, track, hop, path, route, health, alert,
// hash-password, dkim, version. Every one takes --config FILE (default
// /etc/hubrelay/hubrelay.toml) and --help. Exit status: 0 ok, 1 operational failure, 2 configuration errors or bad usage.
#include <iostream>
#include <string>
#include <vector>

#include "conf/load.hpp"
#include "relay/cli/admin_cli.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/dkim_cli.hpp"
#include "relay/cli/hash_password_cli.hpp"
#include "relay/cli/health_cli.hpp"
#include "relay/cli/help.hpp"
#include "relay/cli/queue_cli.hpp"
#include "relay/cli/route_explain.hpp"
#include "relay/cli/tls_lookup.hpp"
#include "relay/cli/track_cli.hpp"
#include "relay/daemon.hpp"
#include "relay/dkim/key_ring.hpp"
#include "relay/version.hpp"

using relay::cli::usage_error;

namespace {

// "hubrelay 0.1.0 (v0.1.0-12-gabcdef)": the release, and the git revision when known.
void print_version() {
  std::cout << "hubrelay " << relay::build::version;
  if (!relay::build::revision.empty()) std::cout << " (" << relay::build::revision << ")";
  std::cout << "\n";
}

// The DKIM keys are judged here, beside the file: conf/ reads them but does no cryptography.
conf::LoadResult load_or_report(const std::string& path) {
  auto loaded = conf::load_file(path);
  if (loaded) {
    if (auto signer = relay::dkim::load_signer(**loaded); !signer) loaded = std::unexpected(std::move(signer.error()));
  }
  if (!loaded)
    for (const auto& diagnostic : loaded.error()) std::cerr << diagnostic.to_string() << "\n";
  return loaded;
}

// What each plain command accepts besides --config and --help.
relay::cli::OptionSpec spec_of(const std::string& command) {
  if (command == "health") return {.flags = {"json"}, .valued = {}};
  return {};
}

// How many positionals (after the command word) each plain command takes.
std::size_t positionals_of(const std::string& command) { return command == "alert" ? 1 : 0; }

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  const auto at = relay::cli::first_positional(words);
  if (!at) {
    // Only options: --version, --help, or a mistake.
    auto parsed = relay::cli::parse_words(words, {.flags = {"version"}, .valued = {}});
    if (!parsed) return usage_error("", parsed.error());
    if (parsed->flags.contains("version")) {
      print_version();
      return 0;
    }
    if (parsed->help) {
      std::cout << relay::cli::main_usage();
      return 0;
    }
    std::cerr << relay::cli::main_usage();
    return 2;
  }
  const std::string command = words[*at];
  words.erase(words.begin() + static_cast<std::ptrdiff_t>(*at));

  // Commands with subcommands of their own parse their words themselves.
  if (command == "queue") return relay::queue_cli_main(words, relay::cli::default_config);
  if (command == "route") return relay::route_command(words, relay::cli::default_config, relay::look_up_tls_facts);
  if (command == "stats") return relay::stats_main(words, relay::cli::default_config);
  if (command == "hop" || command == "path") return relay::admin_cli_main(command, words, relay::cli::default_config);
  if (command == "track") return relay::track_main(words, relay::cli::default_config);
  if (command == "tls-report") return relay::tls_report_main(words, relay::cli::default_config);
  if (command == "dkim") return relay::dkim_command(words, relay::cli::default_config);

  if (command == "help") {
    std::cout << relay::cli::main_usage();
    return 0;
  }
  const auto help = relay::cli::help_for(command);
  if (!help) {
    std::cerr << "hubrelay: unknown command '" << command << "'\n" << relay::cli::main_usage();
    return 2;
  }
  auto parsed = relay::cli::parse_words(words, spec_of(command));
  if (!parsed) return usage_error(command, parsed.error());
  if (parsed->help) {
    std::cout << *help;
    return 0;
  }
  if (parsed->positional.size() > positionals_of(command))
    return usage_error(command, "unexpected argument '" + parsed->positional[positionals_of(command)] + "'");
  const std::string config = parsed->config.value_or(relay::cli::default_config);

  if (command == "version") {
    print_version();
    return 0;
  }
  if (command == "check-config") {
    auto loaded = load_or_report(config);
    if (!loaded) {
      std::cerr << config << ": " << loaded.error().size() << " problem(s)\n";
      return 2;
    }
    std::cout << config << ": configuration OK\n";
    return 0;
  }
  if (command == "hash-password") return relay::hash_password_command(std::cin, std::cout, std::cerr);
  if (command == "alert" && (parsed->positional.empty() || parsed->positional[0] != "test"))
    return usage_error(command, "the only alert command is 'alert test'");

  auto loaded = load_or_report(config);
  if (!loaded) return 2;
  if (command == "serve") return relay::serve(*loaded);
  if (command == "health") return relay::print_health(**loaded, parsed->flags.contains("json"));
  return relay::send_test_alert(**loaded);
}
