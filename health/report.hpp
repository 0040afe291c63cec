// health/report.hpp — the daemon's state files: health.json (rendered and read back)
// and the human-readable health.txt.
//
// Owns: the health.json format (documented in docs/health.md), the human-readable table,
// each hop's state in one vocabulary (usable / path down / check down / ejected, see
// HopCondition), the heartbeat and staleness rule, and the reader of health.json that
// `hubrelay route explain` uses. The daemon renders both files after each path run,
// within a second of any hop change, and at least every state_heartbeat, and writes them
// atomically to state_dir; `hubrelay health` prints one of them.
// Pure: no I/O; the current time and ejection facts are passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "health/snapshot.hpp"

namespace health {

struct EjectionReport {
  std::string hop;
  bool ejected = false;
  UnixMillis until = 0;              // wall clock, when ejected
  std::uint32_t consecutive_failures = 0;
  std::uint32_t streak = 0;
  std::string last_error;            // the delivery engine's last failure on the hop, "" if none
  UnixMillis last_error_at = 0;      // when (wall clock); 0 if none
  UnixMillis suspended_until = 0;    // wall clock, while a suspend_on rule holds the hop; else 0
  std::string suspended_by;          // the upstream reply that matched
};

/// The daemon rewrites the state files at least this often, even when nothing changed.
inline constexpr std::chrono::seconds state_heartbeat{5};
/// A state file older than this was not written by a running daemon (three missed
/// heartbeats: a busy io thread may delay one, never three).
inline constexpr std::chrono::seconds state_stale_after = 3 * state_heartbeat;

/// One hop as reports show it and readers get it back.
struct HopState {
  std::string name;
  HopCondition condition = HopCondition::usable;
  bool ejected = false;              // also true when a DOWN path takes precedence
  UnixMillis ejected_until = 0;      // wall clock, when ejected
  std::uint32_t consecutive_failures = 0;
  /// The failing check of a DOWN path or own check; else the last delivery failure on the
  /// hop (connect, TLS, protocol, its reply), even after it became usable again; "": none.
  std::string last_error;
  UnixMillis last_error_at = 0;      // when that delivery failure happened; 0: unknown or a check
  /// Suspended by a reply that matched the hop's suspend_on (not a maintenance window):
  /// until when (wall clock); the reply is last_error. 0: not so suspended.
  UnixMillis suspended_until = 0;
};

/// "usable", "NOT usable: ejected until 2026-…Z; last error: …": one line for people.
std::string describe(const HopState& hop);

/// Every hop of the snapshot with its condition (snapshot order, i.e. conf::Config::hops).
std::vector<HopState> hop_states(const HealthSnapshot& snapshot, const std::vector<EjectionReport>& ejections);

/// What a reader gets back from health.json.
struct DaemonState {
  UnixMillis written_at = 0;         // the snapshot's taken_at: when the daemon wrote it
  std::vector<HopState> hops;
};

/// Reads the hop part of a health.json. Error: a sentence saying what is wrong.
std::expected<DaemonState, std::string> parse_state(std::string_view json);

/// Why a state written at `written_at` cannot be taken as the daemon's current state at
/// `now` (older than state_stale_after); nullopt when it is fresh.
std::optional<std::string> stale_reason(UnixMillis written_at, UnixMillis now);

std::string render_json(const HealthSnapshot& snapshot, const std::vector<EjectionReport>& ejections);
std::string render_text(const HealthSnapshot& snapshot, const std::vector<EjectionReport>& ejections);

/// "2026-11-23T05:22:08Z"
std::string format_utc(UnixMillis at);
/// JSON string literal with escapes (RFC 8259 §7).
std::string json_string(std::string_view text);

}  // namespace health
