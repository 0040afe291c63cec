// health/alert_event.hpp — the content of one health alert: e-mail text and hook environment.
//
// Owns: what an administrator is told when a path changes state (which path, from what to
// what, the runs that caused it, when): the RFC 5322 message queued through hubrelay
// itself, and the HUBRELAY_* environment variables given to the optional hook.
// Pure: no I/O; time, host name and Message-ID entropy are passed in.
// Standards: RFC 5322 (header fields, CRLF lines, Date), RFC 2045 (plain text US-ASCII).
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
/// The full message, CRLF line endings, ready to commit to the queue.
std::string alert_message(const AlertEvent& event, const std::string& from, const std::vector<std::string>& to,
                          const std::string& hostname, const std::string& unique);
/// NAME=value pairs for the hook (HUBRELAY_PATH, HUBRELAY_FROM, HUBRELAY_TO, ...).
std::vector<std::pair<std::string, std::string>> alert_environment(const AlertEvent& event);

}  // namespace health
