// relay/delivery/delivery_engine_limits.cpp — the limits an upstream hop sets us.
//
// Owns: applying, per smart-host hop, the concurrency window (relay/delivery/concurrency_window:
// max_connections is its ceiling, a throttling reply shrinks it, deliveries grow it back)
// to its pooled sessions and to the sessions of their own that waived messages get, alike
// (relay/delivery/session_slots decides who gets a free slot),
// the optional max_message_rate and max_connection_rate (relay/delivery/rate_bucket: work is
// held back, never failed or counted as an attempt), and suspend_on (a reply line that
// matches a rule suspends the hop for the rule's duration: health/hop_suspension, read
// by routing through health_now()). What counts as a throttle is relay/client/throttle's.
// A throttle is not a dead hop: it never ejects the hop; the recipients it hit are
// retried (another hop now, else the retry schedule) with the real reply in their history.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "health/report.hpp"
#include "health/spawn_log.hpp"
#include "relay/client/throttle.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"

namespace relay {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// After this many sessions in a row refused by a throttle with no session of the hop
/// open, the work waiting for it stops waiting: another hop, else the retry schedule.
constexpr std::uint32_t refusals_before_giving_up = 5;
/// A hop that refused every session we had waits this long before the next one; a hop
/// that throttled a transaction gets no new transaction for as long (rate limits are
/// counted per second to per minute: one second lets a per-second window pass and is
/// short next to a retry schedule).
constexpr auto refused_pause = std::chrono::seconds(1);
/// Times one job is put back into a throttling hop's queue before it takes the normal
/// retry (another hop, else the retry schedule with the throttle as its attempt).
constexpr std::uint8_t max_throttle_holds = 3;

std::int64_t to_ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

asio::awaitable<void> DeliveryEngine::limit_wait(asio::steady_timer& timer) {
  if (stopped_) co_return;
  limit_waits_.push_back(&timer);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(limit_waits_, &timer);
}

void DeliveryEngine::init_limits() {
  for (std::size_t h = 0; h < hops_.size(); ++h) {
    const auto& hop = config_.hops[h];
    hops_[h].window = ConcurrencyWindow(hop.max_connections, hop.initial_connections);
    hops_[h].message_rate = RateBucket(hop.message_rate.count, hop.message_rate.period);
    hops_[h].connection_rate = RateBucket(hop.connection_rate.count, hop.connection_rate.period);
  }
}

bool DeliveryEngine::take_connection_token(std::size_t hop) {
  const auto wait = hops_[hop].connection_rate.take(Clock::now());
  if (wait == Clock::duration::zero()) return true;
  ++hop_counters_[hop].rate_delayed;
  hop_counters_[hop].rate_delay_ms += static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
  hold_connection(hop, wait);
  return false;
}

void DeliveryEngine::open_sessions(std::size_t hop) {
  HopState& state = hops_[hop];
  // At most one pooled session per call (its queued work is taken once it is open);
  // one session of their own per waiting message. Bounded: each round opens a session or
  // stops (no slot, nothing waiting, over the rate).
  bool pooled_opened = false;
  for (std::uint32_t round = 0; !stopped_ && round <= state.window.limit(); ++round) {
    const HopSessions now{state.connections, state.window.limit(), pooled_opened ? 0 : state.jobs.size(),
                          state.idle.size(), state.own.size()};
    switch (state.slots.next(now)) {
      case NextSession::none: return;
      case NextSession::pooled:
        if (!spawn_connection(hop)) return;
        pooled_opened = true;
        break;
      case NextSession::own: {
        if (!take_connection_token(hop)) return;
        Job job = std::move(state.own.front());
        state.own.pop_front();
        ++state.connections;
        asio::co_spawn(io_, run_waived(hop, std::move(job)),
                       health::log_escaped("hop=" + config_.hops[hop].name + " TLS-Required: No delivery"));
        break;
      }
      case NextSession::close_idle: {
        // Woken without work, the idle session ends; its end opens the waiting one.
        auto* timer = state.idle.front();
        state.idle.pop_front();
        timer->cancel();
        return;
      }
    }
  }
}

void DeliveryEngine::hold_connection(std::size_t hop, Clock::duration wait) {
  HopState& state = hops_[hop];
  if (state.connect_held) return;  // one timer per hop: it opens what is wanted when it fires
  state.connect_held = true;
  ++limit_timers_;
  asio::co_spawn(
      io_,
      [this, hop, wait]() -> asio::awaitable<void> {
        asio::steady_timer timer(io_, wait);
        co_await limit_wait(timer);
        hops_[hop].connect_held = false;
        --limit_timers_;
        open_sessions(hop);
      },
      health::log_escaped("hop=" + config_.hops[hop].name + " held connection"));
}

asio::awaitable<void> DeliveryEngine::pace_message(std::size_t hop) {
  HopState& state = hops_[hop];
  asio::steady_timer timer(io_);
  if (state.paused_until > Clock::now()) {  // a throttle asked us to slow down
    timer.expires_at(state.paused_until);
    co_await limit_wait(timer);
  }
  if (!state.message_rate.enabled()) co_return;
  const auto start = Clock::now();
  bool held = false;
  // Bounded: each wait is at most one token's time, and tokens come back at the rate.
  for (int round = 0; round < 1000 && !stopped_; ++round) {
    const auto wait = state.message_rate.take(Clock::now());
    if (wait == Clock::duration::zero()) break;
    held = true;
    timer.expires_after(wait);
    co_await limit_wait(timer);
  }
  if (!held) co_return;
  ++hop_counters_[hop].rate_delayed;
  hop_counters_[hop].rate_delay_ms += static_cast<std::uint64_t>(to_ms(Clock::now() - start));
}

bool DeliveryEngine::suspend_if_asked(std::size_t hop, const std::string& reply, std::deque<Job>& moved) {
  const auto& hop_config = config_.hops[hop];
  for (const auto& rule : hop_config.suspend_on) {
    if (!std::regex_search(reply, *rule.regex)) continue;
    const auto now = Clock::now();
    const auto until = now + rule.duration;
    const bool began = suspension_.suspend(hop, now, until, reply);
    if (began)
      spdlog::warn("hop={} suspended for {}s: reply \"{}\" matched suspend_on \"{}\" (line {}); until {}",
                   hop_config.name, rule.duration.count(), reply, rule.match, rule.line,
                   health::format_utc(unix_now_ms() + to_ms(until - now)));
    // Its waiting work goes to another hop of its tier, or parks until the suspension ends.
    for (auto& job : std::exchange(hops_[hop].jobs, {})) moved.push_back(dialled(std::move(job), hop, reply));
    for (auto& job : std::exchange(hops_[hop].own, {})) moved.push_back(dialled(std::move(job), hop, reply));
    return true;
  }
  return false;
}

bool DeliveryEngine::feedback(std::size_t hop, const Transcript& transcript, const Verdict& verdict,
                              std::deque<Job>& moved) {
  HopState& state = hops_[hop];
  bool suspended = false;
  if (const auto refusal = refusing_reply(transcript)) suspended = suspend_if_asked(hop, *refusal, moved);
  const auto throttle = throttle_reply(transcript);
  if (!throttle && suspended) return true;  // asked for, so not the hop's health either
  if (throttle) {
    ++hop_counters_[hop].throttled;
    const std::uint32_t others = state.connections > 0 ? state.connections - 1 : 0;
    if (state.window.throttle(Clock::now(), others))
      spdlog::info("hop={} throttled us: \"{}\"; concurrency window now {}", config_.hops[hop].name, *throttle,
                   state.window.limit());
    return true;
  }
  if (verdict.any_delivered() && state.window.success(Clock::now(), state.connections)) {
    spdlog::debug("hop={} concurrency window grew to {}", config_.hops[hop].name, state.window.limit());
    open_sessions(hop);
  }
  return false;
}

bool DeliveryEngine::hold_throttled(std::size_t hop, Job& job, const Verdict& verdict) {
  const bool all_retry = std::ranges::all_of(verdict.recipients, [](const RecipientVerdict& r) { return r.fate == Fate::retry; });
  if (!all_retry || job.throttled >= max_throttle_holds || stopped_ || !usable_now(hop)) return false;
  HopState& state = hops_[hop];
  ++job.throttled;
  hop_counters_[hop].count_attempt(verdict.failure_class.empty() ? "reply_4xx" : verdict.failure_class);
  state.paused_until = std::max(state.paused_until, Clock::now() + refused_pause);
  state.jobs.push_front(std::move(job));
  return true;
}

bool DeliveryEngine::refused_by_limit(std::size_t hop, const Transcript& opened, std::deque<Job>& moved) {
  HopState& state = hops_[hop];
  if (!opened.refusal) return false;
  // A suspension is not a health failure either, whatever the reply's code.
  const bool suspended = suspend_if_asked(hop, opened.refusal->reply.to_string(), moved);
  if (!is_throttle(opened.refusal->reply)) return suspended;
  const std::string reply = opened.refusal->reply.to_string();
  ++hop_counters_[hop].throttled;
  ++state.refusals_in_row;
  // This session is already counted out of state.connections by the caller.
  if (state.window.throttle(Clock::now(), state.connections))
    spdlog::info("hop={} refused a session: \"{}\"; concurrency window now {}", config_.hops[hop].name, reply,
                 state.window.limit());
  if (suspended || state.connections > 0 || state.jobs.empty()) return true;  // the open sessions take the work
  if (state.refusals_in_row >= refusals_before_giving_up) {
    // It refuses every session: the work stops waiting for it (another hop, else the
    // retry schedule), carrying the real reply as its attempt.
    state.refusals_in_row = 0;
    for (auto& job : std::exchange(state.jobs, {})) {
      job = dialled(std::move(job), hop, reply);
      job.tried.push_back(hop);
      moved.push_back(std::move(job));
    }
    return true;
  }
  hold_connection(hop, refused_pause);
  return true;
}

}  // namespace relay
