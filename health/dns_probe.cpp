// health/dns_probe.cpp — the dns check: ask the configured server for the addresses
// (A and AAAA) of `name`, once, within the check's timeout, from its source address.
//
// It asks through routing::DnsResolver on a channel of its own (ChannelOptions: that
// server, one try, the check's timeout), so c-ares runs on socket readiness and its own
// timer like every other lookup: one c-ares integration in the process, nothing polls.
// Statuses: DNSOK (the addresses are the detail), DNSNX, DNSSRVF, DNSREF, DNSTOUT,
// DNSNOANS, DNSERR; SETUP when c-ares refuses the server or source address.
// Standards: RFC 1035, RFC 3596 (AAAA).
#include <boost/asio/this_coro.hpp>
#include <exception>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "health/probe.hpp"
#include "health/probe_connect.hpp"
#include "routing/dns_resolver.hpp"

namespace health {
namespace asio = boost::asio;

namespace {

ProbeStatus status_of(routing::LookupFailure failure) {
  switch (failure) {
    case routing::LookupFailure::nxdomain: return ProbeStatus::dns_nxdomain;
    case routing::LookupFailure::servfail: return ProbeStatus::dns_servfail;
    case routing::LookupFailure::refused: return ProbeStatus::dns_refused;
    case routing::LookupFailure::timeout: return ProbeStatus::dns_timeout;
    case routing::LookupFailure::no_data: return ProbeStatus::dns_no_answer;
    case routing::LookupFailure::other: return ProbeStatus::dns_error;
  }
  return ProbeStatus::dns_error;
}

}  // namespace

asio::awaitable<CheckResult> dns_probe(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  routing::ChannelOptions options;
  const bool v6 = check.host.find(':') != std::string::npos;
  options.servers.push_back((v6 ? "[" + check.host + "]" : check.host) + ":" + std::to_string(check.port));
  options.timeout = check.timeout;
  options.tries = 1;
  options.source = check.source;
  options.keep_failure_answers = true;  // SERVFAIL and REFUSED are findings, not "no contact"
  std::unique_ptr<routing::DnsResolver> resolver;
  try {
    resolver = std::make_unique<routing::DnsResolver>(ex, std::move(options));
  } catch (const std::exception& e) {  // the resolver's start-up error, reported as this check's
    co_return CheckResult{check.label, ProbeStatus::setup_error, 0, e.what()};
  }
  const auto start = ProbeClock::now();
  auto found = co_await resolver->lookup_addresses(check.query_name);
  CheckResult r{check.label, ProbeStatus::dns_ok, ms_since(start), {}};
  if (found) {
    r.detail = fmt::format("{}", fmt::join(*found, " "));
  } else {
    r.status = status_of(found.error().kind);
    r.detail = std::move(found.error().text);
  }
  co_return r;
}

}  // namespace health
