// health/report.cpp — JSON and text renderings of a HealthSnapshot.
#include "health/report.hpp"

#include <chrono>
#include <cstdio>
#include <fmt/format.h>

namespace health {

std::string format_utc(UnixMillis at) {
  using namespace std::chrono;
  const sys_seconds t{duration_cast<seconds>(milliseconds{at})};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

const char* b(bool v) { return v ? "true" : "false"; }

const EjectionReport* find(const std::vector<EjectionReport>& ejections, const std::string& hop) {
  for (const auto& e : ejections)
    if (e.hop == hop) return &e;
  return nullptr;
}

}  // namespace

std::string render_json(const HealthSnapshot& s, const std::vector<EjectionReport>& ejections) {
  std::string out = fmt::format("{{\n  \"taken_at\": {},\n  \"taken_at_utc\": {},\n  \"paths\": [", s.taken_at,
                                json_string(format_utc(s.taken_at)));
  for (std::size_t i = 0; i < s.paths.size(); ++i) {
    const auto& p = s.paths[i];
    out += fmt::format(
        "{}\n    {{\"name\": {}, \"hop\": {}, \"state\": \"{}\", \"since\": {}, \"since_utc\": {}, "
        "\"maintenance\": {}, \"next_run\": {}, \"transitions\": {}, \"runs\": [",
        i ? "," : "", json_string(p.name), json_string(p.hop), to_string(p.state), p.since,
        json_string(format_utc(p.since)), b(p.maintenance), p.next_run, p.transitions);
    for (std::size_t r = 0; r < p.runs.size(); ++r) {
      const auto& run = p.runs[r];
      out += fmt::format("{}\n      {{\"at\": {}, \"failed\": {}, \"failed_checks\": {}, \"checks\": [",
                         r ? "," : "", run.at, b(run.failed), run.failed_checks);
      for (std::size_t c = 0; c < run.checks.size(); ++c) {
        const auto& check = run.checks[c];
        out += fmt::format(
            "{}{{\"check\": {}, \"ok\": {}, \"status\": \"{}\", \"class\": \"{}\", \"latency_ms\": {}, "
            "\"detail\": {}}}",
            c ? ", " : "", json_string(check.label), b(check.ok()), tag(check.status), to_string(class_of(check.status)),
            check.latency_ms, json_string(check.describe()));
      }
      out += "]}";
    }
    out += "]}";
  }
  out += "\n  ],\n  \"hops\": [";
  for (std::size_t i = 0; i < s.hops.size(); ++i) {
    const auto& h = s.hops[i];
    const EjectionReport* e = find(ejections, h.name);
    const bool ejected = e && e->ejected;
    out += fmt::format("{}\n    {{\"name\": {}, \"usable\": {}, \"paths_up\": {}, \"ejected\": {}, "
                       "\"ejected_until\": {}, \"consecutive_failures\": {}, \"paths\": [",
                       i ? "," : "", json_string(h.name), b(h.paths_up && !ejected), b(h.paths_up), b(ejected),
                       ejected ? e->until : 0, e ? e->consecutive_failures : 0);
    for (std::size_t p = 0; p < h.paths.size(); ++p) out += (p ? ", " : "") + json_string(h.paths[p]);
    out += "]}";
  }
  const auto& c = s.counters;
  out += fmt::format(
      "\n  ],\n  \"counters\": {{\"runs\": {}, \"transitions\": {}, \"alerts_queued\": {}, \"alert_failures\": {}, "
      "\"hooks_run\": {}, \"hook_failures\": {}}}\n}}\n",
      c.runs, c.transitions, c.alerts_queued, c.alert_failures, c.hooks_run, c.hook_failures);
  return out;
}

std::string render_text(const HealthSnapshot& s, const std::vector<EjectionReport>& ejections) {
  std::string out = "health at " + format_utc(s.taken_at) + "\n\npaths:\n";
  if (s.paths.empty()) out += "  (none configured)\n";
  for (const auto& p : s.paths) {
    out += fmt::format("  {:<24} {:<4} since {}{}  next run {}  transitions {}\n", p.name, to_string(p.state),
                       format_utc(p.since), p.maintenance ? "  [maintenance]" : "", format_utc(p.next_run),
                       p.transitions);
    for (const auto& run : p.runs) {
      out += fmt::format("    run {} {} ({} check(s) failed)\n", format_utc(run.at), run.failed ? "FAILED" : "ok",
                         run.failed_checks);
      for (const auto& c : run.checks)
        out += fmt::format("      {:<4} {:>6} ms  {}: {}\n", c.ok() ? "ok" : "FAIL", c.latency_ms, c.label,
                           c.describe());
    }
  }
  out += "\nhops:\n";
  for (const auto& h : s.hops) {
    const EjectionReport* e = find(ejections, h.name);
    const bool ejected = e && e->ejected;
    std::string paths;
    for (const auto& p : h.paths) paths += (paths.empty() ? "" : ", ") + p;
    out += fmt::format("  {:<24} {}{}{}\n", h.name, h.paths_up && !ejected ? "usable" : "NOT usable",
                       h.paths_up ? "" : " (a path is DOWN)",
                       ejected ? " (ejected until " + format_utc(e->until) + ")" : "");
    if (!paths.empty()) out += "    paths: " + paths + "\n";
    if (e && e->consecutive_failures > 0)
      out += fmt::format("    consecutive delivery failures: {}\n", e->consecutive_failures);
  }
  return out;
}

}  // namespace health
