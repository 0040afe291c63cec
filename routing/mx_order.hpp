// routing/mx_order.hpp — which hosts to try, in which order, for direct (MX) delivery.
//
// Owns: RFC 5321 §5.1 ordering of a domain's MX records: ascending preference, records
// of equal preference shuffled (by an injected random source, so tests are exact);
// the implicit MX (no MX records: the domain itself, as if it had "MX 0 domain");
// the null MX of RFC 7505 (a single MX with the root "." as exchange: the domain
// accepts no mail, a permanent failure); duplicates removed, first occurrence kept.
// Never: performs DNS queries or reads a clock; the resolver (routing/dns_resolver)
// feeds it records. Pure, thread-safe (no state).
// Standards: RFC 5321 §5.1, RFC 7505.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace routing {

struct MxRecord {
  std::uint16_t preference = 0;
  std::string exchange;  // host name, without trailing dot; "" or "." is the root
  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

struct MxPlan {
  bool null_mx = false;            // the domain says it accepts no mail
  bool implicit = false;           // no MX records: hosts == {domain}
  std::vector<std::string> hosts;  // in the order to try
};

/// Returns a uniformly random integer in [0, bound) for bound > 0.
using RandomBelow = std::function<std::size_t(std::size_t bound)>;

/// Orders `records` of `domain` for delivery. `records` empty means the domain has no
/// MX RRset (NODATA) and the implicit MX applies.
MxPlan order_mx(std::vector<MxRecord> records, std::string_view domain, const RandomBelow& random_below);

}  // namespace routing
