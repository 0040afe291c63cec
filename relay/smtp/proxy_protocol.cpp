// relay/smtp/proxy_protocol.cpp — PROXY v1/v2 parsing (see proxy_protocol.hpp).
//
// Strictness: v1 must be exactly "PROXY" SP proto SP src SP dst SP sport SP dport CRLF
// with single spaces, addresses of the named family, ports 0-65535 without leading
// zeros; "PROXY UNKNOWN" may carry anything up to CRLF. v2 must have version 2, command
// LOCAL (0) or PROXY (1), and for PROXY an address block at least as long as its family
// needs. Anything else is invalid, because a lenient parser here would let a client
// behind a misconfigured balancer choose the address policy sees.
#include "relay/smtp/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>

namespace relay {
namespace {

constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::string_view v1_prefix = "PROXY ";

ProxyParse invalid(std::string_view why) {
  ProxyParse p;
  p.status = ProxyStatus::invalid;
  p.error = why;
  return p;
}

bool is_prefix_of(std::string_view input, std::string_view whole) {
  return whole.substr(0, input.size()) == input.substr(0, std::min(input.size(), whole.size()));
}

std::string_view next_field(std::string_view& rest) {
  const auto space = rest.find(' ');
  const std::string_view field = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  return field;
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_ip(std::string_view text, int family, std::string& out) {
  if (text.empty() || text.size() > 45) return false;
  const std::string copy(text);
  std::array<unsigned char, 16> raw{};
  if (inet_pton(family, copy.c_str(), raw.data()) != 1) return false;
  std::array<char, INET6_ADDRSTRLEN> canonical{};
  if (inet_ntop(family, raw.data(), canonical.data(), canonical.size()) == nullptr) return false;
  out = canonical.data();
  return true;
}

std::string format_ip(int family, const unsigned char* raw) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(family, raw, text.data(), text.size()) == nullptr) return {};
  return text.data();
}

ProxyParse parse_v1(std::string_view input) {
  const auto lf = input.find('\n');
  if (lf == std::string_view::npos) {
    if (input.size() >= limits::max_proxy_v1) return invalid("v1 header longer than 107 octets");
    return ProxyParse{};
  }
  if (lf + 1 > limits::max_proxy_v1) return invalid("v1 header longer than 107 octets");
  if (lf == 0 || input[lf - 1] != '\r') return invalid("v1 header not ended by CRLF");
  std::string_view rest = input.substr(v1_prefix.size(), lf - 1 - v1_prefix.size());
  ProxyParse p;
  p.status = ProxyStatus::ok;
  p.consumed = lf + 1;
  p.header.version = 1;
  const std::string_view proto = next_field(rest);
  if (proto == "UNKNOWN") {
    p.header.local = true;
    return p;
  }
  int family = 0;
  if (proto == "TCP4") {
    family = AF_INET;
  } else if (proto == "TCP6") {
    family = AF_INET6;
  } else {
    return invalid("v1 protocol is not TCP4, TCP6 or UNKNOWN");
  }
  const std::string_view src = next_field(rest);
  const std::string_view dst = next_field(rest);
  const std::string_view sport = next_field(rest);
  const std::string_view dport = rest;
  if (dport.find(' ') != std::string_view::npos) return invalid("v1 header has extra fields");
  if (!parse_ip(src, family, p.header.source_address) || !parse_ip(dst, family, p.header.destination_address)) {
    return invalid("v1 address does not match its protocol");
  }
  if (!parse_port(sport, p.header.source_port) || !parse_port(dport, p.header.destination_port)) {
    return invalid("v1 port is not 0-65535");
  }
  return p;
}

ProxyParse parse_v2(std::string_view input, std::size_t* needed) {
  if (input.size() < 16) {
    if (needed) *needed = 16;
    return ProxyParse{};
  }
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(input[i]); };
  const unsigned version = byte(12) >> 4;
  const unsigned command = byte(12) & 0x0f;
  const unsigned family = byte(13) >> 4;
  const unsigned transport = byte(13) & 0x0f;
  const std::size_t length = static_cast<std::size_t>(byte(14)) << 8 | byte(15);
  if (version != 2) return invalid("v2 version is not 2");
  if (command > 1) return invalid("v2 command is neither LOCAL nor PROXY");
  if (16 + length > limits::max_proxy_v2) return invalid("v2 header too long");
  if (input.size() < 16 + length) {
    if (needed) *needed = 16 + length;
    return ProxyParse{};
  }
  ProxyParse p;
  p.status = ProxyStatus::ok;
  p.consumed = 16 + length;
  p.header.version = 2;
  // LOCAL (health checks from the balancer itself) and UNSPEC/UNIX: the connection's
  // own address stands; the address block, if any, is skipped.
  if (command == 0 || family == 0 || family == 3) {
    p.header.local = true;
    return p;
  }
  if (transport != 1 && transport != 2) return invalid("v2 transport is neither STREAM nor DGRAM");
  if (transport != 1) return invalid("v2 DGRAM is not SMTP");
  if (family != 1 && family != 2) return invalid("v2 address family unknown");
  // The address block: source and destination address (4 or 16 octets each), then the
  // source and destination port (2 octets each, network order).
  const bool v4 = family == 1;
  const std::size_t address_size = v4 ? 4 : 16;
  if (length < 2 * address_size + 4)
    return invalid(v4 ? "v2 IPv4 address block too short" : "v2 IPv6 address block too short");
  const auto* raw = reinterpret_cast<const unsigned char*>(input.data() + 16);
  const auto* ports = raw + 2 * address_size;
  p.header.source_address = format_ip(v4 ? AF_INET : AF_INET6, raw);
  p.header.destination_address = format_ip(v4 ? AF_INET : AF_INET6, raw + address_size);
  p.header.source_port = static_cast<std::uint16_t>(ports[0] << 8 | ports[1]);
  p.header.destination_port = static_cast<std::uint16_t>(ports[2] << 8 | ports[3]);
  return p;
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view input, std::size_t* needed) {
  if (needed) *needed = 0;
  if (input.empty()) return ProxyParse{};
  if (input.size() >= v1_prefix.size() && input.starts_with(v1_prefix)) return parse_v1(input);
  if (input.size() >= v2_signature.size() && input.starts_with(v2_signature)) return parse_v2(input, needed);
  if (is_prefix_of(input, v1_prefix) || is_prefix_of(input, v2_signature)) {
    if (needed && is_prefix_of(input, v2_signature)) *needed = 16;
    return ProxyParse{};
  }
  return invalid("not a PROXY protocol header");
}

}  // namespace relay
