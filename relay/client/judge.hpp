// relay/client/judge.hpp — the one judge of a hop's replies (after Postfix smtp_trouble.c).
//
// Owns: the verdict on what the client saw on one hop (a Transcript): the hop is fine or
// failed (and why), and per recipient delivered / failed / retry (and whether to try the
// next hop now). Beneath it, what one failure means: for whom (the hop, the whole
// message, one recipient), how lasting (transient, permanent), and so what to do next
// (next hop, retry later, bounce). Nothing else in hubrelay interprets reply codes or
// connection faults: the client only reports them, the delivery engine applies the
// verdict in one place, recipient callouts read their RCPT reply through judge_callout.
// Rules: connection faults, any 4xx/5xx to the banner, EHLO, STARTTLS or AUTH, and a 421
// at any stage are the hop's fault: transient, every recipient is retried. MAIL, DATA and
// the final dot fail the message (4xx transient, 5xx permanent; a 552 after DATA is
// permanent); RCPT fails that recipient, a 552 to RCPT read as 452 (RFC 5321
// §4.5.3.1.10). A code that is not 4xx/5xx where a failure is being classified is a
// protocol error, charged to the hop. The reply that decides a recipient is the first
// stage that was not positive (MAIL, its RCPT, DATA), else the final reply after the dot
// (or to BDAT LAST). "Other hops remain" is the caller's fact: a transient failure tries
// the next hop now while one remains, else waits for the retry schedule.
// Never: performs I/O, decides retry times (queue's retry schedule does).
// Standards: RFC 5321 §3.8, §4.2.1, §4.5.3.1.10, §4.5.4.1; RFC 3463.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/recipient_verifier.hpp"
#include "relay/smtp/reply_parser.hpp"
#include "relay/smtp/reply_table.hpp"

namespace relay {

/// The client-side stage whose reply is being classified (connect: before any reply).
enum class Stage : std::uint8_t { banner, ehlo, starttls, auth, mail, rcpt, data, dot, connect };

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

// --- the verdict on one hop --------------------------------------------------------------

/// A failure without a reply from the server, and the stage it happened at.
struct Fault {
  FaultKind kind = FaultKind::io_error;
  Stage stage = Stage::connect;
  std::string text;  // for logs and the recipient's last-reply column
};

/// A reply that refused the session before any transaction (banner, EHLO/HELO, STARTTLS, AUTH).
struct StagedReply {
  Stage stage = Stage::banner;
  Reply reply;
};

/// What the client saw on one hop, in stage order: the session refusal or fault that
/// ended it, or one transaction's replies. A stage that was not reached has no reply.
struct Transcript {
  std::optional<StagedReply> refusal;
  std::optional<Fault> fault;              // the connection broke, timed out or failed TLS
  std::optional<Reply> mail;
  std::vector<std::optional<Reply>> rcpt;  // one per recipient, in order
  std::optional<Reply> data;               // reply to DATA (354 expected); none with BDAT
  std::optional<Reply> final_reply;        // reply after the terminating dot, or to BDAT LAST
  /// The session is open: neither refused nor broken.
  bool opened() const noexcept { return !refusal && !fault; }
};

/// A reply that lets the transaction go on (2xx, or 3xx such as DATA's 354).
bool accepted(const std::optional<Reply>& reply) noexcept;

enum class Fate : std::uint8_t { delivered, failed, retry };

struct RecipientVerdict {
  Fate fate = Fate::retry;
  Stage stage = Stage::connect;  // the stage whose reply (or fault) decided
  std::string reply;             // one line, for logs and the queue's last-reply column
  bool next_hop = false;         // retry: try another hop now (else wait for the retry time)
  friend bool operator==(const RecipientVerdict&, const RecipientVerdict&) = default;
};

struct Verdict {
  bool hop_failed = false;          // the hop itself failed: charge its health, others get the work
  std::string why;                  // the failure text when hop_failed
  /// Why this attempt on the hop failed, the class of hubrelay_hop_failures_total:
  /// connect, tls, io, timeout, protocol (faults), reply_4xx, reply_5xx (refusals). Set
  /// when hop_failed and when no recipient was delivered; empty: the attempt succeeded.
  std::string_view failure_class;
  std::vector<RecipientVerdict> recipients;
  /// The text the recipients left to retry carry: the last transient reply, else why the
  /// transaction did not complete.
  std::string retry_reply;
  bool any_delivered() const noexcept;
};

/// The verdict on `transcript` for a transaction of `recipients` recipients. A hop
/// failure (fault, session refusal, 421 anywhere) retries every recipient; otherwise each
/// recipient is judged by its decisive reply. `other_hops_remain`: the route (or MX list)
/// has another hop to try now.
Verdict judge(const Transcript& transcript, std::size_t recipients, bool other_hops_remain);

/// One recipient's fate from the decisive reply `reply` at `stage` (positive: delivered).
RecipientVerdict judge_reply(Stage stage, const Reply& reply, bool other_hops_remain);

/// A recipient callout (MAIL, RCPT, RSET: no DATA) judged like a delivery's RCPT: accepted
/// → valid; failed for good → unknown; anything else (a fault, a refused session or MAIL,
/// a transient reply, a 552 read as 452) → failed, which says nothing about the mailbox.
policy::CalloutResult judge_callout(const Transcript& transcript);

/// A reply from the one table as one line without its CRLF, for the last-reply column.
std::string reply_line(ReplyId id, std::string_view detail = {});

/// The last-reply text of a fault: the reply table's hop_* reply with the fault's text.
std::string fault_reply(const Fault& fault);

std::string_view to_string(Stage stage) noexcept;
std::string_view to_string(FaultKind fault) noexcept;
std::string_view to_string(Scope scope) noexcept;
std::string_view to_string(Severity severity) noexcept;
std::string_view to_string(Action action) noexcept;
std::string_view to_string(Fate fate) noexcept;

}  // namespace relay
