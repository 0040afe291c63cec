// tests/conf/hardening_keys_test.cpp — the listener hardening and AUTH keys: tls,
// tls_certificate, tls_key, bare_line_endings, greeting_delay, max_header_size, auth,
// auth_plaintext_trusted, proxy_protocol, proxy_from, [policy.NAME].auth_users.
// Good values land in the Config; bad ones give file:line:key diagnostics.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conf/load.hpp"

namespace conf {
namespace {

std::string config_with(const std::string& listener_extra, const std::string& policy_extra = "") {
  return "[relay]\n"
         "hostname = \"relay.example.com\"\n"
         "state_dir = \"/var/lib/hubrelay\"\n"
         "accepted_domains = [\"example.com\"]\n"
         "[policy.in]\n"
         "trusted_networks = [\"192.0.2.0/24\"]\n" +
         policy_extra +
         "[hop.hub]\n"
         "host = \"192.0.2.10\"\n"
         "[[route]]\n"
         "name = \"to-hub\"\n"
         "direction = \"inbound\"\n"
         "domains = [\"*\"]\n"
         "hops = [{ hop = \"hub\" }]\n"
         "[[listener]]\n"
         "name = \"in\"\n"
         "direction = \"inbound\"\n"
         "bind = [\"127.0.0.1:2525\"]\n"
         "policy = \"in\"\n" +
         listener_extra;
}

// Files that exist on every Debian system stand in for certificate paths.
const std::string existing = std::string(HUBRELAY_SOURCE_DIR) + "/conf/hubrelay.example.toml";

TEST(HardeningKeys, DefaultsAndGoodValues) {
  auto plain = load_string(config_with(""), "t.toml");
  ASSERT_TRUE(plain.has_value());
  const ListenerConfig& d = (*plain)->listeners.at(0);
  EXPECT_EQ(d.tls, ListenerTls::off);
  EXPECT_FALSE(d.reject_bare_line_endings);
  EXPECT_EQ(d.greeting_delay, Millis{0});
  EXPECT_EQ(d.max_header_size, 64u * 1024);
  EXPECT_FALSE(d.auth);
  EXPECT_FALSE(d.proxy_protocol);

  auto loaded = load_string(config_with("tls = \"required\"\n"
                                        "tls_certificate = \"" + existing + "\"\n"
                                        "tls_key = \"" + existing + "\"\n"
                                        "bare_line_endings = \"reject\"\n"
                                        "greeting_delay = \"1500ms\"\n"
                                        "max_header_size = \"128KiB\"\n"
                                        "auth = true\n"
                                        "auth_plaintext_trusted = true\n"
                                        "proxy_protocol = true\n"
                                        "proxy_from = [\"10.0.0.0/8\", \"::1\"]\n",
                                        "auth_users = { alice = \"$pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAA\" }\n"),
                            "t.toml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().front().to_string();
  const ListenerConfig& l = (*loaded)->listeners.at(0);
  EXPECT_EQ(l.tls, ListenerTls::required);
  EXPECT_EQ(l.tls_certificate, existing);
  EXPECT_TRUE(l.reject_bare_line_endings);
  EXPECT_EQ(l.greeting_delay, Millis{1500});
  EXPECT_EQ(l.max_header_size, 128u * 1024);
  EXPECT_TRUE(l.auth);
  EXPECT_TRUE(l.auth_plaintext_trusted);
  EXPECT_TRUE(l.proxy_protocol);
  EXPECT_EQ(l.proxy_from, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  const auto& users = (*loaded)->policies.at(0).auth_users;
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[0].line, 7);
}

TEST(HardeningKeys, Errors) {
  struct Case {
    std::string listener;
    std::string policy;
    std::string key;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"tls = \"maybe\"\n", "", "listener[0].tls", "unknown TLS mode"},
      {"tls = \"offered\"\n", "", "listener[0].tls_certificate", "required when tls"},
      {"tls = \"implicit\"\ntls_certificate = \"/nonexistent/cert.pem\"\ntls_key = \"" + existing + "\"\n", "",
       "listener[0].tls_certificate", "no such file"},
      {"bare_line_endings = \"strip\"\n", "", "listener[0].bare_line_endings", "normalize"},
      {"greeting_delay = \"2m\"\n", "", "listener[0].greeting_delay", "between"},
      {"max_header_size = 10\n", "", "listener[0].max_header_size", "between"},
      {"auth = \"yes\"\n", "", "listener[0].auth", "expected"},
      {"proxy_protocol = true\n", "", "listener[0].proxy_from", "required when proxy_protocol"},
      {"proxy_from = [\"10.0.0.1/8\"]\n", "", "listener[0].proxy_from[0]", ""},
      {"", "auth_users = { bob = \"hunter2\" }\n", "policy.in.auth_users.bob", "hash-password"},
      {"", "auth_users = [\"x\"]\n", "policy.in.auth_users", "expected"},
  };
  for (const auto& c : cases) {
    auto loaded = load_string(config_with(c.listener, c.policy), "t.toml");
    ASSERT_FALSE(loaded.has_value()) << c.listener << c.policy;
    bool found = false;
    for (const auto& d : loaded.error()) {
      if (d.key == c.key && d.message.find(c.message_part) != std::string::npos) found = true;
      EXPECT_EQ(d.message.find("hunter2"), std::string::npos) << "a secret was echoed: " << d.to_string();
    }
    EXPECT_TRUE(found) << c.key << ": " << loaded.error().front().to_string();
  }
}

}  // namespace
}  // namespace conf
