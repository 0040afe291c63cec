// health/report.hpp — rendering a HealthSnapshot for `hubrelay health` (text and JSON).
//
// Owns: the health.json format (documented in docs/health.md) and the human-readable
// table. The daemon renders both after each run and writes them atomically to
// state_dir/health.json and health.txt; the command prints one of them.
// Pure: no I/O; the current time and ejection facts are passed in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "health/snapshot.hpp"

namespace health {

struct EjectionReport {
  std::string hop;
  bool ejected = false;
  UnixMillis until = 0;              // wall clock, when ejected
  std::uint32_t consecutive_failures = 0;
  std::uint32_t streak = 0;
};

std::string render_json(const HealthSnapshot& snapshot, const std::vector<EjectionReport>& ejections);
std::string render_text(const HealthSnapshot& snapshot, const std::vector<EjectionReport>& ejections);

/// "2026-11-23T05:22:08Z"
std::string format_utc(UnixMillis at);
/// JSON string literal with escapes (RFC 8259 §7).
std::string json_string(std::string_view text);

}  // namespace health
