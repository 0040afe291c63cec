// tests/conf/load_routing_test.cpp — the routing and delivery keys: hop client
// settings, route balance and when_all_down, [dns], [bounce], [queue].delay_notice.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view base = test_support::minimal_config;

std::string problems(const LoadResult& loaded) { return test_support::diagnostics_text(loaded); }

TEST(LoadRouting, HopClientSettingsRouteOptionsDnsAndBounce) {
  const auto dir = std::filesystem::temp_directory_path() / ("hubrelay-load-routing-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "secret") << "s3cret\n";
  const std::string text = std::string(base) + R"(
[queue]
delay_notice = "4h"
[hop.sa]
host = "smtp.site-a.example"
tls = "verify"
auth_user = "relay"
auth_password_file = "secret"
source_address = "127.0.0.3"
connect_timeout = "7s"
command_timeout = "40s"
[hop.direct]
type = "mx"
port = 2525
tls = "none"
[hop.mxhost]
host = "mx"
[[route]]
name = "out"
direction = "outbound"
domains = ["*"]
balance = "least_outstanding"
when_all_down = "try_anyway"
hops = [ { hop = "sa" }, { hop = "direct", cost = 20 } ]
[dns]
servers = ["127.0.0.1:5353", "192.0.2.53"]
timeout = "3s"
[dns.hosts]
"smtp.site-a.example" = ["10.1.2.3"]
[bounce]
from = "postmaster@relay.example.com"
text = "Sorry."
lifetime = "12h"
)";
  auto loaded = load_string(text, (dir / "test.toml").string());
  ASSERT_TRUE(loaded) << problems(loaded);
  const Config& c = **loaded;
  EXPECT_EQ(c.queue.delay_notice, 4h);
  const HopConfig* sa = c.find_hop("sa");
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->tls, TlsPolicy::verify);
  EXPECT_EQ(sa->auth_user, "relay");
  EXPECT_EQ(sa->auth_password, "s3cret");
  EXPECT_EQ(sa->source_address, "127.0.0.3");
  EXPECT_EQ(sa->connect_timeout, 7s);
  EXPECT_EQ(sa->command_timeout, 40s);
  EXPECT_FALSE(sa->mx);
  EXPECT_TRUE(c.find_hop("direct")->mx);
  EXPECT_EQ(c.find_hop("direct")->tls, TlsPolicy::none);
  EXPECT_TRUE(c.find_hop("mxhost")->mx);
  EXPECT_EQ(c.find_hop("mxhost")->tls, TlsPolicy::automatic);  // the default of MX hops (DANE, MTA-STS)
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].balance, RouteConfig::Balance::least_outstanding);
  EXPECT_EQ(c.routes[0].when_all_down, RouteConfig::WhenAllDown::try_anyway);
  EXPECT_EQ(c.dns.servers, (std::vector<std::string>{"127.0.0.1:5353", "192.0.2.53"}));
  EXPECT_EQ(c.dns.timeout, 3s);
  ASSERT_EQ(c.dns.hosts.size(), 1u);
  EXPECT_EQ(c.dns.hosts[0].first, "smtp.site-a.example");
  EXPECT_EQ(c.dns.hosts[0].second, std::vector<std::string>{"10.1.2.3"});
  EXPECT_EQ(c.bounce.from, "postmaster@relay.example.com");
  EXPECT_EQ(c.bounce.text, "Sorry.");
  EXPECT_EQ(c.bounce.lifetime, 12h);
  std::filesystem::remove_all(dir);
}

TEST(LoadRouting, DefaultsAreSafe) {
  auto loaded = load_string(std::string(base), "/etc/hubrelay/test.toml");
  ASSERT_TRUE(loaded) << problems(loaded);
  EXPECT_EQ((*loaded)->queue.delay_notice, 0s);  // off
  EXPECT_TRUE((*loaded)->dns.servers.empty());
  EXPECT_TRUE((*loaded)->bounce.from.empty());
}

TEST(LoadRouting, BadValuesNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* key;
    const char* message;
  };
  const Case cases[] = {
      {"[hop.a]\nhost = \"h.example\"\ntls = \"maybe\"\n", "hop.a.tls", "is not one of"},
      {"[hop.a]\nhost = \"h.example\"\nauth_user = \"u\"\n", "hop.a.auth_user", "needs auth_password"},
      {"[hop.a]\nhost = \"h.example\"\nsource_address = \"eth0\"\n", "hop.a.source_address", "not an IP address"},
      {"[hop.a]\nhost = \"h.example\"\ntype = \"pigeon\"\n", "hop.a.type", "smarthost"},
      {"[hop.a]\nhost = \"h.example\"\nauth_password_file = \"/nonexistent/pw\"\n", "hop.a.auth_password_file",
       "cannot read"},
      {"[dns]\nservers = [\"dns.example\"]\n", "dns.servers[0]", "not an IP address"},
      {"[dns.hosts]\n\"a.example\" = [\"not-an-ip\"]\n", "dns.hosts.a.example[0]", "not an IP address"},
      {"[bounce]\nfrom = \"nobody\"\n", "bounce.from", "not an address"},
      {"[queue]\ndelay_notice = \"-1s\"\n", "queue.delay_notice", ""},
      {"[hop.a]\ntype = \"mx\"\ncheck = true\n", "hop.a.check", "no single host"},
      {"[hop.a]\nhost = \"mx\"\ncheck = { interval = \"10s\" }\n", "hop.a.check", "no single host"},
      {"[hop.a]\ntype = \"mx\"\ntls = \"dane\"\n", "hop.a.tls", "needs [dns] dnssec = true"},
      {"[hop.a]\ntype = \"mx\"\ntls = \"dane\"\n[dns]\ndnssec = false\n", "hop.a.tls", "needs [dns] dnssec"},
      {"[hop.a]\nhost = \"h.example\"\ntls = \"dane\"\n", "hop.a.tls", "needs [dns] dnssec = true"},
      {"[dns]\ndnssec = \"yes\"\n", "dns.dnssec", ""},
      {"[hop.a]\nhost = \"h.example\"\n[[route]]\nname = \"r\"\ndirection = \"outbound\"\ndomains = [\"*\"]\n"
       "balance = \"random\"\nhops = [ { hop = \"a\" } ]\n",
       "route[0].balance", "is not one of"},
  };
  for (const auto& c : cases) {
    auto loaded = load_string(std::string(base) + c.text, "test.toml");
    ASSERT_FALSE(loaded) << c.text;
    bool found = false;
    for (const auto& d : loaded.error()) {
      if (d.key == c.key && d.message.find(c.message) != std::string::npos && d.line > 0) found = true;
    }
    EXPECT_TRUE(found) << "want " << c.key << ": " << c.message << "\ngot:\n" << problems(loaded);
  }
}

// DANE needs a resolver the administrator vouches for; with one, MX hops without a tls
// key get "auto" (which, without TLSA, is opportunistic), and explicit choices stay.
TEST(LoadRouting, DnssecMakesAutoTheMxDefault) {
  const std::string hops = R"(
[hop.mxhost]
type = "mx"
[hop.forced]
type = "mx"
tls = "dane"
[hop.plain]
type = "mx"
tls = "opportunistic"
[hop.smart]
host = "smtp.example"
tls = "auto"
[hop.smartdane]
host = "smtp.example"
tls = "dane"
)";
  auto with = load_string(std::string(base) + hops + "[dns]\nservers = [\"127.0.0.1\"]\ndnssec = true\n", "t.toml");
  ASSERT_TRUE(with) << problems(with);
  EXPECT_TRUE((*with)->dns.dnssec);
  EXPECT_EQ((*with)->find_hop("mxhost")->tls, TlsPolicy::automatic);
  EXPECT_EQ((*with)->find_hop("forced")->tls, TlsPolicy::dane);
  EXPECT_EQ((*with)->find_hop("plain")->tls, TlsPolicy::opportunistic);
  EXPECT_EQ((*with)->find_hop("smart")->tls, TlsPolicy::automatic);
  EXPECT_EQ((*with)->find_hop("smartdane")->tls, TlsPolicy::dane);  // the smart host's own TLSA
  EXPECT_STREQ(to_string(TlsPolicy::automatic), "auto");

  std::string without_dane = hops;
  without_dane.replace(without_dane.find("tls = \"dane\""), 12, "tls = \"auto\"");
  without_dane.replace(without_dane.find("tls = \"dane\""), 12, "tls = \"auto\"");
  auto without = load_string(std::string(base) + without_dane, "t.toml");
  ASSERT_TRUE(without) << problems(without);
  EXPECT_FALSE((*without)->dns.dnssec);
  // auto is the MX default without dnssec too: MTA-STS needs no DNSSEC (no TLSA is looked up).
  EXPECT_EQ((*without)->find_hop("mxhost")->tls, TlsPolicy::automatic);
  EXPECT_EQ((*without)->find_hop("forced")->tls, TlsPolicy::automatic);
  EXPECT_EQ((*without)->find_hop("plain")->tls, TlsPolicy::opportunistic);  // explicit values stay
  EXPECT_EQ((*without)->find_hop("smart")->tls, TlsPolicy::automatic);      // accepted on a smart host
}

TEST(LoadRouting, MtaStsPolicyAndCaFile) {
  const std::string hops = R"(
[hop.sts]
type = "mx"
tls = "mta-sts"
)";
  const auto dir = std::filesystem::temp_directory_path() / ("mta-sts-ca-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ca.pem") << "not checked at load\n";
  auto loaded = load_string(std::string(base) + hops + "[mta_sts]\nca_file = \"" + (dir / "ca.pem").string() + "\"\n",
                            "t.toml");
  ASSERT_TRUE(loaded) << problems(loaded);
  EXPECT_EQ((*loaded)->find_hop("sts")->tls, TlsPolicy::mta_sts);
  EXPECT_EQ((*loaded)->mta_sts.ca_file, (dir / "ca.pem").string());
  EXPECT_STREQ(to_string(TlsPolicy::mta_sts), "mta-sts");

  auto missing = load_string(std::string(base) + "[mta_sts]\nca_file = \"/nonexistent/ca.pem\"\n", "t.toml");
  ASSERT_FALSE(missing);
  EXPECT_NE(problems(missing).find("mta_sts.ca_file"), std::string::npos) << problems(missing);
  EXPECT_NE(problems(missing).find("t.toml:"), std::string::npos) << problems(missing);

  auto smart = load_string(std::string(base) + "[hop.s]\nhost = \"smtp.example\"\ntls = \"mta-sts\"\n", "t.toml");
  ASSERT_FALSE(smart);
  EXPECT_NE(problems(smart).find("hop.s.tls"), std::string::npos) << problems(smart);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace conf
