// relay/health_service.hpp — wires the health monitor into the daemon and the CLI.
//
// Owns: in the daemon, the health::Monitor and what happens on a path's state change:
// a warning log line, the counters, the alert e-mail to [alerts].to (composed and routed
// by relay/delivery/notices: own-domain recipients inbound to the HUB, others outbound)
// queued through hubrelay itself (commit to the queue, then DeliveryEngine::submit, like
// a message received over SMTP), and the optional [alerts].hook run with HUBRELAY_*
// variables (bounded run time, output logged). It hands the monitor's snapshot to the
// delivery engine (routing) and clears a hop's passive ejection when its own probe
// succeeds. The CLI side (`hubrelay health`, `hubrelay alert test`) is relay/cli/health_cli.
// Reload: each configuration generation gets its own Monitor (hop indices in a snapshot
// follow that generation's hop list); paths keep their state across the swap. The old
// monitor is stopped and kept until shutdown, because its probe coroutines may still be
// finishing and draining delivery engines may still read its snapshot.
// State files: besides the monitor's writes after each path run, a one-second watch
// re-renders state_dir/health.json and health.txt when a hop's passive ejection changed
// (ejected, released, expired), it failed again (its last error, from
// DeliveryEngine::hop_failure) or a reply suspended it (suspend_on) or the suspension
// ended, and at least every health::state_heartbeat, so readers
// (`hubrelay health`, `hubrelay route explain`) see hops as routing does and can tell a
// running daemon from a stopped one. The files are removed when the service is destroyed
// at a clean shutdown: no file means no daemon.
// Threading: daemon parts on the io_context thread. Errors: logged, never thrown.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "health/alert_event.hpp"
#include "health/monitor.hpp"
#include "health/report.hpp"
#include "queue/message_queue.hpp"
#include "relay/admin/health_metrics.hpp"

namespace relay {

class DeliveryEngine;

class HealthService {
 public:
  HealthService(boost::asio::io_context& io, conf::ConfigPtr config, queue::MessageQueue& queue,
                DeliveryEngine& delivery);
  ~HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;
  void start();
  void stop();
  /// After a reload: a monitor for the new paths and hops (states carried over by path
  /// name), and routing decisions and alert mail go to the new engine.
  void reload(conf::ConfigPtr config, DeliveryEngine& delivery);
  const health::HealthCounters& counters() noexcept { return monitor_->counters(); }
  /// The monitor's last published snapshot; null before the first run. Kept alive by the
  /// pointer, never changes (the admin endpoint reads path states from it).
  health::SnapshotPtr snapshot() const noexcept { return monitor_->snapshot(); }
  /// Every hop of the current configuration in the one state vocabulary, computed now by
  /// health::hop_states from the monitor's snapshot and the engine's ejections: the same
  /// function that writes health.json, so /metrics, /api/status and the status page show
  /// what `hubrelay health` and `route explain` show.
  std::vector<health::HopState> hop_states() const;
  /// The current monitor (replaced on reload): the admin API forces its paths.
  health::Monitor& monitor() noexcept { return *monitor_; }

 private:
  void on_transition(const health::AlertEvent& event);
  void queue_alert(const health::AlertEvent& event);
  void run_hook(const health::AlertEvent& event);
  void attach(health::Monitor& monitor);
  /// One watch tick: re-publish when the ejections changed or the heartbeat is due.
  void refresh_state_files();

  /// The watch coroutine's link to this service; it outlives the service (see ~HealthService).
  struct Watch {
    boost::asio::steady_timer* timer = nullptr;
    bool stopped = false;
  };

  boost::asio::io_context& io_;
  conf::ConfigPtr config_;
  queue::MessageQueue& queue_;
  DeliveryEngine* delivery_;
  std::unique_ptr<health::Monitor> monitor_;
  /// Replaced monitors with the configuration they refer to (see Reload above).
  std::vector<std::pair<conf::ConfigPtr, std::unique_ptr<health::Monitor>>> retired_;
  std::shared_ptr<Watch> watch_ = std::make_shared<Watch>();
  /// Ejection facts the state files last showed (ejected, failures, streak, time of the
  /// last delivery failure, suspended by suspend_on, per hop): a change rewrites them
  /// within a second.
  std::vector<std::tuple<bool, std::uint32_t, std::uint32_t, health::UnixMillis, bool>> shown_ejections_;
};

}  // namespace relay
