// policy/decision.hpp — the value a policy check returns.
//
// Owns: Verdict (accept / reject / defer) and Reason, the stable reason code that logs
// and metrics carry and that relay/smtp/reply_table maps to an SMTP reply. Policy never
// formats SMTP replies itself, so every reply still comes from relay's one table.
// Performs no I/O.
#pragma once

#include <cstdint>
#include <string_view>

namespace policy {

enum class Verdict : std::uint8_t { accept, reject, defer };

enum class Reason : std::uint8_t {
  none,                    // accept
  client_not_allowed,      // connection refused by client networks
  relay_denied,            // recipient outside accepted domains from an untrusted client
  untrusted_client,        // listener requires a trusted client (outbound)
  too_many_recipients,
  message_too_large,
  // DNSBL and recipient verification (policy/dnsbl, policy/recipient_verifier).
  dnsbl_listed,            // client address listed in a DNSBL zone whose action is reject
  recipient_unknown,       // recipient not in the static list, or the next hop refused it (callout)
  recipient_unverified,    // callout failed (4xx, timeout, no connection): try again later
  // --- access rules and per-client limits (docs/policy.md#reasons) ---
  too_many_connections,      // connect: max_connections_per_client reached (defer)
  connection_rate_exceeded,  // connect: connection_rate bucket empty (defer)
  helo_invalid,              // HELO/EHLO not an FQDN or valid address literal
  helo_spoofed,              // HELO/EHLO names this relay, an own domain or our address
  sender_denied,             // sender_deny hit, or sender_allow present and missed
  recipient_denied,          // recipient_deny hit, or recipient_allow present and missed
  spoofed_sender,            // own-domain sender from an untrusted, unauthenticated client
  sender_not_allowed,        // outside allowed_sender_domains or a sender_restriction
  message_rate_exceeded,     // MAIL: message_rate bucket empty (defer)
  recipient_rate_exceeded,   // RCPT: recipient_rate bucket empty (defer)
};

constexpr std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::none: return "none";
    case Reason::client_not_allowed: return "client_not_allowed";
    case Reason::relay_denied: return "relay_denied";
    case Reason::untrusted_client: return "untrusted_client";
    case Reason::too_many_recipients: return "too_many_recipients";
    case Reason::message_too_large: return "message_too_large";
    case Reason::dnsbl_listed: return "dnsbl_listed";
    case Reason::recipient_unknown: return "recipient_unknown";
    case Reason::recipient_unverified: return "recipient_unverified";
    case Reason::too_many_connections: return "too_many_connections";
    case Reason::connection_rate_exceeded: return "connection_rate_exceeded";
    case Reason::helo_invalid: return "helo_invalid";
    case Reason::helo_spoofed: return "helo_spoofed";
    case Reason::sender_denied: return "sender_denied";
    case Reason::recipient_denied: return "recipient_denied";
    case Reason::spoofed_sender: return "spoofed_sender";
    case Reason::sender_not_allowed: return "sender_not_allowed";
    case Reason::message_rate_exceeded: return "message_rate_exceeded";
    case Reason::recipient_rate_exceeded: return "recipient_rate_exceeded";
  }
  return "unknown";
}

constexpr std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::accept: return "accept";
    case Verdict::reject: return "reject";
    case Verdict::defer: return "defer";
  }
  return "unknown";
}

struct Decision {
  Verdict verdict = Verdict::accept;
  Reason reason = Reason::none;

  static constexpr Decision accept() noexcept { return {}; }
  static constexpr Decision reject(Reason r) noexcept { return {Verdict::reject, r}; }
  static constexpr Decision defer(Reason r) noexcept { return {Verdict::defer, r}; }
  constexpr bool accepted() const noexcept { return verdict == Verdict::accept; }
};

}  // namespace policy
