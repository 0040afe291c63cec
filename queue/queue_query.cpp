// queue/queue_query.cpp — the pure half of `hubrelay queue`: filters, ids, ages, summaries.
#include "queue/queue_query.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>

#include "conf/domain_pattern.hpp"

namespace queue {
namespace {

constexpr std::array<std::pair<std::string_view, StateFilter>, 7> state_names{{
    {"queued", StateFilter::queued},
    {"deferred", StateFilter::deferred},
    {"held", StateFilter::held},
    {"delivered", StateFilter::delivered},
    {"failed", StateFilter::failed},
    {"expired", StateFilter::expired},
    {"all", StateFilter::all},
}};

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<StateFilter> parse_state_filter(std::string_view text) noexcept {
  for (const auto& [name, value] : state_names)
    if (name == text) return value;
  return std::nullopt;
}

std::optional<MessageId> parse_queue_id(std::string_view text) noexcept {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value == 0 || value > static_cast<std::uint64_t>(std::numeric_limits<MessageId>::max())) return std::nullopt;
  return static_cast<MessageId>(value);
}

std::optional<std::int64_t> parse_age_ms(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1000;
  switch (text.back()) {
    case 's': unit = 1000; text.remove_suffix(1); break;
    case 'm': unit = 60'000; text.remove_suffix(1); break;
    case 'h': unit = 3'600'000; text.remove_suffix(1); break;
    case 'd': unit = 86'400'000; text.remove_suffix(1); break;
    default: break;
  }
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
  if (value > std::numeric_limits<std::int64_t>::max() / unit) return std::nullopt;
  return value * unit;
}

std::string domain_filter(std::string_view typed) {
  // A domain holds no '@' (domain_of cuts at the last one). Typed text with an '@' must not
  // be re-split into some other domain: kept as it is, it matches no recipient.
  if (typed.find('@') != std::string_view::npos) return std::string(typed);
  return conf::domain_of("@" + std::string(typed));
}

std::string pg_domain_of(std::string_view column) {
  const std::string c(column);
  const std::string domain = "substring(regexp_replace(" + c + ", '^<(.*)>$', '\\1') from '@([^@]*)$')";
  return "coalesce(CASE WHEN " + domain + " LIKE '[%' THEN " + domain + " ELSE translate(regexp_replace(" + domain +
         ", '\\.$', ''), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') END, '')";
}

SqlWhere build_where(const QueueFilter& f, UnixMillis now, SqlDialect dialect) {
  SqlWhere where;
  std::vector<std::string> terms;
  const bool pg = dialect == SqlDialect::postgresql;
  // Parameters are numbered explicitly so a term may be added anywhere in the list.
  const auto param = [&](SqlParam value) {
    where.params.push_back(std::move(value));
    return (pg ? "$" : "?") + std::to_string(where.params.size());
  };
  const auto recipients_where = [](const std::string& condition) {
    return "EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND " + condition + ")";
  };
  const auto contains = [&](const std::string& text, const std::string& needle) {
    return (pg ? "strpos(" : "instr(") + text + ", " + needle + ") > 0";
  };
  // The unary "+" on r.state keeps SQLite from answering these per-message subqueries
  // through the (state, next_attempt) index, which walks every recipient in that state
  // (all pending, or all history) for each message: O(messages x recipients) per listing.
  // With "+" they read the message's own rows by primary key, as the store's statements do.
  // PostgreSQL has no such operator and plans these as it sees fit.
  const std::string state = pg ? "r.state" : "+r.state";
  switch (f.state) {
    case StateFilter::queued: terms.push_back(recipients_where(state + " = 0")); break;
    case StateFilter::deferred: terms.push_back("m.held = 0 AND " + recipients_where(state + " = 0 AND (r.attempts > 0 OR coalesce(r.last_reply, '') <> '' OR r.parked <> 0)")); break;
    case StateFilter::held: terms.push_back("m.held <> 0 AND " + recipients_where(state + " = 0")); break;
    case StateFilter::delivered: terms.push_back(recipients_where(state + " = 1")); break;
    case StateFilter::failed: terms.push_back(recipients_where(state + " = 2")); break;
    case StateFilter::expired: terms.push_back(recipients_where(state + " = 3")); break;
    case StateFilter::all: break;
  }
  if (f.direction) terms.push_back("m.direction = " + param(static_cast<std::int64_t>(*f.direction)));
  if (!f.listener.empty()) terms.push_back("m.listener = " + param(f.listener));
  if (!f.sender.empty()) terms.push_back(contains("lower(m.sender)", param(lower(f.sender))));
  if (!f.recipient.empty()) terms.push_back(recipients_where(contains("lower(r.address)", param(lower(f.recipient)))));
  if (!f.domain.empty())
    terms.push_back(recipients_where((pg ? pg_domain_of("r.address") : "domain_of(r.address)") + " = " +
                                     param(domain_filter(f.domain))));
  if (!f.hop.empty()) terms.push_back(recipients_where("r.hop = " + param(f.hop)));
  if (f.older_than_ms) terms.push_back("m.received_at <= " + param(now - *f.older_than_ms));
  if (f.newer_than_ms) terms.push_back("m.received_at >= " + param(now - *f.newer_than_ms));
  if (f.after) terms.push_back("m.id > " + param(*f.after));
  if (terms.empty()) {
    where.clause = pg ? "true" : "1";
    return where;
  }
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (i > 0) where.clause += " AND ";
    where.clause += "(" + terms[i] + ")";
  }
  return where;
}

std::string_view message_state(bool held, std::span<const RecipientState> states,
                               std::span<const std::uint32_t> attempts) noexcept {
  bool pending = false, attempted = false, failed = false, expired = false;
  for (std::size_t i = 0; i < states.size(); ++i) {
    switch (states[i]) {
      case RecipientState::pending:
        pending = true;
        if (i < attempts.size() && attempts[i] > 0) attempted = true;
        break;
      case RecipientState::failed: failed = true; break;
      case RecipientState::expired: expired = true; break;
      case RecipientState::delivered: break;
    }
  }
  if (pending) return held ? "held" : attempted ? "deferred" : "queued";
  if (failed) return "failed";
  if (expired) return "expired";
  return "delivered";
}

std::size_t summary_bucket(std::int64_t age_ms) noexcept {
  const std::int64_t minutes = std::max<std::int64_t>(age_ms, 0) / 60'000;
  for (std::size_t i = 0; i < summary_bucket_minutes.size(); ++i)
    if (minutes < summary_bucket_minutes[i]) return i;
  return summary_bucket_minutes.size();
}

std::vector<SummaryRow> summarize(std::span<const SummaryInput> inputs, UnixMillis now) {
  SummaryRow total;
  total.domain = "TOTAL";
  std::map<std::string, SummaryRow> by_domain;
  for (const SummaryInput& in : inputs) {
    const std::size_t bucket = summary_bucket(now - in.received_at);
    const std::string domain = in.domain.empty() ? "(none)" : in.domain;
    SummaryRow& row = by_domain[domain];
    row.domain = domain;
    for (SummaryRow* r : {&total, &row}) {
      ++r->total;
      r->bytes += in.size;
      ++r->buckets[bucket];
    }
  }
  std::vector<SummaryRow> rows;
  rows.reserve(by_domain.size() + 1);
  rows.push_back(std::move(total));
  for (auto& [name, row] : by_domain) rows.push_back(std::move(row));
  std::stable_sort(rows.begin() + 1, rows.end(),
                   [](const SummaryRow& a, const SummaryRow& b) { return a.total > b.total; });
  return rows;
}

}  // namespace queue
