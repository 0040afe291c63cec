// health/alert_event.cpp — alert summary and hook environment (see the header).
#include "health/alert_event.hpp"

#include <fmt/format.h>

#include "health/report.hpp"

namespace health {

namespace {

// What the decision saw: failures for a change to DOWN, successes for a change to UP.
std::string runs_failed_text(const AlertEvent& e) {
  std::size_t failed = 0;
  for (const auto& r : e.runs) failed += r.failed ? 1 : 0;
  if (e.to == State::up) return fmt::format("{} of {} runs succeeded", e.runs.size() - failed, e.runs.size());
  return fmt::format("{} of {} runs failed", failed, e.runs.size());
}

}  // namespace

std::string alert_summary(const AlertEvent& e) {
  const std::string what = e.hop.empty() ? "path " + e.path : "hop " + e.hop + " (own check)";
  if (e.reason == "checks") return fmt::format("{} {} -> {} ({})", what, to_string(e.from), to_string(e.to), runs_failed_text(e));
  return fmt::format("{} {} -> {} ({})", what, to_string(e.from), to_string(e.to), e.reason);
}

std::vector<std::pair<std::string, std::string>> alert_environment(const AlertEvent& e) {
  std::string runs;
  for (const auto& run : e.runs) {
    runs += fmt::format("{} {}", format_utc(run.at), run.failed ? "FAILED" : "ok");
    for (const auto& c : run.checks) runs += fmt::format(" [{} {} {}ms]", c.label, c.ok() ? "ok" : "FAIL", c.latency_ms);
    runs += "\n";
  }
  std::string hops;
  for (const auto& h : e.hops) hops += (hops.empty() ? "" : ",") + h;
  return {{"HUBRELAY_PATH", e.path},
          {"HUBRELAY_HOP", e.hop},
          {"HUBRELAY_HOPS", hops},
          {"HUBRELAY_FROM", to_string(e.from)},
          {"HUBRELAY_TO", to_string(e.to)},
          {"HUBRELAY_TIME", format_utc(e.at)},
          {"HUBRELAY_TIME_MS", std::to_string(e.at)},
          {"HUBRELAY_REASON", e.reason},
          {"HUBRELAY_SUMMARY", alert_summary(e)},
          {"HUBRELAY_RUNS", runs}};
}

}  // namespace health
