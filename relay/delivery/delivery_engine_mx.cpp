// relay/delivery/delivery_engine_mx.cpp — direct delivery to a domain's MX hosts.
//
// Owns: for an MX hop, resolving the recipient domain's MX (RFC 5321 §5.1, RFC 7505 null
// MX), trying its hosts in order on a connection of their own, and the jobs waiting for a
// free slot of the hop. One MX host failing is not the hop's failure (passive health is
// not charged): the next host is tried, and after the last the job is routed again.
// DANE (RFC 7672): with tls = "dane" or "auto" and [dns] dnssec, each host's TLSA
// records are looked up once its MX and address answers proved DNSSEC-validated, and
// routing/dane_policy decides whether the session must match them or the host is skipped.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "relay/client/smtp_client.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/delivery/tls_session_report.hpp"
#include "routing/dane_policy.hpp"
#include "routing/mx_order.hpp"

namespace relay {
namespace asio = boost::asio;

asio::awaitable<void> DeliveryEngine::run_mx(std::size_t hop, Job job) {
  run(co_await deliver_mx(hop, std::move(job)));
  // Jobs that waited for a free slot of this MX hop.
  auto& state = hops_[hop];
  while (!stopped_ && !state.jobs.empty()) {
    Job next = std::move(state.jobs.front());
    state.jobs.pop_front();
    run(co_await deliver_mx(hop, std::move(next)));
  }
  --state.connections;
}

asio::awaitable<DeliveryEngine::Work> DeliveryEngine::deliver_mx(std::size_t hop, Job job) {
  const auto& hop_config = config_.hops[hop];
  const std::string qid = queue::format_queue_id(job.message->queued.id);
  auto records = co_await resolver_->mx_answer(job.domain);
  if (!records) {
    // Resolution failures are temporary (4.4.3): the message waits, it never bounces for it.
    spdlog::warn("qid={} domain={} MX lookup failed: {}", qid, job.domain, records.error().text);
    co_return Work{{}, {defer(std::move(job), reply_line(ReplyId::hop_dns_failure, records.error().text), true)}};
  }
  const bool mx_secure = records->secure;
  const auto plan = routing::order_mx(std::move(records->records), job.domain, [this](std::size_t bound) {
    return std::uniform_int_distribution<std::size_t>(0, bound - 1)(jitter_rng_);
  });
  if (plan.null_mx) {
    // RFC 7505: the domain accepts no mail. A permanent failure, counted and reported
    // like any other (finish_job).
    const auto now = unix_now_ms();
    Finished failed{job.message, {}, {}};
    for (std::size_t position : job.recipients) {
      const auto& rcpt = job.message->queued.recipients[position];
      failed.outcomes.push_back({job.message->queued.id, rcpt.index, queue::RecipientState::failed, now, true,
                                 reply_line(ReplyId::null_mx, job.domain), hop_config.name});
      spdlog::info("qid={} to=<{}> status=failed reply=\"{}\"", qid, rcpt.address, failed.outcomes.back().reply);
    }
    co_return Work{{}, {std::move(failed)}};
  }
  // Bounded: at most this many MX hosts per attempt (Postfix's smtp_mx_address_limit idea).
  constexpr std::size_t max_mx_hosts = 10;
  const std::size_t hosts = std::min(plan.hosts.size(), max_mx_hosts);
  std::string failure = reply_line(ReplyId::hop_dns_failure, job.domain + ": no usable MX host");
  for (std::size_t i = 0; i < hosts; ++i) {
    const std::string& host = plan.hosts[i];
    auto addresses = co_await resolver_->address_answer(host);
    if (!addresses) {
      failure = reply_line(ReplyId::hop_dns_failure, addresses.error().text);
      continue;
    }
    const routing::DaneFacts facts{hop_config.tls, config_.dns.dnssec, mx_secure, addresses->secure};
    routing::TlsaLookup tlsa;
    if (routing::wants_tlsa(facts)) tlsa = co_await resolver_->tlsa(host, hop_config.port);
    const routing::DaneVerdict dane = routing::decide_dane(facts, tlsa);
    if (dane.kind == routing::DaneVerdict::Kind::defer) {
      // Nothing is sent to this host: the next one may be fine, else the job waits.
      failure = reply_line(ReplyId::hop_dane_unmet, host + ": " + dane.why);
      spdlog::info("qid={} domain={} mx={} skipped: {}", qid, job.domain, host, failure);
      report_tls_session(hop, job, skipped_session(job.domain, host, tlsa, dane));  // TLS reporting
      continue;
    }
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& address : addresses->addresses) endpoints.emplace_back(address, hop_config.port);
    ClientSettings settings = client_settings(config_, hop_config, host);
    if (dane.kind == routing::DaneVerdict::Kind::authenticate) {
      settings.dane_records = dane.records;
      settings.dane_names = {job.domain};  // RFC 7672 §3.2.2: the next-hop domain too
    }
    SmtpClient client(io_.get_executor(), std::move(settings));
    Transcript opened = co_await client.connect(endpoints);
    // TLS reporting: what this session's TLS came to (relay/delivery/tls_session_report).
    report_tls_session(hop, job,
                       connected_session(job.domain, host, dane, opened, client.tls_active(),
                                         {client.local_ip(), client.remote_ip()}));
    if (!opened.opened()) {
      if (opened.fault) opened.fault->text = host + ": " + opened.fault->text;
      const Verdict refused = judge(opened, 0, false);
      hop_counters_[hop].count_attempt(refused.failure_class);
      failure = refused.why;
      spdlog::info("qid={} domain={} mx={} failed: {}", qid, job.domain, host, failure);
      co_await client.quit();
      continue;
    }
    if (auto refused = refuse_unsendable(client.capabilities(), hop, job)) {
      co_await client.quit();
      co_return Work{{}, {std::move(*refused)}};
    }
    const std::string address = client.remote();
    const std::string_view tls = client.tls_mode();
    const Transcript transcript = co_await transact(client, hop, job);
    co_await client.quit();
    Job next = job;
    next.tried.push_back(hop);
    const Verdict verdict = judge(transcript, job.recipients.size(), i + 1 < hosts || other_hops_remain(next));
    if (verdict.hop_failed) {
      hop_counters_[hop].count_attempt(verdict.failure_class);  // apply_verdict counts the others
      failure = verdict.why;  // this host failed: the next one gets the job
      continue;
    }
    co_return apply_verdict(hop, std::move(job), verdict, client.capabilities().dsn, address, tls);
  }
  job.last_failure = failure;
  job.last_hop = hop;
  job.last_tls = {};
  job.tried.push_back(hop);
  co_return Work{{std::move(job)}, {}};  // another hop of the route, or defer with the last failure
}

}  // namespace relay
