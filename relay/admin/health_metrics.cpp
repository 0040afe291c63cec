// relay/admin/health_metrics.cpp — HealthSnapshot paths to metrics::Path values.
#include "relay/admin/health_metrics.hpp"

namespace relay {

std::vector<metrics::Path> metrics_paths(const health::HealthSnapshot* snapshot) {
  std::vector<metrics::Path> out;
  if (!snapshot) return out;
  out.reserve(snapshot->paths.size());
  for (const auto& p : snapshot->paths) {
    metrics::Path m;
    m.name = p.name;
    m.up = p.state == health::State::up;
    // Maintenance wins in the display: during a window the state is held or forced, not
    // measured, and an operator wants to see that; `up` still tells what routing uses.
    m.state = p.maintenance ? "maintenance" : (m.up ? "up" : "down");
    m.since_unix = p.since / 1000;
    m.transitions = p.transitions;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace relay
