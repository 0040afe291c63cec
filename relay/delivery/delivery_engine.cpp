// relay/delivery/delivery_engine.cpp — moves queued recipients to next hops.
//
// Owns (this file): the engine's lifecycle (start, stop, retire), taking messages in
// (submit), the one work loop (run: route jobs, finish jobs), routing a job to a hop,
// deferral and parking, finishing a job (the one place outcomes are counted), writing
// outcomes to the queue (held and retried while the queue cannot write) and the sender's
// notices (bounce, delay, relayed). The pools, one transaction's verdict, MX
// delivery and the scanner live in the delivery_engine_*.cpp files beside it.
#include "relay/delivery/delivery_engine.hpp"

#include <filesystem>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "conf/domain_pattern.hpp"
#include "health/hop_health.hpp"
#include "relay/client/judge.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/delivery/notices.hpp"
#include "relay/delivery/park_note.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "queue/stored_body_reader.hpp"
#include "relay/delivery/delivery_tracking.hpp"
#include "relay/delivery/dsn_report.hpp"
#include "relay/smtp/reply_table.hpp"
#include "relay/smtp/esmtp_parameters.hpp"
#include "health/spawn_log.hpp"
#include "relay/throughput_ring.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

// A report without RET=FULL returns the header section; beyond this it is cut (a header
// section that large is no mail a person reads).
constexpr std::size_t header_section_cap = 1024 * 1024;

// What the exported counters make of one outcome; nothing for a recipient handed back
// unattempted (a stop, a reload, no room in memory).
std::optional<RecipientEvent> event_of(const queue::RecipientOutcome& outcome) {
  switch (outcome.state) {
    case queue::RecipientState::delivered: return RecipientEvent::delivered;
    case queue::RecipientState::failed: return RecipientEvent::bounced;
    case queue::RecipientState::expired: return RecipientEvent::expired;
    case queue::RecipientState::pending:
      if (outcome.parked_route != 0) return RecipientEvent::parked;
      if (outcome.attempted) return RecipientEvent::deferred;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

void DeliveryEngine::Work::add(Work more) {
  for (auto& job : more.jobs) jobs.push_back(std::move(job));
  for (auto& done : more.finished) finished.push_back(std::move(done));
}

DeliveryEngine::DeliveryEngine(asio::io_context& io, const conf::Config& config, const routing::RouteTable& routes,
                               queue::MessageQueue& queue)
    : io_(io),
      config_(config),
      routes_(routes),
      queue_(queue),
      selector_(routes),
      wakeup_(routes, config.hops.size()),
      ejection_(config.hops.size(), config.delivery.hop_backoff, config.delivery.hop_backoff * 16, 1),
      no_ejection_(config.hops.size(), config.delivery.hop_backoff, config.delivery.hop_backoff, 1),
      suspension_(config.hops.size()),
      retry_(config.queue),
      hops_(config.hops.size()),
      scan_timer_(io),
      resolver_(std::make_unique<routing::DnsResolver>(io.get_executor(), config.dns)),
      mta_sts_(std::make_unique<routing::MtaStsSource>(
          io.get_executor(), *resolver_, (std::filesystem::path(config.relay.state_dir) / "mta-sts").string(),
          routing::StsFetchOptions{.ca_file = config.mta_sts.ca_file})),
      hop_counters_(config.hops.size()),
      hop_failures_(config.hops.size()) {
  init_limits();
  for (const auto& route : routes.routes()) {
    route_has_mx_.push_back(std::ranges::any_of(route.hops, [&](const routing::RouteHop& h) { return config.hops[h.hop].mx; }));
  }
}

DeliveryEngine::~DeliveryEngine() {
  // Only at exit: a retired engine is destroyed once idle, i.e. with nothing held.
  if (!unwritten_.empty())
    spdlog::warn("delivery outcomes of qid={} never written (the queue stayed unwritable until shutdown): their "
                 "recipients are tried again after the restart, which may deliver a message a second time",
                 fmt::join(unwritten_.queue_ids(), ","));
}

void DeliveryEngine::retire() {
  stop();
  Work work;
  for (auto& hop : hops_) {
    for (auto& job : hop.jobs) work.jobs.push_back(std::move(job));  // stopped: goes back to the queue
    for (auto& job : hop.own) work.jobs.push_back(std::move(job));
    hop.jobs.clear();
    hop.own.clear();
  }
  run(std::move(work));
}

bool DeliveryEngine::idle() const noexcept {
  if (!stopped_ || scanning_ || in_flight_ != 0 || limit_timers_ != 0) return false;
  return std::ranges::all_of(hops_, [](const HopState& h) { return h.connections == 0; });
}

void DeliveryEngine::start() {
  asio::co_spawn(io_, scan(), health::log_escaped("delivery scanner", spdlog::level::critical));
}

void DeliveryEngine::stop() {
  stopped_ = true;
  scan_timer_.cancel();
  for (auto& hop : hops_)
    for (auto* timer : hop.idle) timer->cancel();
  // Work held back by a hop's limits (a rate may mean a wait of minutes) stops waiting.
  for (auto* timer : limit_waits_) timer->cancel();
}

double DeliveryEngine::jitter_unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(jitter_rng_); }

queue::UnixMillis DeliveryEngine::retry_at(queue::UnixMillis now, std::uint32_t attempts) {
  return retry_.next_attempt(now, std::max<std::uint32_t>(attempts, 1), jitter_unit());
}

void DeliveryEngine::submit(queue::QueuedMessage message) {
  const auto now = unix_now_ms();
  auto flight = std::make_shared<MessageInFlight>();
  flight->queued = std::move(message);
  auto& queued = flight->queued;
  flight->tls = tls_request(queued.mail_parameters);
  const std::string qid = queue::format_queue_id(queued.id);
  // A recipient whose outcome is held in memory was claimed again because its lease ended
  // during a long outage: its outcome (maybe "delivered") is still to be written, so it
  // is not delivered again.
  std::erase_if(queued.recipients,
                [&](const queue::QueuedRecipient& r) { return unwritten_.holds(queued.id, r.index); });
  if (queued.recipients.empty()) return;

  if (stopped_ || in_flight_ >= config_.delivery.max_in_flight) {
    // Too much in memory: leave it on disk, the scanner claims it when there is room.
    std::vector<queue::RecipientOutcome> released;
    for (const auto& r : queued.recipients)
      released.push_back({queued.id, r.index, queue::RecipientState::pending, now + 1000, false, {}, {}});
    record(std::move(released));
    return;
  }
  ++in_flight_;

  // Recipients that route differently become separate jobs (one transaction each).
  Work work;
  std::vector<queue::RecipientOutcome> unroutable;
  for (std::size_t i = 0; i < queued.recipients.size(); ++i) {
    const auto& rcpt = queued.recipients[i];
    const routing::Route* route = routes_.match(queued.direction, conf::domain_of(rcpt.address));
    if (!route) {
      spdlog::warn("qid={} to=<{}> no {} route matches; deferred", qid, rcpt.address, conf::to_string(queued.direction));
      unroutable.push_back({queued.id, rcpt.index, queue::RecipientState::pending, retry_at(now, rcpt.attempts + 1),
                            true, reply_line(ReplyId::no_route), {}});
      continue;
    }
    const std::size_t index = routes_.index_of(*route);
    // Direct (MX) delivery goes to the recipient's domain, so such a route splits by domain too.
    const std::string domain = route_has_mx_[index] ? conf::domain_of(rcpt.address) : std::string();
    auto it = std::ranges::find_if(work.jobs, [&](const Job& j) { return j.route == index && j.domain == domain; });
    if (it == work.jobs.end()) {
      work.jobs.push_back(Job{flight, index, {}, {}, {}, domain, false});
      it = std::prev(work.jobs.end());
    }
    it->recipients.push_back(i);
  }
  if (!unroutable.empty()) {
    for (const auto& outcome : unroutable)
      if (const auto event = event_of(outcome)) direction(queued.direction).count(*event, 0);
    record(std::move(unroutable));
  }
  if (work.jobs.empty()) {
    --in_flight_;
    return;
  }
  flight->jobs_open = work.jobs.size();
  run(std::move(work));
}

DeliveryEngine::HealthNow DeliveryEngine::health_now() const {
  health::SnapshotPtr probes = probes_ ? probes_->load() : nullptr;
  const health::View* view = probes.get();
  return HealthNow{std::move(probes), health::HopHealth(ejection_, std::chrono::steady_clock::now(), view, &suspension_)};
}

bool DeliveryEngine::usable_now(std::size_t hop) const { return health_now().view.usable(hop); }

bool DeliveryEngine::other_hops_remain(const Job& job) const {
  const auto plan = selector_.plan(job.route, health_now().view, job.tried);
  return std::ranges::any_of(plan, [](const routing::PlannedHop& h) { return h.usable && !h.excluded; });
}

void DeliveryEngine::run(Work work) {
  // Routing a job never routes another one (a connection or an MX delivery picks its
  // work up later), so one pass over the jobs, then over the finished, drains the work.
  for (auto& job : work.jobs)
    if (auto done = route(std::move(job))) work.finished.push_back(std::move(*done));
  for (auto& done : work.finished) finish_job(std::move(done));
}

std::optional<DeliveryEngine::Finished> DeliveryEngine::route(Job job) {
  if (stopped_) {
    // Retired by a reload or stopping: nothing may start on this engine any more, so the
    // job goes back to the queue, due now, for the current engine (or the next start).
    Finished released{job.message, {}, {}};
    const auto& queued = job.message->queued;
    for (std::size_t position : job.recipients)
      released.outcomes.push_back({queued.id, queued.recipients[position].index, queue::RecipientState::pending,
                                   unix_now_ms(), false, job.last_failure, {}});
    return released;
  }
  const HealthNow health = health_now();  // one instant for this decision
  const auto load = outstanding();
  auto hop = selector_.pick(job.route, health.view, job.tried, load);
  if (!hop) hop = pick_waiving(job, health, load);
  // Not after the forced hop failed in this pass: that would dial it again at once.
  if (!hop && job.tried.empty() && job.last_hop == no_hop &&
      routes_.routes()[job.route].when_all_down == conf::RouteConfig::WhenAllDown::try_anyway) {
    // Envoy's panic mode: every hop is marked down, but health may be wrong (e.g. our
    // own probes fail); the route asked for an attempt rather than a wait.
    static const health::AllUsable everyone;
    hop = selector_.pick(job.route, everyone, job.tried, load);
    job.forced = hop.has_value();
  }
  if (!hop) {
    const bool attempted = !job.tried.empty();
    std::string why = attempted ? job.last_failure : reply_line(ReplyId::no_healthy_hop);
    return defer(std::move(job), std::move(why), attempted);
  }
  auto& state = hops_[*hop];
  if (config_.hops[*hop].mx) {
    // MX hops have no shared pool: every job has its own destination.
    if (state.connections < config_.hops[*hop].max_connections) {
      ++state.connections;
      const std::size_t hop_index = *hop;
      asio::co_spawn(io_, run_mx(hop_index, std::move(job)),
                     health::log_escaped("hop=" + config_.hops[hop_index].name + " MX delivery"));
    } else {
      state.jobs.push_back(std::move(job));
    }
    return std::nullopt;
  }
  if (waives_hop_tls(job, *hop)) {
    // The hop's pooled sessions demand TLS this message waived: it gets a session of its
    // own, in one of the hop's slots.
    state.own.push_back(std::move(job));
  } else {
    state.jobs.push_back(std::move(job));
    if (!state.idle.empty()) {
      auto* timer = state.idle.front();
      state.idle.pop_front();
      timer->cancel();
      return std::nullopt;
    }
  }
  open_sessions(*hop);  // within the hop's concurrency window
  return std::nullopt;
}

std::string DeliveryEngine::hop_address(std::size_t hop) const {
  const auto& h = config_.hops[hop];
  return (h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host) + ":" + std::to_string(h.port);
}

std::string DeliveryEngine::park_note(std::size_t route_index) const {
  const routing::Route& route = routes_.routes()[route_index];
  const HealthNow health = health_now();
  const auto now = std::chrono::steady_clock::now();
  const auto wall_now = unix_now_ms();
  std::vector<HopWait> hops;
  for (const auto& member : route.hops) {
    const std::size_t hop = member.hop;
    HopWait& wait = hops.emplace_back(HopWait{config_.hops[hop].name});
    if (const auto until = ejection_.ejected_until(hop); until && ejection_.ejected(hop, now))
      wait.ejected_until = wall_now + std::chrono::duration_cast<std::chrono::milliseconds>(*until - now).count();
    wait.usable = health.view.usable(hop);
    wait.last_error = hop_failures_[hop].text;
    wait.last_error_at = hop_failures_[hop].at;
  }
  return relay::park_note(route.name, hops);
}

DeliveryEngine::Finished DeliveryEngine::defer(Job job, std::string reply, bool attempted) {
  const auto now = unix_now_ms();
  const auto& queued = job.message->queued;
  // A bounce (null sender) lives for [bounce].lifetime, then is dropped (never bounced).
  const auto lifetime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               queued.sender.empty() ? config_.bounce.lifetime : config_.queue.lifetime)
                               .count();
  const auto backoff_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.delivery.hop_backoff).count();
  const std::string last_hop = job.last_hop == no_hop ? std::string() : config_.hops[job.last_hop].name;
  // Parked without an attempt in this pass, or after a hop failed in it (its queue of
  // waiting work moved off it): that failure is the recipient's attempt, the park its wait.
  const bool tried_here = attempted || (job.last_hop != no_hop && !job.last_failure.empty());
  const std::string note = attempted ? std::string() : park_note(job.route);
  std::vector<queue::RecipientOutcome> outcomes;
  for (std::size_t position : job.recipients) {
    const auto& rcpt = queued.recipients[position];
    queue::RecipientOutcome outcome{queued.id, rcpt.index, queue::RecipientState::pending, 0, tried_here,
                                    tried_here ? job.last_failure : std::string(), tried_here ? last_hop : std::string()};
    if (attempted) outcome.reply = reply;
    outcome.hop_address = tried_here ? job.last_hop_address : std::string();
    if (now >= queued.received_at + lifetime_ms) {
      outcome.state = queue::RecipientState::expired;
      if (outcome.reply.empty()) outcome.reply = reply;  // the report says why it waited
    } else if (!attempted) {
      // No hop of the route is usable: park. RouteWakeup releases the route as soon as one
      // of its hops is usable again, so the wait can be long and a dead hop no longer
      // makes the scanner re-claim the whole backlog every hop_backoff. The wait never
      // passes the expiry or a delay notice still owed, so those are not held back.
      auto until = retry_.parked_until(now, queued.received_at, backoff_ms, jitter_unit());
      until = std::min(until, queued.received_at + lifetime_ms);
      if (config_.queue.delay_notice.count() > 0 && !rcpt.delay_notified &&
          !delay_notified_.contains({queued.id, rcpt.index})) {
        const auto notice_at = queued.received_at + std::chrono::milliseconds(config_.queue.delay_notice).count();
        if (notice_at > now) until = std::min(until, notice_at);
      }
      outcome.next_attempt = std::max(until, now + 1000);
      outcome.parked_route = static_cast<std::uint32_t>(job.route) + 1;
      outcome.parked_on = routes_.routes()[job.route].name;
      outcome.parked_note = note;
    } else {
      // Never wait longer than a hop ejection lasts: the hop may be back by then.
      outcome.next_attempt = std::min(retry_at(now, rcpt.attempts + 1), now + backoff_ms);
    }
    if (outcome.parked_route != 0) {
      spdlog::info("qid={} to=<{}> status={} reply=\"{}\" parked_on={} retry_in={}s", queue::format_queue_id(queued.id),
                   rcpt.address, queue::to_string(outcome.state), reply, routes_.routes()[job.route].name,
                   (outcome.next_attempt - now + 999) / 1000);
    } else {
      spdlog::info("qid={} to=<{}> status={} reply=\"{}\"", queue::format_queue_id(queued.id), rcpt.address,
                   queue::to_string(outcome.state), outcome.reply);
    }
    outcomes.push_back(std::move(outcome));
  }
  return Finished{job.message, std::move(outcomes), {}, tried_here ? job.last_tls : std::nullopt};
}

// A report carries the original's header section, or all of it with RET=FULL: a spooled
// body is read in for it (the one place delivery holds a spooled body in memory). One
// that cannot be read gets its report anyway, without the original.
queue::QueuedMessage DeliveryEngine::with_body_for_notice(const queue::QueuedMessage& queued) const {
  queue::QueuedMessage copy = queued;
  if (!queued.body.spooled() || spool_ == nullptr) return copy;
  auto text = wants_full_return(queued.mail_parameters)
                  ? queue::load_stored_body(spool_, queued.body)
                  : queue::load_stored_header_section(spool_, queued.body, header_section_cap);
  if (!text) {
    spdlog::error("qid={} cannot read the body for the report: {}", queue::format_queue_id(queued.id),
                  text.error().message());
    return copy;
  }
  copy.body = {std::make_shared<const std::string>(std::move(*text)), {}, 0};
  return copy;
}

void DeliveryEngine::finish_job(Finished finished) {
  MessageInFlight& message = *finished.message;
  const auto& queued = message.queued;
  const auto now = unix_now_ms();
  const double since_arrival = static_cast<double>(now - queued.received_at) / 1000.0;
  bool any_delivered = false;
  for (const auto& outcome : finished.outcomes) {
    if (const auto event = event_of(outcome)) direction(queued.direction).count(*event, since_arrival);
    any_delivered = any_delivered || outcome.state == queue::RecipientState::delivered;
  }
  if (any_delivered) {
    ++direction(queued.direction).messages_out;
    if (throughput_) throughput_->add(queued.direction, ThroughputRing::Flow::out, now / 1000);
  }
  track_outcomes(tracking_, queued, finished.outcomes, finished.tls);
  // The queue's history says what protected each attempt made on a session.
  if (finished.tls)
    for (auto& outcome : finished.outcomes)
      if (outcome.attempted && !outcome.hop.empty()) outcome.tls = describe(*finished.tls);
  if (!finished.outcomes.empty()) notify_sender(message, std::move(finished.outcomes), finished.relayed);
  if (--message.jobs_open == 0) --in_flight_;
}

void DeliveryEngine::record(std::vector<queue::RecipientOutcome> outcomes) {
  const auto now = unix_now_ms();
  for (auto& outcome : outcomes) outcome.recorded_at = now;
  asio::co_spawn(io_, write_outcomes(std::move(outcomes)), health::log_escaped("delivery outcome recording"));
}

asio::awaitable<void> DeliveryEngine::write_outcomes(std::vector<queue::RecipientOutcome> outcomes) {
  for (std::uint32_t failures = 0;;) {
    const std::error_code ec = co_await record_outcomes(queue_, outcomes);
    if (!ec || ec == queue::errc::not_found) {
      // not_found: an administrator deleted the message, or bounced or expired the
      // recipient, while it was being delivered; the other outcomes were applied.
      if (ec) spdlog::info("delivery outcome for a recipient an administrator deleted or finished meanwhile dropped");
      if (failures > 0) held_written(outcomes);
      co_return;
    }
    if (!co_await retry_write(outcomes, ++failures, ec)) co_return;
  }
}

asio::awaitable<bool> DeliveryEngine::retry_write(const std::vector<queue::RecipientOutcome>& outcomes,
                                                 std::uint32_t failures, std::error_code ec) {
  const std::string qid = outcomes.empty() ? std::string() : queue::format_queue_id(outcomes.front().id);
  if (ec == queue::errc::closed) {
    // Shutting down: nothing can be written any more; the lease ends with this run.
    spdlog::warn("qid={} delivery outcome not written before shutdown: its recipient(s) are tried again after the "
                 "restart, which may deliver the message a second time", qid);
    if (failures > 1) {
      unwritten_.release(outcomes, false);
      --in_flight_;
    }
    co_return false;
  }
  if (failures == 1) {
    ++in_flight_;  // the held outcome keeps its message's slot until it is written
    if (unwritten_.hold(outcomes))
      spdlog::error("cannot record delivery outcomes: {} (qid={}); holding them, and any other outcome the queue "
                    "refuses, in memory and writing them again until it takes them", ec.message(), qid);
  } else {
    unwritten_.failed_again();
  }
  asio::steady_timer wait(io_, unwritten_retry_delay(failures));
  co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return true;
}

void DeliveryEngine::held_written(const std::vector<queue::RecipientOutcome>& outcomes) {
  if (const auto outage = unwritten_.release(outcomes, true))
    spdlog::info("delivery outcomes recorded again: {} held write(s) done after {} failed attempt(s)", outage->writes,
                 outage->failures);
  --in_flight_;
}

void DeliveryEngine::notify_sender(const MessageInFlight& message, std::vector<queue::RecipientOutcome> outcomes,
                                   const std::vector<std::int32_t>& relayed) {
  const auto& queued = message.queued;
  const auto now = unix_now_ms();
  const std::string qid = queue::format_queue_id(queued.id);
  std::vector<RecipientNews> news;
  for (auto& outcome : outcomes) {
    const auto key = std::pair{queued.id, outcome.index};
    const auto rcpt = std::ranges::find(queued.recipients, outcome.index, &queue::QueuedRecipient::index);
    const std::string parameters = rcpt != queued.recipients.end() ? rcpt->parameters : std::string();
    RecipientNews entry{.index = outcome.index, .action = DsnAction::failed, .reply = outcome.reply, .hop = outcome.hop};
    switch (outcome.state) {
      case queue::RecipientState::failed:
      case queue::RecipientState::expired:
        delay_notified_.erase(key);
        entry.expired = outcome.state == queue::RecipientState::expired;
        news.push_back(std::move(entry));
        break;
      case queue::RecipientState::pending:
        // Sent once: remembered in memory for this run and in the queue across restarts.
        if (config_.queue.delay_notice.count() > 0 && !delay_notified_.contains(key) &&
            !(rcpt != queued.recipients.end() && rcpt->delay_notified) &&
            notify_allows(parameters, DsnAction::delayed) &&
            retry_.delay_notice_due(queued.received_at, now, config_.queue.delay_notice)) {
          delay_notified_.insert(key);
          outcome.delay_notified = true;
          entry.action = DsnAction::delayed;
          news.push_back(std::move(entry));
        }
        break;
      case queue::RecipientState::delivered:
        delay_notified_.erase(key);
        if (std::ranges::find(relayed, outcome.index) != relayed.end()) {
          entry.action = DsnAction::relayed;
          news.push_back(std::move(entry));
        }
        break;
    }
  }
  std::uniform_int_distribution<std::uint64_t> random;
  SenderNotice notice =
      news.empty() ? SenderNotice{}
                   : sender_notice(config_, with_body_for_notice(queued), news, now,
                                   fmt::format("{:016x}{:08x}", random(jitter_rng_), static_cast<std::uint32_t>(queued.id)));
  if (notice.unreported_failures > 0) {
    spdlog::warn("qid={} null-sender message undeliverable to {} recipient(s); dropped without a bounce", qid,
                 notice.unreported_failures);
    track_drop(tracking_, queued, "null sender: no notice for a failure");
  }
  if (!notice.message) {
    record(std::move(outcomes));
    return;
  }
  const std::string_view kind = notice.action == DsnAction::failed    ? "bounce"
                                : notice.action == DsnAction::delayed ? "delay"
                                                                      : "relayed";
  spdlog::info("qid={} {} notice to <{}> for {} recipient(s) direction={}", qid, kind, queued.sender,
               notice.recipients, conf::to_string(notice.message->direction));
  track_notice(tracking_, queued, kind, notice.recipients);
  asio::co_spawn(io_, commit_bounce(std::move(*notice.message), std::move(outcomes)), health::log_escaped("bounce commit"));
}

asio::awaitable<void> DeliveryEngine::commit_bounce(queue::NewMessage bounce, std::vector<queue::RecipientOutcome> outcomes) {
  // The report and the outcomes it reports commit in one transaction: a crash repeats
  // both, never loses the notice. A recipient an administrator bounced or expired while
  // this delivery ran keeps that outcome, whose report went out with the command: then
  // the queue drops this one rather than send the sender a second.
  const auto now = unix_now_ms();
  const auto qid = outcomes.empty() ? std::string() : queue::format_queue_id(outcomes.front().id);
  for (auto& outcome : outcomes) outcome.recorded_at = now;
  // Nothing is written when the transaction fails, so the outcomes and their report are
  // held and written again together (retry_write). A delay notice is only news: its
  // outcomes are recorded without it (a repeat would find them pending and queue a
  // second notice) and a later attempt sends it.
  const bool only_pending = std::ranges::all_of(
      outcomes, [](const queue::RecipientOutcome& o) { return o.state == queue::RecipientState::pending; });
  NoticeResult committed;
  for (std::uint32_t failures = 0;;) {
    committed = co_await record_with_notice(queue_, outcomes, bounce, now + queue::lease_time(config_.queue, local_lease_ms));
    if (committed) {
      if (failures > 0) held_written(outcomes);
      break;
    }
    if (only_pending) {
      spdlog::error("cannot queue a report to the sender of qid={}: {}", qid, committed.error().message());
      for (auto& outcome : outcomes) {
        if (outcome.delay_notified) delay_notified_.erase({outcome.id, outcome.index});
        outcome.delay_notified = false;
      }
      record(std::move(outcomes));
      co_return;
    }
    if (!co_await retry_write(outcomes, ++failures, committed.error())) co_return;
  }
  if (!*committed) {
    spdlog::info("qid={} report to the sender dropped: an administrator finished the recipient(s) meanwhile", qid);
    co_return;
  }
  spdlog::info("qid={} bounce queued from=<> to=<{}>", queue::format_queue_id((*committed)->id),
               (*committed)->recipients.empty() ? "" : (*committed)->recipients.front().address);
  submit(std::move(**committed));
}

}  // namespace relay
