// health/icmp_packet.cpp — ICMP echo bytes (see the header).
#include "health/icmp_packet.hpp"

namespace health {

std::uint16_t icmp_checksum(std::span<const std::uint8_t> data) noexcept {
  std::uint32_t sum = 0;
  const std::size_t size = data.size();
  for (std::size_t i = 0; i + 1 < size; i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (size % 2) sum += static_cast<std::uint32_t>(data[size - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::array<std::uint8_t, 16> echo_request(std::uint16_t id, std::uint16_t sequence) noexcept {
  std::array<std::uint8_t, 16> out{};
  out[0] = 8;  // echo request; code 0
  out[4] = static_cast<std::uint8_t>(id >> 8);
  out[5] = static_cast<std::uint8_t>(id);
  out[6] = static_cast<std::uint8_t>(sequence >> 8);
  out[7] = static_cast<std::uint8_t>(sequence);
  const std::uint16_t sum = icmp_checksum(out);
  out[2] = static_cast<std::uint8_t>(sum >> 8);
  out[3] = static_cast<std::uint8_t>(sum);
  return out;
}

std::optional<EchoReply> parse_echo_reply(std::span<const std::uint8_t> packet, bool with_ip_header) noexcept {
  std::size_t offset = 0;
  if (with_ip_header) {
    if (packet.empty()) return std::nullopt;
    offset = static_cast<std::size_t>(packet[0] & 0x0f) * 4;  // IHL, in 32-bit words
  }
  if (packet.size() < offset + 8) return std::nullopt;
  const auto icmp = packet.subspan(offset);
  if (icmp[0] != 0 || icmp[1] != 0) return std::nullopt;  // not an echo reply
  return EchoReply{static_cast<std::uint16_t>(icmp[4] << 8 | icmp[5]),
                   static_cast<std::uint16_t>(icmp[6] << 8 | icmp[7])};
}

ProbeStatus icmp_verdict(std::uint32_t replies, std::uint32_t needed) noexcept {
  if (replies >= needed) return ProbeStatus::icmp_ok;
  return replies == 0 ? ProbeStatus::icmp_no_reply : ProbeStatus::icmp_too_few_replies;
}

}  // namespace health
