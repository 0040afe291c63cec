// tests/conf/load_errors_test.cpp — broken configurations: which problems are reported, on
// which line, under which key. Table-driven: each case edits a small valid base file and
// lists every diagnostic it must produce, in order (got/want on line, key and message).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "conf/load.hpp"

namespace conf {
namespace {

// Line numbers of the base, for reading the expectations below.
constexpr std::string_view base =
    "[relay]\n"                                // 1
    "hostname = \"relay.example.com\"\n"       // 2
    "state_dir = \"/var/lib/hubrelay\"\n"      // 3
    "accepted_domains = [\"example.com\"]\n"   // 4
    "\n"                                       // 5
    "[policy.in]\n"                            // 6
    "trusted_networks = [\"192.0.2.0/24\"]\n"  // 7
    "\n"                                       // 8
    "[hop.hub]\n"                              // 9
    "host = \"192.0.2.10\"\n"                  // 10
    "\n"                                       // 11
    "[[listener]]\n"                           // 12
    "name = \"in\"\n"                          // 13
    "direction = \"inbound\"\n"                // 14
    "bind = [\"127.0.0.1:2525\"]\n"            // 15
    "policy = \"in\"\n"                        // 16
    "\n"                                       // 17
    "[[route]]\n"                              // 18
    "name = \"to-hub\"\n"                      // 19
    "direction = \"inbound\"\n"                // 20
    "domains = [\"*\"]\n"                      // 21
    "hops = [{ hop = \"hub\" }]\n";            // 22
constexpr int after = 22;                      // appended text starts on line after + 1

/// base with a piece of text replaced; the piece must occur exactly once.
std::string with(std::string_view piece, std::string_view replacement) {
  std::string text(base);
  const auto at = text.find(piece);
  if (at == std::string::npos || text.find(piece, at + 1) != std::string::npos) {
    ADD_FAILURE() << "base does not hold exactly one " << piece;
    return text;
  }
  text.replace(at, piece.size(), replacement);
  return text;
}

std::string plus(std::string_view appended) { return std::string(base) + std::string(appended); }

struct Want {
  int line;
  std::string key;
  std::string message_part;  // a substring of the message
};

struct Case {
  std::string name;
  std::string text;
  std::vector<Want> want;
};

std::vector<Case> cases() {
  return {
      // --- the file as a whole -----------------------------------------------------------
      {"syntax_error_reports_its_line",
       plus("listener_count = \n"),
       {{after + 1, "", "TOML syntax error: missing value"}}},
      {"syntax_error_at_end_of_file_is_on_the_last_line",
       plus("x = [1,\n2,\n"),
       {{after + 2, "", "TOML syntax error"}}},
      {"syntax_error_at_end_without_final_newline",
       plus("x = [1,\n2,"),
       {{after + 2, "", "TOML syntax error"}}},
      {"duplicate_key_is_a_syntax_error",
       with("policy = \"in\"", "policy = \"in\"\npolicy = \"x\""),
       {{17, "", "already exists"}}},
      {"unknown_top_level_table",
       plus("[relays]\nhostname = \"x\"\n"),
       {{after + 1, "relays", "unknown key"}}},
      {"missing_relay_table",
       std::string(base.substr(base.find("[policy.in]"))),
       {{0, "relay.hostname", "missing required key"}}},
      {"no_listener_at_all",
       std::string(base.substr(0, base.find("[[listener]]"))),
       {{0, "listener", "at least one [[listener]]"}}},
      {"listener_as_plain_table",
       with("[[listener]]", "[listener]"),
       {{12, "listener", "expected an array of tables ([[listener]]), found a table"}}},

      // --- [relay] [log] ---------------------------------------------------------------------
      {"misspelt_key",
       with("state_dir = \"/var/lib/hubrelay\"", "state_dri = \"/x\""),
       {{3, "relay.state_dri", "unknown key"}}},
      {"missing_hostname",
       with("hostname = \"relay.example.com\"", "# no hostname"),
       {{1, "relay.hostname", "missing required key"}}},
      {"hostname_not_a_host_name",
       with("hostname = \"relay.example.com\"", "hostname = \"relay_1!\""),
       {{2, "relay.hostname", "not a valid host name"}}},
      {"hostname_is_an_ip_address",
       with("hostname = \"relay.example.com\"", "hostname = \"192.0.2.1\""),
       {{2, "relay.hostname", "not a valid host name"}}},
      {"hostname_wrong_type",
       with("hostname = \"relay.example.com\"", "hostname = 42"),
       {{2, "relay.hostname", "expected a string, found an integer"}}},
      {"empty_state_dir",
       with("state_dir = \"/var/lib/hubrelay\"", "state_dir = \"\""),
       {{3, "relay.state_dir", "must not be empty"}}},
      {"accepted_domains_star_is_open_relay",
       with("accepted_domains = [\"example.com\"]", "accepted_domains = [\"example.com\", \"*\"]"),
       {{4, "relay.accepted_domains[1]", "open relay"}}},
      {"accepted_domains_bad_pattern_and_type",
       with("accepted_domains = [\"example.com\"]",
            "accepted_domains = [\n  \"exa mple.com\",\n  7,\n  \"*.ok.example\",\n]"),
       {{5, "relay.accepted_domains[0]", "invalid domain pattern 'exa mple.com'"},
        {6, "relay.accepted_domains[1]", "expected a string, found an integer"}}},
      {"log_level_unknown",
       plus("[log]\nlevel = \"verbose\"\nfiles = \"x\"\n"),
       {{after + 2, "log.level", "unknown level 'verbose'"},
        {after + 3, "log.files", "unknown key"}}},

      // --- [queue] [delivery] ------------------------------------------------------------------
      {"lifetime_garbage",
       plus("[queue]\nlifetime = \"2x\"\n"),
       {{after + 2, "queue.lifetime", "invalid duration \"2x\""}}},
      {"lifetime_out_of_range",
       plus("[queue]\nlifetime = \"31d\"\n"),
       {{after + 2, "queue.lifetime", "must be between 1h and 30d (got 31d)"}}},
      {"lifetime_negative_integer",
       plus("[queue]\nlifetime = -3600\n"),
       {{after + 2, "queue.lifetime", "negative duration"}}},
      {"retry_schedule_empty",
       plus("[queue]\nretry_schedule = []\n"),
       {{after + 2, "queue.retry_schedule", "at least one delay"}}},
      {"retry_schedule_entries",
       plus("[queue]\nretry_schedule = [\"1m\", \"500ms\", true, \"1500ms\"]\n"),
       {{after + 2, "queue.retry_schedule[1]", "must be between 1s and 1d (got 500ms)"},
        {after + 2, "queue.retry_schedule[2]", "expected a duration"},
        {after + 2, "queue.retry_schedule[3]", "whole number of seconds"}}},
      {"retry_schedule_not_array",
       plus("[queue]\nretry_schedule = \"1m\"\n"),
       {{after + 2, "queue.retry_schedule", "expected an array, found a string"}}},
      {"group_commit_zero",
       plus("[queue]\ngroup_commit_max_batch = 0\n"),
       {{after + 2, "queue.group_commit_max_batch", "must be between 1 and 100000 (got 0)"}}},
      {"delivery_ranges_and_types",
       plus("[delivery]\nconnect_timeout = \"1h\"\nmax_in_flight = 0\nhelo_name = \"-bad-\"\n"
            "idle_timeout = 1.5\n"),
       {{after + 2, "delivery.connect_timeout", "must be between 1s and 10m (got 1h)"},
        {after + 3, "delivery.max_in_flight", "must be between 1 and 1000000"},
        {after + 4, "delivery.helo_name", "not a valid host name"},
        {after + 5, "delivery.idle_timeout", "found a floating-point number"}}},

      // --- [[listener]] ------------------------------------------------------------------------
      {"listener_missing_required_keys",
       plus("[[listener]]\nmax_recipients = 5\n"),
       {{after + 1, "listener[1].name", "missing required key"},
        {after + 1, "listener[1].direction", "missing required key"},
        {after + 1, "listener[1].bind", "missing required key"},
        {after + 1, "listener[1].policy", "missing required key"}}},
      {"listener_bad_name",
       with("name = \"in\"", "name = \"in bound\""),
       {{13, "listener[0].name", "invalid name 'in bound'"}}},
      {"listener_duplicate_name",
       plus("[[listener]]\nname = \"in\"\ndirection = \"outbound\"\nbind = [\"127.0.0.2:25\"]\n"
            "policy = \"in\"\n"),
       {{after + 2, "listener[1].name", "duplicate listener name 'in' (first used on line 13)"}}},
      {"listener_bad_direction",
       with("direction = \"inbound\"\nbind", "direction = \"sideways\"\nbind"),
       {{14, "listener[0].direction", "unknown direction 'sideways'"}}},
      {"bind_host_name",
       with("bind = [\"127.0.0.1:2525\"]", "bind = [\"localhost:25\"]"),
       {{15, "listener[0].bind[0]", "IP addresses, not host names"}}},
      {"bind_ports",
       with("bind = [\"127.0.0.1:2525\"]",
            "bind = [\"127.0.0.1:0\", \"127.0.0.1:65536\", \"127.0.0.1\", \"127.0.0.1:2x\"]"),
       {{15, "listener[0].bind[0]", "port 0 is out of range 1..65535"},
        {15, "listener[0].bind[1]", "port 65536 is out of range"},
        {15, "listener[0].bind[2]", "missing port"},
        {15, "listener[0].bind[3]", "invalid port"}}},
      {"bind_ipv6_without_brackets",
       with("bind = [\"127.0.0.1:2525\"]", "bind = [\"::1:25\"]"),
       {{15, "listener[0].bind[0]", "must be written in brackets"}}},
      {"bind_empty",
       with("bind = [\"127.0.0.1:2525\"]", "bind = []"),
       {{15, "listener[0].bind", "at least one"}}},
      {"bind_duplicate_across_listeners",
       plus("[[listener]]\nname = \"out\"\ndirection = \"outbound\"\n"
            "bind = [\"127.0.0.2:25\", \"127.0.0.1:2525\"]\npolicy = \"in\"\n"),
       {{after + 4, "listener[1].bind[1]",
         "'127.0.0.1:2525' is already used by listener[0].bind[0] (line 15)"}}},
      {"bind_duplicate_ipv6_spelt_differently",
       with("bind = [\"127.0.0.1:2525\"]", "bind = [\"[::1]:25\",\n  \"[0:0:0:0:0:0:0:1]:25\"]"),
       {{16, "listener[0].bind[1]", "already used by listener[0].bind[0] (line 15)"}}},
      {"bind_wildcard_overlaps_specific",
       plus("[[listener]]\nname = \"all\"\ndirection = \"outbound\"\n"
            "bind = [\"0.0.0.0:2525\", \"[::]:2525\"]\npolicy = \"in\"\n"),
       {{after + 4, "listener[1].bind[0]", "already used by listener[0].bind[0]"}}},
      {"listener_unknown_policy",
       with("policy = \"in\"", "policy = \"nope\""),
       {{16, "listener[0].policy", "unknown policy 'nope' (defined: in)"}}},
      {"listener_limits",
       with("policy = \"in\"",
            "policy = \"in\"\nmax_message_size = \"2GB\"\nmax_recipients = 0\n"
            "max_errors = \"ten\"\ncommand_timeout = \"1500ms\"\nsession_timeout = \"2d\"\n"
            "max_connection = 5"),
       {{17, "listener[0].max_message_size", "must be between 1KiB and 1GB (got 2GB)"},
        {18, "listener[0].max_recipients", "must be between 1 and 100000 (got 0)"},
        {19, "listener[0].max_errors", "expected an integer, found a string"},
        {20, "listener[0].command_timeout", "whole number of seconds (got 1500ms)"},
        {21, "listener[0].session_timeout", "must be between 1s and 1d (got 2d)"},
        {22, "listener[0].max_connection", "unknown key"}}},
      {"listener_size_syntax",
       with("policy = \"in\"", "policy = \"in\"\nmax_message_size = \"35XB\""),
       {{17, "listener[0].max_message_size", "invalid size \"35XB\""}}},

      // --- [policy.NAME] [hop.NAME] ------------------------------------------------------------
      {"policy_networks",
       with("trusted_networks = [\"192.0.2.0/24\"]",
            "trusted_networks = [\"10.0.0.0/33\", \"10.0.0.1/8\", \"::1/129\", \"not-an-ip\",\n"
            "  \"2001:db8::/32\", \"192.0.2.7\", 5]"),
       {{7, "policy.in.trusted_networks[0]", "out of range 0..32"},
        {7, "policy.in.trusted_networks[1]", "did you mean \"10.0.0.0/8\"?"},
        {7, "policy.in.trusted_networks[2]", "out of range 0..128"},
        {7, "policy.in.trusted_networks[3]", "invalid IPv4 network"},
        {8, "policy.in.trusted_networks[6]", "expected a string, found an integer"}}},
      {"policy_types_and_unknown_keys",
       with("trusted_networks = [\"192.0.2.0/24\"]",
            "require_trusted = \"yes\"\naccepted_domains = [\"*\"]\nrelay = true"),
       {{7, "policy.in.require_trusted", "expected a boolean, found a string"},
        {8, "policy.in.accepted_domains[0]", "open relay"},
        {9, "policy.in.relay", "unknown key"}}},
      {"policy_bad_name",
       plus("[policy.\"bad name\"]\n"),
       {{after + 1, "policy.bad name", "invalid name 'bad name'"}}},
      {"policy_not_a_table",
       plus("[policy]\nstrict = true\n"),
       {{after + 2, "policy.strict", "expected a table, found a boolean"}}},
      {"hop_problems",
       plus("[hop.a]\nport = 0\n[hop.b]\nhost = \"smtp..example.net\"\nport = \"25\"\n"
            "[hop.hub.tls_settings]\nmode = \"required\"\n"),
       {{after + 1, "hop.a.host", "missing required key"},
        {after + 2, "hop.a.port", "must be between 1 and 65535 (got 0)"},
        {after + 4, "hop.b.host", "neither an IP address nor a valid host name"},
        {after + 5, "hop.b.port", "expected an integer, found a string"},
        {after + 6, "hop.hub.tls_settings", "unknown key"}}},

      // --- [[route]] -----------------------------------------------------------------------------
      {"route_unknown_hop",
       with("hops = [{ hop = \"hub\" }]", "hops = [{ hop = \"nope\" }]"),
       {{22, "route[0].hops[0].hop", "unknown hop 'nope' (defined: hub)"}}},
      {"route_hop_fields",
       with("hops = [{ hop = \"hub\" }]",
            "hops = [\n  { hop = \"hub\", weight = 0, cost = -1 },\n  { hop = \"hub\" },\n"
            "  \"hub\",\n  { cost = 5, tier = 1 },\n]"),
       {{23, "route[0].hops[0].cost", "must be between 0 and 65535 (got -1)"},
        {23, "route[0].hops[0].weight", "must be between 1 and 1000 (got 0)"},
        {24, "route[0].hops[1].hop", "listed twice"},
        {25, "route[0].hops[2]", "expected a table such as { hop = \"NAME\""},
        {26, "route[0].hops[3].tier", "unknown key"},
        {26, "route[0].hops[3].hop", "missing required key"}}},
      {"route_empty_lists",
       with("domains = [\"*\"]\nhops = [{ hop = \"hub\" }]", "domains = []\nhops = []"),
       {{21, "route[0].domains", "at least one domain pattern"},
        {22, "route[0].hops", "at least one hop"}}},
      {"route_no_hops_table_defined",
       std::string(base.substr(0, base.find("[hop.hub]"))) +
           std::string(base.substr(base.find("[[listener]]"))),
       {{19, "route[0].hops[0].hop", "unknown hop 'hub' (no [hop.NAME] tables are defined)"}}},
      {"route_duplicate_name_and_pattern",
       plus("[[route]]\nname = \"to-hub\"\ndirection = \"inbound\"\n"
            "domains = [\"example.com\", \"EXAMPLE.com.\", \"*\"]\nhops = [{ hop = \"hub\" }]\n"),
       {{after + 2, "route[1].name", "duplicate route name 'to-hub' (first used on line 19)"},
        {after + 4, "route[1].domains[1]", "listed twice"},
        {after + 4, "route[1].domains[2]",
         "'*' for inbound mail is already routed by route 'to-hub' (line 21)"}}},
      {"route_missing_direction",
       with("direction = \"inbound\"\ndomains", "domains"),
       {{18, "route[0].direction", "missing required key"}}},

      // --- several problems at once, reported in line order ------------------------------------
      {"many_errors_at_once",
       std::string(base) + "[queue]\nlifetime = \"forever\"\n" +
           "[[listener]]\nname = \"in\"\ndirection = \"up\"\nbind = [\"127.0.0.1:2525\"]\n"
           "policy = \"missing\"\n",
       {{after + 2, "queue.lifetime", "invalid duration"},
        {after + 4, "listener[1].name", "duplicate listener name"},
        {after + 5, "listener[1].direction", "unknown direction"},
        {after + 6, "listener[1].bind[0]", "already used"},
        {after + 7, "listener[1].policy", "unknown policy 'missing'"}}},
  };
}

std::string describe(const std::vector<Diagnostic>& got) {
  std::string out;
  for (const auto& d : got) out += "  " + d.to_string() + "\n";
  return out;
}

class BrokenConfig : public testing::TestWithParam<Case> {};

TEST_P(BrokenConfig, ReportsEveryProblemWithLineAndKey) {
  const Case& c = GetParam();
  auto loaded = load_string(c.text, "test.toml");
  ASSERT_FALSE(loaded.has_value()) << "loaded without complaint:\n" << c.text;
  const std::vector<Diagnostic>& got = loaded.error();
  ASSERT_EQ(got.size(), c.want.size()) << "got:\n" << describe(got);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Want& want = c.want[i];
    EXPECT_EQ(got[i].file, "test.toml");
    EXPECT_EQ(got[i].line, want.line) << "diagnostic " << i << ", got:\n" << describe(got);
    EXPECT_EQ(got[i].key, want.key) << "diagnostic " << i << ", got:\n" << describe(got);
    EXPECT_NE(got[i].message.find(want.message_part), std::string::npos)
        << "diagnostic " << i << ": want message containing '" << want.message_part << "', got:\n"
        << describe(got);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, BrokenConfig, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(BrokenConfigBase, TheBaseItselfIsValid) {
  auto loaded = load_string(base, "test.toml");
  ASSERT_TRUE(loaded.has_value()) << describe(loaded.error());
  EXPECT_EQ((*loaded)->listeners.at(0).line, 12);
  EXPECT_EQ((*loaded)->routes.at(0).line, 18);
}

TEST(BrokenConfigBase, DiagnosticsAreSortedByLine) {
  for (const Case& c : cases()) {
    auto loaded = load_string(c.text, "test.toml");
    if (loaded) continue;  // reported by the table test
    for (std::size_t i = 1; i < loaded.error().size(); ++i) {
      EXPECT_LE(loaded.error()[i - 1].line, loaded.error()[i].line) << c.name;
    }
  }
}

TEST(BrokenConfigInput, OversizedAndPathologicalTextIsRefusedBeforeParsing) {
  struct InputCase {
    std::string name;
    std::string text;
    int line;
    std::string message_part;
  };
  const InputCase input_cases[] = {
      {"deep_arrays", "a = " + std::string(100'000, '[') + std::string(100'000, ']') + "\n", 1,
       "nesting is deeper than 64"},
      {"deep_inline_tables", std::string(base) + "x = " + std::string(70, '{') + "\n", after + 1,
       "nesting"},
      {"long_dotted_key", std::string(base) + "[a" + std::string(5000, '.') + "]\n", after + 1,
       "nesting"},
      {"long_line", std::string(base) + "# " + std::string(20'000, 'x') + "\n", after + 1,
       "line is longer than 16KiB"},
      {"huge_file", std::string(2 * 1024 * 1024, '\n'), 0, "file is larger than 1MiB"},
      // toml11 3.7 reads out of bounds reporting this; the sanitizer build would catch it.
      {"invalid_utf8_in_multiline_literal", std::string(base) + "[log]\nfile = '''x\xDD'''\n",
       after + 2, "invalid UTF-8"},
      {"invalid_utf8_in_basic_string", std::string(base) + "[log]\nfile = \"x\xDD\"\n", after + 2,
       "invalid UTF-8"},
  };
  for (const InputCase& c : input_cases) {
    auto loaded = load_string(c.text, "big.toml");
    ASSERT_FALSE(loaded.has_value()) << c.name;
    ASSERT_EQ(loaded.error().size(), 1u) << c.name << describe(loaded.error());
    EXPECT_EQ(loaded.error()[0].line, c.line) << c.name;
    EXPECT_NE(loaded.error()[0].message.find(c.message_part), std::string::npos)
        << c.name << ": " << loaded.error()[0].message;
  }
}

TEST(BrokenConfigInput, BracketsInStringsAndCommentsDoNotCountAsNesting) {
  const std::string many(200, '[');
  const std::string text = std::string(base) + "# " + many + "\n" + "[log]\nfile = \"" + many +
                           "\"\n" + "level = '''" + many + "\n''' # " + many + "\n";
  auto loaded = load_string(text, "strings.toml");
  ASSERT_FALSE(loaded.has_value());
  ASSERT_EQ(loaded.error().size(), 1u) << describe(loaded.error());
  // Reaching the level check proves the text was parsed, not refused as too deep.
  EXPECT_EQ(loaded.error()[0].key, "log.level");
}

}  // namespace
}  // namespace conf
