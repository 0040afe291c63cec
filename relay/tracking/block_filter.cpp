// relay/tracking/block_filter.cpp — Bloom filter probes (see the header).
#include "relay/tracking/block_filter.hpp"

namespace relay::tracking {
namespace {

constexpr int probes = 6;
constexpr std::uint64_t bit_count = filter_bytes * 8;

// Double hashing (Kirsch and Mitzenmacher): probe i is h1 + i * h2.
template <typename Visit>
bool each_probe(std::uint64_t key, Visit visit) noexcept {
  const std::uint64_t h1 = key;
  const std::uint64_t h2 = ((key >> 33) ^ (key * 0x9e3779b97f4a7c15ULL)) | 1;
  for (int i = 0; i < probes; ++i) {
    const std::uint64_t bit = (h1 + static_cast<std::uint64_t>(i) * h2) % bit_count;
    if (!visit(static_cast<std::size_t>(bit / 8), static_cast<std::uint8_t>(1u << (bit % 8)))) return false;
  }
  return true;
}

}  // namespace

void BlockFilter::add(std::uint64_t key) noexcept {
  each_probe(key, [this](std::size_t byte, std::uint8_t mask) {
    bits[byte] |= mask;
    return true;
  });
}

bool BlockFilter::may_contain(std::uint64_t key) const noexcept {
  return each_probe(key, [this](std::size_t byte, std::uint8_t mask) { return (bits[byte] & mask) != 0; });
}

}  // namespace relay::tracking
