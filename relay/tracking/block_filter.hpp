// relay/tracking/block_filter.hpp — the Bloom filter of one block of tracking records.
//
// Owns: the answer "might this block of records hold key K?" for the tracking index
// (relay/tracking/search): each block of up to block_records whole lines of a tracking
// file has one filter over the keys of its records (relay/tracking/query record_keys).
// A "no" is certain, a "maybe" is wrong about 1 % of the time at the designed load
// (about 7 keys per record, 10 bits per key, 6 probes), so a search for a recipient
// reads only the blocks that hold it, plus about one in a hundred of the others.
// Pure: bytes in, bytes out; the index file's layout is search.cpp's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace relay::tracking {

inline constexpr std::size_t block_records = 4096;
inline constexpr std::size_t filter_bytes = 32 * 1024;

struct BlockFilter {
  std::array<std::uint8_t, filter_bytes> bits{};

  void add(std::uint64_t key) noexcept;
  bool may_contain(std::uint64_t key) const noexcept;
};

}  // namespace relay::tracking
