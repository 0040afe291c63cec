// health/report.cpp — JSON and text renderings of a HealthSnapshot, and the reader of
// the JSON one.
#include "health/report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>

#include "health/json_reader.hpp"

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

/// The first failing check of the path's latest run: "why is it DOWN" in one line.
std::string last_failure(const HealthSnapshot& s, const std::string& path) {
  const auto it = std::ranges::find(s.paths, path, &PathStatus::name);
  if (it == s.paths.end() || it->runs.empty()) return {};
  for (const auto& check : it->runs.back().checks)
    if (!check.ok()) return it->name + ": " + check.label + ": " + check.describe();
  return {};
}

}  // namespace

std::string describe(const HopState& hop) {
  std::string out(to_string(hop.condition));
  if (hop.condition == HopCondition::ejected) out += " until " + format_utc(hop.ejected_until);
  else if (hop.condition == HopCondition::suspended && hop.suspended_until != 0)
    out += " until " + format_utc(hop.suspended_until);
  else if (hop.ejected) out += " (also ejected until " + format_utc(hop.ejected_until) + ")";
  if (hop.condition != HopCondition::usable) out = "NOT usable: " + out;
  if (!hop.last_error.empty())
    out += (hop.last_error_at != 0 ? "; last error at " + format_utc(hop.last_error_at) + ": " : "; last error: ") +
           hop.last_error;
  return out;
}

std::vector<HopState> hop_states(const HealthSnapshot& s, const std::vector<EjectionReport>& ejections) {
  std::vector<HopState> out;
  for (const auto& h : s.hops) {
    HopState state{h.name};
    if (const EjectionReport* e = find(ejections, h.name)) {
      state.ejected = e->ejected;
      state.ejected_until = e->ejected ? e->until : 0;
      state.consecutive_failures = e->consecutive_failures;
    }
    // A DOWN [path.NAME] first, then the hop's own check, then a path DOWN inside its
    // maintenance window, then ejection (see HopCondition).
    const PathStatus* in_maintenance = nullptr;
    for (const bool own_check : {false, true}) {
      if (state.condition != HopCondition::usable) break;
      for (const auto& name : h.paths) {
        const auto it = std::ranges::find(s.paths, name, &PathStatus::name);
        if (it == s.paths.end() || it->state == State::up || it->hop.empty() == own_check) continue;
        if (it->maintenance) {
          if (!in_maintenance) in_maintenance = &*it;
          continue;
        }
        state.condition = own_check ? HopCondition::check_down : HopCondition::path_down;
        state.last_error = last_failure(s, name);
        break;
      }
    }
    if (state.condition == HopCondition::usable && in_maintenance) {
      state.condition = HopCondition::suspended;
      state.last_error = in_maintenance->name + ": DOWN in a maintenance window";
    }
    // The monitor's own verdict wins over a path list it may know better (a path the
    // snapshot does not carry).
    if (state.condition == HopCondition::usable && !h.paths_up) state.condition = HopCondition::path_down;
    // A suspension an upstream reply asked for (suspend_on) ranks with a maintenance window:
    // planned, not a fault; its reason is the reply.
    if (const EjectionReport* e = find(ejections, h.name);
        state.condition == HopCondition::usable && e && e->suspended_until != 0) {
      state.condition = HopCondition::suspended;
      state.suspended_until = e->suspended_until;
      state.last_error = e->suspended_by;
      state.last_error_at = e->last_error_at;
    }
    if (state.condition == HopCondition::usable && state.ejected) state.condition = HopCondition::ejected;
    if (const EjectionReport* e = find(ejections, h.name); e && state.last_error.empty() && !e->last_error.empty()) {
      state.last_error = e->last_error;
      state.last_error_at = e->last_error_at;
    }
    out.push_back(std::move(state));
  }
  return out;
}

namespace {

std::optional<HopCondition> condition_named(std::string_view name) {
  for (const auto c : hop_conditions)
    if (to_string(c) == name) return c;
  return std::nullopt;
}

bool read_hop(JsonReader& in, HopState& hop) {
  bool has_state = false;
  const bool ok = in.object([&](const std::string& key) {
    if (key == "name") {
      auto v = in.string();
      if (v) hop.name = std::move(*v);
      return v.has_value();
    }
    if (key == "last_error") {
      auto v = in.string();
      if (v) hop.last_error = std::move(*v);
      return v.has_value();
    }
    if (key == "state") {
      const auto v = in.string();
      const auto c = v ? condition_named(*v) : std::nullopt;
      if (c) hop.condition = *c;
      has_state = c.has_value();
      return c.has_value();
    }
    if (key == "ejected") {
      const auto v = in.boolean();
      if (v) hop.ejected = *v;
      return v.has_value();
    }
    if (key == "ejected_until" || key == "consecutive_failures" || key == "last_error_at" ||
        key == "suspended_until") {
      const auto v = in.integer();
      if (!v) return false;
      if (key == "ejected_until") hop.ejected_until = *v;
      else if (key == "suspended_until") hop.suspended_until = *v;
      else if (key == "last_error_at") hop.last_error_at = *v;
      else hop.consecutive_failures = static_cast<std::uint32_t>(*v);
      return true;
    }
    return in.skip_value();
  });
  return ok && has_state && !hop.name.empty();
}

}  // namespace

std::expected<DaemonState, std::string> parse_state(std::string_view json) {
  DaemonState state;
  JsonReader in(json);
  bool has_hops = false;
  bool bad_hop = false;
  const bool ok = in.object([&](const std::string& key) {
    if (key == "taken_at") {
      const auto v = in.integer();
      if (v) state.written_at = *v;
      return v.has_value();
    }
    if (key != "hops") return in.skip_value();
    has_hops = true;
    if (!in.eat('[')) return false;
    if (in.eat(']')) return true;
    do {
      HopState hop;
      if (!read_hop(in, hop)) {
        bad_hop = true;
        return false;
      }
      state.hops.push_back(std::move(hop));
    } while (in.eat(','));
    return in.eat(']');
  });
  if (bad_hop) return std::unexpected("a hop entry has no name or no known state (written by an older hubrelay?)");
  if (!ok) return std::unexpected("not valid JSON (partly written or damaged)");
  if (!has_hops || state.written_at == 0) return std::unexpected("no hops or no taken_at in it");
  return state;
}

std::optional<std::string> stale_reason(UnixMillis written_at, UnixMillis now) {
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(state_stale_after).count();
  if (now - written_at <= limit) return std::nullopt;
  return fmt::format("it was last written {}s ago and a running daemon rewrites it every {}s (the daemon is not "
                     "running or is stuck)",
                     (now - written_at) / 1000, state_heartbeat.count());
}

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
  const auto states = hop_states(s, ejections);
  for (std::size_t i = 0; i < s.hops.size(); ++i) {
    const auto& h = s.hops[i];
    const HopState& st = states[i];
    out += fmt::format("{}\n    {{\"name\": {}, \"state\": \"{}\", \"usable\": {}, \"paths_up\": {}, \"ejected\": {}, "
                       "\"ejected_until\": {}, \"ejected_until_utc\": {}, \"consecutive_failures\": {}, "
                       "\"suspended_until\": {}, \"suspended_until_utc\": {}, "
                       "\"last_error\": {}, \"last_error_at\": {}, \"last_error_at_utc\": {}, \"paths\": [",
                       i ? "," : "", json_string(h.name), to_string(st.condition),
                       b(st.condition == HopCondition::usable), b(h.paths_up), b(st.ejected), st.ejected_until,
                       st.ejected ? json_string(format_utc(st.ejected_until)) : "null", st.consecutive_failures,
                       st.suspended_until,
                       st.suspended_until != 0 ? json_string(format_utc(st.suspended_until)) : "null",
                       json_string(st.last_error), st.last_error_at,
                       st.last_error_at != 0 ? json_string(format_utc(st.last_error_at)) : "null");
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
  const auto states = hop_states(s, ejections);
  for (std::size_t i = 0; i < s.hops.size(); ++i) {
    const auto& h = s.hops[i];
    const HopState& st = states[i];
    std::string paths;
    for (const auto& p : h.paths) paths += (paths.empty() ? "" : ", ") + p;
    out += fmt::format("  {:<24} {}\n", h.name, describe(st));
    if (!paths.empty()) out += "    paths: " + paths + "\n";
    if (st.consecutive_failures > 0)
      out += fmt::format("    consecutive delivery failures: {}\n", st.consecutive_failures);
  }
  return out;
}

}  // namespace health
