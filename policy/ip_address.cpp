// policy/ip_address.cpp — textual IPv4/IPv6 addresses and CIDR networks.
//
// Parsing uses inet_pton/inet_ntop (POSIX, libc; no socket is opened). glibc's IPv4
// parser is strict: exactly four decimal parts, no leading zeros ("01.2.3.4" is refused,
// so octal-looking input cannot be misread), no trailing garbage. Zone ids ("fe80::1%eth0")
// and brackets are refused.
//
// Networks: host bits below the prefix are accepted and cleared ("10.1.2.3/8" is
// 10.0.0.0/8), as most MTAs do. An IPv4-mapped IPv6 network with a prefix of at least 96
// ("::ffff:10.0.0.0/104") is stored as the IPv4 network it denotes. Otherwise an IPv6
// network only ever contains IPv6 addresses and an IPv4 network only IPv4 ones (after
// mapping ::ffff:a.b.c.d to a.b.c.d): "::/0" does not trust every IPv4 client.
#include "policy/ip_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace policy {
namespace {

constexpr std::size_t v4_offset = 12;  // IPv4 lives in bytes 12..15
constexpr std::size_t max_text = 64;   // longer than any address form inet_pton accepts

bool is_v4_mapped(const std::array<std::uint8_t, 16>& b) noexcept {
  return std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t x) { return x == 0; }) &&
         b[10] == 0xff && b[11] == 0xff;
}

/// Clears every bit after the first `bits` bits of bytes[first..16).
void clear_host_bits(std::array<std::uint8_t, 16>& bytes, std::size_t first,
                     unsigned bits) noexcept {
  for (std::size_t i = first; i < bytes.size(); ++i) {
    const unsigned bit_offset = static_cast<unsigned>(i - first) * 8;
    if (bit_offset >= bits) {
      bytes[i] = 0;
    } else if (bits - bit_offset < 8) {
      bytes[i] &= static_cast<std::uint8_t>(0xff00u >> (bits - bit_offset));
    }
  }
}

bool parse_prefix(std::string_view text, unsigned max, unsigned& out) noexcept {
  if (text.empty() || text.size() > 3) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max) return false;
  out = value;
  return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  // inet_pton needs a NUL-terminated string; a string_view may not be one.
  char buffer[max_text];
  if (text.empty() || text.size() >= max_text) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';

  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes.data() + v4_offset) != 1) return std::nullopt;
    address.v4 = true;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return std::nullopt;
  address.v4 = false;
  return address;
}

IpAddress IpAddress::canonical() const noexcept {
  if (v4 || !is_v4_mapped(bytes)) return *this;
  IpAddress mapped;
  mapped.v4 = true;
  std::copy(bytes.begin() + v4_offset, bytes.end(), mapped.bytes.begin() + v4_offset);
  return mapped;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  const char* text = v4 ? inet_ntop(AF_INET, bytes.data() + v4_offset, buffer, sizeof buffer)
                        : inet_ntop(AF_INET6, bytes.data(), buffer, sizeof buffer);
  return text ? std::string(text) : std::string();
}

std::optional<Cidr> Cidr::parse(std::string_view text) noexcept {
  const auto slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;

  Cidr cidr;
  cidr.network = *address;
  const unsigned max = address->v4 ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos && !parse_prefix(text.substr(slash + 1), max, prefix)) {
    return std::nullopt;
  }
  if (!cidr.network.v4 && prefix >= 96 && is_v4_mapped(cidr.network.bytes)) {
    cidr.network = cidr.network.canonical();
    prefix -= 96;
  }
  clear_host_bits(cidr.network.bytes, cidr.network.v4 ? v4_offset : 0, prefix);
  cidr.prefix = static_cast<std::uint8_t>(prefix);
  return cidr;
}

bool Cidr::contains(const IpAddress& address) const noexcept {
  const IpAddress candidate = address.canonical();
  if (candidate.v4 != network.v4) return false;
  auto masked = candidate.bytes;
  clear_host_bits(masked, network.v4 ? v4_offset : 0, prefix);
  return masked == network.bytes;
}

}  // namespace policy
