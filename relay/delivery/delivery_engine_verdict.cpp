// relay/delivery/delivery_engine_verdict.cpp — one transaction and its verdict.
//
// Owns: what is refused before sending (a SMTPUTF8 message to a hop without it, a
// message over the hop's SIZE, a REQUIRETLS message on a session that cannot carry it), sending one job's transaction, and apply_verdict — the
// one place a verdict of relay/client/judge becomes outcomes, hop health and hop
// counters, and where the recipients left to retry go (another hop now, or the queue).
#include <spdlog/spdlog.h>

#include "relay/client/smtp_client.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/delivery/delivery_tracking.hpp"
#include "relay/delivery/dsn_report.hpp"
#include "queue/stored_body_reader.hpp"
#include "relay/smtp/esmtp_parameters.hpp"
#include "relay/smtp/require_tls.hpp"

namespace relay {
namespace asio = boost::asio;

std::optional<DeliveryEngine::Finished> DeliveryEngine::refuse_unsendable(const HopCapabilities& capabilities,
                                                                          std::size_t hop, const Job& job) {
  const auto& queued = job.message->queued;
  const std::string& hop_name = config_.hops[hop].name;
  std::string reply;
  if (wants_smtputf8(queued.mail_parameters) && !capabilities.smtputf8) {
    // RFC 6531 §3.2: a SMTPUTF8 message must not be downgraded; without the extension at
    // the hop it is undeliverable there (no IDNA/downgrade, see docs/dsn.md).
    reply = reply_line(ReplyId::hop_no_smtputf8, hop_name);
    for (std::size_t position : job.recipients)
      spdlog::info("qid={} to=<{}> hop={} status=failed reply=\"{}\"", queue::format_queue_id(queued.id),
                   queued.recipients[position].address, hop_name, reply);
  } else if (capabilities.max_size && queued.body.size() > capabilities.max_size) {
    // The hop told us it will refuse this size: a permanent failure without sending.
    reply = reply_line(ReplyId::message_too_big);
  } else {
    return std::nullopt;
  }
  return failed_before_sending(hop, job, reply);
}

DeliveryEngine::Finished DeliveryEngine::failed_before_sending(std::size_t hop, const Job& job,
                                                               const std::string& reply) const {
  const auto& queued = job.message->queued;
  Finished refused{job.message, {}, {}};
  for (std::size_t position : job.recipients)
    refused.outcomes.push_back({queued.id, queued.recipients[position].index, queue::RecipientState::failed, 0, true,
                                reply, config_.hops[hop].name});
  return refused;
}

std::optional<std::string> DeliveryEngine::requiretls_unmet(const SmtpClient& client, std::size_t hop,
                                                            const Job& job) const {
  const auto& queued = job.message->queued;
  const RequireTlsVerdict verdict = check_requiretls(job.message->tls == TlsRequest::required, client.tls_kind(),
                                                     client.capabilities().requiretls);
  if (verdict == RequireTlsVerdict::not_required || verdict == RequireTlsVerdict::send) return std::nullopt;
  std::string reply = reply_line(ReplyId::hop_requiretls_unmet,
                                 fmt::format("{} ({}, tls={})", config_.hops[hop].name, to_string(verdict),
                                             to_string(client.tls_kind())));
  spdlog::info("qid={} hop={} remote={} cannot carry a REQUIRETLS message: {}", queue::format_queue_id(queued.id),
               config_.hops[hop].name, client.remote(), reply);
  return reply;
}

asio::awaitable<Transcript> DeliveryEngine::transact(SmtpClient& client, std::size_t hop, const Job& job) {
  const auto& queued = job.message->queued;
  Envelope envelope{queued.sender, {}, queued.mail_parameters.find("BODY=8BITMIME") != std::string::npos};
  envelope.smtputf8 = wants_smtputf8(queued.mail_parameters);
  envelope.requiretls = job.message->tls == TlsRequest::required;  // checked by requiretls_unmet first
  envelope.mail_parameters = queued.mail_parameters;
  for (std::size_t position : job.recipients) {
    envelope.recipients.push_back(queued.recipients[position].address);
    envelope.recipient_parameters.push_back(queued.recipients[position].parameters);
  }
  // Read in chunks while sending (queue/stored_body_reader): a spooled body is never
  // whole in memory, and each transaction opens it from its first octet.
  auto reader = queue::StoredBodyReader::open(spool_, queued.body);
  if (!reader) {
    Transcript lost;
    lost.rcpt.resize(envelope.recipients.size());
    lost.fault = Fault{FaultKind::io_error, Stage::mail, "cannot read the queued body: " + reader.error().message()};
    co_return lost;
  }
  BodySource body{reader->size(), [&reader](std::span<char> buffer) { return reader->read(buffer); }};
  ++hops_[hop].active;
  Transcript transcript = co_await client.send(envelope, body);
  --hops_[hop].active;
  hop_counters_[hop].count_tls(client.tls_kind());
  co_return transcript;
}

asio::awaitable<DeliveryEngine::Work> DeliveryEngine::deliver(SmtpClient& client, std::size_t hop, Job job,
                                                              bool proves_hop) {
  if (auto unmet = requiretls_unmet(client, hop, job)) {
    // RFC 8689 §4.2.1: another path that can carry it is tried first (the hop is not at
    // fault: no ejection); when none is left the message is not sent anywhere (§5, 5.7.30).
    job.tried.push_back(hop);
    if (!other_hops_remain(job)) co_return Work{{}, {failed_before_sending(hop, job, *unmet)}};
    job.last_failure = std::move(*unmet);
    job.last_hop = hop;
    job.last_hop_address = client.remote();
    co_return Work{{std::move(job)}, {}};
  }
  if (auto refused = refuse_unsendable(client.capabilities(), hop, job)) co_return Work{{}, {std::move(*refused)}};
  const std::string address = client.remote();  // before the transaction: a fault may close the socket
  job.last_tls = client.tls_used();
  const Transcript transcript = co_await transact(client, hop, job);
  Job next = job;
  next.tried.push_back(hop);
  const Verdict verdict = judge(transcript, job.recipients.size(), other_hops_remain(next));
  std::deque<Job> moved;  // work a suspend_on match moved off the hop
  const bool throttled = feedback(hop, transcript, verdict, moved);  // upstream limits: delivery_engine_limits.cpp
  Work work;
  // A throttled job waits in the hop's queue rather than being deferred (see hold_throttled).
  if (!throttled || !hold_throttled(hop, job, verdict))
    work = apply_verdict(hop, std::move(job), verdict, client.capabilities().dsn, address, throttled, proves_hop);
  for (auto& waiting : moved) work.jobs.push_back(std::move(waiting));
  co_return work;
}

DeliveryEngine::Work DeliveryEngine::apply_verdict(std::size_t hop, Job job, const Verdict& verdict, bool hop_has_dsn,
                                                   const std::string& address, bool throttled, bool proves_hop) {
  Work work;
  // Recipients left to retry: another hop now when the verdict says one remains (routing
  // decides which), else back to the queue for the retry schedule. A stopped engine
  // routes them too, which hands them back unattempted.
  const auto retry = [&](Job left, bool next_hop) {
    if (next_hop && !stopped_)
      track_hop_retry(tracking_, left.message->queued, left.recipients, config_.hops[left.last_hop].name,
                      left.last_hop_address, left.last_failure, left.last_tls);
    if (next_hop || stopped_) work.jobs.push_back(std::move(left));
    else {
      std::string why = left.last_failure;
      work.finished.push_back(defer(std::move(left), std::move(why), true));
    }
  };
  if (verdict.hop_failed) {
    job.last_failure = verdict.why;
    job.last_hop = hop;
    job.last_hop_address = address;
    job.tried.push_back(hop);
    if (throttled) hop_counters_[hop].count_attempt(verdict.failure_class);  // a throttle is not a dead hop
    else
      for (auto& waiting : eject(hop, verdict.failure_class, verdict.why, &job)) work.jobs.push_back(std::move(waiting));
    const bool next_hop = !verdict.recipients.empty() && verdict.recipients.front().next_hop;
    retry(std::move(job), next_hop);
    return work;
  }
  if (proves_hop && !config_.hops[hop].mx && ejection_.record_success(hop)) hops_proven_.push_back(hop);  // back: release its routes
  hop_counters_[hop].count_attempt(verdict.failure_class);  // a success unless nothing was delivered

  const auto& queued = job.message->queued;
  const std::string qid = queue::format_queue_id(queued.id);
  const std::string& hop_name = config_.hops[hop].name;
  const auto now = unix_now_ms();
  Finished done{job.message, {}, {}, job.last_tls};
  Job left{job.message, job.route, {}, job.tried, verdict.retry_reply, job.domain, false};
  left.tried.push_back(hop);
  left.last_hop = hop;
  left.last_hop_address = address;
  left.last_tls = job.last_tls;
  bool next_hop = false;
  const std::string tls = log_fields(job.last_tls.value_or(TlsUsed{}));
  for (std::size_t i = 0; i < job.recipients.size(); ++i) {
    const std::size_t position = job.recipients[i];
    const auto& rcpt = queued.recipients[position];
    const RecipientVerdict& judged = verdict.recipients[i];
    switch (judged.fate) {
      case Fate::delivered:
        spdlog::info("qid={} to=<{}> hop={} status=delivered reply=\"{}\" {}", qid, rcpt.address, hop_name,
                     judged.reply, tls);
        // A hop with DSN takes over NOTIFY=SUCCESS; without it we report "relayed" now.
        if (!hop_has_dsn && notify_allows(rcpt.parameters, DsnAction::relayed)) done.relayed.push_back(rcpt.index);
        done.outcomes.push_back({queued.id, rcpt.index, queue::RecipientState::delivered, 0, true, judged.reply, hop_name});
        done.outcomes.back().hop_address = address;
        break;
      case Fate::failed:
        spdlog::info("qid={} to=<{}> hop={} status=failed reply=\"{}\" {}", qid, rcpt.address, hop_name,
                     judged.reply, tls);
        done.outcomes.push_back({queued.id, rcpt.index, queue::RecipientState::failed, now, true, judged.reply, hop_name});
        done.outcomes.back().hop_address = address;
        break;
      case Fate::retry:
        left.recipients.push_back(position);
        next_hop = next_hop || judged.next_hop;
        break;
    }
  }
  if (!left.recipients.empty()) {
    ++job.message->jobs_open;
    retry(std::move(left), next_hop);
  }
  work.finished.push_back(std::move(done));
  return work;
}

}  // namespace relay
