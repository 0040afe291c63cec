// tests/conf/load_test.cpp — loading good configuration: the shipped example with every
// value checked, defaults, conversions, relative paths, and load_file's own failures.
#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace conf {
namespace {

using namespace std::chrono_literals;

const std::string example_path = std::string(HUBRELAY_SOURCE_DIR) + "/conf/hubrelay.example.toml";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// 1-based line of the n-th (0-based) line of `text` that equals `line` exactly, so the
/// test follows the example file when its comments change.
int line_of(std::string_view text, std::string_view line, int nth = 0) {
  int number = 1;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (text.substr(start, end - start) == line && nth-- == 0) return number;
    ++number;
    start = end + 1;
  }
  return -1;
}

std::string all(const std::vector<Diagnostic>& diagnostics) { return test_support::diagnostics_text(diagnostics); }

// A route for every domain ("*") through exactly `hops` (name, cost, weight), in order.
void expect_catch_all_route(const RouteConfig& r, std::string_view name, Direction direction,
                            const std::vector<RouteHop>& hops) {
  EXPECT_EQ(r.name, name);
  EXPECT_EQ(r.direction, direction);
  EXPECT_EQ(r.domains, (std::vector<std::string>{"*"}));
  ASSERT_EQ(r.hops.size(), hops.size());
  for (std::size_t i = 0; i < hops.size(); ++i) {
    EXPECT_EQ(r.hops[i].hop, hops[i].hop) << name << " hop " << i;
    EXPECT_EQ(r.hops[i].cost, hops[i].cost) << name << " hop " << i;
    EXPECT_EQ(r.hops[i].weight, hops[i].weight) << name << " hop " << i;
  }
}

// What the example's two listeners differ in; both bind port 2525, take 35 MiB messages,
// 1000 connections and 10 errors.
struct ListenerWant {
  std::string_view name;
  Direction direction;
  std::string_view address;
  std::string_view policy;
  std::uint32_t max_recipients;
};

void expect_listener(const ListenerConfig& l, const ListenerWant& want) {
  EXPECT_EQ(l.name, want.name);
  EXPECT_EQ(l.direction, want.direction);
  ASSERT_EQ(l.bind.size(), 1u);
  EXPECT_EQ(l.bind[0].address, want.address);
  EXPECT_EQ(l.bind[0].port, 2525);
  EXPECT_EQ(l.policy, want.policy);
  EXPECT_EQ(l.max_message_size, 35u * 1024 * 1024);
  EXPECT_EQ(l.max_recipients, want.max_recipients);
  EXPECT_EQ(l.max_connections, 1000u);
  EXPECT_EQ(l.max_errors, 10u);
}

ConfigPtr load_ok(std::string_view text, const std::string& file = "/etc/hubrelay/test.toml") {
  auto loaded = load_string(text, file);
  EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : all(loaded.error()));
  return loaded ? *loaded : nullptr;
}

constexpr std::string_view minimal = test_support::minimal_config;

TEST(LoadExample, EveryValue) {
  const std::string text = read_text(example_path);
  ASSERT_FALSE(text.empty()) << example_path;
  auto loaded = load_file(example_path);
  ASSERT_TRUE(loaded.has_value()) << all(loaded.error());
  const Config& c = **loaded;

  EXPECT_EQ(c.source_file, example_path);
  EXPECT_EQ(c.relay.hostname, "relay.example.com");
  EXPECT_EQ(c.relay.state_dir, std::string(HUBRELAY_SOURCE_DIR) + "/conf/state");
  EXPECT_EQ(c.relay.accepted_domains, (std::vector<std::string>{"example.com", "example.org"}));

  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.file, "");

  EXPECT_EQ(c.queue.lifetime, 48h);
  EXPECT_EQ(c.queue.retry_schedule, (std::vector<Seconds>{1min, 5min, 10min, 15min, 30min, 1h}));
  EXPECT_EQ(c.queue.group_commit_max_batch, 512u);

  EXPECT_EQ(c.delivery.helo_name, "");
  EXPECT_EQ(c.delivery.connect_timeout, 30s);
  EXPECT_EQ(c.delivery.command_timeout, 5min);
  EXPECT_EQ(c.delivery.data_timeout, 10min);
  EXPECT_EQ(c.delivery.hop_backoff, 30s);
  EXPECT_EQ(c.delivery.idle_timeout, 5s);
  EXPECT_EQ(c.delivery.max_in_flight, 10000u);

  ASSERT_EQ(c.listeners.size(), 2u);
  const ListenerConfig& in = c.listeners[0];
  expect_listener(in, {"inbound", Direction::inbound, "127.0.0.1", "inbound", 100});
  EXPECT_EQ(in.timeouts.command, 5min);
  EXPECT_EQ(in.timeouts.data_block, 3min);
  EXPECT_EQ(in.timeouts.session_total, 1h);
  EXPECT_EQ(in.line, line_of(text, "[[listener]]", 0));

  const ListenerConfig& out = c.listeners[1];
  expect_listener(out, {"outbound", Direction::outbound, "127.0.0.2", "outbound", 500});  // max_errors: default
  EXPECT_EQ(out.timeouts.command, ServerTimeouts{}.command);
  EXPECT_EQ(out.timeouts.data_block, ServerTimeouts{}.data_block);
  EXPECT_EQ(out.timeouts.session_total, ServerTimeouts{}.session_total);
  EXPECT_EQ(out.line, line_of(text, "[[listener]]", 1));

  ASSERT_EQ(c.policies.size(), 2u);  // in file order
  EXPECT_EQ(c.policies[0].name, "inbound");
  EXPECT_TRUE(c.policies[0].trusted_networks.empty());
  EXPECT_TRUE(c.policies[0].accepted_domains.empty());
  EXPECT_FALSE(c.policies[0].require_trusted);
  EXPECT_EQ(c.policies[0].line, line_of(text, "[policy.inbound]"));
  EXPECT_EQ(c.policies[1].name, "outbound");
  EXPECT_EQ(c.policies[1].trusted_networks, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  EXPECT_TRUE(c.policies[1].accepted_domains.empty());
  EXPECT_TRUE(c.policies[1].require_trusted);
  EXPECT_EQ(c.policies[1].line, line_of(text, "[policy.outbound]"));
  EXPECT_EQ(c.find_policy("outbound"), &c.policies[1]);

  ASSERT_EQ(c.hops.size(), 3u);
  EXPECT_EQ(c.hops[0].name, "smarthost-a");
  EXPECT_EQ(c.hops[0].host, "127.0.0.1");
  EXPECT_EQ(c.hops[0].port, 2601);
  EXPECT_EQ(c.hops[0].max_connections, 20u);
  EXPECT_EQ(c.hops[0].max_messages_per_connection, 1000u);
  EXPECT_EQ(c.hops[0].line, line_of(text, "[hop.smarthost-a]"));
  EXPECT_EQ(c.hops[1].name, "smarthost-b");
  EXPECT_EQ(c.hops[1].host, "127.0.0.1");
  EXPECT_EQ(c.hops[1].port, 2602);
  EXPECT_EQ(c.hops[1].max_connections, HopConfig{}.max_connections);
  EXPECT_EQ(c.hops[1].max_messages_per_connection, HopConfig{}.max_messages_per_connection);
  EXPECT_EQ(c.hops[1].line, line_of(text, "[hop.smarthost-b]"));
  EXPECT_EQ(c.hops[2].name, "hub1");
  EXPECT_EQ(c.hops[2].port, 2603);
  EXPECT_EQ(c.hops[2].line, line_of(text, "[hop.hub1]"));

  ASSERT_EQ(c.routes.size(), 2u);
  expect_catch_all_route(c.routes[0], "internet", Direction::outbound,
                         {{"smarthost-a", 10, 1}, {"smarthost-b", 10, 1}});
  EXPECT_EQ(c.routes[0].line, line_of(text, "[[route]]", 0));
  expect_catch_all_route(c.routes[1], "to-hub", Direction::inbound, {{"hub1", 10, 1}});  // weight: the default
  EXPECT_EQ(c.routes[1].line, line_of(text, "[[route]]", 1));
}

TEST(LoadExample, LoadStringAgreesWithLoadFile) {
  auto from_string = load_string(read_text(example_path), example_path);
  ASSERT_TRUE(from_string.has_value()) << all(from_string.error());
  EXPECT_EQ((*from_string)->relay.state_dir, std::string(HUBRELAY_SOURCE_DIR) + "/conf/state");
  EXPECT_EQ((*from_string)->listeners.size(), 2u);
}

TEST(LoadDefaults, AbsentSectionsKeepStructDefaults) {
  ConfigPtr c = load_ok(minimal);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->relay.state_dir, RelayConfig{}.state_dir);
  EXPECT_TRUE(c->relay.accepted_domains.empty());
  EXPECT_EQ(c->log.level, LogConfig{}.level);
  EXPECT_EQ(c->log.file, "");
  EXPECT_EQ(c->queue.lifetime, QueueConfig{}.lifetime);
  EXPECT_EQ(c->queue.retry_schedule, QueueConfig{}.retry_schedule);
  EXPECT_EQ(c->queue.group_commit_max_batch, QueueConfig{}.group_commit_max_batch);
  EXPECT_EQ(c->delivery.connect_timeout, DeliveryConfig{}.connect_timeout);
  EXPECT_EQ(c->delivery.command_timeout, DeliveryConfig{}.command_timeout);
  EXPECT_EQ(c->delivery.data_timeout, DeliveryConfig{}.data_timeout);
  EXPECT_EQ(c->delivery.hop_backoff, DeliveryConfig{}.hop_backoff);
  EXPECT_EQ(c->delivery.idle_timeout, DeliveryConfig{}.idle_timeout);
  EXPECT_EQ(c->delivery.max_in_flight, DeliveryConfig{}.max_in_flight);
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].max_message_size, ListenerConfig{}.max_message_size);
  EXPECT_EQ(c->listeners[0].max_recipients, ListenerConfig{}.max_recipients);
  EXPECT_EQ(c->listeners[0].line, 7);
  ASSERT_EQ(c->policies.size(), 1u);
  EXPECT_FALSE(c->policies[0].require_trusted);
  EXPECT_EQ(c->policies[0].line, 5);
  EXPECT_TRUE(c->hops.empty());
  EXPECT_TRUE(c->routes.empty());
}

TEST(LoadConversions, DurationsSizesAndCanonicalForms) {
  const std::string text = std::string(minimal) + R"(
[queue]
lifetime = "90m"                 # rounded up to whole hours
retry_schedule = [30, "2m", "1h"]

[delivery]
connect_timeout = 45             # integer: seconds
idle_timeout = "0s"
helo_name = "mx1.example.com"

[[listener]]
name = "out"
direction = "outbound"
bind = ["[0:0::1]:2526", "0.0.0.0:2527"]
policy = "in"
max_message_size = 1048576
data_timeout = "250000ms"

[hop.relay-v6]
host = "2001:db8::25"

[hop.named]
host = "smtp.example.net"
port = 587

[[route]]
name = "mixed-case"
direction = "outbound"
domains = ["Example.COM", "*.Example.org"]
hops = [{ hop = "named", cost = 0, weight = 1000 }, { hop = "relay-v6", cost = 20 }]
)";
  ConfigPtr c = load_ok(text);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->queue.lifetime, 2h);
  EXPECT_EQ(c->queue.retry_schedule, (std::vector<Seconds>{30s, 2min, 1h}));
  EXPECT_EQ(c->delivery.connect_timeout, 45s);
  EXPECT_EQ(c->delivery.idle_timeout, 0s);
  EXPECT_EQ(c->delivery.helo_name, "mx1.example.com");
  ASSERT_EQ(c->listeners.size(), 2u);
  ASSERT_EQ(c->listeners[1].bind.size(), 2u);
  EXPECT_EQ(c->listeners[1].bind[0].address, "::1");
  EXPECT_EQ(c->listeners[1].bind[0].port, 2526);
  EXPECT_EQ(c->listeners[1].bind[1].address, "0.0.0.0");
  EXPECT_EQ(c->listeners[1].max_message_size, 1048576u);
  EXPECT_EQ(c->listeners[1].timeouts.data_block, 250s);
  ASSERT_EQ(c->hops.size(), 2u);
  EXPECT_EQ(c->hops[0].host, "2001:db8::25");
  EXPECT_EQ(c->hops[0].port, 25);  // default
  EXPECT_EQ(c->hops[1].port, 587);
  ASSERT_EQ(c->routes.size(), 1u);
  EXPECT_EQ(c->routes[0].domains, (std::vector<std::string>{"example.com", "*.example.org"}));
  ASSERT_EQ(c->routes[0].hops.size(), 2u);
  EXPECT_EQ(c->routes[0].hops[0].cost, 0u);
  EXPECT_EQ(c->routes[0].hops[0].weight, 1000u);
  EXPECT_EQ(c->routes[0].hops[1].cost, 20u);
  EXPECT_EQ(c->routes[0].hops[1].weight, 1u);
}

TEST(LoadConversions, SamePatternInBothDirectionsIsFine) {
  const std::string text = std::string(minimal) + R"(
[hop.h]
host = "192.0.2.1"

[[route]]
name = "a"
direction = "inbound"
domains = ["*"]
hops = [{ hop = "h" }]

[[route]]
name = "b"
direction = "outbound"
domains = ["*"]
hops = [{ hop = "h" }]
)";
  ConfigPtr c = load_ok(text);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->routes.size(), 2u);
}

TEST(LoadPaths, RelativePathsFollowTheConfigFile) {
  struct Case {
    std::string file;
    std::string state_dir;
    std::string want_state_dir;
    std::string want_log_file;  // log.file = "log/hubrelay.log" in every case
  };
  const std::string cwd = std::filesystem::current_path().string();
  const Case cases[] = {
      {"/etc/hubrelay/hubrelay.toml", "state", "/etc/hubrelay/state",
       "/etc/hubrelay/log/hubrelay.log"},
      {"/etc/hubrelay/hubrelay.toml", "./state/", "/etc/hubrelay/state/",
       "/etc/hubrelay/log/hubrelay.log"},
      {"/etc/hubrelay/hubrelay.toml", "../../var/lib/hubrelay", "/var/lib/hubrelay",
       "/etc/hubrelay/log/hubrelay.log"},
      {"/etc/hubrelay/hubrelay.toml", "/srv/queue", "/srv/queue", "/etc/hubrelay/log/hubrelay.log"},
      {"/etc/hubrelay/hubrelay.toml", "/srv//queue/./x/..", "/srv/queue/",
       "/etc/hubrelay/log/hubrelay.log"},
      {"/hubrelay.toml", "state", "/state", "/log/hubrelay.log"},
      {"hubrelay.toml", "state", cwd + "/state", cwd + "/log/hubrelay.log"},
      {"conf/hubrelay.toml", "q", cwd + "/conf/q", cwd + "/conf/log/hubrelay.log"},
  };
  for (const Case& c : cases) {
    const std::string text = "[relay]\nhostname = \"relay.example.com\"\nstate_dir = \"" +
                             c.state_dir + "\"\n[log]\nfile = \"log/hubrelay.log\"\n" +
                             std::string(minimal).substr(minimal.find("[policy.in]"));
    ConfigPtr config = load_ok(text, c.file);
    ASSERT_NE(config, nullptr) << c.file << " " << c.state_dir;
    EXPECT_EQ(config->relay.state_dir, c.want_state_dir) << c.file << " " << c.state_dir;
    EXPECT_EQ(config->log.file, c.want_log_file) << c.file;
  }
}

TEST(LoadPaths, DefaultStateDirIsAbsoluteAlready) {
  ConfigPtr c = load_ok(minimal, "relative.toml");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->relay.state_dir, "/var/lib/hubrelay");
}

TEST(LoadFile, RealFileInATemporaryDirectory) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("hubrelay-conf-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "relay.toml";
  {
    std::ofstream out(file);
    out << minimal << "[log]\nfile = \"hubrelay.log\"\n";
  }
  auto loaded = load_file(file.string());
  ASSERT_TRUE(loaded.has_value()) << all(loaded.error());
  EXPECT_EQ((*loaded)->log.file, (dir / "hubrelay.log").string());
  EXPECT_EQ((*loaded)->source_file, file.string());
  std::filesystem::remove_all(dir);
}

TEST(LoadFile, UnreadableFileIsOneDiagnosticWithoutLine) {
  const std::string missing = "/nonexistent/hubrelay-test/none.toml";
  auto loaded = load_file(missing);
  ASSERT_FALSE(loaded.has_value());
  ASSERT_EQ(loaded.error().size(), 1u);
  const Diagnostic& d = loaded.error()[0];
  EXPECT_EQ(d.file, missing);
  EXPECT_EQ(d.line, 0);
  EXPECT_EQ(d.key, "");
  EXPECT_TRUE(d.message.starts_with("cannot read file: ")) << d.message;
  EXPECT_NE(d.message.find("No such file"), std::string::npos) << d.message;

  auto directory = load_file(std::string(HUBRELAY_SOURCE_DIR) + "/conf");
  ASSERT_FALSE(directory.has_value());
  ASSERT_EQ(directory.error().size(), 1u);
  EXPECT_EQ(directory.error()[0].line, 0);
  EXPECT_TRUE(directory.error()[0].message.starts_with("cannot read file: "));
}

TEST(Diagnostic, ToStringFormats) {
  EXPECT_EQ(
      (Diagnostic{"hubrelay.toml", 42, "route[1].hops[0].hop", "unknown hop 'hub3'"}).to_string(),
      "hubrelay.toml:42: route[1].hops[0].hop: unknown hop 'hub3'");
  EXPECT_EQ((Diagnostic{"x.toml", 0, "", "cannot read file: Permission denied"}).to_string(),
            "x.toml:0: cannot read file: Permission denied");
}

}  // namespace
}  // namespace conf
