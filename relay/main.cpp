// relay/main.cpp — the `hubrelay` command: subcommand dispatch.
//
// Subcommands: serve, check-config, queue, stats (later: health, route). Every one takes
// --config FILE (default /etc/hubrelay/hubrelay.toml). Exit status: 0 ok, 1 runtime or
// start-up failure, 2 configuration errors or bad usage.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "conf/load.hpp"
#include "relay/health_service.hpp"
#include "relay/cli/route_explain.hpp"
#include "relay/cli/hash_password_cli.hpp"
#include "relay/cli/queue_cli.hpp"
#include "relay/daemon.hpp"

namespace {

constexpr const char* default_config = "/etc/hubrelay/hubrelay.toml";

void usage(std::ostream& out) {
  out << "usage: hubrelay COMMAND [--config FILE]\n"
         "\n"
         "commands:\n"
         "  serve          run the relay in the foreground\n"
         "  check-config   validate the configuration, print every problem, exit 2 if any\n"
         "  route explain ADDRESS [--direction inbound|outbound]\n"
         "                 show the route, hops, tiers, health and try order for ADDRESS\n"
         "  version        print the version\n"
         "  health [--json]  every path and hop: state, since when, last runs, ejections\n"
         "  alert test     queue a test alert mail to [alerts] to (the daemon delivers it)\n"
         "  hash-password  read a password on stdin, print its hash for auth_users\n"
         "  queue ...      list|show|retry|hold|release|delete|bounce|expire|summary (queue help)\n"
         "  stats          per-direction throughput over 1, 5 and 15 minutes (needs [admin])\n"
         "\n"
         "--config FILE defaults to " << default_config << "\n";
}

struct Arguments {
  std::string command;
  std::string config = default_config;
  std::string subcommand;  // "alert test"
  bool json = false;       // health --json
};

bool parse(int argc, char** argv, Arguments& args) {
  std::vector<std::string> words(argv + 1, argv + argc);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "--config" || word == "-c") {
      if (i + 1 >= words.size()) return false;
      args.config = words[++i];
    } else if (word.starts_with("--config=")) {
      args.config = word.substr(9);
    } else if (word == "-h" || word == "--help") {
      args.command = "help";
    } else if (args.command.empty() && !word.starts_with("-")) {
      args.command = word;
    } else if (word == "--json") {
      args.json = true;
    } else if (args.command == "alert" && args.subcommand.empty() && !word.starts_with("-")) {
      args.subcommand = word;
    } else {
      return false;
    }
  }
  return !args.command.empty();
}

conf::LoadResult load_or_report(const std::string& path) {
  auto loaded = conf::load_file(path);
  if (!loaded)
    for (const auto& diagnostic : loaded.error()) std::cerr << diagnostic.to_string() << "\n";
  return loaded;
}

}  // namespace

// `queue` and `stats` take their own options; only --config is shared with the rest.
static int operations_main(int argc, char** argv) {
  const std::string command = argv[1];
  std::string config = default_config;
  std::vector<std::string> rest;
  for (int i = 2; i < argc; ++i) {
    const std::string word = argv[i];
    if ((word == "--config" || word == "-c") && i + 1 < argc) {
      config = argv[++i];
    } else if (word.starts_with("--config=")) {
      config = word.substr(9);
    } else {
      rest.push_back(word);
    }
  }
  return command == "queue" ? relay::queue_cli_main(config, rest) : relay::stats_main(config, rest);
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "route") == 0) return relay::route_command(argc, argv, default_config);
  if (argc > 1 && (std::strcmp(argv[1], "queue") == 0 || std::strcmp(argv[1], "stats") == 0))
    return operations_main(argc, argv);
  Arguments args;
  if (!parse(argc, argv, args)) {
    usage(std::cerr);
    return 2;
  }
  if (args.command == "help") {
    usage(std::cout);
    return 0;
  }
  if (args.command == "version") {
    std::cout << "hubrelay 0.1.0\n";
    return 0;
  }
  if (args.command == "check-config") {
    auto loaded = load_or_report(args.config);
    if (!loaded) {
      std::cerr << args.config << ": " << loaded.error().size() << " problem(s)\n";
      return 2;
    }
    std::cout << args.config << ": configuration OK\n";
    return 0;
  }
  if (args.command == "hash-password") return relay::hash_password_command(std::cin, std::cout, std::cerr);
  if (args.command == "serve") {
    auto loaded = load_or_report(args.config);
    if (!loaded) return 2;
    return relay::serve(*loaded);
  }
  if (args.command == "health") {
    auto loaded = load_or_report(args.config);
    if (!loaded) return 2;
    return relay::print_health(**loaded, args.json);
  }
  if (args.command == "alert" && args.subcommand == "test") {
    auto loaded = load_or_report(args.config);
    if (!loaded) return 2;
    return relay::send_test_alert(**loaded);
  }
  std::cerr << "hubrelay: unknown command '" << args.command << "'\n";
  usage(std::cerr);
  return 2;
}
