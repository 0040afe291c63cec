// relay/admin/tracking_api.hpp — the admin API's message tracking search (GET /api/tracking).
//
// Owns: the request's parameters (message_id, sender, recipient, queue_id, client, event,
// since, until, by_message, limit: the options of `hubrelay track`, read by the same
// relay/tracking/search_words), the bound on the answer (limit: default_limit, at most
// max_limit; one more record is asked for so the answer can say it was cut), and the
// answer as JSON: {"count", "limit", "truncated", "records": [tracking records]}.
// Never: reads the files (the Backend runs relay/tracking/search, off the I/O thread).
// Pure: values in, values out. Errors: ApiError (400 for a bad time, event or limit).
#pragma once

#include <cstddef>
#include <expected>
#include <map>
#include <string>
#include <vector>

#include "relay/admin/api_request.hpp"
#include "relay/tracking/record.hpp"
#include "relay/tracking/search_words.hpp"

namespace relay::admin {

inline constexpr std::size_t tracking_default_limit = 1000;
inline constexpr std::size_t tracking_max_limit = 10'000;

/// GET /api/tracking checked and parsed: the search to run (its options ask for one
/// record past `limit`), and the tracking directory of the running configuration (read
/// on the I/O thread, so the search needs nothing else).
struct TrackingSearch {
  tracking::SearchRequest request;
  std::size_t limit = tracking_default_limit;
  std::string dir;
};

/// The search the request's parameters ask for (unknown ones, such as token, are
/// ignored); relative times count back from `now`.
std::expected<TrackingSearch, ApiError> tracking_search_of(const std::map<std::string, std::string, std::less<>>& params,
                                                           std::string dir, tracking::UnixMillis now);

/// The answer to a search that found `found` (oldest first, up to limit + 1 records: the
/// oldest one past the limit is left out and the answer says truncated).
std::string tracking_json(std::vector<tracking::Record> found, std::size_t limit);

}  // namespace relay::admin
