// relay/throughput_ring.cpp — the last hour of per-direction throughput, in memory.
#include "relay/throughput_ring.hpp"

#include <algorithm>

namespace relay {
namespace {

std::size_t index_of(std::int64_t slot) noexcept {
  const auto n = static_cast<std::int64_t>(ThroughputRing::bucket_count);
  return static_cast<std::size_t>(((slot % n) + n) % n);
}

}  // namespace

void ThroughputRing::add(conf::Direction direction, Flow flow, std::int64_t unix_seconds, std::uint64_t count) noexcept {
  const std::int64_t slot = unix_seconds / bucket_seconds;
  Bucket& b = buckets_[index_of(slot)];
  if (b.slot != slot) {
    b.slot = slot;
    b.counts.fill(0);
  }
  b.counts[series(direction, flow)] += count;
}

std::uint64_t ThroughputRing::count_at(std::size_t series_index, std::int64_t slot) const noexcept {
  const Bucket& b = buckets_[index_of(slot)];
  return b.slot == slot && series_index < series_count ? b.counts[series_index] : 0;
}

std::vector<std::uint64_t> ThroughputRing::window(std::size_t series_index, std::int64_t now_seconds,
                                                  std::size_t buckets) const {
  buckets = std::min(buckets, bucket_count);
  const std::int64_t last = now_seconds / bucket_seconds;
  std::vector<std::uint64_t> out;
  out.reserve(buckets);
  for (std::int64_t slot = last - static_cast<std::int64_t>(buckets) + 1; slot <= last; ++slot)
    out.push_back(count_at(series_index, slot));
  return out;
}

double ThroughputRing::rate(std::size_t series_index, std::int64_t now_seconds, std::int64_t seconds) const noexcept {
  if (seconds <= 0) return 0;
  const std::int64_t n = std::min<std::int64_t>((seconds + bucket_seconds - 1) / bucket_seconds,
                                                static_cast<std::int64_t>(bucket_count) - 1);
  const std::int64_t current = now_seconds / bucket_seconds;
  std::uint64_t total = 0;
  for (std::int64_t slot = current - n; slot < current; ++slot) total += count_at(series_index, slot);
  return static_cast<double>(total) / static_cast<double>(n * bucket_seconds);
}

}  // namespace relay
