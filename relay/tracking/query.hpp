// relay/tracking/query.hpp — what an administrator searches for, and whether a record matches.
//
// Owns: the search criteria of `hubrelay track` (and of the admin API's tracking search),
// the pure match of one record against them, the time bounds an administrator writes
// ("2h", "3d", "2026-12-04", "2026-12-04T10:00:00"), and the index keys: the words a
// record is found by (queue id, Message-ID, sender, recipients and their domains,
// client) and those a query needs, hashed the same way for the block filters of
// relay/tracking/index. Pure: the caller gives the clock.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relay/tracking/record.hpp"

namespace relay::tracking {

struct Query {
  std::string message_id;                // exact, without <> (case-insensitive)
  std::string sender;                    // address, domain or pattern (see address_matches)
  std::string recipient;                 // same
  std::set<std::string> queue_ids;       // any of them
  std::string client;                    // exact address
  std::set<Event> events;                // any of them; empty: every event
  std::optional<UnixMillis> since;       // inclusive
  std::optional<UnixMillis> until;       // exclusive
  bool empty() const noexcept;
};

/// How a search answers (relay/tracking/search).
struct SearchOptions {
  std::size_t limit = 0;              // most records returned (the newest ones); 0: all
  bool whole_messages = false;        // every record of each message found (--by-message)
  bool update_indexes = true;         // write new index blocks beside the files
};

/// True when `address` matches what an administrator wrote: a whole address
/// ("a@example.com"), a domain ("example.com" or "@example.com": that domain only), or a
/// pattern with "*" ("*.example.com": its subdomains; "*example.com*"); case-insensitive.
/// "<>" matches the null sender.
bool address_matches(std::string_view address, std::string_view wanted);

bool matches(const Record& record, const Query& query);

/// "2h", "30m", "3d", "1w" before `now`, or an absolute UTC time ("2026-12-04",
/// "2026-12-04T10:00", "2026-12-04 10:00:00", ISO with ".mmmZ").
std::expected<UnixMillis, std::string> parse_time_bound(std::string_view text, UnixMillis now);

// --- index keys ----------------------------------------------------------------------------

/// 64-bit hash of a lowercased key with its kind ('q' queue id, 'm' Message-ID, 's'
/// sender, 'r' recipient, 'c' client); domains are keyed with a leading '@'.
std::uint64_t key_hash(char kind, std::string_view key);

/// Every key hash a record is found by.
std::vector<std::uint64_t> record_keys(const Record& record);

/// What a block must hold for the query to find something there: each inner vector is an
/// "any of" (the queue ids asked for), all of them are needed. Empty: the query has no
/// indexable key (an event or a time range alone, a wildcard pattern): scan everything.
std::vector<std::vector<std::uint64_t>> query_keys(const Query& query);

}  // namespace relay::tracking
