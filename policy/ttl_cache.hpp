// policy/ttl_cache.hpp — a bounded map whose entries expire, with injected time.
//
// Owns: one generic cache used for DNSBL results (key "zone ip") and recipient callout
// results (key: the address), so both share one tested set of rules: an entry is found
// until now >= stored_at + ttl; a TTL of 0 stores nothing; when full, expired entries go
// first, then the entry expiring soonest (an index ordered by expiry keeps that O(log n)).
// Never: reads a clock (time is always the caller's `now`), does I/O, or locks.
// Threading: one owner (a listener's verification services on the io_context thread).
// Errors: none.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace policy {

template <class Value>
class TtlCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit TtlCache(std::size_t max_entries) : max_entries_(std::max<std::size_t>(max_entries, 1)) {}

  std::optional<Value> find(std::string_view key, TimePoint now) const {
    const auto it = entries_.find(key);
    if (it == entries_.end() || now >= it->second.expires) return std::nullopt;
    return it->second.value;
  }

  void store(std::string_view key, Value value, std::chrono::seconds ttl, TimePoint now) {
    if (ttl.count() <= 0) return;
    if (auto it = entries_.find(key); it != entries_.end()) {
      by_expiry_.erase({it->second.expires, it->first});
      entries_.erase(it);
    }
    while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) evict_first();  // expired first
    while (entries_.size() >= max_entries_) evict_first();                          // then soonest
    const TimePoint expires = now + ttl;
    auto [it, inserted] = entries_.emplace(std::string(key), Entry{std::move(value), expires});
    by_expiry_.emplace(expires, it->first);
  }

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    Value value;
    TimePoint expires;
  };
  void evict_first() {
    const auto first = by_expiry_.begin();
    entries_.erase(first->second);
    by_expiry_.erase(first);
  }

  std::map<std::string, Entry, std::less<>> entries_;
  std::set<std::pair<TimePoint, std::string>> by_expiry_;
  std::size_t max_entries_;
};

}  // namespace policy
