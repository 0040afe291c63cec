// health/alert_event.cpp — alert text (see the header).
#include "health/alert_event.hpp"

#include <chrono>
#include <fmt/format.h>

#include "health/report.hpp"

namespace health {

namespace {

// RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 05:22:08 +0000".
std::string rfc5322_date(UnixMillis at) {
  using namespace std::chrono;
  static constexpr const char* days_names[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_seconds t{duration_cast<seconds>(milliseconds{at})};
  const auto day = floor<std::chrono::days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  const auto weekday = ((day.time_since_epoch().count() % 7) + 7) % 7;
  return fmt::format("{}, {} {} {:04} {:02}:{:02}:{:02} +0000", days_names[weekday],
                     static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                     static_cast<int>(ymd.year()), hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

// What the decision saw: failures for a change to DOWN, successes for a change to UP.
std::string runs_failed_text(const AlertEvent& e) {
  std::size_t failed = 0;
  for (const auto& r : e.runs) failed += r.failed ? 1 : 0;
  if (e.to == State::up) return fmt::format("{} of {} runs succeeded", e.runs.size() - failed, e.runs.size());
  return fmt::format("{} of {} runs failed", failed, e.runs.size());
}

// Header values come from configuration names and check labels; keep them on one line.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\r' || c == '\n') c = ' ';
  return text;
}

}  // namespace

std::string alert_summary(const AlertEvent& e) {
  const std::string what = e.hop.empty() ? "path " + e.path : "hop " + e.hop + " (own check)";
  if (e.reason == "checks") return fmt::format("{} {} -> {} ({})", what, to_string(e.from), to_string(e.to), runs_failed_text(e));
  return fmt::format("{} {} -> {} ({})", what, to_string(e.from), to_string(e.to), e.reason);
}

std::string alert_message(const AlertEvent& e, const std::string& from, const std::vector<std::string>& to,
                          const std::string& hostname, const std::string& unique) {
  std::string to_line;
  for (const auto& t : to) to_line += (to_line.empty() ? "" : ", ") + t;
  std::string m;
  m += "From: hubrelay <" + from + ">\r\n";
  m += "To: " + to_line + "\r\n";
  m += "Subject: " + one_line(fmt::format("[hubrelay {}] {}", hostname, alert_summary(e))) + "\r\n";
  m += "Date: " + rfc5322_date(e.at) + "\r\n";
  m += "Message-ID: <hubrelay-alert-" + unique + "@" + hostname + ">\r\n";
  m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no auto-replies, please
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
  m += "X-Hubrelay-Path: " + one_line(e.path) + "\r\n";
  m += "X-Hubrelay-State: " + std::string(to_string(e.to)) + "\r\n\r\n";
  m += fmt::format("hubrelay on {} changed the state of {} {}\r\n", hostname,
                   e.hop.empty() ? "path" : "the own check of hop", e.hop.empty() ? e.path : e.hop);
  m += fmt::format("from {} to {} at {} (reason: {}).\r\n\r\n", to_string(e.from), to_string(e.to),
                   format_utc(e.at), e.reason);
  if (!e.hops.empty()) {
    std::string hops;
    for (const auto& h : e.hops) hops += (hops.empty() ? "" : ", ") + h;
    m += fmt::format("Hops depending on it: {}.\r\n{}\r\n\r\n", hops,
                     e.to == State::down ? "Mail for their routes now goes to other usable hops."
                                         : "They are usable again (unless ejected or another path is DOWN).");
  }
  if (!e.runs.empty()) m += "Runs that caused the change (oldest first):\r\n";
  for (const auto& run : e.runs) {
    m += fmt::format("  {} {} ({} check(s) failed)\r\n", format_utc(run.at), run.failed ? "FAILED" : "ok",
                     run.failed_checks);
    for (const auto& c : run.checks)
      m += one_line(fmt::format("    {:<4} {:>6} ms  {}{}{}", c.ok ? "ok" : "FAIL", c.latency_ms, c.label,
                                c.detail.empty() ? "" : ": ", c.detail)) + "\r\n";
  }
  return m;
}

std::vector<std::pair<std::string, std::string>> alert_environment(const AlertEvent& e) {
  std::string runs;
  for (const auto& run : e.runs) {
    runs += fmt::format("{} {}", format_utc(run.at), run.failed ? "FAILED" : "ok");
    for (const auto& c : run.checks) runs += fmt::format(" [{} {} {}ms]", c.label, c.ok ? "ok" : "FAIL", c.latency_ms);
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
