// relay/admin/tracking_api.cpp — GET /api/tracking's parameters and answer (see the header).
#include "relay/admin/tracking_api.hpp"

namespace relay::admin {

std::expected<TrackingSearch, ApiError> tracking_search_of(const std::map<std::string, std::string, std::less<>>& params,
                                                           std::string dir, tracking::UnixMillis now) {
  const auto param = [&](std::string_view name) {
    const auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  };
  const std::string by_message = param("by_message");
  auto request = tracking::parse_search_words(
      {.message_id = param("message_id"), .sender = param("sender"), .recipient = param("recipient"),
       .queue_id = param("queue_id"), .client = param("client"), .event = param("event"), .since = param("since"),
       .until = param("until"), .limit = param("limit"),
       .by_message = by_message == "1" || by_message == "true" || by_message == "yes"},
      now, tracking_default_limit);
  if (!request)
    return std::unexpected(ApiError{400, "bad_request", request.error().word + ": " + request.error().message});
  const std::size_t limit = request->options.limit;
  if (limit == 0 || limit > tracking_max_limit)
    return std::unexpected(ApiError{400, "bad_request", "limit: from 1 to " + std::to_string(tracking_max_limit)});
  request->options.limit = limit + 1;  // one more than asked: its presence says the answer was cut
  return TrackingSearch{std::move(*request), limit, std::move(dir)};
}

std::string tracking_json(std::vector<tracking::Record> found, std::size_t limit) {
  const bool truncated = found.size() > limit;
  // The search keeps the newest records; the one to leave out is the oldest.
  const std::size_t skip = truncated ? found.size() - limit : 0;
  std::string out = "{\"count\":" + std::to_string(found.size() - skip) + ",\"limit\":" + std::to_string(limit) +
                    ",\"truncated\":" + (truncated ? "true" : "false") + ",\"records\":[";
  for (std::size_t i = skip; i < found.size(); ++i) {
    if (i > skip) out += ',';
    tracking::append_record(out, found[i]);
    out.pop_back();  // the line's "\n"
  }
  out += "]}\n";
  return out;
}

}  // namespace relay::admin
