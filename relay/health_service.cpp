// relay/health_service.cpp — health monitor wiring and alerts.
#include "relay/health_service.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <random>
#include <spdlog/spdlog.h>
#include <sstream>

#include "health/hook.hpp"
#include "health/report.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/notices.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "health/spawn_log.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

constexpr queue::UnixMillis alert_lease_ms = 10 * 60 * 1000;

std::string unique_token() {
  std::random_device rd;
  return fmt::format("{:x}.{:08x}", unix_now_ms(), rd());
}

std::vector<health::EjectionReport> ejection_reports(const conf::Config& config, const DeliveryEngine& delivery) {
  std::vector<health::EjectionReport> out;
  const auto& ejection = delivery.ejection();
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t h = 0; h < config.hops.size(); ++h) {
    health::EjectionReport r{config.hops[h].name};
    r.ejected = ejection.ejected(h, now);
    if (const auto until = ejection.ejected_until(h); until && r.ejected)
      r.until = unix_now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(*until - now).count();
    r.consecutive_failures = ejection.consecutive_failures(h);
    r.streak = ejection.ejection_streak(h);
    const auto& failure = delivery.hop_failure(h);
    r.last_error = failure.text;
    r.last_error_at = failure.at;
    const auto& suspension = delivery.suspension();
    if (suspension.suspended(h, now)) {
      r.suspended_until = unix_now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(suspension.until(h) - now).count();
      r.suspended_by = suspension.reason(h);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

HealthService::HealthService(asio::io_context& io, conf::ConfigPtr config, queue::MessageQueue& queue,
                             DeliveryEngine& delivery)
    : io_(io),
      config_(std::move(config)),
      queue_(queue),
      delivery_(&delivery),
      monitor_(std::make_unique<health::Monitor>(io, *config_)) {
  attach(*monitor_);
  delivery_->set_probes(&monitor_->snapshot_box());
}

void HealthService::attach(health::Monitor& monitor) {
  monitor.on_transition = [this](const health::AlertEvent& event) { on_transition(event); };
  monitor.on_hop_check_ok = [this](std::size_t hop) { delivery_->probe_succeeded(hop); };
  monitor.ejections = [this] { return ejection_reports(*config_, *delivery_); };
}

HealthService::~HealthService() {
  stop();
  // A clean shutdown: leave no state that says hops are being routed (see the header).
  std::error_code ec;
  for (const char* name : {"health.json", "health.txt"})
    std::filesystem::remove(std::filesystem::path(config_->relay.state_dir) / name, ec);
}

void HealthService::start() {
  monitor_->start();
  asio::co_spawn(
      io_,
      [](HealthService* self, std::shared_ptr<Watch> watch) -> asio::awaitable<void> {
        asio::steady_timer timer(self->io_);
        watch->timer = &timer;
        while (!watch->stopped) {
          timer.expires_after(std::chrono::seconds(1));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (watch->stopped) break;  // `self` may be gone: touch nothing of it
          self->refresh_state_files();
        }
        watch->timer = nullptr;
      }(this, watch_),
      health::log_escaped("health: state file watch"));
}

void HealthService::stop() {
  monitor_->stop();
  watch_->stopped = true;
  if (watch_->timer) watch_->timer->cancel();
}

std::vector<health::HopState> HealthService::hop_states() const {
  const health::SnapshotPtr published = monitor_->snapshot();
  if (published) return health::hop_states(*published, ejection_reports(*config_, *delivery_));
  // Before the monitor's first publication only the ejections are known.
  health::HealthSnapshot none;
  for (const auto& hop : config_->hops) none.hops.push_back({hop.name, {}, true});
  return health::hop_states(none, ejection_reports(*config_, *delivery_));
}

void HealthService::refresh_state_files() {
  // Compared without the end time: that is recomputed against "now" on every call.
  std::vector<std::tuple<bool, std::uint32_t, std::uint32_t, health::UnixMillis, bool>> now_shown;
  for (const auto& e : ejection_reports(*config_, *delivery_))
    now_shown.emplace_back(e.ejected, e.consecutive_failures, e.streak, e.last_error_at, e.suspended_until != 0);
  const health::SnapshotPtr last = monitor_->snapshot();
  const auto age = std::chrono::milliseconds(unix_now_ms() - (last ? last->taken_at : 0));
  if (now_shown == shown_ejections_ && age < health::state_heartbeat) return;
  shown_ejections_ = std::move(now_shown);
  monitor_->publish();  // a new snapshot (taken_at: now) and both files
}

void HealthService::reload(conf::ConfigPtr config, DeliveryEngine& delivery) {
  // The old monitor's hop indices belong to the old hop list: silence it before anything
  // it reports could reach the new engine.
  monitor_->on_transition = nullptr;
  monitor_->on_hop_check_ok = nullptr;
  monitor_->ejections = nullptr;
  monitor_->stop();
  const health::SnapshotPtr carried = monitor_->snapshot();
  const health::HealthCounters counters = monitor_->counters();
  auto next = std::make_unique<health::Monitor>(io_, *config, carried.get());
  next->counters() = counters;
  // Paths an administrator forced stay forced for the rest of the duration, where the
  // new configuration still has them (force_path refuses a path that is gone).
  for (auto& force : monitor_->forces(std::chrono::system_clock::now())) {
    if (auto kept = next->force_path(force.name, force.state, force.until, std::move(force.reason)); !kept)
      spdlog::info("reload: the force of path {} ends: {}", force.name, kept.error());
  }
  retired_.emplace_back(std::move(config_), std::move(monitor_));
  config_ = std::move(config);
  delivery_ = &delivery;
  monitor_ = std::move(next);
  attach(*monitor_);
  delivery_->set_probes(&monitor_->snapshot_box());
  monitor_->start();
}

void HealthService::on_transition(const health::AlertEvent& event) {
  spdlog::warn("health: {} at {}", health::alert_summary(event), health::format_utc(event.at));
  queue_alert(event);
  run_hook(event);
}

void HealthService::queue_alert(const health::AlertEvent& event) {
  // One message per direction its recipients need (see relay/delivery/notices).
  for (auto& alert : alert_notices(*config_, event, unix_now_ms(), unique_token())) {
    asio::co_spawn(
        io_,
        [](HealthService* self, queue::NewMessage message) -> asio::awaitable<void> {
          auto result = co_await commit_message(self->queue_, std::move(message), unix_now_ms() + queue::lease_time(self->config_->queue, alert_lease_ms));
          if (!result) {
            ++self->monitor_->counters().alert_failures;
            spdlog::error("health: cannot queue the alert mail: {}", result.error().message());
            co_return;
          }
          ++self->monitor_->counters().alerts_queued;
          spdlog::info("health: alert mail qid={} queued for {} recipient(s) direction={}",
                       queue::format_queue_id(result->id), result->recipients.size(), conf::to_string(result->direction));
          self->delivery_->submit(std::move(*result));
        }(this, std::move(alert)),
        health::log_escaped("health: alert mail"));
  }
}

void HealthService::run_hook(const health::AlertEvent& event) {
  if (config_->alerts.hook.empty()) return;
  asio::co_spawn(
      io_,
      [](HealthService* self, std::string program, std::vector<std::pair<std::string, std::string>> env,
         std::chrono::milliseconds timeout) -> asio::awaitable<void> {
        const health::HookResult r = co_await health::run_hook(program, std::move(env), timeout);
        ++self->monitor_->counters().hooks_run;
        if (!r.ok) ++self->monitor_->counters().hook_failures;
        std::string output = r.output;
        while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
        for (char& c : output)
          if (c == '\n' || c == '\r') c = '|';
        if (!r.error.empty()) {
          spdlog::error("health: alert hook {}: {}", program, r.error);
        } else if (r.timed_out) {
          spdlog::error("health: alert hook {} killed after {}s; output: {}", program, timeout.count() / 1000, output);
        } else {
          spdlog::log(r.ok ? spdlog::level::info : spdlog::level::warn, "health: alert hook {} exited {}; output: {}",
                      program, r.exit_status, output);
        }
      }(this, config_->alerts.hook, health::alert_environment(event),
        std::chrono::duration_cast<std::chrono::milliseconds>(config_->alerts.hook_timeout)),
      health::log_escaped("health: alert hook"));
}

}  // namespace relay
