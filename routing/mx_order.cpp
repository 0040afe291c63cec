// routing/mx_order.cpp — RFC 5321 §5.1 MX ordering with injected randomness.
//
// Owns: the implementation of order_mx(): name normalisation (case, trailing dot),
// the null-MX test of RFC 7505, a stable sort by preference and a Fisher-Yates shuffle
// inside each run of equal preference, driven only by the caller's random source.
// Never: queries DNS, reads a clock or a global random source. Pure; no state.
// Errors: none; malformed exchanges ("" among real records) are skipped.
// Standards: RFC 5321 §5.1, RFC 7505 §3.
#include "routing/mx_order.hpp"
#include "conf/domain_pattern.hpp"

#include <algorithm>

namespace routing {
MxPlan order_mx(std::vector<MxRecord> records, std::string_view domain, const RandomBelow& random_below) {
  MxPlan plan;
  if (records.empty()) {
    // RFC 5321 §5.1: no MX records → the domain is treated as its own MX (A/AAAA).
    plan.implicit = true;
    plan.hosts.push_back(conf::dns_name_key(std::string(domain)));
    return plan;
  }
  for (auto& record : records) record.exchange = conf::dns_name_key(std::move(record.exchange));
  // RFC 7505 §3: a null MX is the only record; if other records accompany it, the
  // domain is misconfigured and the root entry is simply skipped.
  if (records.size() == 1 && records.front().exchange.empty()) {
    plan.null_mx = true;
    return plan;
  }
  std::erase_if(records, [](const MxRecord& r) { return r.exchange.empty(); });
  std::ranges::stable_sort(records, {}, &MxRecord::preference);
  // Fisher-Yates within each run of equal preference (§5.1: "randomize them").
  for (std::size_t begin = 0; begin < records.size();) {
    std::size_t end = begin;
    while (end < records.size() && records[end].preference == records[begin].preference) ++end;
    for (std::size_t i = end - begin; i > 1; --i) {
      const std::size_t j = random_below(i) % i;
      std::swap(records[begin + i - 1], records[begin + j]);
    }
    begin = end;
  }
  for (auto& record : records) {
    if (std::ranges::find(plan.hosts, record.exchange) == plan.hosts.end()) plan.hosts.push_back(record.exchange);
  }
  return plan;
}

}  // namespace routing
