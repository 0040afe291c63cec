// relay/cli/track_cli.cpp — `hubrelay track` (see the header).
#include "relay/cli/track_cli.hpp"

#include <charconv>
#include <iostream>

#include "conf/load.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"
#include "relay/tracking/files.hpp"
#include "relay/tracking/present.hpp"
#include "relay/tracking/search.hpp"
#include "relay/tracking/writer.hpp"

namespace relay {
namespace {

constexpr std::string_view command = "track";

// Comma-separated words of an option ("--event defer,bounce").
std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const auto comma = text.find(',', at);
    const auto end = comma == std::string::npos ? text.size() : comma;
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

int track_main(const std::vector<std::string>& words, const std::string& default_config) {
  auto parsed = cli::parse_words(words, {.flags = {"json", "by-message"},
                                         .valued = {"message-id", "sender", "recipient", "queue-id", "client", "event",
                                                    "since", "until", "limit", "dir"}});
  if (!parsed) return cli::usage_error(command, parsed.error());
  if (parsed->help) {
    std::cout << *cli::help_for(command);
    return 0;
  }
  if (!parsed->positional.empty())
    return cli::usage_error(command, "unexpected argument '" + parsed->positional.front() + "'");
  const auto option = [&](std::string_view name) {
    const auto it = parsed->options.find(name);
    return it == parsed->options.end() ? std::string() : it->second;
  };

  tracking::Query query;
  query.message_id = option("message-id");
  query.sender = option("sender");
  query.recipient = option("recipient");
  query.client = option("client");
  for (const auto& id : split(option("queue-id"))) query.queue_ids.insert(id);
  for (const auto& name : split(option("event"))) {
    const auto event = tracking::event_from_string(name);
    if (!event)
      return cli::usage_error(command, "unknown event '" + name +
                                           "' (receive, reject, queue, filter, deliver, defer, bounce, expire, dsn, "
                                           "hold, release, delete, drop)");
    query.events.insert(*event);
  }
  const auto now = tracking::now_ms();
  for (const auto& [name, bound] : {std::pair{"since", &query.since}, {"until", &query.until}}) {
    const std::string text = option(name);
    if (text.empty()) continue;
    auto at = tracking::parse_time_bound(text, now);
    if (!at) return cli::usage_error(command, "--" + std::string(name) + ": " + at.error());
    *bound = *at;
  }
  tracking::SearchOptions options;
  options.whole_messages = parsed->flags.contains("by-message");
  if (const std::string limit = option("limit"); !limit.empty()) {
    if (std::from_chars(limit.data(), limit.data() + limit.size(), options.limit).ptr != limit.data() + limit.size())
      return cli::usage_error(command, "--limit needs a number");
  }

  std::string dir = option("dir");
  if (dir.empty()) {
    auto loaded = conf::load_file(parsed->config.value_or(default_config));
    if (!loaded) {
      for (const auto& d : loaded.error()) std::cerr << d.to_string() << "\n";
      return 2;
    }
    dir = (*loaded)->tracking.dir;
  }

  const auto records = tracking::search(dir, query, options);
  std::string out;
  if (parsed->flags.contains("json")) {
    for (const auto& r : records) tracking::append_record(out, r);
  } else if (options.whole_messages) {
    out = tracking::stories(records);
  } else {
    for (const auto& r : records) out += tracking::record_line(r);
  }
  std::cout << out;
  if (records.empty() && !parsed->flags.contains("json")) std::cerr << "no matching records in " << dir << "\n";
  return 0;
}

}  // namespace relay
