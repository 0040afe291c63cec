// relay/tracking/search_words.hpp — a tracking search as an administrator writes it.
//
// Owns: turning the words of a search into a Query and its SearchOptions, for
// `hubrelay track` (its options) and the admin API's GET /api/tracking (its parameters)
// alike: the same criteria, the same comma lists (queue ids, events), the same time
// bounds (relay/tracking/query parse_time_bound) and the same errors an administrator
// reads (an unknown event, a bad time, a limit that is not a number).
// Pure: the caller gives the clock. Errors: SearchWordError, never throws.
#pragma once

#include <cstddef>
#include <expected>
#include <string>

#include "relay/tracking/query.hpp"

namespace relay::tracking {

/// The words as written; "" for a criterion not given.
struct SearchWords {
  std::string message_id;
  std::string sender;
  std::string recipient;
  std::string queue_id;   // one queue id or several, comma-separated
  std::string client;
  std::string event;      // event names, comma-separated ("defer,bounce")
  std::string since;      // "2h", "3d", "2026-12-04T10:00:00"
  std::string until;
  std::string limit;      // a count of records; "" for the caller's default
  bool by_message = false;
};

struct SearchRequest {
  Query query;
  SearchOptions options;
};

/// Which word is wrong ("event", "since", "until", "limit") and why, in words.
struct SearchWordError {
  std::string word;
  std::string message;
};

/// The search the words ask for. `default_limit` stands in for an absent limit (0: all).
std::expected<SearchRequest, SearchWordError> parse_search_words(const SearchWords& words, UnixMillis now,
                                                                 std::size_t default_limit = 0);

}  // namespace relay::tracking
