// tests/conf/operations_config_test.cpp — the operations keys: [admin] listen, token and
// token_file, [relay] user, [log] max_size / max_files / syslog, with their diagnostics.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

constexpr std::string_view base = test_support::minimal_config;

std::string errors_of(const std::string& text) {
  return test_support::diagnostics_text(load_string(text, "/etc/hubrelay/t.toml"));
}

TEST(OperationsConfig, DefaultsAreOffAndUnrotated) {
  auto loaded = load_string(base, "/etc/hubrelay/t.toml");
  ASSERT_TRUE(loaded);
  EXPECT_FALSE((*loaded)->admin.enabled);
  EXPECT_TRUE((*loaded)->relay.user.empty());
  EXPECT_EQ((*loaded)->log.max_size, 0u);
  EXPECT_FALSE((*loaded)->log.syslog);
}

TEST(OperationsConfig, ReadsEveryKey) {
  const std::string text = std::string(base) +
                           "[admin]\nlisten = \"127.0.0.1:8025\"\ntoken = \"abc\"\n"
                           "[log]\nfile = \"/var/log/h.log\"\nmax_size = \"10MiB\"\nmax_files = 3\n";
  auto loaded = load_string(text, "/etc/hubrelay/t.toml");
  ASSERT_TRUE(loaded) << errors_of(text);
  const Config& c = **loaded;
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen.address, "127.0.0.1");
  EXPECT_EQ(c.admin.listen.port, 8025);
  EXPECT_EQ(c.admin.token, "abc");
  EXPECT_EQ(c.log.max_size, 10u * 1024 * 1024);
  EXPECT_EQ(c.log.max_files, 3u);
}

// Keys whose default is 0 take an explicit 0 too: writing the default down is never an error.
TEST(OperationsConfig, ExplicitZeroDefaultsAreAccepted) {
  const std::string text = std::string(base) +
                           "[log]\nfile = \"/var/log/h.log\"\nmax_size = 0\n"
                           "[hop.a]\nhost = \"127.0.0.1\"\nconnect_timeout = 0\ncommand_timeout = \"0s\"\n"
                           "[path.p]\nfast_interval = 0\n[[path.p.check]]\ntype = \"tcp\"\ntarget = \"127.0.0.1:25\"\n";
  const std::string errors = errors_of(text);
  EXPECT_EQ(errors, "");
  const std::string one_byte = errors_of(std::string(base) + "[log]\nmax_size = 1\n");
  EXPECT_NE(one_byte.find("log.max_size: must be 0 (never rotate) or between 64KiB and"), std::string::npos)
      << one_byte;
}

// [admin] token_file: the token is the file's first line; a file others may read, a missing
// file and a non-loopback address without any token are errors naming what to fix.
TEST(OperationsConfig, AdminTokenFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("hubrelay-token-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "admin.token").string();
  std::ofstream(file) << "0123456789abcdef0123\n";
  ::chmod(file.c_str(), 0600);
  const std::string admin = "[admin]\nlisten = \"127.0.0.1:8025\"\ntoken_file = \"" + file + "\"\n";
  auto loaded = load_string(std::string(base) + admin, "/etc/hubrelay/t.toml");
  ASSERT_TRUE(loaded) << errors_of(std::string(base) + admin);
  EXPECT_EQ((*loaded)->admin.token, "0123456789abcdef0123");

  ::chmod(file.c_str(), 0644);
  std::string errors = errors_of(std::string(base) + admin);
  EXPECT_NE(errors.find("admin.token_file: token file " + file + " is readable by others"), std::string::npos) << errors;
  ::chmod(file.c_str(), 0600);
  std::ofstream(file) << "short\n";
  errors = errors_of(std::string(base) + admin);
  EXPECT_NE(errors.find("at least 16 characters"), std::string::npos) << errors;
  std::filesystem::remove_all(dir);
  errors = errors_of(std::string(base) + admin);
  EXPECT_NE(errors.find("cannot read token file " + file), std::string::npos) << errors;

  errors = errors_of(std::string(base) + "[admin]\nlisten = \"0.0.0.0:8025\"\n");
  EXPECT_NE(errors.find("not a loopback address"), std::string::npos) << errors;
  EXPECT_EQ(errors_of(std::string(base) + "[admin]\nlisten = \"0.0.0.0:8025\"\ntoken = \"abc\"\n"), "");
  EXPECT_EQ(errors_of(std::string(base) + "[admin]\nlisten = \"[::1]:8025\"\n"), "");
}

TEST(OperationsConfig, Diagnostics) {
  struct Case { std::string extra; std::string want; };
  const Case cases[] = {
      {"[admin]\nlisten = \"127.0.0.1:2525\"\n", "admin.listen"},        // taken by the listener
      {"[admin]\nlisten = \"localhost:8025\"\n", "admin.listen"},        // not an IP literal
      {"[admin]\ntoken = \"x\"\n", "admin.listen"},                      // listen is required
      {"[admin]\nlisten = \"127.0.0.1:8025\"\nport = 1\n", "admin.port"},
      {"[log]\nfile = \"/x.log\"\nsyslog = true\n", "log.syslog"},
      {"[log]\nmax_files = 0\n", "log.max_files"},
      {"[log]\nmax_size = \"1KiB\"\n", "log.max_size"},
  };
  for (const auto& c : cases) {
    const std::string errors = errors_of(std::string(base) + c.extra);
    EXPECT_NE(errors.find(c.want), std::string::npos) << c.extra << "\n" << errors;
    EXPECT_NE(errors.find("t.toml:"), std::string::npos) << errors;
  }
}

}  // namespace
}  // namespace conf
