// health/alert_event.hpp — one health alert: the event, its one-line summary, the hook environment.
//
// Owns: what an administrator is told when a path changes state (which path, from what to
// what, the runs that caused it, when): the event value the monitor reports, the summary
// line for the log and the mail's subject, and the HUBRELAY_* environment variables given
// to the optional hook. The alert e-mail itself is composed and routed with every other
// message the relay writes, in relay/delivery/notices.
// Pure: no I/O; time comes in the event.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "health/snapshot.hpp"

namespace health {

struct AlertEvent {
  std::string path;
  std::string hop;                 // non-empty for a hop's own check
  std::vector<std::string> hops;   // hops that depend on the path
  State from = State::down;
  State to = State::down;
  UnixMillis at = 0;
  std::string reason;              // "checks", "maintenance", "test"
  std::vector<RunReport> runs;     // the runs that caused the change, oldest first
};

/// One line for the log: "path site-a-internet UP -> DOWN (2 of 2 runs failed)".
std::string alert_summary(const AlertEvent& event);
/// NAME=value pairs for the hook (HUBRELAY_PATH, HUBRELAY_FROM, HUBRELAY_TO, ...).
std::vector<std::pair<std::string, std::string>> alert_environment(const AlertEvent& event);

}  // namespace health
