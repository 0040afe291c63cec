// relay/cli/health_cli.cpp — `hubrelay health` and `hubrelay alert test` (see the header).
#include "relay/cli/health_cli.hpp"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <iostream>
#include <random>
#include <sstream>

#include "health/alert_event.hpp"
#include "health/report.hpp"
#include "queue/message_queue.hpp"
#include "relay/delivery/notices.hpp"
#include "relay/delivery/queue_bridge.hpp"

namespace relay {

int print_health(const conf::Config& config, bool json) {
  const std::filesystem::path file = std::filesystem::path(config.relay.state_dir) / (json ? "health.json" : "health.txt");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "hubrelay: no health report at " << file.string()
              << " (the daemon writes it while it runs and removes it when it stops: is it running?)\n";
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  // Stale: the daemon rewrites the file at least every health::state_heartbeat, so an
  // older file was left by a daemon that died or is stuck.
  std::error_code ec;
  const auto written = std::filesystem::last_write_time(file, ec);
  const auto age = std::filesystem::file_time_type::clock::now() - written;
  if (!ec && age > health::state_stale_after)
    std::cerr << "hubrelay: WARNING: " << file.string() << " is stale (last written "
              << std::chrono::duration_cast<std::chrono::seconds>(age).count()
              << "s ago; a running daemon rewrites it every " << health::state_heartbeat.count()
              << "s); the daemon is not running or is stuck\n";
  std::cout << text.str();
  return 0;
}

int send_test_alert(const conf::Config& config) {
  if (config.alerts.to.empty()) {
    std::cerr << "hubrelay: [alerts] to = [...] is not configured\n";
    return 2;
  }
  const std::string db_path = (std::filesystem::path(config.relay.state_dir) / "queue.db").string();
  auto opened = queue::MessageQueue::open(db_path, config.queue);
  if (!opened) {
    std::cerr << "hubrelay: queue " << db_path << ": " << opened.error() << "\n";
    return 1;
  }
  health::AlertEvent event;
  event.path = "(test)";
  event.from = health::State::up;
  event.to = health::State::up;
  event.at = unix_now_ms();
  event.reason = "test";
  // Lease already expired: the daemon's scanner claims it on its next pass (about a second).
  for (auto& message : alert_notices(config, event, unix_now_ms(), fmt::format("{:x}.{:08x}", unix_now_ms(), std::random_device{}()))) {
    std::promise<std::expected<queue::QueuedMessage, std::error_code>> done;
    auto future = done.get_future();
    (*opened)->commit(std::move(message), unix_now_ms(),
                      [&done](std::expected<queue::QueuedMessage, std::error_code> r) { done.set_value(std::move(r)); });
    if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      std::cerr << "hubrelay: the queue did not answer in 30s\n";
      return 1;
    }
    const auto result = future.get();
    if (!result) {
      std::cerr << "hubrelay: cannot queue the test alert: " << result.error().message() << "\n";
      return 1;
    }
    std::cout << "test alert queued as " << queue::format_queue_id(result->id) << " for " << result->recipients.size()
              << " recipient(s); the running daemon delivers it\n";
  }
  return 0;
}

}  // namespace relay
