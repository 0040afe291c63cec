// relay/admin/stats_text.cpp — the hop table of `hubrelay stats`.
#include "relay/admin/stats_text.hpp"

#include <fmt/format.h>
#include <vector>

#include "health/json_reader.hpp"
#include "health/report.hpp"

namespace relay::metrics {
namespace {

struct HopLine {
  std::string name, state;
  std::int64_t ejected_until = 0, suspended_until = 0, connections = 0, window = 0, max_connections = 0, throttled = 0,
               attempts = 0, failures = 0;
};

bool read_hop(health::JsonReader& in, HopLine& hop) {
  return in.object([&](const std::string& key) {
    if (key == "name" || key == "state") {
      auto v = in.string();
      if (v) (key == "name" ? hop.name : hop.state) = std::move(*v);
      return v.has_value();
    }
    for (auto [name, field] : {std::pair{"ejected_until", &hop.ejected_until},
                               {"suspended_until", &hop.suspended_until}, {"connections", &hop.connections},
                               {"window", &hop.window}, {"max_connections", &hop.max_connections},
                               {"throttled", &hop.throttled},
                               {"attempts", &hop.attempts}, {"failures", &hop.failures}}) {
      if (key != name) continue;
      const auto v = in.integer();
      if (v) *field = *v;
      return v.has_value();
    }
    return in.skip_value();
  });
}

}  // namespace

std::expected<std::string, std::string> hop_table(std::string_view status_json) {
  std::vector<HopLine> hops;
  bool has_hops = false;
  health::JsonReader in(status_json);
  const bool ok = in.object([&](const std::string& key) {
    if (key != "hops") return in.skip_value();
    has_hops = true;
    if (!in.eat('[')) return false;
    if (in.eat(']')) return true;
    do {
      HopLine hop;
      if (!read_hop(in, hop) || hop.name.empty() || hop.state.empty()) return false;
      hops.push_back(std::move(hop));
    } while (in.eat(','));
    return in.eat(']');
  });
  if (!ok || !has_hops) return std::unexpected("unexpected /api/status document (no readable hops)");
  std::string out = fmt::format("{:<20} {:<36} {:>11} {:>10} {:>10}\n", "HOP", "STATE", "CONNECTIONS", "ATTEMPTS",
                                "FAILURES");
  for (const auto& h : hops) {
    std::string state = h.state;
    if (state == "ejected" && h.ejected_until > 0) state += " until " + health::format_utc(h.ejected_until * 1000);
    if (state == "suspended" && h.suspended_until > 0)
      state += " until " + health::format_utc(h.suspended_until * 1000);
    out += fmt::format("{:<20} {:<36} {:>11} {:>10} {:>10}\n", h.name, state, h.connections, h.attempts, h.failures);
  }
  // The upstream limits in a section of their own, so the table above keeps its columns.
  out += "\nconcurrency windows (connections allowed now / max_connections; throttling replies):\n";
  for (const auto& h : hops)
    out += fmt::format("  {}: window {}/{}, throttled {}\n", h.name, h.window, h.max_connections, h.throttled);
  return out;
}

}  // namespace relay::metrics
