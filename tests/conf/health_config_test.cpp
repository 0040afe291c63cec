// tests/conf/health_config_test.cpp — the health keys ([path.NAME], hop paths/check,
// [alerts]): the two-site failover example loads into the expected rules; every broken value is
// reported with file:line:key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conf/load.hpp"

namespace conf {
namespace {

const std::string base =
    "[relay]\n"
    "hostname = \"relay.example.com\"\n"
    "accepted_domains = [\"example.com\"]\n"
    "[policy.in]\n"
    "trusted_networks = [\"192.0.2.0/24\"]\n"
    "[[listener]]\n"
    "name = \"in\"\n"
    "direction = \"inbound\"\n"
    "bind = [\"127.0.0.1:2525\"]\n"
    "policy = \"in\"\n"
    "[[route]]\n"
    "name = \"to-hub\"\n"
    "direction = \"inbound\"\n"
    "domains = [\"*\"]\n"
    "hops = [{ hop = \"hub\" }]\n";  // 15 lines

// The two-site failover example: 3 checks, a run fails when 2 or more fail, 2 runs, 2 failed -> DOWN, every 2 minutes.
const std::string two_site_failover =
    "[path.site-a-internet]\n"                                                        // 16
    "interval = \"2m\"\n"
    "fail_threshold = 2\n"
    "down_after = { runs = 2, failed = 2 }\n"
    "initial_state = \"down\"\n"
    "maintenance = [ { days = [\"sat\", \"sun\"], start = \"22:00\", end = \"02:00\", time_zone = \"+02:00\" } ]\n"
    "[[path.site-a-internet.check]]\n"
    "type = \"icmp\"\n"
    "target = \"192.0.2.1\"\n"
    "count = 3\n"
    "min_replies = 1\n"
    "[[path.site-a-internet.check]]\n"
    "type = \"https\"\n"
    "url = \"https://www.example.net/health\"\n"
    "expect_status = [200, 204]\n"
    "body_contains = \"ok\"\n"
    "[[path.site-a-internet.check]]\n"
    "type = \"tcp\"\n"
    "target = \"192.0.2.2:443\"\n"
    "source = \"192.0.2.10\"\n"
    "[hop.hub]\n"
    "host = \"192.0.2.10\"\n"
    "paths = [\"site-a-internet\"]\n"
    "check = { interval = \"30s\", down_after = { runs = 3, failed = 2 } }\n"
    "[alerts]\n"
    "to = [\"ops@example.com\"]\n"
    "hook = \"/usr/local/bin/hubrelay-alert\"\n";

TEST(HealthConfig, TwoSiteFailoverExampleLoads) {
  auto loaded = load_string(base + two_site_failover, "test.toml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().front().to_string();
  const Config& c = **loaded;
  ASSERT_EQ(c.paths.size(), 2u);  // the path and hub's own check
  const PathConfig& p = c.paths[0];
  EXPECT_EQ(p.name, "site-a-internet");
  EXPECT_EQ(p.rules.interval, std::chrono::minutes(2));
  EXPECT_EQ(p.rules.fail_threshold, 2u);
  EXPECT_EQ(p.rules.down_runs, 2u);
  EXPECT_EQ(p.rules.down_failed, 2u);
  EXPECT_FALSE(p.rules.initial_up);
  ASSERT_EQ(p.checks.size(), 3u);
  EXPECT_EQ(p.checks[0].kind, CheckKind::icmp);
  EXPECT_EQ(p.checks[0].count, 3u);
  EXPECT_EQ(p.checks[1].kind, CheckKind::https);
  EXPECT_EQ(p.checks[1].host, "www.example.net");
  EXPECT_EQ(p.checks[1].port, 443);
  EXPECT_EQ(p.checks[1].url_path, "/health");
  EXPECT_EQ(p.checks[1].expect_status, (std::vector<std::uint16_t>{200, 204}));
  EXPECT_EQ(p.checks[2].source, "192.0.2.10");
  EXPECT_EQ(p.checks[2].port, 443);
  ASSERT_EQ(p.maintenance.size(), 1u);
  EXPECT_EQ(p.maintenance[0].days, (1 << 5) | (1 << 6));
  EXPECT_EQ(p.maintenance[0].start_minute, 22 * 60);
  EXPECT_EQ(p.maintenance[0].end_minute, 2 * 60);
  EXPECT_EQ(p.maintenance[0].utc_offset_minutes, 120);
  const PathConfig& own = c.paths[1];
  EXPECT_EQ(own.name, "hop:hub");
  EXPECT_EQ(own.hop, "hub");
  ASSERT_EQ(own.checks.size(), 1u);
  EXPECT_EQ(own.checks[0].kind, CheckKind::smtp);
  EXPECT_EQ(own.checks[0].host, "192.0.2.10");
  EXPECT_EQ(own.rules.down_runs, 3u);
  EXPECT_EQ(c.hops[0].paths, (std::vector<std::string>{"site-a-internet", "hop:hub"}));
  EXPECT_EQ(c.alerts.to, (std::vector<std::string>{"ops@example.com"}));
}

TEST(HealthConfig, BrokenValuesAreReportedWithKey) {
  struct Case {
    std::string text;
    std::string key;
    std::string message_part;
  };
  const std::string hop = "[hop.hub]\nhost = \"192.0.2.10\"\n";
  const std::vector<Case> cases{
      {hop + "paths = [\"nowhere\"]\n", "hop.hub.paths[0]", "unknown path"},
      {"[path.p]\ncheck = [ { type = \"ftp\", target = \"a:1\" } ]\n" + hop, "path.p.check[0].type",
       "unknown check type"},
      {"[path.p]\ncheck = [ { type = \"tcp\", target = \"192.0.2.1\" } ]\n" + hop, "path.p.check[0].target",
       "host:port"},
      {"[path.p]\ncheck = [ { type = \"http\", url = \"ftp://x\" } ]\n" + hop, "path.p.check[0].url",
       "must start with http://"},
      {"[path.p]\nfail_threshold = 3\ncheck = [ { type = \"tcp\", target = \"a:1\" } ]\n" + hop, "path.p.fail_threshold",
       "only 1 check"},
      {"[path.p]\ndown_after = { runs = 2, failed = 3 }\ncheck = [ { type = \"tcp\", target = \"a:1\" } ]\n" + hop,
       "path.p.down_after", "cannot exceed runs"},
      {"[path.p]\ninitial_state = \"maybe\"\ncheck = [ { type = \"tcp\", target = \"a:1\" } ]\n" + hop,
       "path.p.initial_state", "\"up\" or \"down\""},
      {"[path.p]\ncheck = [ { type = \"tcp\", target = \"a:1\", count = 3 } ]\n" + hop, "path.p.check[0].count",
       "not used by a tcp check"},
      {"[path.p]\ncheck = [ { type = \"tcp\", target = \"a:1\" } ]\n"
       "maintenance = [ { start = \"25:00\", end = \"01:00\" } ]\n" + hop,
       "path.p.maintenance[0].start", "invalid time"},
      {"[path.p]\ncheck = [ { type = \"tcp\", target = \"a:1\" } ]\n"
       "maintenance = [ { start = \"01:00\", end = \"02:00\", time_zone = \"Europe/Brussels\" } ]\n" + hop,
       "path.p.maintenance[0].time_zone", "unsupported time zone"},
      {"[path.p]\ncheck = [ { type = \"tcp\", target = \"a:1\" } ]\n"
       "maintenance = [ { days = [\"funday\"], start = \"01:00\", end = \"02:00\" } ]\n" + hop,
       "path.p.maintenance[0].days[0]", "unknown day"},
      {"[path.p]\ncheck = []\n" + hop, "path.p.check", "at least one check"},
      {hop + "check = \"yes\"\n", "hop.hub.check", "true/false or a table"},
      {hop + "[alerts]\nto = [\"not-an-address\"]\n", "alerts.to[0]", "not a mail address"},
      {"[path.p]\ncheck = [ { type = \"tcp\", target = \"a:1\", source = \"eth0\" } ]\n" + hop,
       "path.p.check[0].source", "not an IP address"},
  };
  for (const auto& c : cases) {
    auto loaded = load_string(base + c.text, "test.toml");
    ASSERT_FALSE(loaded.has_value()) << c.text;
    ASSERT_EQ(loaded.error().size(), 1u) << c.text << loaded.error().front().to_string();
    const Diagnostic& d = loaded.error().front();
    EXPECT_EQ(d.key, c.key) << d.to_string();
    EXPECT_GT(d.line, 15) << d.to_string();
    EXPECT_NE(d.message.find(c.message_part), std::string::npos) << d.to_string();
  }
}

}  // namespace
}  // namespace conf
