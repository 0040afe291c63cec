// routing/dns_cache.cpp — TTL-bounded cache of DNS answers with injected time.
//
// Owns: the map behind DnsCache, TTL clamping and the eviction rule (expired entries
// first, then the one expiring soonest; one linear pass, only when full).
// Never: reads a clock or does I/O; time is always the caller's `now`.
// Threading: single owner (the resolver on its executor).
// Errors: none. Standards: RFC 1035 §3.2.1, RFC 2308.
#include "routing/dns_cache.hpp"
#include "conf/domain_pattern.hpp"

#include <algorithm>

namespace routing {
DnsCache::DnsCache(std::size_t max_entries, std::chrono::seconds max_ttl)
    : max_entries_(std::max<std::size_t>(max_entries, 1)), max_ttl_(max_ttl) {}

std::optional<DnsAnswer> DnsCache::find(RecordType type, std::string_view name, TimePoint now) const {
  const auto it = entries_.find({type, conf::dns_name_key(name)});
  if (it == entries_.end() || now >= it->second.expires) return std::nullopt;
  return it->second.answer;
}

void DnsCache::store(RecordType type, std::string_view name, DnsAnswer answer, std::chrono::seconds ttl,
                     TimePoint now) {
  ttl = std::clamp(ttl, std::chrono::seconds(0), max_ttl_);
  if (ttl.count() == 0) return;
  auto key = std::pair{type, conf::dns_name_key(name)};
  if (!entries_.contains(key) && entries_.size() >= max_entries_) {
    std::erase_if(entries_, [&](const auto& entry) { return now >= entry.second.expires; });
    if (entries_.size() >= max_entries_) {
      // Bounded work: one linear pass, only when full of live entries.
      auto soonest = std::ranges::min_element(entries_, {}, [](const auto& e) { return e.second.expires; });
      entries_.erase(soonest);
    }
  }
  entries_.insert_or_assign(std::move(key), Entry{std::move(answer), now + ttl});
}

}  // namespace routing
