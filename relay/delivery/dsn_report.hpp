// relay/delivery/dsn_report.hpp — RFC 3464 delivery status notifications (bounces), as text.
//
// Owns: building the complete bounce message — RFC 5322 headers, a multipart/report
// (RFC 6522) with report-type=delivery-status: a human-readable text/plain part, the
// message/delivery-status part (per-message fields, then one block of per-recipient
// fields per failed, delayed or relayed recipient) and the original message's headers as
// text/rfc822-headers, or the whole original as message/rfc822 when RET=FULL.
// Also: pure helpers that read RET/ENVID from stored MAIL parameters and NOTIFY from
// RCPT parameters, so the caller can honour them however those are stored.
// Never: performs I/O, reads a clock or a random source — times, boundary and
// Message-ID come in the input, so a test can compare whole outputs.
// Errors: none; inputs are trusted (they come from our own queue).
// Standards: RFC 3464, RFC 3461 (RET, ENVID, NOTIFY, ORCPT), RFC 6522, RFC 5322, RFC 3463.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

// relayed (RFC 3464 §2.3.3): handed to a hop that does not offer DSN although the
// recipient asked for NOTIFY=SUCCESS (RFC 3461 §4.1); no further notice will come.
enum class DsnAction : std::uint8_t { failed, delayed, relayed };

struct DsnRecipient {
  std::string final_recipient;     // the address we tried
  std::string original_recipient;  // ORCPT value as given ("rfc822;a@b"), optional
  DsnAction action = DsnAction::failed;
  std::string status;              // enhanced status "5.1.1"; empty: derived from diagnostic
  std::string remote_mta;          // the hop's host name, optional
  std::string diagnostic;          // the last reply text, "550 5.1.1 No such user"
  std::int64_t last_attempt_ms = 0;
};

struct DsnInput {
  std::string reporting_mta;       // our host name
  std::string from;                // MAILER-DAEMON@host
  std::string to;                  // the original envelope sender (never empty)
  std::string envelope_id;         // ENVID, optional (xtext-decoded)
  std::int64_t arrival_ms = 0;     // when the original was received
  std::int64_t now_ms = 0;         // Date: of the report
  std::vector<DsnRecipient> recipients;
  std::string_view original;       // the original message, CRLF line endings
  bool return_full = false;        // RET=FULL: attach all of it, not only the headers
  std::string text;                // human-readable explanation; empty: built-in text
  std::string boundary;            // MIME boundary, must not occur in `original`
  std::string message_id;          // "<...@host>"
};

/// The complete bounce message, CRLF line endings, ready to be queued.
std::string build_dsn(const DsnInput& input);

/// The enhanced status code in `reply` ("550 5.1.1 text" → "5.1.1"), or the class
/// default ("5.0.0" / "4.0.0") from the reply's first digit; "5.0.0" when unknown.
std::string status_of_reply(std::string_view reply, bool permanent);

/// RFC 3461 §4.3: RET=FULL in the stored MAIL parameters.
bool wants_full_return(std::string_view mail_parameters);

/// RFC 3461 §4.4: the ENVID value in the MAIL parameters, xtext-decoded; "" if absent.
std::string envelope_id_of(std::string_view mail_parameters);

/// RFC 3461 §4.1: whether a recipient with RCPT parameters `rcpt_parameters` wants a
/// notice of kind `action`. Without NOTIFY: failures yes, delays yes (our choice, the
/// RFC leaves it to the MTA), relayed no; NOTIFY=NEVER: nothing. relayed needs SUCCESS.
bool notify_allows(std::string_view rcpt_parameters, DsnAction action);

/// A header or field value on one line: controls (CR, LF, ...) become spaces.
std::string one_line(std::string_view text);
/// `text` with every `marker`XX hex escape decoded (xtext's "+XX", RFC 3461 §4; a
/// URI's "%XX", RFC 3986 §2.1); a malformed escape stays as it is.
std::string hex_unescape(std::string_view text, char marker);

/// RFC 5322 date-time for Unix milliseconds, in UTC: "Mon, 23 Nov 2026 05:22:08 +0000".
std::string rfc5322_date(std::int64_t unix_ms);

}  // namespace relay
