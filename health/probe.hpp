// health/probe.hpp — one active health check, run once: ICMP echo, TCP connect, HTTP(S)
// GET, SMTP banner/EHLO, DNS lookup.
//
// Owns: the network side of a conf::CheckConfig: resolving the target asynchronously
// (Asio's resolver; c-ares for DNS checks), binding the configured source address,
// enforcing the check's timeout over the whole exchange, and judging the answer.
// Never: decides path state (health/run_tracker does), throws on network errors, or
// retries: one call = one attempt, and the result says why it failed.
// ICMP: an unprivileged datagram socket (needs net.ipv4.ping_group_range to include our
// gid) or, failing that, a raw socket (root or CAP_NET_RAW); IPv4 only. HTTPS verifies
// the certificate chain (system store, or the check's ca_file) and the host name.
// Threading: runs on the caller's executor (the monitor's io_context thread).
// Standards: RFC 792 (echo), RFC 9110/9112 (HTTP/1.0 GET), RFC 5321 §4.2/§4.1.1.1
// (220 greeting, EHLO), RFC 1035 (via c-ares), RFC 6125 (host name check).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "conf/config.hpp"
#include "health/snapshot.hpp"

namespace health {

/// Runs `check` once. `check` must outlive the returned awaitable; `helo` is the name
/// used in SMTP EHLO. Never throws for network failures: they come back as !ok.
boost::asio::awaitable<CheckResult> run_check(const conf::CheckConfig& check, std::string helo);

}  // namespace health
