// relay/client/outcome.cpp — failure scope, severity and action.
//
// Why the hop-stage rules ignore 5xx: a smart host that answers 554 to our banner or EHLO
// is misconfigured or refusing *us*, not the message; Postfix also tries the next server
// in that case. Bouncing would punish the sender for our path's fault, and the queue
// lifetime still bounces a message no hop ever takes.
#include "relay/client/judge.hpp"

namespace relay {

Classification classify_reply(Stage stage, int code) noexcept {
  constexpr Classification hop_transient{Scope::hop, Severity::transient};
  // 421: the server is closing the channel (RFC 5321 §3.8) — a statement about itself.
  if (code == 421 || code < 400 || code > 599) return hop_transient;
  const Severity severity = code >= 500 ? Severity::permanent : Severity::transient;
  switch (stage) {
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
