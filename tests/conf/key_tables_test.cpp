// tests/conf/key_tables_test.cpp — the loader's key tables against the documentation and
// against the unknown-key check.
//
// The key tables (conf/key_tables.hpp) drive both the reads and the unknown-key check, so a
// key cannot be read without being known. What is left to check: that docs/configuration.md
// documents exactly the keys the tables hold, and that every table reports a key it does not
// hold as "file:line: dotted.key: unknown key".
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "conf/key_tables.hpp"
#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

// --- docs/configuration.md -------------------------------------------------------------------

/// What the reference documents: each key table ("| key | ..." rows whose first cell is a
/// `key`) under the section heading it follows, and the text of each section.
struct Documented {
  std::map<std::string, std::set<std::string>> tables;  // "route", "route.hops[]", ...
  std::map<std::string, std::string> section_text;      // "hop" → everything under "## [hop.NAME]"
};

/// "## [[listener]]" → "listener", "## [policy.NAME]" → "policy", "## [dns.hosts]" →
/// "dns.hosts"; a heading that names no table → nullopt.
std::optional<std::string> section_of(std::string_view heading) {
  const auto open = heading.find('[');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view name = heading.substr(open);
  while (name.starts_with('[')) name.remove_prefix(1);
  name = name.substr(0, name.find(']'));
  if (name.ends_with(".NAME")) name.remove_suffix(5);
  return std::string(name);
}

/// The `word` a table row starts with, if its first cell is one.
std::optional<std::string> row_key(std::string_view line) {
  if (!line.starts_with("| `")) return std::nullopt;
  const auto end = line.find('`', 3);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(3, end - 3));
}

Documented read_reference() {
  std::ifstream in(std::filesystem::path(HUBRELAY_SOURCE_DIR) / "docs" / "configuration.md");
  EXPECT_TRUE(in) << "cannot read docs/configuration.md";
  Documented docs;
  std::optional<std::string> section;
  std::optional<std::string> entry_of;  // "Each entry of `hops` ...": the next table is that
  bool own_keys = false;                // "Keys of `[dkim]` itself": the next table is "[dkim]"
  std::optional<std::string> table;     // the key table being read
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) {
      section = section_of(line);
      entry_of.reset();
      own_keys = false;
      table.reset();
      continue;
    }
    if (!section) continue;
    docs.section_text[*section] += line + "\n";
    if (line.starts_with("Each entry of `")) {
      entry_of = line.substr(15, line.find('`', 15) - 15);
    } else if (line.starts_with("Keys of `[")) {
      own_keys = true;
    } else if (line.starts_with("| key |")) {
      table = entry_of ? *section + "." + *entry_of + "[]" : own_keys ? "[" + *section + "]" : *section;
      entry_of.reset();
      own_keys = false;
    } else if (!line.starts_with("|")) {
      table.reset();
    } else if (const auto key = row_key(line); key && table) {
      docs.tables[*table].insert(*key);
    }
  }
  return docs;
}

std::string listed(const std::set<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "(none)" : out;
}

TEST(KeyTables, EveryTableHasAPathAndKeysOnce) {
  std::set<std::string> paths;
  for (const KeyTable& table : key_tables()) {
    EXPECT_TRUE(paths.insert(table.path).second) << "table '" << table.path << "' is listed twice";
    EXPECT_FALSE(table.keys.empty()) << table.path;
    std::set<std::string> keys;
    for (const auto& key : table.keys) {
      EXPECT_TRUE(keys.insert(key).second) << "key '" << key << "' is in table '" << table.path << "' twice";
    }
  }
}

TEST(KeyTables, MatchTheReference) {
  const Documented docs = read_reference();
  std::set<std::string> sections;
  for (const auto& [name, text] : docs.section_text) {
    if (name.find('.') == std::string::npos) sections.insert(name);  // [dns.hosts] is in [dns]
  }
  std::set<std::string> code_paths;
  for (const KeyTable& table : key_tables()) {
    code_paths.insert(table.path);
    const std::set<std::string> keys(table.keys.begin(), table.keys.end());
    if (table.path.empty()) {
      EXPECT_EQ(keys, sections) << "top-level tables: the loader reads " << listed(keys)
                                << "; docs/configuration.md has sections " << listed(sections);
      continue;
    }
    if (const auto documented = docs.tables.find(table.path); documented != docs.tables.end()) {
      std::set<std::string> undocumented;
      std::set<std::string> unread;
      std::ranges::set_difference(keys, documented->second, std::inserter(undocumented, undocumented.end()));
      std::ranges::set_difference(documented->second, keys, std::inserter(unread, unread.end()));
      EXPECT_TRUE(undocumented.empty() && unread.empty())
          << "[" << table.path << "]: keys the loader reads but docs/configuration.md does not list: "
          << listed(undocumented) << "; keys listed there but not read: " << listed(unread);
      continue;
    }
    // Sub-tables described in prose ("`runs` 1 to 100, `failed` ..."): each key is named in
    // the text of the section they belong to.
    const std::string parent = table.path.substr(0, table.path.find('.'));
    ASSERT_TRUE(docs.section_text.contains(parent)) << "no section of docs/configuration.md for " << table.path;
    for (const auto& key : table.keys) {
      EXPECT_NE(docs.section_text.at(parent).find("`" + key + "`"), std::string::npos)
          << "key '" << key << "' of " << table.path << " is not named in the [" << parent
          << "] section of docs/configuration.md";
    }
  }
  for (const auto& [path, keys] : docs.tables) {
    EXPECT_TRUE(code_paths.contains(path))
        << "docs/configuration.md lists keys of '" << path << "' (" << listed(keys)
        << ") but the loader has no such table";
  }
}

// --- unknown keys in every table ---------------------------------------------------------------

constexpr std::string_view unknown = "zz_unknown = 1";

struct UnknownKeyCase {
  std::string text;  // a valid configuration but for one `zz_unknown = 1`
  std::string key;   // the dotted key it must be reported under
};

std::string with_base(std::string_view appended) {
  return std::string(test_support::minimal_config) + std::string(appended);
}

/// minimal_config with `insert` placed right after `after`.
std::string inserted(std::string_view after, std::string_view insert) {
  std::string text(test_support::minimal_config);
  const auto at = text.find(after);
  EXPECT_NE(at, std::string::npos) << after;
  return text.insert(at + after.size(), insert);
}

constexpr std::string_view path_table = "[path.p]\ncheck = [{ type = \"tcp\", target = \"192.0.2.1:443\" }]\n";
constexpr std::string_view hop_table = "[hop.h]\nhost = \"192.0.2.10\"\n";
constexpr std::string_view route_table = "[[route]]\nname = \"r\"\ndirection = \"inbound\"\ndomains = [\"*\"]\n";

/// A [dkim.NAME] table whose key file exists with mode 0600 (conf/ checks no more). The
/// file is this process's own: ctest runs the tests of this file in parallel processes,
/// and one rewriting a shared file could show another an empty key.
std::string dkim_table() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hubrelay-key-tables-dkim-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(path) << "-----BEGIN PRIVATE KEY-----\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return "[dkim.d]\ndomain = \"example.com\"\nselector = \"s1\"\nkey_file = \"" + path.string() + "\"\n";
}

/// One case per key table, by the table's path in conf::key_tables().
std::map<std::string, UnknownKeyCase> unknown_key_cases() {
  const std::string u(unknown);
  return {
      {"", {u + "\n" + std::string(test_support::minimal_config), "zz_unknown"}},
      {"relay", {inserted("[relay]\n", u + "\n"), "relay.zz_unknown"}},
      {"log", {with_base("[log]\n" + u + "\n"), "log.zz_unknown"}},
      {"queue", {with_base("[queue]\n" + u + "\n"), "queue.zz_unknown"}},
      {"queue.postgresql",
       {with_base("[queue.postgresql]\nconninfo_file = \"pg.conninfo\"\n" + u + "\n"), "queue.postgresql.zz_unknown"}},
      {"delivery", {with_base("[delivery]\n" + u + "\n"), "delivery.zz_unknown"}},
      {"policy", {inserted("[policy.in]\n", u + "\n"), "policy.in.zz_unknown"}},
      {"policy.dnsbl[]",
       {inserted("[policy.in]\n", "dnsbl = [{ zone = \"zen.example.org\", " + u + " }]\n"),
        "policy.in.dnsbl[0].zz_unknown"}},
      {"policy.sender_restriction[]",
       {with_base("[[policy.in.sender_restriction]]\nnetworks = [\"10.0.0.0/8\"]\nsenders = [\"*@example.com\"]\n" +
                  u + "\n"),
        "policy.in.sender_restriction[0].zz_unknown"}},
      {"path", {with_base(std::string(path_table) + u + "\n"), "path.p.zz_unknown"}},
      {"path.down_after",
       {with_base(std::string(path_table) + "down_after = { runs = 2, failed = 2, " + u + " }\n"),
        "path.p.down_after.zz_unknown"}},
      {"path.up_after",
       {with_base(std::string(path_table) + "up_after = { runs = 2, succeeded = 2, " + u + " }\n"),
        "path.p.up_after.zz_unknown"}},
      {"path.check[]",
       {with_base("[path.p]\ncheck = [{ type = \"tcp\", target = \"192.0.2.1:443\", " + u + " }]\n"),
        "path.p.check[0].zz_unknown"}},
      {"path.maintenance[]",
       {with_base(std::string(path_table) + "maintenance = [{ start = \"22:00\", end = \"02:00\", " + u + " }]\n"),
        "path.p.maintenance[0].zz_unknown"}},
      {"hop", {with_base(std::string(hop_table) + u + "\n"), "hop.h.zz_unknown"}},
      {"hop.check",
       {with_base(std::string(hop_table) + "check = { interval = \"30s\", " + u + " }\n"), "hop.h.check.zz_unknown"}},
      {"alerts", {with_base("[alerts]\n" + u + "\n"), "alerts.zz_unknown"}},
      {"milter", {with_base("[milter.m]\naddress = \"inet:127.0.0.1:1\"\n" + u + "\n"), "milter.m.zz_unknown"}},
      {"listener", {with_base(u + "\n"), "listener[0].zz_unknown"}},
      {"route",
       {with_base(std::string(hop_table) + std::string(route_table) + "hops = [{ hop = \"h\" }]\n" + u + "\n"),
        "route[0].zz_unknown"}},
      {"route.hops[]",
       {with_base(std::string(hop_table) + std::string(route_table) + "hops = [{ hop = \"h\", " + u + " }]\n"),
        "route[0].hops[0].zz_unknown"}},
      {"dns", {with_base("[dns]\n" + u + "\n"), "dns.zz_unknown"}},
      {"bounce", {with_base("[bounce]\n" + u + "\n"), "bounce.zz_unknown"}},
      {"mta_sts", {with_base("[mta_sts]\n" + u + "\n"), "mta_sts.zz_unknown"}},
      {"admin", {with_base("[admin]\nlisten = \"127.0.0.1:8025\"\n" + u + "\n"), "admin.zz_unknown"}},
      {"tracking", {with_base("[tracking]\n" + u + "\n"), "tracking.zz_unknown"}},
      {"tls_reporting", {with_base("[tls_reporting]\n" + u + "\n"), "tls_reporting.zz_unknown"}},
      {"dkim", {with_base(dkim_table() + u + "\n"), "dkim.d.zz_unknown"}},
      {"[dkim]", {with_base("[dkim]\nthreads = 4\n" + u + "\n" + dkim_table()), "dkim.zz_unknown"}},
  };
}

int line_of(std::string_view text, std::string_view piece) {
  const auto at = text.find(piece);
  return at == std::string_view::npos ? 0 : 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

TEST(KeyTables, EveryTableReportsAnUnknownKeyWithFileLineAndKey) {
  const auto cases = unknown_key_cases();
  for (const KeyTable& table : key_tables()) {
    EXPECT_TRUE(cases.contains(table.path)) << "no unknown-key case for table '" << table.path << "': add one";
  }
  for (const auto& [path, c] : cases) {
    SCOPED_TRACE("table '" + path + "'");
    const auto loaded = load_string(c.text, "t.toml");
    const std::string want = "t.toml:" + std::to_string(line_of(c.text, unknown)) + ": " + c.key + ": unknown key\n";
    EXPECT_EQ(test_support::diagnostics_text(loaded), want) << c.text;
  }
}

TEST(KeyTables, WithoutTheUnknownKeyEveryCaseLoads) {
  // The cases are valid configurations but for the one key: so the test above proves the
  // unknown key alone is refused.
  for (const auto& [path, c] : unknown_key_cases()) {
    std::string text = c.text;
    const auto at = text.find(unknown);
    const bool inline_table = at > 0 && text[at - 1] == ' ';
    text.erase(inline_table ? at - 2 : at, unknown.size() + (inline_table ? 2 : 1));
    EXPECT_EQ(test_support::diagnostics_text(load_string(text, "t.toml")), "") << "table '" << path << "':\n"
                                                                                << text;
  }
}

}  // namespace
}  // namespace conf
