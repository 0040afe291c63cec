// routing/mta_sts_fetch.hpp — fetching an MTA-STS policy file over HTTPS (RFC 8461 §3.3).
//
// Owns: one GET of https://mta-sts.<domain>/.well-known/mta-sts.txt over
// routing/https_request (port 443, a certificate that must chain to the system store or
// [mta_sts] ca_file and name mta-sts.<domain>, at most 64 KiB, one time limit), and the
// checks on the answer: status 200 only (a redirect is a failure, §3.3), Content-Type
// text/plain. The body is returned as bytes: routing/mta_sts_policy parses it.
// Never: follows redirects, caches, throws.
// Threading: the caller's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <string>

#include "routing/mta_sts_policy.hpp"

namespace routing {

class DnsResolver;

struct StsFetchOptions {
  std::string ca_file;                     // extra trust anchors (PEM); empty: system store only
  std::chrono::seconds timeout{10};        // the whole fetch, connect to last byte
  std::size_t max_size = 64 * 1024;        // body limit (§3.3 suggests 64 KiB)
  std::uint16_t port = 443;
};

boost::asio::awaitable<StsFetchResult> fetch_sts_policy(boost::asio::any_io_executor executor, DnsResolver& resolver,
                                                        std::string domain, StsFetchOptions options);

}  // namespace routing
