// routing/dns_resolver.hpp — asynchronous name resolution with c-ares, driven by Asio.
//
// Owns: one c-ares channel (servers from [dns].servers, else /etc/resolv.conf), the
// sockets c-ares opens (watched with posix::stream_descriptor through the socket-state
// callback; c-ares keeps ownership of the file descriptors), one steady_timer armed
// from ares_timeout(), the static overrides of [dns.hosts] (consulted first: the
// split-DNS sites of seed 002) and a DnsCache (answers kept for their TTL).
// Errors: every failure to resolve (timeout, SERVFAIL, refused, NXDOMAIN, no address)
// comes back as a ResolveError; callers treat it as temporary (4.4.3), never a bounce.
// Never: blocks, throws after construction (the constructor throws std::runtime_error
// when c-ares cannot be initialised: a start-up error).
// Threading: single executor (the delivery io_context thread); not thread-safe.
// Standards: RFC 1035, RFC 3596 (AAAA), RFC 5321 §5.1 (callers order MX with mx_order).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "routing/mx_order.hpp"

namespace routing {

struct ResolveError {
  std::string text;  // "example.org MX: Timeout while contacting DNS servers"
};

class DnsResolver {
 public:
  DnsResolver(boost::asio::any_io_executor executor, const conf::DnsConfig& config);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  /// Addresses of `host`: an IP literal is returned as is; then [dns.hosts]; then A and
  /// AAAA (IPv4 first). Error when none is found.
  boost::asio::awaitable<std::expected<std::vector<boost::asio::ip::address>, ResolveError>> addresses(
      std::string host);

  /// MX records of `domain`; an empty vector means the domain exists without MX records
  /// (implicit MX). A static override for the domain counts as "no MX" (implicit MX to
  /// the override's addresses).
  boost::asio::awaitable<std::expected<std::vector<MxRecord>, ResolveError>> mx(std::string domain);

  /// Issue 6 (DNSBL): the A records of `name` straight from DNS — no [dns.hosts], no
  /// cache (the DNSBL cache keys by zone and client and clamps TTLs itself). NXDOMAIN or
  /// no A record: `exists` false. Failures (timeout, SERVFAIL) are errors.
  struct ARecords {
    bool exists = false;
    std::vector<std::string> addresses;
    std::chrono::seconds ttl{0};  // smallest TTL of the answer; 0 for negative answers
  };
  boost::asio::awaitable<std::expected<ARecords, ResolveError>> lookup_a(std::string name);

  /// The first TXT record of `name` (its character-strings joined), straight from DNS like
  /// lookup_a: a DNSBL's reason for a listing (RFC 5782 §2.1). "" when there is none.
  boost::asio::awaitable<std::expected<std::string, ResolveError>> lookup_txt(std::string name);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace routing
