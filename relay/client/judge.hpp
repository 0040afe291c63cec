// relay/client/outcome.hpp — the one classifier of delivery failures (after Postfix smtp_trouble.c).
//
// Owns: what a failed delivery attempt means — for whom (the hop, the whole message,
// one recipient), how lasting (transient, permanent), and so what to do next (try the
// next hop, retry later, bounce). Every delivery failure goes through here; nothing else
// in hubrelay interprets reply codes or connection faults.
// Rules: connection faults, any 4xx/5xx to the banner, EHLO, STARTTLS or AUTH, and a 421
// at any stage are the hop's fault: transient, try another hop. MAIL, DATA and the final
// dot fail the message (4xx transient, 5xx permanent); RCPT fails that recipient. A 552
// to RCPT is read as 452 (RFC 5321 §4.5.3.1.10). A code that is not 4xx/5xx where a
// failure is being classified is a protocol error, charged to the hop.
// "Last hop" is the caller's fact: transient failures become next_hop while other hops
// remain, retry_later when none do. Only hop-scope failures should feed passive health.
// Never: performs I/O, decides retry times (queue's retry schedule does).
// Standards: RFC 5321 §4.2.1, §4.5.3.1.10, §4.5.4.1; RFC 3463.
#pragma once

#include <cstdint>
#include <string_view>

#include "relay/smtp/reply_parser.hpp"

namespace relay {

/// The client-side stage whose reply is being classified.
enum class Stage : std::uint8_t { banner, ehlo, starttls, auth, mail, rcpt, data, dot };

/// A failure without a reply from the server.
enum class FaultKind : std::uint8_t { connect_refused, connect_timeout, io_error, timeout, tls_failed, protocol_error };

enum class Scope : std::uint8_t { hop, message, recipient };
enum class Severity : std::uint8_t { transient, permanent };
enum class Action : std::uint8_t { next_hop, retry_later, bounce };

struct Classification {
  Scope scope = Scope::hop;
  Severity severity = Severity::transient;
  /// True when the hop itself failed: count it against the hop's passive health.
  bool hop_failed() const noexcept { return scope == Scope::hop; }
  friend bool operator==(const Classification&, const Classification&) = default;
};

struct Outcome {
  Scope scope = Scope::hop;
  Severity severity = Severity::transient;
  Action action = Action::retry_later;
  bool hop_failed() const noexcept { return scope == Scope::hop; }
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

/// Scope and severity of a failure reply `code` received at `stage`.
Classification classify_reply(Stage stage, int code) noexcept;

/// Scope and severity of a connection-level fault (always hop, transient).
Classification classify_fault(FaultKind fault) noexcept;

/// Same as classify_reply / classify_fault, for callers holding a parsed Reply.
Classification classify(Stage stage, const Reply& reply) noexcept;
Classification classify(FaultKind fault) noexcept;

/// What to do: permanent → bounce; transient → next_hop while `other_hops_remain`,
/// else retry_later.
Action decide(Classification classification, bool other_hops_remain) noexcept;

/// classify + decide in one call.
Outcome outcome_of_reply(Stage stage, int code, bool other_hops_remain) noexcept;
Outcome outcome_of_fault(FaultKind fault, bool other_hops_remain) noexcept;

std::string_view to_string(Stage stage) noexcept;
std::string_view to_string(FaultKind fault) noexcept;
std::string_view to_string(Scope scope) noexcept;
std::string_view to_string(Severity severity) noexcept;
std::string_view to_string(Action action) noexcept;

}  // namespace relay
