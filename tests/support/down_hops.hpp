// tests/support/down_hops.hpp — a health::View with a fixed set of unusable hops.
//
// Owns: the one stand-in for hop health that routing, health and explain tests share.
#pragma once

#include <cstddef>
#include <set>
#include <utility>

#include "health/view.hpp"

namespace test_support {

class DownHops final : public health::View {
 public:
  explicit DownHops(std::set<std::size_t> down) : down_(std::move(down)) {}
  bool usable(std::size_t hop) const noexcept override { return !down_.contains(hop); }

 private:
  std::set<std::size_t> down_;
};

}  // namespace test_support
