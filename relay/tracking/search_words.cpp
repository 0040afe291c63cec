// relay/tracking/search_words.cpp — words of a tracking search to a Query (see the header).
#include "relay/tracking/search_words.hpp"

#include <charconv>
#include <vector>

namespace relay::tracking {
namespace {

// Comma-separated words ("defer,bounce"); empty words are skipped.
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

std::expected<SearchRequest, SearchWordError> parse_search_words(const SearchWords& words, UnixMillis now,
                                                                 std::size_t default_limit) {
  SearchRequest request;
  Query& query = request.query;
  query.message_id = words.message_id;
  query.sender = words.sender;
  query.recipient = words.recipient;
  query.client = words.client;
  for (const auto& id : split(words.queue_id)) query.queue_ids.insert(id);
  for (const auto& name : split(words.event)) {
    const auto event = event_from_string(name);
    if (!event)
      return std::unexpected(SearchWordError{
          "event", "unknown event '" + name +
                       "' (receive, reject, queue, filter, deliver, defer, bounce, expire, dsn, hold, release, "
                       "delete, drop)"});
    query.events.insert(*event);
  }
  const auto bound = [&](const char* name, const std::string& text,
                         std::optional<UnixMillis>& into) -> std::optional<SearchWordError> {
    if (text.empty()) return std::nullopt;
    auto at = parse_time_bound(text, now);
    if (!at) return SearchWordError{name, at.error()};
    into = *at;
    return std::nullopt;
  };
  if (auto error = bound("since", words.since, query.since)) return std::unexpected(std::move(*error));
  if (auto error = bound("until", words.until, query.until)) return std::unexpected(std::move(*error));
  request.options.whole_messages = words.by_message;
  request.options.limit = default_limit;
  if (const std::string& limit = words.limit; !limit.empty()) {
    if (std::from_chars(limit.data(), limit.data() + limit.size(), request.options.limit).ptr !=
        limit.data() + limit.size())
      return std::unexpected(SearchWordError{"limit", "'" + limit + "' is not a number of records"});
  }
  return request;
}

}  // namespace relay::tracking
