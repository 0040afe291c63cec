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
// Threading: daemon parts on the io_context thread. Errors: logged, never thrown.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "health/alert_event.hpp"
#include "health/monitor.hpp"
#include "queue/message_queue.hpp"
#include "relay/admin/health_metrics.hpp"

namespace relay {

class DeliveryEngine;

class HealthService {
 public:
  HealthService(boost::asio::io_context& io, conf::ConfigPtr config, queue::MessageQueue& queue,
                DeliveryEngine& delivery);
  void start();
  void stop();
  /// After a reload: a monitor for the new paths and hops (states carried over by path
  /// name), and routing decisions and alert mail go to the new engine.
  void reload(conf::ConfigPtr config, DeliveryEngine& delivery);
  const health::HealthCounters& counters() noexcept { return monitor_->counters(); }
  /// The monitor's last published snapshot; null before the first run. Kept alive by the
  /// pointer, never changes (the admin endpoint reads path states from it).
  health::SnapshotPtr snapshot() const noexcept { return monitor_->snapshot(); }

 private:
  void on_transition(const health::AlertEvent& event);
  void queue_alert(const health::AlertEvent& event);
  void run_hook(const health::AlertEvent& event);
  void attach(health::Monitor& monitor);

  boost::asio::io_context& io_;
  conf::ConfigPtr config_;
  queue::MessageQueue& queue_;
  DeliveryEngine* delivery_;
  std::unique_ptr<health::Monitor> monitor_;
  /// Replaced monitors with the configuration they refer to (see Reload above).
  std::vector<std::pair<conf::ConfigPtr, std::unique_ptr<health::Monitor>>> retired_;
};

}  // namespace relay
