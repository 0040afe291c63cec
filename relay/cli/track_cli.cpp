// relay/cli/track_cli.cpp — `hubrelay track` (see the header).
#include "relay/cli/track_cli.hpp"

#include <iostream>

#include "conf/load.hpp"
#include "relay/cli/arguments.hpp"
#include "relay/cli/help.hpp"
#include "relay/tracking/files.hpp"
#include "relay/tracking/present.hpp"
#include "relay/tracking/search.hpp"
#include "relay/tracking/search_words.hpp"
#include "relay/tracking/writer.hpp"

namespace relay {
namespace {

constexpr std::string_view command = "track";

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

  // The criteria are read by relay/tracking/search_words, as GET /api/tracking reads its own.
  auto request = tracking::parse_search_words(
      {.message_id = option("message-id"), .sender = option("sender"), .recipient = option("recipient"),
       .queue_id = option("queue-id"), .client = option("client"), .event = option("event"),
       .since = option("since"), .until = option("until"), .limit = option("limit"),
       .by_message = parsed->flags.contains("by-message")},
      tracking::now_ms());
  if (!request) {
    const auto& e = request.error();
    return cli::usage_error(command, e.word == "event" ? e.message : "--" + e.word + ": " + e.message);
  }
  const tracking::Query& query = request->query;
  const tracking::SearchOptions& options = request->options;

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
