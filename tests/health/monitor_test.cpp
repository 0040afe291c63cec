// tests/health/monitor_test.cpp — the monitor's publishing contract around stop(): a
// monitor replaced on a configuration reload is stopped, and from then on it writes
// neither health.json/health.txt nor a new snapshot, so the new monitor's state files
// are never overwritten with the old configuration's paths.
#include "health/monitor.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <string>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

// A relay whose state files go to `dir`, with one path checked over TCP on a loopback
// port nobody listens on (refused at once; the timeout bounds it otherwise).
conf::ConfigPtr config_in(const fs::path& dir) {
  std::string text(test_support::minimal_config);
  text.replace(text.find("[relay]\n"), 8, "[relay]\nstate_dir = \"" + dir.string() + "\"\n");
  text +=
      "[path.uplink]\n"
      "interval = \"1s\"\n"
      "check = [ { type = \"tcp\", target = \"127.0.0.1:9\", timeout = \"2s\" } ]\n";
  auto loaded = conf::load_string(text, "monitor_test.toml");
  EXPECT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  return loaded ? *loaded : nullptr;
}

// A monitor over config_in(dir), its state files written once by the constructor.
struct MonitorTest : ::testing::Test {
  test_support::TempDir dir{"hubrelay-monitor"};
  conf::ConfigPtr config = config_in(dir.path());
  boost::asio::io_context io;
  health::Monitor monitor{io, *config};

  bool any_state_file() const {
    return fs::exists(dir.path() / "health.json") || fs::exists(dir.path() / "health.txt");
  }
  void remove_state_files() const {
    fs::remove(dir.path() / "health.json");
    fs::remove(dir.path() / "health.txt");
  }
};

TEST_F(MonitorTest, PublishAfterStopWritesNothing) {
  ASSERT_TRUE(any_state_file()) << "the constructor publishes the initial states";
  monitor.stop();
  remove_state_files();
  const health::SnapshotPtr before = monitor.snapshot();
  monitor.publish();  // what a caller still holding the replaced monitor would do
  EXPECT_FALSE(any_state_file());
  EXPECT_EQ(monitor.snapshot(), before);
}

TEST_F(MonitorTest, RunInProgressAtStopPublishesNothing) {
  monitor.start();
  io.poll();  // the path's first run has started its check
  monitor.stop();
  remove_state_files();
  io.run();  // the check finishes; the stopped monitor's coroutine ends (bounded by the timeout)
  EXPECT_FALSE(any_state_file());
}

}  // namespace
