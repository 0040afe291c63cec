// queue/queue_query.hpp — the pure half of `hubrelay queue`: filters, ids, ages, summaries.
//
// Owns: parsing what an administrator types (queue ids, states, ages such as "2h"),
// turning a QueueFilter into one SQL WHERE clause with positional parameters, deriving a
// message's displayed state from its recipients, and the qshape-like summary (recipient
// domain × age bucket, counts and bytes).
// Never: opens a database, reads a clock or prints; the caller passes `now`.
// Threading: plain functions and values, safe anywhere.
// Errors: parse functions return std::nullopt / an error text naming the bad input; they
// never throw.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "conf/config.hpp"
#include "queue/message.hpp"

namespace queue {

/// What `queue list --state` selects. `queued` (the default) is every message that still
/// has a pending recipient, held or not; `all` includes finished history.
enum class StateFilter { queued, deferred, held, delivered, failed, expired, all };

std::optional<StateFilter> parse_state_filter(std::string_view text) noexcept;

/// "000000002A", "2a", "0x2A" → 42. Rejects empty, non-hex, zero and overflowing input.
std::optional<MessageId> parse_queue_id(std::string_view text) noexcept;

/// "90", "90s", "15m", "2h", "3d" → milliseconds. Rejects negatives and junk.
std::optional<std::int64_t> parse_age_ms(std::string_view text) noexcept;

struct QueueFilter {
  StateFilter state = StateFilter::queued;
  std::optional<conf::Direction> direction;
  std::string listener;                  // exact
  std::string sender;                    // case-insensitive substring
  std::string recipient;                 // case-insensitive substring of any recipient
  std::string domain;                    // exact (case-insensitive) recipient domain
  std::string hop;                       // exact hop name of any recipient's last attempt
  std::optional<std::int64_t> older_than_ms;
  std::optional<std::int64_t> newer_than_ms;
  std::optional<MessageId> after;        // cursor: only ids greater than this
  std::size_t limit = 1000;
  std::size_t offset = 0;
};

using SqlParam = std::variant<std::int64_t, std::string>;

struct SqlWhere {
  std::string clause;                    // "1" (true) when nothing filters; refers to messages AS m
  std::vector<SqlParam> params;          // bound to ?1, ?2, ... ($1, $2, ... in PostgreSQL) in order
};

/// Whose SQL a clause is written in: the node's SQLite queue or the shared PostgreSQL one.
enum class SqlDialect { sqlite, postgresql };

/// The WHERE clause for `filter` over `messages m` (recipients are reached by EXISTS).
SqlWhere build_where(const QueueFilter& filter, UnixMillis now, SqlDialect dialect = SqlDialect::sqlite);

/// PostgreSQL's spelling of SQL `domain_of(column)` (queue/sql_functions.hpp, which is
/// conf::domain_of): the text after the last '@' of the address without angle brackets,
/// "" without one; an address literal ("[...]") as written, else without a trailing dot
/// and in ASCII lower case.
std::string pg_domain_of(std::string_view column);

/// The displayed state of a message: held (held with something pending), deferred
/// (pending, attempted or waiting with a reason — `attempts[i]` > 0), queued (pending,
/// neither), else its final state:
/// failed if any recipient failed, expired if any expired, delivered otherwise.
std::string_view message_state(bool held, std::span<const RecipientState> states,
                               std::span<const std::uint32_t> attempts) noexcept;

/// The domain an administrator typed (`--domain`), normalised the way conf::domain_of
/// normalises a recipient's domain, so it compares equal to SQL `domain_of(r.address)`
/// (queue/sql_functions.hpp) for every recipient routing sends to that domain. Text with
/// an '@' is no domain and comes back unchanged, matching nothing.
std::string domain_filter(std::string_view typed);

// --- summary (qshape) -------------------------------------------------------------------

/// Upper bounds in minutes of the age buckets; a last open bucket holds everything older.
inline constexpr std::array<std::int64_t, 9> summary_bucket_minutes{5, 10, 20, 40, 80, 160, 320, 640, 1280};
inline constexpr std::size_t summary_bucket_count = summary_bucket_minutes.size() + 1;

/// One pending (message, recipient domain) pair: what the summary counts.
struct SummaryInput {
  std::string domain;
  UnixMillis received_at = 0;
  std::uint64_t size = 0;
};

struct SummaryRow {
  std::string domain;                    // "TOTAL" for the first row
  std::uint64_t total = 0;
  std::uint64_t bytes = 0;
  std::array<std::uint64_t, summary_bucket_count> buckets{};
};

/// Index of the bucket for a message of this age: age < 5 min → 0, < 10 → 1, ...
std::size_t summary_bucket(std::int64_t age_ms) noexcept;

/// TOTAL first, then domains by descending total, ties by name.
std::vector<SummaryRow> summarize(std::span<const SummaryInput> inputs, UnixMillis now);

}  // namespace queue
