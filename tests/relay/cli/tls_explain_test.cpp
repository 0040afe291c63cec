// tests/relay/cli/tls_explain_test.cpp — the "outbound tls:" lines of `route explain`:
// each hop's tls setting and, where DANE can apply, each host's TLSA state (validated
// records, none, records without the AD bit, insecure MX or addresses, a failed lookup)
// with what delivery would do; the lookup is asked only for such hops.
#include "relay/cli/tls_explain.hpp"

#include <gtest/gtest.h>

#include "relay/cli/route_explain.hpp"

namespace {

using conf::TlsPolicy;
using routing::TlsaLookup;

const routing::TlsaRecord ee{3, 1, 1, std::vector<std::uint8_t>(32, 7)};

relay::HostTlsFacts host(std::string name, TlsPolicy mode, bool mx_secure, std::optional<TlsaLookup> tlsa) {
  return {std::move(name), {mode, true, mx_secure, true}, std::move(tlsa), {}};
}

TEST(TlsExplain, EachHostSaysWhatDnsFoundAndWhatDeliveryDoes) {
  const TlsaLookup validated{TlsaLookup::Status::answered, true, {ee}, {}};
  const TlsaLookup none{TlsaLookup::Status::answered, true, {}, {}};
  const TlsaLookup insecure{TlsaLookup::Status::answered, false, {ee}, {}};
  const TlsaLookup failed{TlsaLookup::Status::failed, false, {}, "_25._tcp.mx.example TLSA: Server failure"};
  struct Case {
    relay::HostTlsFacts facts;
    std::string line;
  };
  const Case cases[] = {
      {host("mx1.example", TlsPolicy::automatic, true, validated),
       "mx1.example: DANE (1 usable TLSA record, DNSSEC-validated): STARTTLS required, the certificate must match"},
      {host("mx2.example", TlsPolicy::automatic, true, none), "mx2.example: no TLSA: opportunistic TLS"},
      {host("mx2.example", TlsPolicy::dane, true, none), "mx2.example: no TLSA: skipped, nothing is sent to it"},
      {host("mx3.example", TlsPolicy::automatic, true, insecure), "mx3.example: TLSA insecure (no AD): opportunistic TLS"},
      {host("mx4.example", TlsPolicy::automatic, false, std::nullopt),
       "mx4.example: MX answer not DNSSEC-validated, TLSA not looked up: opportunistic TLS"},
      {host("mx5.example", TlsPolicy::automatic, true, failed),
       "mx5.example: TLSA lookup failed: _25._tcp.mx.example TLSA: Server failure: skipped, nothing is sent to it"},
  };
  for (const auto& c : cases) EXPECT_EQ(relay::host_tls_line(c.facts), c.line);
  relay::HostTlsFacts unresolved{"mx6.example", {}, std::nullopt, "mx6.example: no A or AAAA record"};
  EXPECT_EQ(relay::host_tls_line(unresolved), "mx6.example: address lookup failed: mx6.example: no A or AAAA record");
}

// route explain asks for DNS facts only for hops where DANE can apply, and shows every
// hop's setting.
TEST(TlsExplain, RouteExplainShowsEachHopsPolicyAndTheHostsOfDaneHops) {
  conf::Config c;
  c.dns.dnssec = true;
  c.hops = {{.name = "direct", .mx = true, .tls = TlsPolicy::automatic},
            {.name = "relay", .host = "smtp.example", .tls = TlsPolicy::verify}};
  c.routes.push_back({.name = "internet", .direction = conf::Direction::outbound, .domains = {"*"},
                      .hops = {{"direct", 10, 1}, {"relay", 20, 1}}});
  std::vector<std::string> asked;
  const relay::TlsFactsLookup lookup = [&](const conf::Config&, const conf::HopConfig& hop, std::string_view domain) {
    asked.push_back(hop.name + " " + std::string(domain));
    relay::HopTlsFacts facts;
    facts.hosts.push_back(host("mx.remote.example", hop.tls, true, TlsaLookup{TlsaLookup::Status::answered, true, {ee}, {}}));
    return facts;
  };
  const auto r = relay::explain_route(c, "bob@remote.example", std::nullopt, health::AllUsable{}, "test", lookup);
  EXPECT_EQ(asked, std::vector<std::string>{"direct remote.example"});
  for (const char* part : {"outbound tls:\n", "  direct: tls = auto (DANE for hosts with validated TLSA records, else "
                                              "MTA-STS when the domain publishes a policy, else opportunistic)\n    mx.remote.example: DANE (1 usable TLSA record",
                           "  relay: tls = verify (STARTTLS must succeed, chain and name verified)\n"})
    EXPECT_NE(r.text.find(part), std::string::npos) << part << " in:\n" << r.text;
}

}  // namespace
