// policy/ip_address.hpp — IPv4/IPv6 addresses and CIDR networks as plain values.
//
// Owns: parsing of textual addresses and "addr/len" networks, containment tests.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks, because a dual-stack
// listener reports IPv4 clients that way. Performs no I/O, links no socket library.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace policy {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 stored in the last 4 bytes
  bool v4 = true;

  static std::optional<IpAddress> parse(std::string_view text) noexcept;
  /// IPv4-mapped IPv6 becomes IPv4; everything else unchanged.
  IpAddress canonical() const noexcept;
  std::string to_string() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct Cidr {
  IpAddress network;
  std::uint8_t prefix = 0;

  /// "10.0.0.0/8", "2001:db8::/32", or a bare address (full-length prefix).
  static std::optional<Cidr> parse(std::string_view text) noexcept;
  bool contains(const IpAddress& address) const noexcept;
};

}  // namespace policy
