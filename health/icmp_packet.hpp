// health/icmp_packet.hpp — ICMP echo request and reply bytes for the icmp check.
//
// Owns: the Internet checksum, building an echo request, recognising an echo reply (with
// or without the IPv4 header a raw socket delivers) and the verdict on a reply count.
// Never: performs I/O; bytes in, values out (health/icmp_probe.cpp owns the socket).
// Standards: RFC 792 (echo, echo reply), RFC 1071 (checksum), RFC 791 (IHL).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "health/probe_status.hpp"

namespace health {

/// RFC 1071: the ones' complement of the ones' complement sum of 16-bit big-endian
/// words; an odd final byte is padded with zero. Over a packet whose checksum field
/// holds the right value, the result is 0.
std::uint16_t icmp_checksum(std::span<const std::uint8_t> data) noexcept;

/// An 8-byte echo request header (type 8, code 0) with 8 zero bytes of payload.
std::array<std::uint8_t, 16> echo_request(std::uint16_t id, std::uint16_t sequence) noexcept;

struct EchoReply {
  std::uint16_t id = 0;
  std::uint16_t sequence = 0;
};

/// The echo reply in `packet`, or nullopt when it is something else (our own request
/// seen on a raw socket, an error message, a runt). `with_ip_header`: raw sockets
/// deliver the IPv4 header first, datagram ("ping") sockets do not.
std::optional<EchoReply> parse_echo_reply(std::span<const std::uint8_t> packet, bool with_ip_header) noexcept;

/// icmp_ok when `replies` reaches `needed`; otherwise no reply at all, or too few.
ProbeStatus icmp_verdict(std::uint32_t replies, std::uint32_t needed) noexcept;

}  // namespace health
