// policy/recipient_verifier.hpp — the pure half of recipient verification.
//
// Owns: the static valid-recipient set (exact addresses and "@domain" catch-alls,
// compared without regard to case), what a callout's RCPT reply means (2xx valid, 5xx
// unknown, anything else — 4xx, timeout, no connection — a failure), how a callout
// result becomes a Decision (failures defer, or accept with callout_on_failure =
// "accept"), and the callout result cache (positive and negative TTLs; failures are
// never cached, so the next RCPT asks again).
// Never: opens connections (relay/server/verification does), reads files (conf/load.cpp
// reads valid_recipients_file) or a clock. Thread-safe for const use.
// Standards: RFC 5321 §3.5 / §4.2.5 (what RCPT replies mean), RFC 3463 (5.1.1, 4.4.3).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "policy/decision.hpp"
#include "policy/ttl_cache.hpp"

namespace policy {

class StaticRecipients {
 public:
  StaticRecipients() = default;
  /// `entries` in the form conf::normalize_recipient_entry produces.
  explicit StaticRecipients(std::span<const std::string> entries);
  /// True when `address` is listed or its domain has a catch-all.
  bool contains(std::string_view address) const;
  std::size_t size() const noexcept { return addresses_.size() + domains_.size(); }

 private:
  std::unordered_set<std::string> addresses_;  // "user@domain"
  std::unordered_set<std::string> domains_;    // "domain" of "@domain"
};

enum class CalloutResult : std::uint8_t { valid, unknown, failed };

std::string_view to_string(CalloutResult r) noexcept;

// What a hop's reply to the callout's RCPT means is the delivery judge's to say
// (relay/client/judge: judge_callout), so a callout and a delivery read it alike.

/// valid → accept; unknown → reject(recipient_unknown); failed → defer(recipient_unverified)
/// or accept when `accept_on_failure`.
Decision callout_decision(CalloutResult result, bool accept_on_failure) noexcept;

/// Callout results by lower-cased address. Positive and negative TTLs differ.
class CalloutCache {
 public:
  CalloutCache(std::size_t max_entries, std::chrono::seconds positive_ttl, std::chrono::seconds negative_ttl)
      : cache_(max_entries), positive_ttl_(positive_ttl), negative_ttl_(negative_ttl) {}
  std::optional<CalloutResult> find(std::string_view address, TtlCache<CalloutResult>::TimePoint now) const;
  /// Stores valid/unknown with their TTL; failed is not stored.
  void store(std::string_view address, CalloutResult result, TtlCache<CalloutResult>::TimePoint now);
  std::size_t size() const noexcept { return cache_.size(); }

 private:
  TtlCache<CalloutResult> cache_;
  std::chrono::seconds positive_ttl_;
  std::chrono::seconds negative_ttl_;
};

/// "Bob@Example.COM" (with or without <>) → "bob@example.com".
std::string normalize_address(std::string_view address);

}  // namespace policy
