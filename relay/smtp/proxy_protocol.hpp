// relay/smtp/proxy_protocol.hpp — the PROXY protocol header a load balancer sends first
// (HAProxy's proxy-protocol.txt, versions 1 and 2).
//
// Owns: recognising and parsing one header at the start of a connection: v1 text
// ("PROXY TCP4 src dst sport dport\r\n", at most 107 octets) and v2 binary (12-octet
// signature, version/command, family, length, addresses, TLVs skipped). Says how many
// octets the header used, or that more are needed, or that the input is not a valid
// header (the driver then closes: a listener with proxy_protocol = true never falls
// back to treating the bytes as SMTP).
// Never: performs I/O, decides whether the sender may use PROXY (the driver checks
// proxy_from first), allocates beyond the result. Thread-safe (pure).
// Errors: ProxyStatus::invalid with a short reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay {

namespace limits {
inline constexpr std::size_t max_proxy_v1 = 107;        // incl. CRLF (spec §2.1)
inline constexpr std::size_t max_proxy_v2 = 16 + 1024;  // header + address block we accept
}  // namespace limits

enum class ProxyStatus : std::uint8_t { need_more, ok, invalid };

struct ProxyHeader {
  int version = 0;             // 1 or 2
  bool local = false;          // v1 UNKNOWN / v2 LOCAL or UNSPEC: keep the real peer address
  std::string source_address;  // textual IP of the original client
  std::uint16_t source_port = 0;
  std::string destination_address;
  std::uint16_t destination_port = 0;
};

struct ProxyParse {
  ProxyStatus status = ProxyStatus::need_more;
  std::size_t consumed = 0;  // header octets when ok
  ProxyHeader header;
  std::string_view error;    // when invalid
};

/// Parses the start of `input`. need_more means: read more and call again with the
/// whole prefix; `needed` then says how many octets in total are known to be required
/// (0 when unknown, i.e. v1 before its LF).
ProxyParse parse_proxy_header(std::string_view input, std::size_t* needed = nullptr);

}  // namespace relay
