// routing/dns_cache.hpp — DNS answers kept for their TTL.
//
// Owns: a bounded map (record type, lower-cased name) → answer with an expiry time.
// An entry is returned until now >= stored_at + ttl; TTLs are clamped to [0, max_ttl]
// and a TTL of 0 is not stored. Negative answers (the name or the type does not exist)
// are cached like positive ones with the TTL the caller chose (RFC 2308: the SOA
// minimum); resolution *failures* are never cached — the caller does not store them.
// When full, expired entries are dropped first, then the entry expiring soonest.
// Never: reads a clock (time is a parameter) or performs I/O. Not thread-safe: one owner
// (the resolver, on its executor). Standards: RFC 1035 §3.2.1 (TTL), RFC 2308.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/dns_message.hpp"
#include "routing/mx_order.hpp"

namespace routing {

enum class RecordType : std::uint8_t { a, aaaa, mx, tlsa };

/// What DNS said about one (type, name).
struct DnsAnswer {
  bool exists = true;                   // false: NXDOMAIN or no record of the type
  std::vector<std::string> addresses;   // a / aaaa: textual IP addresses
  std::vector<MxRecord> mx;             // mx
  std::vector<TlsaRecord> tlsa;         // tlsa (name: _PORT._tcp.HOST)
  bool secure = false;                  // the answer had the AD bit from a trusted resolver
};

class DnsCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit DnsCache(std::size_t max_entries = 10000,
                    std::chrono::seconds max_ttl = std::chrono::hours(24));

  std::optional<DnsAnswer> find(RecordType type, std::string_view name, TimePoint now) const;
  void store(RecordType type, std::string_view name, DnsAnswer answer, std::chrono::seconds ttl, TimePoint now);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    DnsAnswer answer;
    TimePoint expires;
  };
  std::map<std::pair<RecordType, std::string>, Entry> entries_;
  std::size_t max_entries_;
  std::chrono::seconds max_ttl_;
};

}  // namespace routing
