// relay/tlsrpt/daily_counts.hpp — TLS session counts per policy domain and UTC day.
//
// Owns: the aggregation RFC 8460 reports are made of: per UTC day and recipient policy
// domain, per policy (type, policy strings, MX hosts), the successful and failed session
// counts and the failures grouped by result type, sending IP, MX host and receiving IP
// (§4.4 "failure-details"). Today and a bounded number of finished days are kept (a
// report covers one finished day; one that could not be sent is put back, merged with
// what was counted meanwhile, for another try); older days are dropped when time moves
// on, and the caller learns which (take_expired). Sizes are
// bounded: past the limits a session is still counted in the policy's totals when the
// policy is known, otherwise it is counted as dropped.
// Also: the text form of the counts for the state file, and its parser.
// Never: I/O or clock reads — time is a value (Unix seconds) handed in by the caller.
// Standards: RFC 8460 §4.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "relay/tlsrpt/session_result.hpp"

namespace relay::tlsrpt {

/// Days since 1970-01-01 (UTC) of a Unix time in seconds.
std::int64_t utc_day(std::int64_t unix_seconds) noexcept;

/// One failure-details entry's identity (RFC 8460 §4.4).
struct FailureKey {
  ResultType result = ResultType::validation_failure;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_ip;
  std::string additional_information;
  friend auto operator<=>(const FailureKey&, const FailureKey&) = default;
};

struct PolicyCounts {
  std::uint64_t successful = 0;
  std::uint64_t failed = 0;
  std::map<FailureKey, std::uint64_t> failures;
  friend bool operator==(const PolicyCounts&, const PolicyCounts&) = default;
};

/// The counts of one policy domain over (part of) one UTC day.
struct DomainDay {
  std::int64_t begin = 0;  // Unix seconds the counting started (the day's start, or later)
  std::map<PolicyDescription, PolicyCounts> policies;
  friend bool operator==(const DomainDay&, const DomainDay&) = default;
};

struct CountLimits {
  std::size_t domains_per_day = 20000;
  std::size_t policies_per_domain = 50;
  std::size_t failures_per_policy = 100;
  std::int64_t finished_days_kept = 1;  // days before today kept for their reports
};

class DailyCounts {
 public:
  using Key = std::pair<std::int64_t, std::string>;  // (UTC day, policy domain)

  explicit DailyCounts(CountLimits limits = {}) : limits_(limits) {}

  /// Counts `session` at `unix_seconds`; forgets days older than the limits keep.
  void record(const TlsSessionResult& session, std::int64_t unix_seconds);
  /// Forgets days more than finished_days_kept before `unix_seconds`' day.
  void roll(std::int64_t unix_seconds);
  /// The entries roll() forgot since the last call (their reports were never made).
  std::vector<Key> take_expired();

  /// The (day, domain) entries of days before `unix_seconds`' day: the finished ones.
  std::vector<Key> finished(std::int64_t unix_seconds) const;
  /// Every entry, today's included.
  std::vector<Key> all() const;
  const DomainDay* find(const Key& key) const;
  /// Removes an entry (its report was made).
  void erase(const Key& key);
  /// Empties an entry and starts its counting again at `begin` (a report of the day so far
  /// was made: the next one covers only what follows).
  void restart(const Key& key, std::int64_t begin);
  /// Adds `day`'s counts back to the entry `key` (a report of them could not be sent):
  /// totals add up, the earlier begin counts, failure details within the limit.
  void merge(const Key& key, const DomainDay& day);

  std::uint64_t dropped() const noexcept { return dropped_; }
  bool empty() const noexcept { return days_.empty(); }

  /// The state file text: a version line, then one line per policy and per failure.
  std::string serialize() const;
  /// The reverse of serialize; an error names the first line that does not parse.
  static std::expected<DailyCounts, std::string> parse(std::string_view text, CountLimits limits = {});

  friend bool operator==(const DailyCounts& a, const DailyCounts& b) { return a.days_ == b.days_; }

 private:
  CountLimits limits_;
  std::map<Key, DomainDay> days_;
  std::vector<Key> expired_;
  std::uint64_t dropped_ = 0;
};

}  // namespace relay::tlsrpt
