// relay/client/judge.cpp — the verdict on a hop's replies; failure scope, severity and action.
//
// Why the hop-stage rules ignore 5xx: a smart host that answers 554 to our banner or EHLO
// is misconfigured or refusing *us*, not the message; Postfix also tries the next server
// in that case. Bouncing would punish the sender for our path's fault, and the queue
// lifetime still bounces a message no hop ever takes.
#include "relay/client/judge.hpp"

#include <algorithm>

namespace relay {

Classification classify_reply(Stage stage, int code) noexcept {
  constexpr Classification hop_transient{Scope::hop, Severity::transient};
  // 421: the server is closing the channel (RFC 5321 §3.8) — a statement about itself.
  if (code == 421 || code < 400 || code > 599) return hop_transient;
  const Severity severity = code >= 500 ? Severity::permanent : Severity::transient;
  switch (stage) {
    case Stage::connect:
    case Stage::banner:
    case Stage::ehlo:
    case Stage::starttls:
    case Stage::auth:
      return hop_transient;
    case Stage::mail:
    case Stage::data:
    case Stage::dot:
      return {Scope::message, severity};
    case Stage::rcpt:
      // §4.5.3.1.10: RFC 821 wrongly listed 552 for "too many recipients"; clients
      // SHOULD treat a 552 to RCPT as temporary.
      if (code == 552) return {Scope::recipient, Severity::transient};
      return {Scope::recipient, severity};
  }
  return hop_transient;
}

Classification classify_fault(FaultKind) noexcept { return {Scope::hop, Severity::transient}; }

Classification classify(Stage stage, const Reply& reply) noexcept { return classify_reply(stage, reply.code); }

Classification classify(FaultKind fault) noexcept { return classify_fault(fault); }

Action decide(Classification c, bool other_hops_remain) noexcept {
  if (c.severity == Severity::permanent) return Action::bounce;
  return other_hops_remain ? Action::next_hop : Action::retry_later;
}

Outcome outcome_of_reply(Stage stage, int code, bool other_hops_remain) noexcept {
  const auto c = classify_reply(stage, code);
  return {c.scope, c.severity, decide(c, other_hops_remain)};
}

Outcome outcome_of_fault(FaultKind fault, bool other_hops_remain) noexcept {
  const auto c = classify_fault(fault);
  return {c.scope, c.severity, decide(c, other_hops_remain)};
}

// --- the verdict on one hop --------------------------------------------------------------

namespace {

ReplyId reply_for_fault(FaultKind kind) noexcept {
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

// The label of hubrelay_hop_failures_total for a fault.
std::string_view fault_class(FaultKind kind) noexcept {
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

Verdict hop_failure(std::string why, std::string_view failure_class, Stage stage, std::size_t recipients,
                    bool other_hops_remain) {
  Verdict verdict{true, std::move(why), failure_class, {}, {}};
  verdict.recipients.assign(recipients, RecipientVerdict{Fate::retry, stage, verdict.why, other_hops_remain});
  verdict.retry_reply = verdict.why;
  return verdict;
}

}  // namespace

bool accepted(const std::optional<Reply>& reply) noexcept { return reply && reply->positive(); }

bool Verdict::any_delivered() const noexcept {
  return std::ranges::any_of(recipients, [](const RecipientVerdict& r) { return r.fate == Fate::delivered; });
}

std::string reply_line(ReplyId id, std::string_view detail) {
  std::string text = format_reply(id, detail);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string fault_reply(const Fault& fault) { return reply_line(reply_for_fault(fault.kind), fault.text); }

RecipientVerdict judge_reply(Stage stage, const Reply& reply, bool other_hops_remain) {
  if (reply.positive()) return {Fate::delivered, stage, reply.to_string(), false};
  const Outcome outcome = outcome_of_reply(stage, reply.code, other_hops_remain);
  if (outcome.action == Action::bounce) return {Fate::failed, stage, reply.to_string(), false};
  return {Fate::retry, stage, reply.to_string(), outcome.action == Action::next_hop};
}

Verdict judge(const Transcript& t, std::size_t recipients, bool other_hops_remain) {
  if (t.fault) {
    // A session that never opened counts as a connect failure whatever broke it, except
    // TLS: a failed handshake (or STARTTLS missing where required) is the hop's TLS, and
    // telling it apart is what the operator needs to fix it (certificate, CA, policy).
    const bool opening = t.fault->stage < Stage::mail || t.fault->stage == Stage::connect;
    const bool as_connect = opening && t.fault->kind != FaultKind::tls_failed;
    return hop_failure(fault_reply(*t.fault), as_connect ? "connect" : fault_class(t.fault->kind), t.fault->stage,
                       recipients, other_hops_remain);
  }
  const auto failure_of = [](const Reply& r) -> std::string_view { return r.code >= 500 ? "reply_5xx" : "reply_4xx"; };
  if (t.refusal)
    return hop_failure(t.refusal->reply.to_string(), failure_of(t.refusal->reply), t.refusal->stage, recipients,
                       other_hops_remain);
  // 421 at any stage: the server is closing the channel (RFC 5321 §3.8), the hop's fault.
  const auto closing = [](const std::optional<Reply>& r) { return r && r->code == 421; };
  const std::pair<Stage, const std::optional<Reply>*> stages[] = {
      {Stage::mail, &t.mail}, {Stage::data, &t.data}, {Stage::dot, &t.final_reply}};
  for (const auto& [stage, reply] : stages)
    if (closing(*reply)) return hop_failure((*reply)->to_string(), "reply_4xx", stage, recipients, other_hops_remain);
  for (const auto& reply : t.rcpt)
    if (closing(reply)) return hop_failure(reply->to_string(), "reply_4xx", Stage::rcpt, recipients, other_hops_remain);

  const std::string not_completed = reply_line(ReplyId::hop_protocol_error, "transaction not completed");
  Verdict verdict;
  verdict.recipients.reserve(recipients);
  for (std::size_t i = 0; i < recipients; ++i) {
    // The reply that decides this recipient: the first non-positive stage, else the final one.
    Stage stage = Stage::mail;
    const std::optional<Reply>* decisive = &t.mail;
    const std::optional<Reply>& rcpt = i < t.rcpt.size() ? t.rcpt[i] : std::optional<Reply>{};
    if (accepted(t.mail)) {
      stage = Stage::rcpt;
      decisive = &rcpt;
      if (accepted(rcpt)) {
        if (t.data && t.data->code != 354) {
          stage = Stage::data;
          decisive = &t.data;
        } else {
          stage = Stage::dot;
          decisive = &t.final_reply;
        }
      }
    }
    if (!decisive->has_value()) {
      // A stage was skipped because an earlier one failed for every recipient.
      verdict.recipients.push_back({Fate::retry, stage, not_completed, other_hops_remain});
      continue;
    }
    verdict.recipients.push_back(judge_reply(stage, **decisive, other_hops_remain));
    if (verdict.recipients.back().fate == Fate::retry) verdict.retry_reply = verdict.recipients.back().reply;
  }
  if (verdict.retry_reply.empty()) verdict.retry_reply = not_completed;
  // The transaction failed when no recipient was delivered: counted like a hop failure,
  // by the class of reply that refused it (permanent when any recipient bounced).
  if (!verdict.any_delivered())
    verdict.failure_class =
        std::ranges::any_of(verdict.recipients, [](const RecipientVerdict& r) { return r.fate == Fate::failed; })
            ? "reply_5xx"
            : "reply_4xx";
  return verdict;
}

policy::CalloutResult judge_callout(const Transcript& t) {
  if (!t.opened() || !accepted(t.mail) || t.rcpt.empty() || !t.rcpt.front()) return policy::CalloutResult::failed;
  switch (judge_reply(Stage::rcpt, *t.rcpt.front(), false).fate) {
    case Fate::delivered: return policy::CalloutResult::valid;
    case Fate::failed: return policy::CalloutResult::unknown;
    case Fate::retry: break;
  }
  return policy::CalloutResult::failed;
}

std::string_view to_string(Fate fate) noexcept {
  switch (fate) {
    case Fate::delivered: return "delivered";
    case Fate::failed: return "failed";
    case Fate::retry: return "retry";
  }
  return "unknown";
}

std::string_view to_string(Stage stage) noexcept {
  switch (stage) {
    case Stage::banner: return "banner";
    case Stage::ehlo: return "ehlo";
    case Stage::starttls: return "starttls";
    case Stage::auth: return "auth";
    case Stage::mail: return "mail";
    case Stage::rcpt: return "rcpt";
    case Stage::data: return "data";
    case Stage::dot: return "dot";
    case Stage::connect: return "connect";
  }
  return "unknown";
}

std::string_view to_string(FaultKind fault) noexcept {
  switch (fault) {
    case FaultKind::connect_refused: return "connect_refused";
    case FaultKind::connect_timeout: return "connect_timeout";
    case FaultKind::io_error: return "io_error";
    case FaultKind::timeout: return "timeout";
    case FaultKind::tls_failed: return "tls_failed";
    case FaultKind::protocol_error: return "protocol_error";
  }
  return "unknown";
}

std::string_view to_string(Scope scope) noexcept {
  switch (scope) {
    case Scope::hop: return "hop";
    case Scope::message: return "message";
    case Scope::recipient: return "recipient";
  }
  return "unknown";
}

std::string_view to_string(Severity severity) noexcept {
  return severity == Severity::transient ? "transient" : "permanent";
}

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::next_hop: return "next_hop";
    case Action::retry_later: return "retry_later";
    case Action::bounce: return "bounce";
  }
  return "unknown";
}

}  // namespace relay
