// health/snapshot.hpp — an immutable picture of every path and hop, as the monitor saw it.
//
// Owns: the data routing, `hubrelay health` and alerts read: per path its state, since
// when, maintenance, the last runs with every check's result and latency, counters; per
// hop whether all its paths are UP. A HealthSnapshot is built by the monitor after each
// run and published as std::shared_ptr<const HealthSnapshot>; readers keep the pointer
// for as long as they look at it and never see it change (Envoy-style snapshot).
// It is also the probe-driven health::View that health::HopHealth consults.
// Pure data; no I/O. Times are Unix milliseconds (wall clock) for reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "health/probe_status.hpp"
#include "health/run_tracker.hpp"
#include "health/view.hpp"

namespace health {

using UnixMillis = std::int64_t;

struct CheckResult {
  std::string label;        // "tcp 192.0.2.1:443"
  ProbeStatus status = ProbeStatus::probe_overrun;
  std::int64_t latency_ms = 0;
  std::string detail;       // the facts beside the status: HTTP status seen, OS error, addresses

  bool ok() const noexcept { return is_ok(status); }
  /// What reports and alerts print: "connection failed: 127.0.0.1:25: Connection refused [L4CON]".
  std::string describe() const { return health::describe(status, detail); }
};

struct RunReport {
  UnixMillis at = 0;
  bool failed = false;
  std::uint32_t failed_checks = 0;
  std::vector<CheckResult> checks;
};

struct PathStatus {
  std::string name;
  std::string hop;          // non-empty: this is the hop's own SMTP check
  State state = State::down;
  UnixMillis since = 0;
  bool maintenance = false;
  UnixMillis next_run = 0;
  std::uint64_t transitions = 0;
  std::vector<RunReport> runs;  // latest last, bounded
};

struct HopStatus {
  std::string name;
  std::vector<std::string> paths;
  bool paths_up = true;     // every path this hop depends on is UP
};

/// Plain counters an exporter can read (state gauge, transition counter per path).
struct HealthCounters {
  std::uint64_t runs = 0;
  std::uint64_t transitions = 0;
  std::uint64_t alerts_queued = 0;
  std::uint64_t alert_failures = 0;
  std::uint64_t hooks_run = 0;
  std::uint64_t hook_failures = 0;
};

class HealthSnapshot final : public View {
 public:
  UnixMillis taken_at = 0;
  std::vector<PathStatus> paths;
  std::vector<HopStatus> hops;  // same order as conf::Config::hops
  HealthCounters counters;

  /// A hop outside the snapshot (none configured) is usable: probes only ever veto.
  bool usable(std::size_t hop) const noexcept override { return hop >= hops.size() || hops[hop].paths_up; }
};

using SnapshotPtr = std::shared_ptr<const HealthSnapshot>;

/// The published snapshot: written by the monitor, read by routing, swapped atomically.
class SnapshotBox {
 public:
  SnapshotPtr load() const noexcept { return current_.load(std::memory_order_acquire); }
  void store(SnapshotPtr next) noexcept { current_.store(std::move(next), std::memory_order_release); }

 private:
  std::atomic<SnapshotPtr> current_;
};

}  // namespace health
