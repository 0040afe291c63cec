// relay/cli/tls_lookup.cpp — DNS facts for the outbound TLS lines of route explain.
#include "relay/cli/tls_lookup.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "routing/dns_resolver.hpp"
#include "routing/mx_order.hpp"

namespace relay {
namespace asio = boost::asio;
namespace {

// As delivery (relay/delivery/delivery_engine_mx.cpp): at most this many MX hosts.
constexpr std::size_t max_mx_hosts = 10;

asio::awaitable<HostTlsFacts> host_facts(routing::DnsResolver& resolver, const conf::Config& config,
                                         const conf::HopConfig& hop, std::string host, bool mx_secure) {
  HostTlsFacts out;
  out.host = host;
  auto addresses = co_await resolver.address_answer(host);
  if (!addresses) {
    out.error = addresses.error().text;
    co_return out;
  }
  out.facts = hop.mx ? routing::DaneFacts{hop.tls, config.dns.dnssec, mx_secure, addresses->secure}
                     : routing::smart_host_facts(hop.tls, config.dns.dnssec, addresses->secure);
  if (routing::wants_tlsa(out.facts)) out.tlsa = co_await resolver.tlsa(host, hop.port);
  co_return out;
}

asio::awaitable<HopTlsFacts> hop_facts(routing::DnsResolver& resolver, const conf::Config& config,
                                       const conf::HopConfig& hop, std::string domain) {
  HopTlsFacts out;
  if (!hop.mx) {
    out.hosts.push_back(co_await host_facts(resolver, config, hop, hop.host, true));
    co_return out;
  }
  auto records = co_await resolver.mx_answer(domain);
  if (!records) {
    out.error = "MX lookup failed: " + records.error().text;
    co_return out;
  }
  const bool mx_secure = records->secure;
  // The first of equal-preference hosts (delivery shuffles them per attempt).
  const auto plan = routing::order_mx(std::move(records->records), domain, [](std::size_t) { return std::size_t{0}; });
  if (plan.null_mx) {
    out.error = domain + " has a null MX: it accepts no mail";
    co_return out;
  }
  for (std::size_t i = 0; i < plan.hosts.size() && i < max_mx_hosts; ++i)
    out.hosts.push_back(co_await host_facts(resolver, config, hop, plan.hosts[i], mx_secure));
  co_return out;
}

}  // namespace

HopTlsFacts look_up_tls_facts(const conf::Config& config, const conf::HopConfig& hop, std::string_view domain) {
  asio::io_context io;
  HopTlsFacts facts;
  try {
    routing::DnsResolver resolver(io.get_executor(), config.dns);
    asio::co_spawn(io, hop_facts(resolver, config, hop, std::string(domain)),
                   [&facts](std::exception_ptr failed, HopTlsFacts found) {
                     if (failed) facts.error = "DNS lookup failed";
                     else facts = std::move(found);
                   });
    io.run();
  } catch (const std::exception& e) {  // the resolver could not start (a bad [dns] server)
    facts.error = std::string("DNS lookup not possible: ") + e.what();
  }
  return facts;
}

}  // namespace relay
