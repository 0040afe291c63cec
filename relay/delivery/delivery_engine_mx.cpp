// relay/delivery/delivery_engine_mx.cpp — direct delivery to a domain's MX hosts.
//
// Owns: for an MX hop, resolving the recipient domain's MX (RFC 5321 §5.1, RFC 7505 null
// MX), trying its hosts in order on a connection of their own, and the jobs waiting for a
// free slot of the hop. One MX host failing is not the hop's failure (passive health is
// not charged): the next host is tried, and after the last the job is routed again.
// DANE (RFC 7672): with tls = "dane" or "auto" and [dns] dnssec, each host's TLSA
// records are looked up once its MX and address answers proved DNSSEC-validated, and
// routing/dane_policy decides whether the session must match them or the host is skipped.
// MTA-STS (RFC 8461): with tls = "mta-sts" or "auto", the recipient domain's policy
// (routing/mta_sts_source, once per attempt) decides per host without DANE whether the
// host may be used and whether its certificate must be verified; DANE wins (RFC 8461 §2).
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "relay/client/smtp_client.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/delivery/tls_session_report.hpp"
#include "routing/dane_policy.hpp"
#include "routing/mta_sts_policy.hpp"
#include "routing/mx_order.hpp"
#include "relay/smtp/require_tls.hpp"

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
  std::optional<TlsUsed> last_tls;  // the session that gave `failure`, if one was opened
  // REQUIRETLS (RFC 8689 §4.2.1): a host that cannot carry the message is left for the
  // next; when every host reached refused it so and none failed in a way that may pass,
  // the message is not sent to the domain at all (§5). "TLS-Required: No" waives DANE and MTA-STS.
  bool may_pass_later = false;
  const bool waived = job.message->tls == TlsRequest::waived;
  static const auto no_sts_policy = std::make_shared<const routing::StsResolution>();
  std::shared_ptr<const routing::StsResolution> sts_policy = no_sts_policy;  // shared by the domain's deliveries
  if (!waived && (hop_config.tls == conf::TlsPolicy::automatic || hop_config.tls == conf::TlsPolicy::mta_sts))
    sts_policy = co_await mta_sts_->policy_for(job.domain);
  for (std::size_t i = 0; i < hosts; ++i) {
    const std::string& host = plan.hosts[i];
    last_tls.reset();
    auto addresses = co_await resolver_->address_answer(host);
    if (!addresses) {
      failure = reply_line(ReplyId::hop_dns_failure, addresses.error().text);
      may_pass_later = true;
      continue;
    }
    const routing::DaneFacts facts{hop_config.tls, config_.dns.dnssec, mx_secure, addresses->secure};
    routing::TlsaLookup tlsa;
    if (!waived && routing::wants_tlsa(facts)) tlsa = co_await resolver_->tlsa(host, hop_config.port);
    const routing::DaneVerdict dane = routing::decide_dane(facts, tlsa);
    if (dane.kind == routing::DaneVerdict::Kind::defer && !waived) {
      // Nothing is sent to this host: the next one may be fine, else the job waits.
      failure = reply_line(ReplyId::hop_dane_unmet, host + ": " + dane.why);
      hop_counters_[hop].count_tls_failed();
      spdlog::info("qid={} domain={} mx={} skipped: {}", qid, job.domain, host, failure);
      report_tls_session(hop, job, skipped_session(job.domain, host, tlsa, dane));  // TLS reporting
      may_pass_later = true;
      continue;
    }
    // RFC 8461 §2: a host DANE authenticates is not subject to MTA-STS.
    // "TLS-Required: No" waives it like DANE (RFC 8689 §5).
    const routing::StsVerdict sts = waived || dane.kind == routing::DaneVerdict::Kind::authenticate
                                        ? routing::StsVerdict{}
                                        : routing::decide_sts(hop_config.tls, *sts_policy, host);
    const routing::StsPolicy* sts_in_force = sts_policy->entry ? &sts_policy->entry->policy : nullptr;
    if (sts.kind == routing::StsVerdict::Kind::skip || sts.kind == routing::StsVerdict::Kind::defer) {
      failure = reply_line(ReplyId::hop_sts_unmet, host + ": " + sts.why);
      spdlog::info("qid={} domain={} mx={} skipped: {} tls_failure={}", qid, job.domain, host, failure,
                   routing::to_string(sts.failure));
      report_tls_session(hop, job, skipped_sts_session(job.domain, host, {sts, sts_in_force}));  // TLS reporting
      may_pass_later = true;
      continue;
    }
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& address : addresses->addresses) endpoints.emplace_back(address, hop_config.port);
    ClientSettings settings = client_settings(config_, hop_config, host);
    if (waived) {
      waive_tls_requirement(settings);
    } else if (dane.kind == routing::DaneVerdict::Kind::authenticate) {
      settings.dane_records = dane.records;
      settings.dane_names = {job.domain};  // RFC 7672 §3.2.2: the next-hop domain too
    } else if (sts.kind == routing::StsVerdict::Kind::verify || sts.kind == routing::StsVerdict::Kind::report) {
      settings.sts = sts.kind == routing::StsVerdict::Kind::verify ? ClientSettings::Sts::verify
                                                                   : ClientSettings::Sts::report;
      settings.sts_ca_file = config_.mta_sts.ca_file;
    }
    SmtpClient client(io_.get_executor(), std::move(settings));
    Transcript opened = co_await client.connect(endpoints);
    // TLS reporting: what this session's TLS came to (relay/delivery/tls_session_report).
    report_tls_session(hop, job,
                       connected_session(job.domain, host, dane, opened, client.tls_active(),
                                         {client.local_ip(), client.remote_ip()},
                                         {sts, sts_in_force, client.sts_failure()}));
    if (!opened.opened()) {
      if (opened.fault) opened.fault->text = host + ": " + opened.fault->text;
      const Verdict refused = judge(opened, 0, false);
      hop_counters_[hop].count_attempt(refused.failure_class);
      if (opened.fault && opened.fault->kind == FaultKind::tls_failed) hop_counters_[hop].count_tls_failed();
      failure = refused.why;
      // Under MTA-STS the RFC 8460 result type goes along, for TLS reporting.
      const routing::TlsFailure sts_failed = client.sts_failure();
      spdlog::info("qid={} domain={} mx={} failed: {}{}{}", qid, job.domain, host, failure,
                   sts_failed == routing::TlsFailure::none ? "" : " tls_failure=", routing::to_string(sts_failed));
      co_await client.quit();
      may_pass_later = true;
      continue;
    }
    if (auto unmet = requiretls_unmet(client, hop, job)) {
      co_await client.quit();
      failure = std::move(*unmet);
      continue;
    }
    if (auto refused = refuse_unsendable(client.capabilities(), hop, job)) {
      co_await client.quit();
      co_return Work{{}, {std::move(*refused)}};
    }
    const std::string address = client.remote();
    if (sts.kind == routing::StsVerdict::Kind::report &&
        (sts.failure != routing::TlsFailure::none || client.tls_kind() != TlsKind::mta_sts)) {
      // Policy mode testing (RFC 8461 §5): delivered anyway; the failure is only reported.
      const auto why = sts.failure != routing::TlsFailure::none ? sts.failure : client.sts_failure();
      spdlog::info("qid={} domain={} mx={} MTA-STS testing: validation failed, delivering anyway tls_failure={}",
                   qid, job.domain, host, routing::to_string(why));
    }
    job.last_tls = client.tls_used();
    const Transcript transcript = co_await transact(client, hop, job);
    co_await client.quit();
    Job next = job;
    next.tried.push_back(hop);
    const Verdict verdict = judge(transcript, job.recipients.size(), i + 1 < hosts || other_hops_remain(next));
    if (verdict.hop_failed) {
      hop_counters_[hop].count_attempt(verdict.failure_class);  // apply_verdict counts the others
      failure = verdict.why;  // this host failed: the next one gets the job
      last_tls = job.last_tls;
      may_pass_later = true;
      continue;
    }
    co_return apply_verdict(hop, std::move(job), verdict, client.capabilities().dsn, address);
  }
  if (!may_pass_later && job.message->tls == TlsRequest::required && hosts > 0)
    co_return Work{{}, {failed_before_sending(hop, job, failure)}};
  job.last_failure = failure;
  job.last_hop = hop;
  job.last_tls = last_tls;
  job.tried.push_back(hop);
  co_return Work{{std::move(job)}, {}};  // another hop of the route, or defer with the last failure
}

}  // namespace relay
