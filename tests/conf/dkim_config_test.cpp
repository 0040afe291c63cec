// tests/conf/dkim_config_test.cpp — [dkim.NAME]: defaults, every key, and the key file
// checks conf/ makes (exists, not readable by group or others), with file:line:key; [dkim]
// threads beside the key tables, never taken for one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

namespace fs = std::filesystem;

class DkimConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hubrelay-dkim-conf-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    key_ = dir_ / "k.pem";
    std::ofstream(key_) << "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v\n-----END PRIVATE KEY-----\n";
    fs::permissions(key_, fs::perms::owner_read | fs::perms::owner_write);
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadResult load(const std::string& table) {
    return load_string(std::string(test_support::minimal_config) + table, "t.toml");
  }
  std::string table(const std::string& extra = "") const {
    return "[dkim.main]\ndomain = \"Example.COM\"\nselector = \"s2026r\"\nkey_file = \"" + key_.string() + "\"\n" +
           extra;
  }

  fs::path dir_;
  fs::path key_;
};

TEST_F(DkimConfigTest, Defaults) {
  const auto loaded = load(table());
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  ASSERT_EQ((*loaded)->dkim.size(), 1u);
  const DkimConfig& d = (*loaded)->dkim[0];
  EXPECT_EQ(d.name, "main");
  EXPECT_EQ(d.domain, "example.com");
  EXPECT_FALSE(d.subdomains);
  EXPECT_EQ(d.selector, "s2026r");
  EXPECT_NE(d.key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(d.headers.empty());
  EXPECT_EQ(d.oversign.front(), "from");
  EXPECT_EQ(d.header_canonicalization, DkimCanonicalization::relaxed);
  EXPECT_EQ(d.body_canonicalization, DkimCanonicalization::relaxed);
  EXPECT_EQ(d.expiration, Seconds(0));
  EXPECT_EQ(d.directions, std::vector<Direction>{Direction::outbound});
  EXPECT_EQ(d.key_file_line, 15);
  EXPECT_EQ((*loaded)->dkim_signing.threads, 2u);
}

TEST_F(DkimConfigTest, EveryKey) {
  const auto loaded = load(table(
      "subdomains = true\nheaders = [\"From\", \"Subject\"]\noversign = []\n"
      "canonicalization = \"simple/relaxed\"\nexpiration = \"7d\"\ndirections = [\"inbound\", \"outbound\"]\n"));
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  const DkimConfig& d = (*loaded)->dkim[0];
  EXPECT_TRUE(d.subdomains);
  EXPECT_EQ(d.headers, (std::vector<std::string>{"from", "subject"}));
  EXPECT_TRUE(d.oversign.empty());
  EXPECT_EQ(d.header_canonicalization, DkimCanonicalization::simple);
  EXPECT_EQ(d.body_canonicalization, DkimCanonicalization::relaxed);
  EXPECT_EQ(d.expiration, Seconds(7 * 86400));
  EXPECT_EQ(d.directions.size(), 2u);
}

TEST_F(DkimConfigTest, ReportsEachMistakeWithFileLineAndKey) {
  const std::string text = test_support::diagnostics_text(load(
      "[dkim.bad]\ndomain = \"not a domain\"\nselector = \"a..b\"\nkey_file = \"" + (dir_ / "missing.pem").string() +
      "\"\nheaders = [\"subject\"]\ncanonicalization = \"relaxed\"\nexpiration = \"10m\"\n"
      "directions = [\"sideways\"]\n"));
  EXPECT_NE(text.find("t.toml:13: dkim.bad.domain: "), std::string::npos) << text;
  EXPECT_NE(text.find("t.toml:14: dkim.bad.selector: "), std::string::npos) << text;
  EXPECT_NE(text.find("t.toml:15: dkim.bad.key_file: no such file"), std::string::npos) << text;
  EXPECT_NE(text.find("t.toml:16: dkim.bad.headers: must include \"from\""), std::string::npos) << text;
  EXPECT_NE(text.find("t.toml:17: dkim.bad.canonicalization: "), std::string::npos) << text;
  EXPECT_NE(text.find("t.toml:18: dkim.bad.expiration: "), std::string::npos) << text;
  EXPECT_NE(text.find("t.toml:19: dkim.bad.directions[0]: "), std::string::npos) << text;
  const std::string missing = test_support::diagnostics_text(load("[dkim.x]\ndomain = \"example.com\"\n"));
  EXPECT_NE(missing.find("dkim.x.selector: missing required key"), std::string::npos) << missing;
  EXPECT_NE(missing.find("dkim.x.key_file: missing required key"), std::string::npos) << missing;
}

// --- [dkim] threads ------------------------------------------------------------------------------

TEST_F(DkimConfigTest, ThreadsSitsBesideTheKeyTables) {
  for (const std::string& text : {"[dkim]\nthreads = 8\n" + table(), table() + "[dkim]\nthreads = 8\n"}) {
    SCOPED_TRACE(text);
    const auto loaded = load(text);
    ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
    EXPECT_EQ((*loaded)->dkim_signing.threads, 8u);
    ASSERT_EQ((*loaded)->dkim.size(), 1u);  // threads is not a key named "threads"
    EXPECT_EQ((*loaded)->dkim[0].name, "main");
  }
  // Threads alone: no key, nothing signed, the pool size still read.
  const auto alone = load("[dkim]\nthreads = 1\n");
  ASSERT_TRUE(alone) << test_support::diagnostics_text(alone);
  EXPECT_EQ((*alone)->dkim_signing.threads, 1u);
  EXPECT_TRUE((*alone)->dkim.empty());
}

TEST_F(DkimConfigTest, ThreadsMistakesNameFileLineAndKey) {
  EXPECT_EQ(test_support::diagnostics_text(load("[dkim]\nthreads = 0\n")),
            "t.toml:13: dkim.threads: must be between 1 and 64 (got 0)\n");
  EXPECT_EQ(test_support::diagnostics_text(load("[dkim]\nthreads = 65\n")),
            "t.toml:13: dkim.threads: must be between 1 and 64 (got 65)\n");
  const std::string text = test_support::diagnostics_text(load("[dkim]\nthreads = \"4\"\n"));
  EXPECT_TRUE(text.starts_with("t.toml:13: dkim.threads: ")) << text;
  // A misspelt scalar is an unknown key, not a key table that is not a table.
  EXPECT_EQ(test_support::diagnostics_text(load("[dkim]\ntreads = 4\n")), "t.toml:13: dkim.treads: unknown key\n");
  // [dkim.threads] would be a key table named like the setting: refused, never signed with.
  const auto named = load("[dkim.threads]\ndomain = \"example.com\"\nselector = \"s\"\nkey_file = \"" +
                          key_.string() + "\"\n");
  const std::string named_text = test_support::diagnostics_text(named);
  EXPECT_TRUE(named_text.starts_with("t.toml:12: dkim.threads: ")) << named_text;
}

TEST_F(DkimConfigTest, KeyReadableByOthersIsRefused) {
  for (const auto extra : {fs::perms::group_read, fs::perms::others_read}) {
    fs::permissions(key_, fs::perms::owner_read | fs::perms::owner_write | extra);
    const std::string text = test_support::diagnostics_text(load(table()));
    EXPECT_NE(text.find("t.toml:15: dkim.main.key_file: the private key"), std::string::npos) << text;
    EXPECT_NE(text.find("readable by other users"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace conf
