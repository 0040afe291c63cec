// relay/admin/health_metrics.hpp — health path states as the admin endpoint shows them.
//
// Owns: the mapping from the monitor's published health::HealthSnapshot to the plain
// metrics::Path values in metrics::Snapshot: state "up"/"down", or "maintenance" while a
// maintenance window holds or forces the state; `up` keeps the routing state; `since` in
// Unix seconds; transitions as counted by the monitor.
// Never: reads a clock, touches the monitor or its files; the daemon passes the snapshot
// it loaded from HealthService::snapshot().
// Threading: pure function over an immutable snapshot. Errors: none; a null snapshot
// (no run yet, or no paths configured) yields an empty list.
#pragma once

#include <vector>

#include "health/snapshot.hpp"
#include "relay/admin/metrics.hpp"

namespace relay {

/// Path states for /metrics, /api/status and the status page; empty for null.
std::vector<metrics::Path> metrics_paths(const health::HealthSnapshot* snapshot);

}  // namespace relay
