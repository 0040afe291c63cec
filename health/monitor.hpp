// health/monitor.hpp — runs every path's checks on schedule and publishes the result.
//
// Owns: one coroutine per path (a [path.NAME] or a hop's own check): wait, run all its
// checks in parallel, feed the RunTracker, skip runs inside maintenance windows (state
// held or forced, no alerts), then publish a new immutable HealthSnapshot (SnapshotBox:
// routing reads it), write state_dir/health.json and health.txt atomically (temp file +
// rename), and report transitions through the `on_transition` callback (the daemon turns
// them into log lines, alert mail and the hook). First runs start immediately.
// Never: talks to the queue or the delivery engine directly (callbacks only), blocks on
// the network, or throws after construction.
// Threading: everything on the one io_context thread; SnapshotBox may be read anywhere.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <expected>
#include <optional>
#include <string_view>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "conf/config.hpp"
#include "health/alert_event.hpp"
#include "health/report.hpp"
#include "health/run_tracker.hpp"
#include "health/snapshot.hpp"

namespace health {

class Monitor {
 public:
  /// Runs kept per path for reports and alerts.
  static constexpr std::size_t kept_runs = 10;

  /// `carry`: the snapshot of the monitor this one replaces on a reload. Paths of the same
  /// name (and hop) keep their state, history and counts, so a SIGHUP never flips a path
  /// back to its initial state (a path that starts DOWN would stop routing).
  Monitor(boost::asio::io_context& io, const conf::Config& config, const HealthSnapshot* carry = nullptr);
  ~Monitor();

  /// A state change (never during maintenance). Called on the io_context thread.
  std::function<void(const AlertEvent&)> on_transition;
  /// A hop's own check ran and succeeded: the daemon clears that hop's passive ejection.
  std::function<void(std::size_t hop)> on_hop_check_ok;
  /// Passive ejection facts for the reports (the delivery engine owns them).
  std::function<std::vector<EjectionReport>()> ejections;

  void start();
  void stop();

  const SnapshotBox& snapshot_box() const noexcept { return box_; }
  SnapshotPtr snapshot() const noexcept { return box_.load(); }
  HealthCounters& counters() noexcept { return counters_; }
  /// An administrator forces path `name` UP or DOWN until `until` (maintenance now): like a
  /// maintenance window with maintenance_state, no checks and no alerts meanwhile; nullopt
  /// `state` ends a force (checks resume at once). Error text: unknown path, or no force
  /// to end. Effective immediately (published before returning).
  std::expected<void, std::string> force_path(std::string_view name, std::optional<State> state,
                                              std::chrono::system_clock::time_point until, std::string reason);
  /// Until when an administrator forces the path (epoch: not forced).
  std::chrono::system_clock::time_point forced_until(std::string_view name) const;
  /// An administrator's force in effect, as force_path() was given it.
  struct PathForce {
    std::string name;
    State state;
    std::chrono::system_clock::time_point until;
    std::string reason;
  };
  /// The forces not yet ended at `now`: a configuration reload gives them to the next
  /// monitor, so a path forced by hand stays forced for the rest of its duration.
  std::vector<PathForce> forces(std::chrono::system_clock::time_point now) const;
  /// Re-renders health.json/health.txt now (after a counter changed, for instance).
  /// Does nothing after stop(): the state files then belong to the replacing monitor.
  void publish();

 private:
  struct PathRuntime;

  boost::asio::awaitable<void> run_path(std::size_t index);
  boost::asio::awaitable<RunReport> run_checks(std::size_t index);
  void write_reports(const HealthSnapshot& snapshot);

  boost::asio::io_context& io_;
  const conf::Config& config_;
  std::vector<std::unique_ptr<PathRuntime>> paths_;
  SnapshotBox box_;
  HealthCounters counters_;
  std::minstd_rand rng_{std::random_device{}()};
  bool stopped_ = false;
};

}  // namespace health
