// routing/dns_resolver.hpp — asynchronous name resolution with c-ares, driven by Asio.
//
// Owns: one c-ares channel (servers from [dns].servers, else /etc/resolv.conf; or the
// ChannelOptions of a DNS health check), the sockets c-ares opens (watched with
// posix::stream_descriptor through the socket-state callback, so c-ares runs only when
// a socket is ready; c-ares keeps ownership of the file descriptors), one steady_timer
// armed from ares_timeout(), the static overrides of [dns.hosts] (consulted first: the
// split-DNS sites) and a DnsCache (answers kept for their TTL). This is the
// process's one c-ares integration: delivery, verification, DNSBL and the DNS health
// check (health/dns_probe.cpp) all ask through it.
// Errors: every failure to resolve (timeout, SERVFAIL, refused, NXDOMAIN, no address)
// comes back as a ResolveError; callers treat it as temporary (4.4.3), never a bounce.
// lookup_addresses() says which failure it was (LookupError), for the health check.
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
#include "routing/dane_policy.hpp"
#include "routing/mx_order.hpp"

namespace routing {

struct ResolveError {
  std::string text;  // "example.org MX: Timeout while contacting DNS servers"
};

/// How one c-ares channel asks. The [dns] constructor derives it from conf::DnsConfig
/// (two tries); a DNS health check asks its own server once, from its source address.
struct ChannelOptions {
  std::vector<std::string> servers;         // "127.0.0.1", "127.0.0.1:5353", "[::1]:53"; empty: resolv.conf
  std::chrono::milliseconds timeout{5000};  // per question, every try included
  int tries = 2;                            // the timeout is split evenly between the tries
  std::string source;                       // local address queries leave from; empty: the kernel's
  /// A SERVFAIL or REFUSED answer ends the question as such (ARES_FLAG_NOCHECKRESP) instead
  /// of making c-ares try the next server and report "could not contact": what a health
  /// check of one server needs to tell the cases apart.
  bool keep_failure_answers = false;
  /// [dns] dnssec: queries carry the AD bit (RFC 6840 §5.7) and answers' AD bits are
  /// reported as `secure`. Off: nothing is ever secure and TLSA is never asked.
  bool dnssec = false;
};

/// Why lookup_addresses() found nothing, for a caller that tells the cases apart.
enum class LookupFailure { nxdomain, servfail, refused, timeout, no_data, other };

struct LookupError {
  LookupFailure kind = LookupFailure::other;
  std::string text;  // "probe.example.net: Domain name not found"
};

class DnsResolver {
 public:
  DnsResolver(boost::asio::any_io_executor executor, const conf::DnsConfig& config);
  /// A channel of its own, without [dns.hosts] overrides. Throws std::runtime_error when
  /// c-ares refuses the options (a bad server or source address), like the constructor above.
  DnsResolver(boost::asio::any_io_executor executor, ChannelOptions options);
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

  /// DANE's view of the same lookups: the records plus whether every answer behind
  /// them was DNSSEC-validated by a trusted resolver (the AD bit, [dns] dnssec). Static
  /// overrides and IP literals are never secure.
  struct MxAnswer {
    std::vector<MxRecord> records;
    bool secure = false;
  };
  boost::asio::awaitable<std::expected<MxAnswer, ResolveError>> mx_answer(std::string domain);
  struct AddressAnswer {
    std::vector<boost::asio::ip::address> addresses;
    bool secure = false;  // every A and AAAA answer received (NODATA included) had AD
  };
  boost::asio::awaitable<std::expected<AddressAnswer, ResolveError>> address_answer(std::string host);

  /// The TLSA records of _<port>._tcp.<host> (RFC 6698 §3), kept in the cache for their
  /// TTL like the other answers (negative ones too). NXDOMAIN and NODATA are answers
  /// without records; SERVFAIL, refusals and timeouts are `failed` (never cached). Without [dns] dnssec nothing is asked: an insecure empty answer.
  boost::asio::awaitable<TlsaLookup> tlsa(std::string host, std::uint16_t port);

  /// DNSBL lookups: the A records of `name` straight from DNS — no [dns.hosts], no
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

  /// Every TXT record of `name`, each record's character-strings joined (RFC 7208 §3.3
  /// style), straight from DNS: what MTA-STS reads of _mta-sts.<domain> (RFC 8461 §3.1).
  /// NXDOMAIN or NODATA: no records.
  boost::asio::awaitable<std::expected<std::vector<std::string>, ResolveError>> lookup_txt_records(std::string name);

  /// Every address c-ares' getaddrinfo finds for `name` (A and AAAA, unsorted, as text),
  /// straight from the channel: no [dns.hosts], no cache. What a DNS health check asks.
  boost::asio::awaitable<std::expected<std::vector<std::string>, LookupError>> lookup_addresses(std::string name);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace routing
