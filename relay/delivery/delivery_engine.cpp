// relay/delivery/delivery_engine.cpp — moves queued recipients to next hops.
#include "relay/delivery/delivery_engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "conf/domain_pattern.hpp"
#include "health/hop_health.hpp"
#include "relay/client/judge.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/smtp/reply_table.hpp"
#include "relay/delivery/dsn_report.hpp"
#include "relay/smtp/esmtp_parameters.hpp"
#include "relay/client/smtp_client.hpp"
#include "routing/mx_order.hpp"
#include "relay/throughput_ring.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

// A claimed or fresh message is leased this long; recovery on restart clears leases.
constexpr queue::UnixMillis lease_ms = 60 * 60 * 1000;
constexpr std::size_t claim_batch = 256;
constexpr auto scan_interval = std::chrono::seconds(1);

bool positive(const std::optional<Reply>& reply) { return reply && reply->code >= 200 && reply->code < 400; }

std::string reply_text(const Reply& reply) { return reply.to_string(); }

// A reply from the one table, without its CRLF, for the queue's last-reply column.
std::string synthetic(ReplyId id, std::string_view detail = {}) {
  std::string text = format_reply(id, detail);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The failure class label of hubrelay_hop_failures_total.
const char* fault_class(FaultKind kind) {
  switch (kind) {
    case FaultKind::connect_refused:
    case FaultKind::connect_timeout: return "connect";
    case FaultKind::io_error: return "io";
    case FaultKind::timeout: return "timeout";
    case FaultKind::tls_failed: return "tls";
    case FaultKind::protocol_error: return "protocol";
  }
  return "io";
}

ReplyId reply_for_fault(FaultKind kind) {
  switch (kind) {
    case FaultKind::connect_refused:
    case FaultKind::connect_timeout: return ReplyId::hop_connect_failed;
    case FaultKind::io_error: return ReplyId::hop_connection_lost;
    case FaultKind::timeout: return ReplyId::hop_timeout;
    case FaultKind::tls_failed: return ReplyId::hop_tls_failed;
    case FaultKind::protocol_error: return ReplyId::hop_protocol_error;
  }
  return ReplyId::hop_connection_lost;
}

}  // namespace

struct DeliveryEngine::MessageInFlight {
  queue::QueuedMessage queued;
  std::size_t jobs_open = 0;
};

DeliveryEngine::DeliveryEngine(asio::io_context& io, const conf::Config& config, const routing::RouteTable& routes,
                               queue::MessageQueue& queue)
    : io_(io),
      config_(config),
      routes_(routes),
      queue_(queue),
      selector_(routes),
      wakeup_(routes, config.hops.size()),
      ejection_(config.hops.size(), config.delivery.hop_backoff, config.delivery.hop_backoff * 16, 1),
      retry_(config.queue),
      hops_(config.hops.size()),
      scan_timer_(io),
      resolver_(std::make_unique<routing::DnsResolver>(io.get_executor(), config.dns)),
      hop_counters_(config.hops.size()) {
  for (const auto& route : routes.routes()) {
    route_has_mx_.push_back(std::ranges::any_of(route.hops, [&](const routing::RouteHop& h) { return config.hops[h.hop].mx; }));
  }
}

bool DeliveryEngine::hop_ejected(std::size_t hop) const noexcept {
  return ejection_.ejected(hop, std::chrono::steady_clock::now());
}

DeliveryEngine::~DeliveryEngine() = default;

void DeliveryEngine::retire() {
  stop();
  for (auto& hop : hops_) {
    auto waiting = std::move(hop.jobs);
    hop.jobs.clear();
    for (auto& job : waiting) dispatch(std::move(job));  // stopped: goes back to the queue
  }
}

bool DeliveryEngine::idle() const noexcept {
  if (!stopped_ || scanning_ || in_flight_ != 0) return false;
  return std::ranges::all_of(hops_, [](const HopState& h) { return h.connections == 0; });
}

void DeliveryEngine::start() {
  asio::co_spawn(io_, scan(), [](std::exception_ptr e) {
    if (e) spdlog::critical("delivery scanner stopped by an exception");
  });
}

void DeliveryEngine::stop() {
  stopped_ = true;
  scan_timer_.cancel();
  for (auto& hop : hops_)
    for (auto* timer : hop.idle) timer->cancel();
}

double DeliveryEngine::jitter_unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(jitter_rng_); }

queue::UnixMillis DeliveryEngine::retry_at(queue::UnixMillis now, std::uint32_t attempts) {
  return retry_.next_attempt(now, std::max<std::uint32_t>(attempts, 1), jitter_unit());
}

void DeliveryEngine::submit(queue::QueuedMessage message) {
  const auto now = unix_now_ms();
  auto flight = std::make_shared<MessageInFlight>();
  flight->queued = std::move(message);
  const auto& queued = flight->queued;
  const std::string qid = queue::format_queue_id(queued.id);

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
  std::vector<Job> jobs;
  std::vector<queue::RecipientOutcome> unroutable;
  for (std::size_t i = 0; i < queued.recipients.size(); ++i) {
    const auto& rcpt = queued.recipients[i];
    const routing::Route* route = routes_.match(queued.direction, conf::domain_of(rcpt.address));
    if (!route) {
      spdlog::warn("qid={} to=<{}> no {} route matches; deferred", qid, rcpt.address, conf::to_string(queued.direction));
      unroutable.push_back({queued.id, rcpt.index, queue::RecipientState::pending, retry_at(now, rcpt.attempts + 1),
                            true, synthetic(ReplyId::no_route), {}});
      continue;
    }
    const std::size_t index = routes_.index_of(*route);
    // Direct (MX) delivery goes to the recipient's domain, so such a route splits by domain too.
    const std::string domain = route_has_mx_[index] ? conf::domain_of(rcpt.address) : std::string();
    auto it = std::ranges::find_if(jobs, [&](const Job& j) { return j.route == index && j.domain == domain; });
    if (it == jobs.end()) {
      jobs.push_back(Job{flight, index, {}, {}, {}, domain, false});
      it = std::prev(jobs.end());
    }
    it->recipients.push_back(i);
  }
  if (!unroutable.empty()) record(std::move(unroutable));
  if (jobs.empty()) {
    --in_flight_;
    return;
  }
  flight->jobs_open = jobs.size();
  for (auto& job : jobs) dispatch(std::move(job));
}

DeliveryEngine::HealthNow DeliveryEngine::health_now() const {
  health::SnapshotPtr probes = probes_ ? probes_->load() : nullptr;
  const health::View* view = probes.get();
  return HealthNow{std::move(probes), health::HopHealth(ejection_, std::chrono::steady_clock::now(), view)};
}

bool DeliveryEngine::usable_now(std::size_t hop) const { return health_now().view.usable(hop); }

void DeliveryEngine::dispatch(Job job) {
  if (stopped_) {
    // Retired by a reload or stopping: nothing may start on this engine any more, so the
    // job goes back to the queue, due now, for the current engine (or the next start).
    std::vector<queue::RecipientOutcome> released;
    const auto& queued = job.message->queued;
    for (std::size_t position : job.recipients)
      released.push_back({queued.id, queued.recipients[position].index, queue::RecipientState::pending,
                          unix_now_ms(), false, job.last_failure, {}});
    finish_job(job, std::move(released));
    return;
  }
  const HealthNow health = health_now();  // one instant for this decision
  const auto load = outstanding();
  auto hop = selector_.pick(job.route, health.view, job.tried, load);
  if (!hop && job.tried.empty() &&
      routes_.routes()[job.route].when_all_down == conf::RouteConfig::WhenAllDown::try_anyway) {
    // Envoy's panic mode: every hop is marked down, but health may be wrong (e.g. our
    // own probes fail); the route asked for an attempt rather than a wait.
    static const health::AllUsable everyone;
    hop = selector_.pick(job.route, everyone, job.tried, load);
    job.forced = hop.has_value();
  }
  if (!hop) {
    const bool attempted = !job.tried.empty();
    std::string why = attempted ? job.last_failure : synthetic(ReplyId::no_healthy_hop);
    defer(std::move(job), std::move(why), attempted);
    return;
  }
  auto& state = hops_[*hop];
  if (config_.hops[*hop].mx) {
    // MX hops have no shared pool: every job has its own destination.
    if (state.connections < config_.hops[*hop].max_connections) {
      ++state.connections;
      const std::size_t hop_index = *hop;
      asio::co_spawn(io_, run_mx(hop_index, std::move(job)), [this, hop_index](std::exception_ptr e) {
        if (e) spdlog::error("hop={} MX delivery ended by an exception", config_.hops[hop_index].name);
      });
    } else {
      state.jobs.push_back(std::move(job));
    }
    return;
  }
  state.jobs.push_back(std::move(job));
  if (!state.idle.empty()) {
    auto* timer = state.idle.front();
    state.idle.pop_front();
    timer->cancel();
  } else if (state.connections < config_.hops[*hop].max_connections) {
    spawn_connection(*hop);
  }
}

void DeliveryEngine::defer(Job job, std::string reply, bool attempted) {
  const auto now = unix_now_ms();
  const auto& queued = job.message->queued;
  // A bounce (null sender) lives for [bounce].lifetime, then is dropped (never bounced).
  const auto lifetime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               queued.sender.empty() ? config_.bounce.lifetime : config_.queue.lifetime)
                               .count();
  const auto backoff_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.delivery.hop_backoff).count();
  std::vector<queue::RecipientOutcome> outcomes;
  for (std::size_t position : job.recipients) {
    const auto& rcpt = queued.recipients[position];
    queue::RecipientOutcome outcome{queued.id, rcpt.index, queue::RecipientState::pending, 0, attempted, reply, {}};
    if (now >= queued.received_at + lifetime_ms) {
      outcome.state = queue::RecipientState::expired;
      ++counters_.expired;
      ++direction(queued.direction).expired;
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
      ++counters_.deferred;
      ++direction(queued.direction).deferred;
      ++direction(queued.direction).parked;
    } else {
      // Never wait longer than a hop ejection lasts: the hop may be back by then.
      outcome.next_attempt = std::min(retry_at(now, rcpt.attempts + 1), now + backoff_ms);
      ++counters_.deferred;
      ++direction(queued.direction).deferred;
    }
    if (outcome.parked_route != 0) {
      spdlog::info("qid={} to=<{}> status={} reply=\"{}\" parked_on={} retry_in={}s", queue::format_queue_id(queued.id),
                   rcpt.address, queue::to_string(outcome.state), reply, routes_.routes()[job.route].name,
                   (outcome.next_attempt - now + 999) / 1000);
    } else {
      spdlog::info("qid={} to=<{}> status={} reply=\"{}\"", queue::format_queue_id(queued.id), rcpt.address,
                   queue::to_string(outcome.state), reply);
    }
    outcomes.push_back(std::move(outcome));
  }
  finish_job(job, std::move(outcomes));
}

void DeliveryEngine::finish_job(const Job& job, std::vector<queue::RecipientOutcome> outcomes) {
  if (!outcomes.empty()) notify_sender(*job.message, std::move(outcomes));
  if (--job.message->jobs_open == 0) --in_flight_;
}

void DeliveryEngine::record(std::vector<queue::RecipientOutcome> outcomes) {
  const auto now = unix_now_ms();
  for (auto& outcome : outcomes) outcome.recorded_at = now;
  asio::co_spawn(
      io_,
      [this, outcomes = std::move(outcomes)]() mutable -> asio::awaitable<void> {
        auto ec = co_await record_outcomes(queue_, std::move(outcomes));
        // not_found: an administrator deleted the message while it was being delivered
        // (`hubrelay queue delete`); the other outcomes were applied.
        if (ec == queue::errc::not_found)
          spdlog::info("delivery outcome for a message deleted by an administrator dropped");
        else if (ec)
          spdlog::error("cannot record delivery outcomes: {}; they will be retried after the lease", ec.message());
      },
      asio::detached);
}

void DeliveryEngine::hop_failed(std::size_t hop, const std::string& why) {
  ++counters_.hop_failures;
  ejection_.record_failure(hop, std::chrono::steady_clock::now());
  spdlog::warn("hop={} failed: {}; skipped until it recovers", config_.hops[hop].name, why);
  // Work queued for this hop goes elsewhere now rather than waiting for it.
  auto pending = std::move(hops_[hop].jobs);
  hops_[hop].jobs.clear();
  for (auto& job : pending) dispatch(std::move(job));
}

void DeliveryEngine::spawn_connection(std::size_t hop) {
  ++hops_[hop].connections;
  asio::co_spawn(io_, run_connection(hop), [this, hop](std::exception_ptr e) {
    if (e) spdlog::error("hop={} connection ended by an exception", config_.hops[hop].name);
  });
}

asio::awaitable<void> DeliveryEngine::run_connection(std::size_t hop) {
  const auto& hop_config = config_.hops[hop];
  auto& state = hops_[hop];
  SmtpClient client(io_.get_executor(), client_settings(hop, hop_config.host));
  std::optional<Reply> refusal;
  auto addresses = co_await resolver_->addresses(hop_config.host);
  if (!addresses) {
    --state.connections;
    hop_failed(hop, synthetic(ReplyId::hop_dns_failure, addresses.error().text));
    co_return;
  }
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& address : *addresses) endpoints.emplace_back(address, hop_config.port);
  auto fault = co_await client.connect(endpoints, refusal);
  if (fault || refusal) {
    --state.connections;
    ++hop_counters_[hop].failures[fault ? "connect" : refusal->code >= 500 ? "reply_5xx" : "reply_4xx"];
    hop_failed(hop, fault ? synthetic(reply_for_fault(fault->kind), fault->text) : reply_text(*refusal));
    co_return;
  }
  spdlog::debug("hop={} connected to {}", hop_config.name, client.remote());

  asio::steady_timer idle_timer(io_);
  while (!stopped_ && client.usable() && client.transactions() < hop_config.max_messages_per_connection) {
    if (state.jobs.empty()) {
      idle_timer.expires_after(config_.delivery.idle_timeout);
      state.idle.push_back(&idle_timer);
      co_await idle_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      std::erase(state.idle, &idle_timer);
      if (state.jobs.empty()) break;  // idle timeout or shutdown
    }
    if (!state.jobs.front().forced && !usable_now(hop)) {
      // A path this hop depends on went DOWN (or it was ejected) while work waited on
      // this connection: that work goes to another usable hop now, never to this one.
      // Jobs a try_anyway route forced here stay: they were meant for an unusable hop.
      std::deque<Job> waiting;
      std::swap(waiting, state.jobs);
      for (auto& waiting_job : waiting) {
        if (waiting_job.forced) {
          state.jobs.push_back(std::move(waiting_job));
          continue;
        }
        waiting_job.tried.push_back(hop);
        if (waiting_job.last_failure.empty()) waiting_job.last_failure = synthetic(ReplyId::no_healthy_hop);
        dispatch(std::move(waiting_job));
      }
      if (state.jobs.empty()) break;
      continue;
    }
    Job job = std::move(state.jobs.front());
    state.jobs.pop_front();
    if (!co_await deliver(client, hop, job)) break;
  }
  co_await client.quit();
  --state.connections;
  // Left because of the per-connection message cap with work still queued: continue it.
  if (!stopped_ && !state.jobs.empty() && state.connections < hop_config.max_connections) spawn_connection(hop);
}

asio::awaitable<bool> DeliveryEngine::deliver(SmtpClient& client, std::size_t hop, Job& job) {
  const auto& queued = job.message->queued;
  const std::string qid = queue::format_queue_id(queued.id);
  const std::string& hop_name = config_.hops[hop].name;
  Envelope envelope{queued.sender, {}, queued.mail_parameters.find("BODY=8BITMIME") != std::string::npos};
  envelope.smtputf8 = wants_smtputf8(queued.mail_parameters);
  envelope.mail_parameters = queued.mail_parameters;
  for (std::size_t position : job.recipients) {
    envelope.recipients.push_back(queued.recipients[position].address);
    envelope.recipient_parameters.push_back(queued.recipients[position].parameters);
  }

  if (envelope.smtputf8 && !client.capabilities().smtputf8) {
    // RFC 6531 §3.2: a SMTPUTF8 message must not be downgraded; without the extension at
    // the hop it is undeliverable there (no IDNA/downgrade, see docs/dsn.md).
    std::vector<queue::RecipientOutcome> outcomes;
    for (std::size_t position : job.recipients) {
      outcomes.push_back({queued.id, queued.recipients[position].index, queue::RecipientState::failed, 0, true,
                          synthetic(ReplyId::hop_no_smtputf8, hop_name), hop_name});
      spdlog::info("qid={} to=<{}> hop={} status=failed reply=\"{}\"", qid, queued.recipients[position].address,
                   hop_name, outcomes.back().reply);
    }
    counters_.failed += outcomes.size();
    direction(queued.direction).bounced += outcomes.size();
    finish_job(job, std::move(outcomes));
    co_return true;
  }

  if (client.capabilities().max_size && queued.body->size() > client.capabilities().max_size) {
    // The hop told us it will refuse this size: a permanent failure without sending.
    std::vector<queue::RecipientOutcome> outcomes;
    for (std::size_t position : job.recipients)
      outcomes.push_back({queued.id, queued.recipients[position].index, queue::RecipientState::failed, 0, true,
                          synthetic(ReplyId::message_too_big), hop_name});
    counters_.failed += outcomes.size();
    direction(queued.direction).bounced += outcomes.size();
    finish_job(job, std::move(outcomes));
    co_return true;
  }

  ++counters_.attempts;
  ++hops_[hop].active;
  ++hop_counters_[hop].attempts;
  const TransactionReplies replies = co_await client.send(envelope, *queued.body);
  --hops_[hop].active;

  if (replies.fault || replies.hop_reply) {
    job.last_failure = replies.fault ? synthetic(reply_for_fault(replies.fault->kind), replies.fault->text)
                                     : reply_text(*replies.hop_reply);
    if (config_.hops[hop].mx) {
      // One MX host failed; the caller tries the domain's next one. Not the MX hop's
      // fault as a whole, so passive health is not charged.
      job.mx_host_failed = true;
      co_return false;
    }
    job.tried.push_back(hop);
    ++hop_counters_[hop].failures[replies.fault ? fault_class(replies.fault->kind)
                                  : replies.hop_reply->code >= 500 ? "reply_5xx" : "reply_4xx"];
    hop_failed(hop, job.last_failure);
    dispatch(std::move(job));
    co_return false;
  }
  if (!config_.hops[hop].mx && ejection_.record_success(hop)) hops_proven_.push_back(hop);  // back: release its routes
  ++hop_counters_[hop].successes;

  const auto now = unix_now_ms();
  bool any_delivered = false;
  std::vector<queue::RecipientOutcome> outcomes;
  Job retry{job.message, job.route, {}, job.tried, {}, job.domain, false};
  retry.tried.push_back(hop);
  for (std::size_t i = 0; i < job.recipients.size(); ++i) {
    const std::size_t position = job.recipients[i];
    const auto& rcpt = queued.recipients[position];
    // The reply that decides this recipient: the first non-positive stage, else the final one.
    Stage stage = Stage::mail;
    const std::optional<Reply>* decisive = &replies.mail;
    if (positive(replies.mail)) {
      stage = Stage::rcpt;
      decisive = &replies.rcpt[i];
      if (positive(replies.rcpt[i])) {
        if (replies.data && replies.data->code != 354) {
          stage = Stage::data;
          decisive = &replies.data;
        } else {
          stage = Stage::dot;
          decisive = &replies.final_reply;
        }
      }
    }
    if (!decisive->has_value()) {
      // A stage was skipped because an earlier one failed for every recipient.
      retry.recipients.push_back(position);
      continue;
    }
    const Reply& reply = **decisive;
    if (positive(*decisive)) {
      ++counters_.delivered;
      ++direction(queued.direction).delivered;
      direction(queued.direction).latency.observe(static_cast<double>(now - queued.received_at) / 1000.0);
      any_delivered = true;
      spdlog::info("qid={} to=<{}> hop={} status=delivered reply=\"{}\"", qid, rcpt.address, hop_name, reply_text(reply));
      // A hop with DSN takes over NOTIFY=SUCCESS; without it we report "relayed" now.
      if (!client.capabilities().dsn && notify_allows(rcpt.parameters, DsnAction::relayed)) {
        relayed_notice_.insert({queued.id, rcpt.index});
      }
      outcomes.push_back({queued.id, rcpt.index, queue::RecipientState::delivered, 0, true, reply_text(reply), hop_name});
      continue;
    }
    const Classification verdict = classify(stage, reply);
    if (verdict.severity == Severity::permanent) {
      ++counters_.failed;
      ++direction(queued.direction).bounced;
      spdlog::info("qid={} to=<{}> hop={} status=failed reply=\"{}\"", qid, rcpt.address, hop_name, reply_text(reply));
      outcomes.push_back({queued.id, rcpt.index, queue::RecipientState::failed, now, true, reply_text(reply), hop_name});
    } else {
      retry.last_failure = reply_text(reply);
      retry.recipients.push_back(position);
    }
  }
  if (any_delivered) {
    ++direction(queued.direction).messages_out;
    if (throughput_) throughput_->add(queued.direction, ThroughputRing::Flow::out, now / 1000);
  }
  if (!retry.recipients.empty()) {
    // Transient refusals are tried on another usable hop in this same pass.
    ++job.message->jobs_open;
    if (retry.last_failure.empty()) retry.last_failure = synthetic(ReplyId::hop_protocol_error, "transaction not completed");
    dispatch(std::move(retry));
  }
  finish_job(job, std::move(outcomes));
  co_return client.usable();
}

asio::awaitable<void> DeliveryEngine::scan() {
  scanning_ = true;
  // This engine's routes may differ from those the recipients were parked on (a reload):
  // every parked recipient gets one look under the new configuration.
  co_await release_route(0, false);
  while (!stopped_) {
    co_await release_woken_routes();
    std::size_t claimed = 0;
    const std::size_t room = config_.delivery.max_in_flight > in_flight_ ? config_.delivery.max_in_flight - in_flight_ : 0;
    if (room > 0) {
      const auto now = unix_now_ms();
      auto result = co_await claim_due(queue_, now, now + lease_ms, std::min(room, claim_batch));
      if (!result) {
        spdlog::error("queue scan failed: {}", result.error().message());
      } else {
        claimed = result->size();
        for (auto& message : *result) submit(std::move(message));
      }
    }
    if (claimed == claim_batch) continue;  // more are due: keep going
    scan_timer_.expires_after(scan_interval);
    co_await scan_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  scanning_ = false;
}


asio::awaitable<void> DeliveryEngine::release_woken_routes() {
  // A hop whose path came UP, or that a delivery or its own check proved alive, releases
  // everything parked on its routes. A hop whose passive ejection merely ran out has
  // proven nothing: it gets a few parked recipients as a trial (the circuit breaker's
  // half-open state), and the rest follow once one of them gets through. Otherwise every
  // ejection end of a dead hop would claim and re-park the whole backlog.
  std::vector<std::size_t> full = std::exchange(hops_proven_, {});
  std::vector<std::size_t> trial;
  for (std::size_t hop : wakeup_.observe(health_now().view))
    (ejection_.ejected_until(hop) ? trial : full).push_back(hop);
  const std::vector<std::size_t> full_routes = wakeup_.routes_of(full);
  for (std::size_t route : full_routes) co_await release_route(static_cast<std::uint32_t>(route) + 1, false);
  for (std::size_t route : wakeup_.routes_of(trial))
    if (!std::ranges::binary_search(full_routes, route))
      co_await release_route(static_cast<std::uint32_t>(route) + 1, true);
}

asio::awaitable<void> DeliveryEngine::release_route(std::uint32_t route_tag, bool trial) {
  // Small rounds, each its own queue transaction, so commits from sessions interleave with
  // a release of a large backlog. Bounded: anything left waits its parked time.
  constexpr std::size_t batch = 1000;
  constexpr std::size_t trial_size = 10;
  constexpr std::size_t max_rounds = 10'000;
  std::size_t total = 0;
  for (std::size_t round = 0; round < max_rounds && !stopped_; ++round) {
    const std::size_t limit = trial ? trial_size : batch;
    auto released = co_await release_parked(queue_, route_tag, unix_now_ms(), limit);
    if (!released) {
      spdlog::error("cannot release parked recipients: {}; they wait for their retry time", released.error().message());
      break;
    }
    total += *released;
    if (trial || *released < limit) break;
  }
  if (total == 0) co_return;
  if (route_tag == 0) {
    spdlog::info("released {} parked recipients for the current configuration", total);
    co_return;
  }
  const routing::Route& route = routes_.routes()[route_tag - 1];
  direction(route.direction).released += total;
  if (trial) {
    spdlog::info("route={} has a hop whose ejection ended; released {} parked recipients as a trial", route.name, total);
  } else {
    spdlog::info("route={} has a usable hop again; released {} parked recipients", route.name, total);
  }
}

// --- routing and delivery additions (issue 4) ---------------------------------------------

ClientSettings DeliveryEngine::client_settings(std::size_t hop, const std::string& server_name) const {
  const auto& h = config_.hops[hop];
  ClientSettings settings{config_.delivery.helo_name.empty() ? config_.relay.hostname : config_.delivery.helo_name,
                          h.connect_timeout.count() > 0 ? h.connect_timeout : config_.delivery.connect_timeout,
                          h.command_timeout.count() > 0 ? h.command_timeout : config_.delivery.command_timeout,
                          config_.delivery.data_timeout};
  settings.tls = h.tls;
  settings.tls_server_name = server_name;
  settings.tls_ca_file = h.tls_ca_file;
  settings.tls_cert_file = h.tls_cert_file;
  settings.tls_key_file = h.tls_key_file;
  settings.auth_user = h.auth_user;
  settings.auth_password = h.auth_password;
  settings.source_address = h.source_address;
  return settings;
}

std::vector<std::uint32_t> DeliveryEngine::outstanding() const {
  std::vector<std::uint32_t> load(hops_.size());
  for (std::size_t i = 0; i < hops_.size(); ++i)
    load[i] = static_cast<std::uint32_t>(hops_[i].jobs.size()) + hops_[i].active;
  return load;
}

asio::awaitable<void> DeliveryEngine::run_mx(std::size_t hop, Job job) {
  co_await deliver_mx(hop, job);
  // Jobs that waited for a free slot of this MX hop.
  auto& state = hops_[hop];
  while (!stopped_ && !state.jobs.empty()) {
    Job next = std::move(state.jobs.front());
    state.jobs.pop_front();
    co_await deliver_mx(hop, next);
  }
  --state.connections;
}

asio::awaitable<void> DeliveryEngine::deliver_mx(std::size_t hop, Job& job) {
  const auto& hop_config = config_.hops[hop];
  const std::string qid = queue::format_queue_id(job.message->queued.id);
  auto records = co_await resolver_->mx(job.domain);
  if (!records) {
    // Resolution failures are temporary (4.4.3): the message waits, it never bounces for it.
    spdlog::warn("qid={} domain={} MX lookup failed: {}", qid, job.domain, records.error().text);
    defer(std::move(job), synthetic(ReplyId::hop_dns_failure, records.error().text), true);
    co_return;
  }
  const auto plan = routing::order_mx(std::move(*records), job.domain, [this](std::size_t bound) {
    return std::uniform_int_distribution<std::size_t>(0, bound - 1)(jitter_rng_);
  });
  if (plan.null_mx) {
    const auto now = unix_now_ms();
    std::vector<queue::RecipientOutcome> outcomes;
    for (std::size_t position : job.recipients) {
      const auto& rcpt = job.message->queued.recipients[position];
      outcomes.push_back({job.message->queued.id, rcpt.index, queue::RecipientState::failed, now, true,
                          synthetic(ReplyId::null_mx, job.domain), hop_config.name});
      spdlog::info("qid={} to=<{}> status=failed reply=\"{}\"", qid, rcpt.address, outcomes.back().reply);
    }
    counters_.failed += outcomes.size();
    finish_job(job, std::move(outcomes));
    co_return;
  }
  // Bounded: at most this many MX hosts per attempt (Postfix's smtp_mx_address_limit idea).
  constexpr std::size_t max_mx_hosts = 10;
  std::string failure = synthetic(ReplyId::hop_dns_failure, job.domain + ": no usable MX host");
  for (std::size_t i = 0; i < plan.hosts.size() && i < max_mx_hosts; ++i) {
    const std::string& host = plan.hosts[i];
    auto addresses = co_await resolver_->addresses(host);
    if (!addresses) {
      failure = synthetic(ReplyId::hop_dns_failure, addresses.error().text);
      continue;
    }
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& address : *addresses) endpoints.emplace_back(address, hop_config.port);
    SmtpClient client(io_.get_executor(), client_settings(hop, host));
    std::optional<Reply> refusal;
    auto fault = co_await client.connect(endpoints, refusal);
    if (fault || refusal) {
      failure = fault ? synthetic(reply_for_fault(fault->kind), host + ": " + fault->text) : reply_text(*refusal);
      spdlog::info("qid={} domain={} mx={} failed: {}", qid, job.domain, host, failure);
      co_await client.quit();
      continue;
    }
    job.mx_host_failed = false;
    co_await deliver(client, hop, job);
    co_await client.quit();
    if (!job.mx_host_failed) co_return;  // the job was recorded (or re-dispatched) by deliver()
    failure = job.last_failure;
  }
  job.last_failure = failure;
  job.tried.push_back(hop);
  dispatch(std::move(job));  // another hop of the route, or defer with the last failure
}

void DeliveryEngine::notify_sender(const MessageInFlight& message, std::vector<queue::RecipientOutcome> outcomes) {
  const auto& queued = message.queued;
  const auto now = unix_now_ms();
  const std::string qid = queue::format_queue_id(queued.id);
  std::vector<DsnRecipient> failed;
  std::vector<DsnRecipient> delayed;
  for (auto& outcome : outcomes) {
    const auto key = std::pair{queued.id, outcome.index};
    const auto rcpt = std::ranges::find(queued.recipients, outcome.index, &queue::QueuedRecipient::index);
    const std::string address = rcpt != queued.recipients.end() ? rcpt->address : std::string();
    const conf::HopConfig* hop = config_.find_hop(outcome.hop);
    const std::string parameters = rcpt != queued.recipients.end() ? rcpt->parameters : std::string();
    DsnRecipient entry{.final_recipient = address,
                       .original_recipient = original_recipient_of(parameters),
                       .action = DsnAction::failed,
                       .status = {},
                       .remote_mta = hop && !hop->mx ? hop->host : std::string(),
                       .diagnostic = outcome.reply,
                       .last_attempt_ms = now};
    switch (outcome.state) {
      case queue::RecipientState::failed:
      case queue::RecipientState::expired:
        delay_notified_.erase(key);
        if (outcome.state == queue::RecipientState::expired && outcome.reply.empty()) entry.status = "4.4.7";
        // RFC 3461 §4.1: NOTIFY=NEVER, or a list without FAILURE, means no bounce.
        if (notify_allows(parameters, DsnAction::failed)) failed.push_back(std::move(entry));
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
          delayed.push_back(std::move(entry));
        }
        break;
      case queue::RecipientState::delivered:
        delay_notified_.erase(key);
        if (relayed_notice_.erase(key) != 0) {
          entry.action = DsnAction::relayed;
          entry.status = "2.0.0";
          failed.push_back(std::move(entry));  // reported with this event's failures, if any
        }
        break;
    }
  }
  std::vector<DsnRecipient> report = std::move(failed);
  // One report per event: failures first; a delay notice only when nothing failed now.
  if (report.empty()) report = std::move(delayed);
  if (report.empty()) {
    record(std::move(outcomes));
    return;
  }
  if (queued.sender.empty()) {
    // RFC 5321 §4.5.5 / RFC 3464 §2: never report on a report (or any null-sender mail).
    if (std::ranges::any_of(report, [](const DsnRecipient& r) { return r.action == DsnAction::failed; })) {
      ++counters_.bounces_dropped;
      spdlog::warn("qid={} null-sender message undeliverable to {} recipient(s); dropped without a bounce",
                   qid, report.size());
    }
    record(std::move(outcomes));
    return;
  }

  const std::string hostname = config_.relay.hostname;
  std::uniform_int_distribution<std::uint64_t> random;
  const std::string token = fmt::format("{:016x}{:08x}", random(jitter_rng_), static_cast<std::uint32_t>(queued.id));
  DsnInput input{.reporting_mta = hostname,
                 .from = config_.bounce.from.empty() ? "MAILER-DAEMON@" + hostname : config_.bounce.from,
                 .to = queued.sender,
                 .envelope_id = envelope_id_of(queued.mail_parameters),
                 .arrival_ms = queued.received_at,
                 .now_ms = now,
                 .recipients = std::move(report),
                 .original = *queued.body,
                 .return_full = wants_full_return(queued.mail_parameters),
                 .text = config_.bounce.text,
                 .boundary = "=_hubrelay_" + token,
                 .message_id = "<dsn." + token + "@" + hostname + ">"};
  queue::NewMessage bounce;
  // Routed like any mail to its recipient: our own domains go inbound (to the HUB
  // servers), everyone else outbound.
  const std::string sender_domain = conf::domain_of(queued.sender);
  bounce.direction = conf::Direction::outbound;
  for (const auto& text : config_.relay.accepted_domains) {
    if (auto pattern = conf::DomainPattern::parse(text); pattern && pattern->matches(sender_domain)) {
      bounce.direction = conf::Direction::inbound;
      break;
    }
  }
  bounce.listener = "bounce";
  bounce.helo = hostname;
  bounce.recipients.push_back(queued.sender);
  bounce.body = build_dsn(input);
  bounce.received_at = now;
  ++counters_.bounces;
  spdlog::info("qid={} {} notice to <{}> for {} recipient(s)", qid,
               input.recipients.front().action == DsnAction::failed    ? "bounce"
               : input.recipients.front().action == DsnAction::delayed ? "delay"
                                                                       : "relayed",
               queued.sender,
               input.recipients.size());
  asio::co_spawn(io_, commit_bounce(std::move(bounce), std::move(outcomes)), [](std::exception_ptr e) {
    if (e) spdlog::error("bounce commit ended by an exception");
  });
}

asio::awaitable<void> DeliveryEngine::commit_bounce(queue::NewMessage bounce, std::vector<queue::RecipientOutcome> outcomes) {
  // The bounce is durable before the failure is recorded: a crash in between repeats
  // the attempt (and maybe the bounce) rather than losing the notice.
  const auto now = unix_now_ms();
  auto committed = co_await commit_message(queue_, std::move(bounce), now + lease_ms);
  if (!committed) spdlog::error("cannot queue a bounce: {}", committed.error().message());
  for (auto& outcome : outcomes) {
    outcome.recorded_at = now;
    if (!committed && outcome.delay_notified) {
      // The notice was never queued: let a later attempt send it.
      outcome.delay_notified = false;
      delay_notified_.erase({outcome.id, outcome.index});
    }
  }
  if (auto ec = co_await record_outcomes(queue_, std::move(outcomes)))
    spdlog::error("cannot record delivery outcomes: {}; they will be retried after the lease", ec.message());
  if (committed) {
    spdlog::info("qid={} bounce queued from=<> to=<{}>", queue::format_queue_id(committed->id),
                 committed->recipients.empty() ? "" : committed->recipients.front().address);
    submit(std::move(*committed));
  }
}

}  // namespace relay
