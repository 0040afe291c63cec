// relay/throughput_ring.hpp — the last hour of per-direction throughput, in memory.
//
// Owns: 360 ten-second buckets per series (inbound in/out, outbound in/out), written as
// messages are received (in) and delivered (out), read by the status page charts,
// /api/status and `hubrelay stats` (rates over 1, 5 and 15 minutes).
// Never: reads a clock (callers pass Unix seconds), allocates after construction, locks.
// Threading: io_context thread only. Buckets older than an hour are reused lazily: a
// bucket remembers which 10-second slot it holds and is zeroed when a new slot lands.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "conf/config.hpp"

namespace relay {

class ThroughputRing {
 public:
  static constexpr std::int64_t bucket_seconds = 10;
  static constexpr std::size_t bucket_count = 360;  // one hour

  enum class Flow : std::uint8_t { in, out };
  static constexpr std::size_t series_count = 4;
  static constexpr std::size_t series(conf::Direction d, Flow f) noexcept {
    return static_cast<std::size_t>(d) * 2 + static_cast<std::size_t>(f);
  }

  void add(conf::Direction direction, Flow flow, std::int64_t unix_seconds, std::uint64_t count = 1) noexcept;

  /// The last `buckets` buckets of a series, oldest first, ending with the one that holds
  /// `now_seconds` (still filling).
  std::vector<std::uint64_t> window(std::size_t series_index, std::int64_t now_seconds,
                                    std::size_t buckets = bucket_count) const;

  /// Messages per second over the last `seconds` (rounded up to whole buckets), counting
  /// only complete buckets so a rate does not dip at the start of each bucket.
  double rate(std::size_t series_index, std::int64_t now_seconds, std::int64_t seconds) const noexcept;

 private:
  struct Bucket {
    std::int64_t slot = -1;  // unix_seconds / bucket_seconds
    std::array<std::uint64_t, series_count> counts{};
  };
  std::uint64_t count_at(std::size_t series_index, std::int64_t slot) const noexcept;

  std::array<Bucket, bucket_count> buckets_{};
};

}  // namespace relay
