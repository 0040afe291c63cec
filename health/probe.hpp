// health/probe.hpp — the probe interface: one active health check, run once.
//
// Owns: the entry the monitor calls (run_check) and the one coroutine per check kind it
// dispatches to: ICMP echo (icmp_probe.cpp), TCP connect (tcp_probe.cpp), HTTP(S) GET
// (http_probe.cpp), SMTP banner/EHLO (smtp_probe.cpp), DNS lookup (dns_probe.cpp).
// Every probe resolves its target asynchronously (Asio's resolver; DNS checks ask through
// routing::DnsResolver, the process's one c-ares integration), binds the configured source
// address, bounds the whole exchange by the check's timeout, and returns a CheckResult
// whose ProbeStatus says what it found (health/probe_status.hpp) with the facts as detail.
// Never: decides path state (health/run_tracker does), throws on network errors, or
// retries: one call = one attempt.
// Threading: runs on the caller's executor (the monitor's io_context thread).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "conf/config.hpp"
#include "health/snapshot.hpp"

namespace health {

/// Runs `check` once. `check` must outlive the returned awaitable; `helo` is the name
/// used in SMTP EHLO. Never throws for network failures: they come back as a status.
boost::asio::awaitable<CheckResult> run_check(const conf::CheckConfig& check, std::string helo);

// One coroutine per kind; each takes the same promise as run_check.
boost::asio::awaitable<CheckResult> icmp_probe(const conf::CheckConfig& check);
boost::asio::awaitable<CheckResult> tcp_probe(const conf::CheckConfig& check);
boost::asio::awaitable<CheckResult> http_probe(const conf::CheckConfig& check);
boost::asio::awaitable<CheckResult> https_probe(const conf::CheckConfig& check);
boost::asio::awaitable<CheckResult> smtp_probe(const conf::CheckConfig& check, const std::string& helo);
boost::asio::awaitable<CheckResult> dns_probe(const conf::CheckConfig& check);

}  // namespace health
