// relay/counters.cpp — rejection counting, the latency histogram and outcome counting.
#include "relay/counters.hpp"

namespace relay {

void count_rejections(std::string_view replies, std::map<std::string, std::uint64_t, std::less<>>& into) {
  while (!replies.empty()) {
    const auto end = replies.find("\r\n");
    const std::string_view line = replies.substr(0, end);
    replies = end == std::string_view::npos ? std::string_view{} : replies.substr(end + 2);
    // "550 5.7.1 text" or "550-..." (continuation: counted on the last line only).
    if (line.size() < 4 || (line[0] != '4' && line[0] != '5') || line[3] != ' ') continue;
    std::string_view reason = line.substr(0, 3);
    const std::string_view rest = line.substr(4);
    const auto space = rest.find(' ');
    const std::string_view first = rest.substr(0, space);
    // An enhanced code: class.subject.detail with the class matching the basic code.
    if (first.size() >= 5 && first[0] == line[0] && first[1] == '.' &&
        first.find_first_not_of("0123456789.") == std::string_view::npos) {
      reason = first;
    }
    auto it = into.find(reason);
    if (it == into.end()) it = into.emplace(std::string(reason), 0).first;
    ++it->second;
  }
}

void LatencyHistogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < latency_bounds.size() && seconds > latency_bounds[i]) ++i;
  ++buckets[i];
  sum_seconds += seconds;
  ++count;
}

void DirectionCounters::count(RecipientEvent event, double seconds_since_arrival) noexcept {
  switch (event) {
    case RecipientEvent::delivered:
      ++delivered;
      latency.observe(seconds_since_arrival);
      return;
    case RecipientEvent::parked:
      ++parked;
      ++deferred;
      return;
    case RecipientEvent::deferred: ++deferred; return;
    case RecipientEvent::bounced: ++bounced; return;
    case RecipientEvent::expired: ++expired; return;
  }
}

void HopCounters::count_attempt(std::string_view failure_class) {
  ++attempts;
  if (failure_class.empty()) {
    ++successes;
    return;
  }
  auto it = failures.find(failure_class);
  if (it == failures.end()) it = failures.emplace(std::string(failure_class), 0).first;
  ++it->second;
}

LatencyHistogram& LatencyHistogram::operator+=(const LatencyHistogram& other) noexcept {
  for (std::size_t b = 0; b < buckets.size(); ++b) buckets[b] += other.buckets[b];
  sum_seconds += other.sum_seconds;
  count += other.count;
  return *this;
}

DirectionCounters& DirectionCounters::operator+=(const DirectionCounters& other) noexcept {
  delivered += other.delivered;
  deferred += other.deferred;
  bounced += other.bounced;
  expired += other.expired;
  messages_out += other.messages_out;
  parked += other.parked;
  released += other.released;
  latency += other.latency;
  return *this;
}

HopCounters& HopCounters::operator+=(const HopCounters& other) {
  attempts += other.attempts;
  successes += other.successes;
  for (const auto& [cls, n] : other.failures) failures[cls] += n;
  throttled += other.throttled;
  rate_delayed += other.rate_delayed;
  rate_delay_ms += other.rate_delay_ms;
  for (std::size_t i = 0; i < tls_deliveries.size(); ++i) tls_deliveries[i] += other.tls_deliveries[i];
  return *this;
}

}  // namespace relay
