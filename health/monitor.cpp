// health/monitor.cpp — scheduling, parallel checks, snapshots and report files.
#include "health/monitor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <spdlog/spdlog.h>

#include "health/maintenance.hpp"
#include "health/probe.hpp"
#include "health/spawn_log.hpp"

namespace health {
namespace asio = boost::asio;

namespace {

UnixMillis wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

UnixMillis to_wall(RunTracker::TimePoint t) {
  return wall_now() +
         std::chrono::duration_cast<std::chrono::milliseconds>(t - RunTracker::Clock::now()).count();
}

/// Writes `text` to `path` atomically: a reader sees the old file or the new one.
void write_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      spdlog::warn("cannot write {}", temp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) spdlog::warn("cannot rename {} to {}: {}", temp, path.string(), ec.message());
}

}  // namespace

struct Monitor::PathRuntime {
  const conf::PathConfig& config;
  RunTracker tracker;
  std::deque<RunReport> runs;
  std::vector<std::size_t> hops;          // hops that depend on this path
  std::optional<std::size_t> own_hop;     // set for a hop's own check
  bool maintenance = false;
  struct Forced {
    State state;
    std::chrono::system_clock::time_point until;
    std::string reason;
  };
  std::optional<Forced> forced;           // by an administrator (force_path)
  UnixMillis since = 0;
  UnixMillis next_run = 0;
  std::uint64_t transitions = 0;
  asio::steady_timer timer;

  PathRuntime(const conf::PathConfig& c, asio::io_context& io)
      : config(c), tracker(c.rules, RunTracker::Clock::now()), since(wall_now()), next_run(wall_now()), timer(io) {}
};

Monitor::Monitor(asio::io_context& io, const conf::Config& config, const HealthSnapshot* carry)
    : io_(io), config_(config) {
  if (carry) counters_ = carry->counters;
  for (const auto& path : config.paths) {
    auto runtime = std::make_unique<PathRuntime>(path, io);
    const PathStatus* previous = nullptr;
    if (carry) {
      const auto it = std::ranges::find(carry->paths, path.name, &PathStatus::name);
      if (it != carry->paths.end() && it->hop == path.hop) previous = &*it;
    }
    if (previous) {
      runtime->tracker.force(previous->state, RunTracker::Clock::now());
      runtime->since = previous->since;
      runtime->transitions = previous->transitions;
      runtime->maintenance = previous->maintenance;
      runtime->runs.assign(previous->runs.begin(), previous->runs.end());
    }
    for (std::size_t h = 0; h < config.hops.size(); ++h) {
      if (std::ranges::find(config.hops[h].paths, path.name) != config.hops[h].paths.end())
        runtime->hops.push_back(h);
      if (!path.hop.empty() && config.hops[h].name == path.hop) runtime->own_hop = h;
    }
    paths_.push_back(std::move(runtime));
  }
  publish();  // routing sees the initial states before the first run ends
}

Monitor::~Monitor() = default;

void Monitor::start() {
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    asio::co_spawn(io_, run_path(i),
                   log_escaped("health monitor for path " + paths_[i]->config.name, spdlog::level::critical));
  }
  if (!paths_.empty())
    spdlog::info("health monitor started: {} path(s), initial states published", paths_.size());
}

void Monitor::stop() {
  stopped_ = true;
  for (auto& p : paths_) p->timer.cancel();
}

asio::awaitable<RunReport> Monitor::run_checks(std::size_t index) {
  const PathRuntime& path = *paths_[index];
  struct Shared {
    std::vector<CheckResult> results;
    std::size_t remaining = 0;
    asio::steady_timer* wake = nullptr;
  };
  auto shared = std::make_shared<Shared>();
  shared->results.resize(path.config.checks.size());
  shared->remaining = path.config.checks.size();
  asio::steady_timer wake(io_);
  shared->wake = &wake;
  const std::string helo = config_.delivery.helo_name.empty() ? config_.relay.hostname : config_.delivery.helo_name;
  RunReport report;
  report.at = wall_now();
  // Every check at once; each is bounded by its own timeout, the wait below by the largest.
  conf::Millis longest{0};
  for (std::size_t k = 0; k < path.config.checks.size(); ++k) {
    const conf::CheckConfig& check = path.config.checks[k];
    longest = std::max(longest, check.timeout);
    asio::co_spawn(io_, run_check(check, helo), [shared, k, label = check.label](std::exception_ptr e, CheckResult r) {
      shared->results[k] =
          e ? CheckResult{label, ProbeStatus::probe_exception, 0, exception_text(e)} : std::move(r);
      if (--shared->remaining == 0 && shared->wake) shared->wake->cancel();
    });
  }
  if (shared->remaining > 0) {
    wake.expires_after(longest + std::chrono::seconds(2));
    co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  shared->wake = nullptr;  // `wake` dies with this frame; late probes only fill results
  for (std::size_t k = 0; k < shared->results.size(); ++k) {
    auto& r = shared->results[k];
    if (r.label.empty()) r = CheckResult{path.config.checks[k].label, ProbeStatus::probe_overrun, 0, {}};
    if (!r.ok()) ++report.failed_checks;
  }
  report.checks = shared->results;
  co_return report;
}

asio::awaitable<void> Monitor::run_path(std::size_t index) {
  PathRuntime& path = *paths_[index];
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  while (!stopped_) {
    if (path.forced && std::chrono::system_clock::now() >= path.forced->until) {
      spdlog::info("path {}: the administrator's force {} ended; checks resume", path.config.name,
                   to_string(path.forced->state));
      path.forced.reset();
    }
    const bool in_window =
        path.forced.has_value() || in_maintenance(path.config.maintenance, std::chrono::system_clock::now());
    if (in_window != path.maintenance) {
      path.maintenance = in_window;
      spdlog::info("path {} {} maintenance", path.config.name, in_window ? "enters" : "leaves");
    }
    if (in_window) {
      // No checks, no alerts. The state holds unless maintenance_state forces one.
      if (path.forced || path.config.maintenance_state != conf::MaintenanceState::hold) {
        const State forced = path.forced ? path.forced->state
                             : path.config.maintenance_state == conf::MaintenanceState::up ? State::up
                                                                                          : State::down;
        if (const auto t = path.tracker.force(forced, RunTracker::Clock::now())) {
          path.since = wall_now();
          ++path.transitions;
          ++counters_.transitions;
          spdlog::info("path {} forced {} -> {} for maintenance", path.config.name, to_string(t->from),
                       to_string(t->to));
        }
      }
    } else {
      RunReport run = co_await run_checks(index);
      if (stopped_) break;
      if (path.forced) continue;  // forced while the checks ran: their verdict no longer counts
      ++counters_.runs;
      const auto checks = static_cast<std::uint32_t>(run.checks.size());
      run.failed = checks > 0 && path.tracker.run_failed(run.failed_checks);
      path.runs.push_back(run);
      while (path.runs.size() > kept_runs) path.runs.pop_front();
      if (spdlog::should_log(spdlog::level::debug)) {
        std::string failed;
        for (const auto& c : run.checks)
          if (!c.ok()) failed += fmt::format("{}{}: {}", failed.empty() ? " (" : "; ", c.label, c.describe());
        spdlog::debug("path {} run {}: {} of {} check(s) failed{}{}", path.config.name, run.failed ? "failed" : "ok",
                      run.failed_checks, checks, failed, failed.empty() ? "" : ")");
      }
      if (!run.failed && path.own_hop && on_hop_check_ok) on_hop_check_ok(*path.own_hop);
      // The window of runs the decision looked at, before the tracker clears its history.
      const std::size_t window = std::min<std::size_t>(
          path.runs.size(), path.tracker.state() == State::up ? path.config.rules.down_runs : path.config.rules.up_runs);
      if (const auto t = path.tracker.record(RunTracker::Clock::now(), run.failed_checks, checks)) {
        path.since = wall_now();
        ++path.transitions;
        ++counters_.transitions;
        AlertEvent event;
        event.path = path.config.name;
        event.hop = path.config.hop;
        for (std::size_t h : path.hops) event.hops.push_back(config_.hops[h].name);
        event.from = t->from;
        event.to = t->to;
        event.at = path.since;
        event.reason = "checks";
        event.runs.assign(path.runs.end() - static_cast<std::ptrdiff_t>(window), path.runs.end());
        if (on_transition) on_transition(event);
      }
    }
    auto delay = path.tracker.next_delay(unit(rng_));
    if (path.forced)  // wake when the force ends
      delay = std::min<decltype(delay)>(
          delay, std::chrono::duration_cast<decltype(delay)>(path.forced->until - std::chrono::system_clock::now()) +
                     std::chrono::milliseconds(1));
    path.next_run = to_wall(RunTracker::Clock::now() + delay);
    publish();
    if (stopped_) break;
    path.timer.expires_after(delay);
    co_await path.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::expected<void, std::string> Monitor::force_path(std::string_view name, std::optional<State> state,
                                                     std::chrono::system_clock::time_point until, std::string reason) {
  const auto it = std::ranges::find_if(paths_, [&](const auto& p) { return p->config.name == name && p->config.hop.empty(); });
  if (it == paths_.end()) return std::unexpected("no health path named \"" + std::string(name) + "\"");
  PathRuntime& path = **it;
  if (!state) {
    if (!path.forced) return std::unexpected("path \"" + std::string(name) + "\" is not forced");
    path.forced.reset();
  } else {
    path.forced = PathRuntime::Forced{*state, until, std::move(reason)};
    if (const auto t = path.tracker.force(*state, RunTracker::Clock::now())) {
      path.since = wall_now();
      ++path.transitions;
      ++counters_.transitions;
    }
    path.maintenance = true;
  }
  path.timer.cancel();  // the path's loop applies it (or runs its checks) now
  publish();
  return {};
}

std::chrono::system_clock::time_point Monitor::forced_until(std::string_view name) const {
  for (const auto& p : paths_)
    if (p->config.name == name && p->config.hop.empty() && p->forced) return p->forced->until;
  return {};
}

std::vector<Monitor::PathForce> Monitor::forces(std::chrono::system_clock::time_point now) const {
  std::vector<PathForce> out;
  for (const auto& p : paths_)
    if (p->config.hop.empty() && p->forced && p->forced->until > now)
      out.push_back({p->config.name, p->forced->state, p->forced->until, p->forced->reason});
  return out;
}

void Monitor::publish() {
  // A stopped monitor was replaced (reload) or is shutting down: its snapshot and files
  // would overwrite the new monitor's, or recreate the files a clean shutdown removed.
  if (stopped_) return;
  auto snapshot = std::make_shared<HealthSnapshot>();
  snapshot->taken_at = wall_now();
  for (const auto& p : paths_) {
    PathStatus status;
    status.name = p->config.name;
    status.hop = p->config.hop;
    status.state = p->tracker.state();
    status.since = p->since;
    status.maintenance = p->maintenance;
    status.next_run = p->next_run;
    status.transitions = p->transitions;
    status.runs.assign(p->runs.begin(), p->runs.end());
    snapshot->paths.push_back(std::move(status));
  }
  for (const auto& hop : config_.hops) {
    HopStatus status{hop.name, hop.paths, true};
    for (const auto& name : hop.paths) {
      const auto it = std::ranges::find(snapshot->paths, name, &PathStatus::name);
      if (it != snapshot->paths.end() && it->state != State::up) status.paths_up = false;
    }
    snapshot->hops.push_back(std::move(status));
  }
  snapshot->counters = counters_;
  box_.store(snapshot);
  write_reports(*snapshot);
}

void Monitor::write_reports(const HealthSnapshot& snapshot) {
  // Small files, written synchronously on the io thread after each run: cheap next to
  // the probes, and the CLI then needs no connection to the daemon.
  const std::vector<EjectionReport> ejected = ejections ? ejections() : std::vector<EjectionReport>{};
  const std::filesystem::path dir(config_.relay.state_dir);
  write_atomically(dir / "health.json", render_json(snapshot, ejected));
  write_atomically(dir / "health.txt", render_text(snapshot, ejected));
}

}  // namespace health
