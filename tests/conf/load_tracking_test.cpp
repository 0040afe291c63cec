// tests/conf/load_tracking_test.cpp — the [tracking] table: defaults, values, errors.
#include <gtest/gtest.h>

#include <string>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view base = test_support::minimal_config;

TEST(LoadTracking, OnByDefaultInTheStateDirectory) {
  auto loaded = load_string(std::string(base), "/etc/hubrelay/test.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  const auto& tracking = (*loaded)->tracking;
  EXPECT_TRUE(tracking.enabled);
  EXPECT_EQ(tracking.dir, (*loaded)->relay.state_dir + "/tracking");
  EXPECT_EQ(tracking.retention, 24h * 30);
  EXPECT_EQ(tracking.max_file_size, 256ULL * 1024 * 1024);
}

TEST(LoadTracking, ReadsEveryKey) {
  auto loaded = load_string(std::string(base) + R"(
[tracking]
enabled = false
dir = "/srv/tracking"
retention = "90d"
max_file_size = "16MiB"
)", "test.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  const auto& tracking = (*loaded)->tracking;
  EXPECT_FALSE(tracking.enabled);
  EXPECT_EQ(tracking.dir, "/srv/tracking");
  EXPECT_EQ(tracking.retention, 24h * 90);
  EXPECT_EQ(tracking.max_file_size, 16ULL * 1024 * 1024);
}

TEST(LoadTracking, BadValuesNameFileLineAndKey) {
  const std::string text = std::string(base) + "\n[tracking]\nretention = \"10m\"\nmax_file_size = \"1KiB\"\ndir = \"\"\n";
  auto loaded = load_string(text, "test.toml");
  ASSERT_FALSE(loaded);
  const std::string all = test_support::diagnostics_text(loaded);
  EXPECT_NE(all.find("test.toml:"), std::string::npos) << all;
  EXPECT_NE(all.find("tracking.retention"), std::string::npos) << all;
  EXPECT_NE(all.find("tracking.max_file_size"), std::string::npos) << all;
  EXPECT_NE(all.find("tracking.dir"), std::string::npos) << all;
  EXPECT_EQ(loaded.error().size(), 3u) << all;
}

}  // namespace
}  // namespace conf
