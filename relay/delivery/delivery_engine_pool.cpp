// relay/delivery/delivery_engine_pool.cpp — the delivery engine's connection pools.
//
// Owns: per smart-host hop, opening connections up to the hop's cap (authenticated by the
// host's own TLSA records when its tls policy is "dane" or "auto" and routing/dane_policy
// says so, RFC 7672 §2.2.2), handing queued jobs to idle connections, moving waiting work
// off a hop that became unusable, and charging a hop that failed (passive ejection) so
// its waiting work goes elsewhere.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <set>

#include "relay/client/smtp_client.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "health/report.hpp"
#include "health/spawn_log.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "routing/dane_policy.hpp"

namespace relay {
namespace asio = boost::asio;

std::deque<DeliveryEngine::Job> DeliveryEngine::eject(std::size_t hop, std::string_view failure_class,
                                                      const std::string& why, const Job* in_hand) {
  if (!failure_class.empty()) hop_counters_[hop].count_attempt(failure_class);
  const auto now = std::chrono::steady_clock::now();
  const bool already_ejected = ejection_.ejected(hop, now);
  ejection_.record_failure(hop, now);
  HopFailure& failure = hop_failures_[hop];
  failure.text = why;
  failure.at = unix_now_ms();
  ++failure.count;
  // Work queued for this hop goes elsewhere now rather than waiting for it.
  auto pending = std::move(hops_[hop].jobs);
  hops_[hop].jobs.clear();
  std::size_t recipients = 0;
  std::set<queue::MessageId> messages;
  const auto count = [&](const Job& job) {
    recipients += job.recipients.size();
    messages.insert(job.message->queued.id);
  };
  if (in_hand) count(*in_hand);
  for (const auto& job : pending) count(job);
  // One line per hop event, however much work it hit. Parallel connections to a dead hop
  // fail together; those that find it ejected already and carry no work add nothing.
  const auto level = already_ejected && recipients == 0 ? spdlog::level::debug : spdlog::level::warn;
  const auto until = ejection_.ejected_until(hop);
  const auto left = until ? std::chrono::duration_cast<std::chrono::milliseconds>(*until - now).count() : 0;
  spdlog::log(level, "hop={} failed: {}; {} recipient(s) in {} message(s) affected; skipped until it recovers (ejected until {})",
              config_.hops[hop].name, why, recipients, messages.size(), health::format_utc(failure.at + left));
  return pending;
}

// A job whose connection to `hop` could not be made: that was its attempt on the hop.
DeliveryEngine::Job DeliveryEngine::dialled(Job job, std::size_t hop, const std::string& why) const {
  job.last_failure = why;
  job.last_hop = hop;
  job.last_hop_address = hop_address(hop);
  job.last_tls.reset();
  return job;
}

std::vector<std::uint32_t> DeliveryEngine::outstanding() const {
  std::vector<std::uint32_t> load(hops_.size());
  for (std::size_t i = 0; i < hops_.size(); ++i)
    load[i] = static_cast<std::uint32_t>(hops_[i].jobs.size() + hops_[i].own.size()) + hops_[i].active;
  return load;
}

bool DeliveryEngine::spawn_connection(std::size_t hop) {
  if (!take_connection_token(hop)) return false;  // max_connection_rate: opened later, not refused
  ++hops_[hop].connections;
  asio::co_spawn(io_, run_connection(hop), health::log_escaped("hop=" + config_.hops[hop].name + " connection"));
  return true;
}

asio::awaitable<void> DeliveryEngine::run_connection(std::size_t hop) {
  const auto& hop_config = config_.hops[hop];
  auto& state = hops_[hop];
  // A connection that cannot be opened: the hop failed for the work waiting on it.
  const auto not_opened = [&](std::string_view failure_class, const std::string& why) {
    --state.connections;
    Work work;
    for (auto& job : eject(hop, failure_class, why)) work.jobs.push_back(dialled(std::move(job), hop, why));
    run(std::move(work));
    open_sessions(hop);  // the slot is free: waived messages may be waiting for it
  };
  auto addresses = co_await resolver_->address_answer(hop_config.host);
  if (!addresses) {
    not_opened({}, reply_line(ReplyId::hop_dns_failure, addresses.error().text));
    co_return;
  }
  ClientSettings settings = client_settings(config_, hop_config, hop_config.host);
  // DANE for a smart host with tls = "dane" or "auto": its own TLSA records, as for an
  // MX host (routing/dane_policy).
  const auto facts = routing::smart_host_facts(hop_config.tls, config_.dns.dnssec, addresses->secure);
  routing::TlsaLookup tlsa;
  if (routing::wants_tlsa(facts)) tlsa = co_await resolver_->tlsa(hop_config.host, hop_config.port);
  routing::DaneVerdict dane = routing::decide_dane(facts, tlsa);
  if (dane.kind == routing::DaneVerdict::Kind::defer) {
    hop_counters_[hop].count_tls_failed();
    not_opened("tls", reply_line(ReplyId::hop_dane_unmet, hop_config.host + ": " + dane.why));
    co_return;
  }
  if (dane.kind == routing::DaneVerdict::Kind::authenticate) settings.dane_records = std::move(dane.records);
  SmtpClient client(io_.get_executor(), std::move(settings));
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& address : addresses->addresses) endpoints.emplace_back(address, hop_config.port);
  const Transcript opened = co_await client.connect(endpoints);
  if (!opened.opened()) {
    --state.connections;
    Work work;
    std::deque<Job> moved;  // a throttle is not a dead hop: no ejection (delivery_engine_limits.cpp)
    const bool throttled = refused_by_limit(hop, opened, moved);
    for (auto& job : moved) work.jobs.push_back(std::move(job));
    if (!throttled) {
      const Verdict verdict = judge(opened, 0, false);
      if (opened.fault && opened.fault->kind == FaultKind::tls_failed) hop_counters_[hop].count_tls_failed();
      for (auto& job : eject(hop, verdict.failure_class, verdict.why))
        work.jobs.push_back(dialled(std::move(job), hop, verdict.why));
    }
    run(std::move(work));
    open_sessions(hop);  // for waiting waived messages (after a throttle the window holds no new pooled session)
    co_return;
  }
  spdlog::debug("hop={} connected to {}", hop_config.name, client.remote());
  state.refusals_in_row = 0;

  asio::steady_timer idle_timer(io_);
  // A window that shrank below the open connections closes the extra ones between transactions.
  while (!stopped_ && client.usable() && client.transactions() < hop_config.max_messages_per_connection &&
         state.connections <= state.window.limit()) {
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
      Work work;
      for (auto& waiting_job : waiting) {
        if (waiting_job.forced) {
          state.jobs.push_back(std::move(waiting_job));
          continue;
        }
        waiting_job.tried.push_back(hop);
        if (waiting_job.last_failure.empty()) waiting_job.last_failure = reply_line(ReplyId::no_healthy_hop);
        work.jobs.push_back(std::move(waiting_job));
      }
      run(std::move(work));
      if (state.jobs.empty()) break;
      continue;
    }
    co_await pace_message(hop);  // max_message_rate: held back, not failed
    if (stopped_ || state.jobs.empty()) continue;  // stopped, or moved off while held (ejection, suspension)
    Job job = std::move(state.jobs.front());
    state.jobs.pop_front();
    run(co_await deliver(client, hop, std::move(job)));
    if (!client.usable()) break;
  }
  co_await client.quit();
  --state.connections;
  // Left because of the per-connection message cap with work still queued, or closed
  // idle for a waived message: its slot goes on (relay/delivery/session_slots).
  open_sessions(hop);
}

}  // namespace relay
