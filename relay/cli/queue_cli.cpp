// relay/cli/queue_cli.cpp — the `hubrelay queue ...` and `hubrelay stats` subcommands.
#include "relay/cli/queue_cli.hpp"
#include "relay/cli/track_cli.hpp"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <spdlog/spdlog.h>

#include "conf/load.hpp"
#include "queue/admin_store_open.hpp"
#include "relay/cli/admin_cli.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"
#include "relay/logging.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/admin/queue_actions.hpp"
#include "relay/admin/queue_format.hpp"
#include "relay/admin/stats_text.hpp"

namespace relay {
namespace {

queue::UnixMillis now_ms() { return unix_now_ms(); }

std::string who() {
  const uid_t uid = getuid();
  std::string name = "?";
  if (const passwd* pw = getpwuid(uid)) name = pw->pw_name;
  return "user=" + name + " uid=" + std::to_string(uid);
}

// What each queue command accepts besides --config and --help.
const std::map<std::string, cli::OptionSpec, std::less<>>& queue_specs() {
  static const std::map<std::string, cli::OptionSpec, std::less<>> specs{
      {"list", {.flags = {"json"},
                .valued = {"state", "direction", "listener", "sender", "recipient", "domain", "hop", "older",
                           "newer", "limit", "offset", "after"}}},
      {"show", {.flags = {"json", "eml", "body"}, .valued = {}}},
      {"summary", {.flags = {"json"}, .valued = {}}},
      {"retry", {.flags = {"all"}, .valued = {"domain"}}},
      {"hold", {.flags = {"all"}, .valued = {}}},
      {"release", {.flags = {"all"}, .valued = {}}},
      {"delete", {.flags = {"all", "bounce"}, .valued = {}}},
      // --all is accepted only to refuse it with a reason (name the messages).
      {"bounce", {.flags = {"all"}, .valued = {}}},
      {"expire", {.flags = {"all"}, .valued = {}}},
  };
  return specs;
}

std::expected<std::vector<queue::MessageId>, std::string> parse_ids(const std::vector<std::string>& words) {
  std::vector<queue::MessageId> ids;
  for (const auto& w : words) {
    auto id = queue::parse_queue_id(w);
    if (!id) return std::unexpected("'" + w + "' is not a queue id (hexadecimal, as shown by `hubrelay queue list`)");
    ids.push_back(*id);
  }
  return ids;
}

int fail(const std::string& why, int status = 1) {
  std::cerr << "hubrelay queue: " << why << "\n";
  return status;
}

// A mistake in the words typed: exit status 2 and a pointer to the command's help.
int usage_error(const std::string& command, const std::string& why) {
  return cli::usage_error(command.empty() ? "queue" : "queue " + command, why);
}


}  // namespace

int queue_cli_main(const std::vector<std::string>& words, const std::string& default_config) {
  const auto at = cli::first_positional(words);
  if (!at || words[*at] == "help") {
    // "queue", "queue --help", "queue help": the overview; only a bare "queue" is an error.
    auto parsed = cli::parse_words(words, {});
    if (!parsed) return usage_error("", parsed.error());
    const bool asked = parsed->help || at.has_value();
    (asked ? std::cout : std::cerr) << *cli::help_for("queue");
    return asked ? 0 : 2;
  }
  const std::string command = words[*at];
  const auto spec = queue_specs().find(command);
  if (spec == queue_specs().end()) return usage_error("", "unknown queue command '" + command + "'");
  std::vector<std::string> rest = words;
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(*at));
  auto parsed = cli::parse_words(rest, spec->second);
  if (!parsed) return usage_error(command, parsed.error());
  cli::Words& p = *parsed;
  if (p.help) {
    std::cout << *cli::help_for("queue " + command);
    return 0;
  }
  const bool json = p.flags.contains("json");

  // Everything the words alone can tell is checked before the configuration and the
  // queue are opened: a typing mistake is a usage error (2) whatever state the host is in.
  std::optional<queue::QueueFilter> filter;
  std::vector<queue::MessageId> ids;
  queue::Selection selection;
  if (command == "list") {
    if (!p.positional.empty()) return usage_error(command, "list takes no ids; use `queue show ID`");
    auto parsed_filter = queue_format::filter_from(p.options);
    if (!parsed_filter) return usage_error(command, parsed_filter.error());
    filter = std::move(*parsed_filter);
  } else if (command == "summary") {
    if (!p.positional.empty()) return usage_error(command, "summary takes no ids");
  } else {
    auto parsed_ids = parse_ids(p.positional);
    if (!parsed_ids) return usage_error(command, parsed_ids.error());
    ids = std::move(*parsed_ids);
  }
  if (command == "show") {
    if (ids.size() != 1) return usage_error(command, "show takes exactly one queue id");
    if (p.flags.contains("eml") && p.flags.contains("body")) return usage_error(command, "--eml or --body, not both");
  }
  const bool mutation = command != "list" && command != "show" && command != "summary";
  if (mutation) {
    selection.ids = ids;
    selection.all = p.flags.contains("all");
    if (auto it = p.options.find("domain"); it != p.options.end()) selection.domain = it->second;
    const int chosen = (selection.ids.empty() ? 0 : 1) + (selection.all ? 1 : 0) + (selection.domain.empty() ? 0 : 1);
    if (chosen != 1)
      return usage_error(command, command + " needs queue ids, --all" + (command == "retry" ? " or --domain D" : "") +
                                      " (exactly one of them)");
    if ((command == "bounce" || command == "expire") && selection.all)
      return usage_error(command, command + " --all is refused: name the messages (see `queue list`)");
  }

  const std::string config_path = p.config.value_or(default_config);
  auto loaded = conf::load_file(config_path);
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  const conf::Config& config = **loaded;
  // The queue [queue] names: on a shared PostgreSQL queue, never a queue.db left in
  // state_dir from before (a stale, wrong answer).
  auto opened = queue::open_admin_store(config.queue, config.relay.state_dir);
  if (!opened) return fail(opened.error());
  queue::AdminStore* store = opened->get();
  const auto now = now_ms();

  if (command == "list") {
    auto rows = store->list(*filter, now);
    if (!rows) return fail(rows.error());
    if (!json) std::cout << queue_format::list_header();
    for (const auto& m : *rows) std::cout << (json ? queue_format::message_json(m, now) + "\n" : queue_format::message_line(m, now));
    if (!json) std::cout << rows->size() << " message(s)\n";
    return 0;
  }
  if (command == "show") {
    const bool eml = p.flags.contains("eml"), body_only = p.flags.contains("body");
    if (eml || body_only) {
      auto body = store->body(ids.front());
      if (!body) return fail(body.error());
      std::string_view out = *body;
      if (body_only) {
        const auto split = out.find("\r\n\r\n");
        out = split == std::string_view::npos ? std::string_view{} : out.substr(split + 4);
      }
      std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
      return 0;
    }
    auto m = store->show(ids.front());
    if (!m) return fail(m.error());
    std::cout << (json ? queue_format::message_json(*m, now) + "\n" : queue_format::show_text(*m, now));
    return 0;
  }
  if (command == "summary") {
    auto inputs = store->summary_inputs();
    if (!inputs) return fail(inputs.error());
    const auto rows = queue::summarize(*inputs, now);
    std::cout << (json ? queue_format::summary_json(rows) : queue_format::summary_text(rows));
    return 0;
  }

  // Mutations: the code the admin API runs too (relay/admin/queue_actions): one selection,
  // one transaction, one audit line, written where the daemon logs so one file tells the
  // whole story.
  if (auto error = configure_logging(config.log); !error.empty()) std::cerr << "hubrelay queue: " << error << "\n";
  if (spdlog::default_logger()->level() > spdlog::level::info) spdlog::default_logger()->set_level(spdlog::level::info);
  admin::QueueAction action{.action = command, .ids = {}, .all = selection.all, .domain = selection.domain,
                            .filter = std::nullopt, .dry_run = false, .report = p.flags.contains("bounce")};
  for (auto id : ids) action.ids.push_back(queue::format_queue_id(id));
  auto result = admin::run_queue_action(*store, config, action, who(), now);
  spdlog::default_logger()->flush();
  if (!result) return fail(result.error().message);
  std::cout << (action.report ? "delete --bounce" : command) << ": " << result->messages << " message(s), "
            << result->recipients << " recipient(s)\n";
  return 0;
}

namespace {

// The three numbers of "key":[a,b,c] inside the object that follows "direction":{.
std::optional<std::array<double, 3>> rates_of(std::string_view json, std::string_view direction, std::string_view key) {
  const auto object = json.find("\"" + std::string(direction) + "\":{");
  if (object == std::string_view::npos) return std::nullopt;
  const auto at = json.find("\"" + std::string(key) + "\":[", object);
  if (at == std::string_view::npos) return std::nullopt;
  std::array<double, 3> out{};
  const std::string rest(json.substr(at + key.size() + 4, 100));
  if (std::sscanf(rest.c_str(), "%lf,%lf,%lf", &out[0], &out[1], &out[2]) != 3) return std::nullopt;
  return out;
}

}  // namespace

int stats_main(const std::vector<std::string>& words, const std::string& default_config) {
  auto parsed = cli::parse_words(words, {.flags = {"json"}, .valued = {}});
  if (!parsed) return cli::usage_error("stats", parsed.error());
  if (parsed->help) {
    std::cout << *cli::help_for("stats");
    return 0;
  }
  if (!parsed->positional.empty())
    return cli::usage_error("stats", "unexpected argument '" + parsed->positional.front() + "'");
  const bool json = parsed->flags.contains("json");
  auto loaded = conf::load_file(parsed->config.value_or(default_config));
  if (!loaded) {
    for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
    return 2;
  }
  auto response = admin_call((*loaded)->admin, "GET", "/api/status");
  if (!response) {
    std::cerr << "hubrelay stats: " << response.error() << "\n";
    return 1;
  }
  if (response->status != 200) {
    std::cerr << "hubrelay stats: admin endpoint answered " << response->status << ": " << response->body;
    return 1;
  }
  const std::string& body = response->body;
  if (json) {
    std::cout << body << "\n";
    return 0;
  }
  std::printf("%-10s %-5s %10s %10s %10s   (messages/s)\n", "DIRECTION", "FLOW", "1 min", "5 min", "15 min");
  for (const char* direction : {"inbound", "outbound"}) {
    for (const char* flow : {"in", "out"}) {
      auto r = rates_of(body, direction, std::string("rate_") + flow);
      if (!r) {
        std::cerr << "hubrelay stats: unexpected /api/status document\n";
        return 1;
      }
      std::printf("%-10s %-5s %10.3f %10.3f %10.3f\n", direction, flow, (*r)[0], (*r)[1], (*r)[2]);
    }
  }
  // The hops in the words of the status page, /metrics and `hubrelay health`.
  const auto hops = metrics::hop_table(body);
  if (!hops) {
    std::cerr << "hubrelay stats: " << hops.error() << "\n";
    return 1;
  }
  std::cout << "\n" << *hops;
  return 0;
}

}  // namespace relay
