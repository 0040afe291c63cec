// relay/delivery/dsn_report.cpp — building RFC 3464 reports from values.
//
// Owns: the text of a bounce or delay notice: headers, the three MIME parts, the
// per-message and per-recipient delivery-status fields, and the small parsers for
// RET/ENVID/NOTIFY parameters and enhanced status codes in reply text.
// Never: reads a clock or random source (date, boundary, Message-ID are inputs), does
// I/O, or lets hop-supplied text add header lines (controls are flattened to spaces).
// Errors: none. Standards: RFC 3464, RFC 3461, RFC 6522, RFC 5322, RFC 3463, RFC 3834.
#include "relay/delivery/dsn_report.hpp"
#include "conf/ascii.hpp"

#include <array>
#include <cctype>
#include <ctime>

namespace relay {
namespace {

constexpr std::string_view crlf = "\r\n";

// The value of KEY=VALUE among space-separated ESMTP parameters (case-insensitive key).
std::string parameter(std::string_view parameters, std::string_view key) {
  std::size_t pos = 0;
  while (pos < parameters.size()) {
    const std::size_t end = std::min(parameters.find(' ', pos), parameters.size());
    const std::string_view word = parameters.substr(pos, end - pos);
    const std::size_t eq = word.find('=');
    if (eq != std::string_view::npos && conf::ascii_uppercase(word.substr(0, eq)) == conf::ascii_uppercase(key)) return std::string(word.substr(eq + 1));
    pos = end + 1;
  }
  return {};
}

// RFC 3461 §4: "+XX" hex escapes.
std::string xtext_decode(std::string_view text) { return hex_unescape(text, '+'); }

bool is_status(std::string_view s) {
  // class "." subject "." detail, RFC 3463 §2: 2/4/5 . 1-3 digits . 1-3 digits
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t i = 2, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (digits == 0 || digits > 3 || i >= s.size() || s[i] != '.') return false;
  ++i;
  digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  return digits > 0 && digits <= 3 && i == s.size();
}

// Normalises text to CRLF line endings (the original is stored with CRLF already; the
// configurable text comes from TOML with LF).
std::string with_crlf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += crlf;
    else out.push_back(text[i]);
  }
  if (!out.empty() && !out.ends_with(crlf)) out += crlf;
  return out;
}

}  // namespace

// CR/LF and other controls become spaces, so a hop's reply text can never inject fields
// into our report.
std::string hex_unescape(std::string_view text, char marker) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == marker && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

std::string rfc5322_date(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 64> buffer{};
  // %a and %b are the C locale's English names, which RFC 5322 requires.
  const std::size_t n = std::strftime(buffer.data(), buffer.size(), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(buffer.data(), n);
}

std::string status_of_reply(std::string_view reply, bool permanent) {
  // "550 5.1.1 text" or "550-5.1.1 text": the second word, if it looks like x.y.z.
  const std::size_t start = reply.find_first_of(" -");
  if (start != std::string_view::npos) {
    const std::size_t end = std::min(reply.find(' ', start + 1), reply.size());
    const std::string_view word = reply.substr(start + 1, end - start - 1);
    if (is_status(word)) return std::string(word);
  }
  if (!reply.empty() && reply[0] == '4') return "4.0.0";
  if (!reply.empty() && reply[0] == '5') return "5.0.0";
  return permanent ? "5.0.0" : "4.0.0";
}

bool wants_full_return(std::string_view mail_parameters) {
  return conf::ascii_uppercase(parameter(mail_parameters, "RET")) == "FULL";
}

std::string envelope_id_of(std::string_view mail_parameters) {
  return xtext_decode(parameter(mail_parameters, "ENVID"));
}

bool notify_allows(std::string_view rcpt_parameters, DsnAction action) {
  const std::string notify = conf::ascii_uppercase(parameter(rcpt_parameters, "NOTIFY"));
  if (notify.empty()) return action != DsnAction::relayed;
  if (notify == "NEVER") return false;
  const char* wanted = action == DsnAction::failed ? "FAILURE" : action == DsnAction::delayed ? "DELAY" : "SUCCESS";
  return notify.find(wanted) != std::string::npos;
}

std::string build_dsn(const DsnInput& in) {
  bool any_failed = false;
  bool any_delayed = false;
  for (const auto& r : in.recipients) {
    any_failed = any_failed || r.action == DsnAction::failed;
    any_delayed = any_delayed || r.action == DsnAction::delayed;
  }

  std::string out;
  out += "From: Mail Delivery System <" + one_line(in.from) + ">" + std::string(crlf);
  out += "To: <" + one_line(in.to) + ">" + std::string(crlf);
  out += std::string("Subject: ") +
         (any_failed    ? "Undelivered Mail Returned to Sender"
          : any_delayed ? "Delayed Mail (still being retried)"
                        : "Relayed Mail Delivery Report") +
         std::string(crlf);
  out += "Date: " + rfc5322_date(in.now_ms) + std::string(crlf);
  out += "Message-ID: " + one_line(in.message_id) + std::string(crlf);
  // RFC 3834 §5: an automatic response; keeps vacation responders from answering it.
  out += "Auto-Submitted: auto-replied" + std::string(crlf);
  out += "MIME-Version: 1.0" + std::string(crlf);
  out += "Content-Type: multipart/report; report-type=delivery-status;" + std::string(crlf);
  out += "\tboundary=\"" + in.boundary + "\"" + std::string(crlf);
  out += crlf;
  out += "This is a MIME-encapsulated message." + std::string(crlf) + std::string(crlf);

  // Part 1: for people.
  out += "--" + in.boundary + std::string(crlf);
  out += "Content-Type: text/plain; charset=utf-8" + std::string(crlf) + std::string(crlf);
  if (!in.text.empty()) {
    out += with_crlf(in.text);
  } else if (any_failed) {
    out += with_crlf("This is the mail system at host " + one_line(in.reporting_mta) +
                     ".\n\nYour message could not be delivered to one or more recipients.\n"
                     "It is attached below (headers only unless you asked for the full message).");
  } else if (any_delayed) {
    out += with_crlf("This is the mail system at host " + one_line(in.reporting_mta) +
                     ".\n\nYour message has not been delivered yet to one or more recipients.\n"
                     "Delivery will be retried; you do not need to resend it.");
  } else {
    out += with_crlf("This is the mail system at host " + one_line(in.reporting_mta) +
                     ".\n\nYour message was relayed to a system that does not send delivery\n"
                     "notifications; you asked for one, so this is the last one you will get.");
  }
  out += crlf;
  for (const auto& r : in.recipients) {
    out += "<" + one_line(r.final_recipient) + ">: " + one_line(r.diagnostic) + std::string(crlf);
  }
  out += crlf;

  // Part 2: for machines (RFC 3464 §2.2 per-message, §2.3 per-recipient fields).
  out += "--" + in.boundary + std::string(crlf);
  out += "Content-Type: message/delivery-status" + std::string(crlf) + std::string(crlf);
  out += "Reporting-MTA: dns; " + one_line(in.reporting_mta) + std::string(crlf);
  if (!in.envelope_id.empty()) out += "Original-Envelope-Id: " + one_line(in.envelope_id) + std::string(crlf);
  out += "Arrival-Date: " + rfc5322_date(in.arrival_ms) + std::string(crlf);
  for (const auto& r : in.recipients) {
    const bool failed = r.action == DsnAction::failed;
    const char* action = failed ? "failed" : r.action == DsnAction::delayed ? "delayed" : "relayed";
    out += crlf;
    if (!r.original_recipient.empty()) out += "Original-Recipient: " + one_line(r.original_recipient) + std::string(crlf);
    out += "Final-Recipient: rfc822; " + one_line(r.final_recipient) + std::string(crlf);
    out += std::string("Action: ") + action + std::string(crlf);
    const std::string status = r.status.empty() || !is_status(r.status) ? status_of_reply(r.diagnostic, failed) : r.status;
    out += "Status: " + status + std::string(crlf);
    if (!r.remote_mta.empty()) out += "Remote-MTA: dns; " + one_line(r.remote_mta) + std::string(crlf);
    if (!r.diagnostic.empty()) out += "Diagnostic-Code: smtp; " + one_line(r.diagnostic) + std::string(crlf);
    if (r.last_attempt_ms > 0) out += "Last-Attempt-Date: " + rfc5322_date(r.last_attempt_ms) + std::string(crlf);
  }
  out += crlf;

  // Part 3: the original — headers only unless RET=FULL (RFC 3461 §4.3).
  out += "--" + in.boundary + std::string(crlf);
  if (in.return_full) {
    out += "Content-Type: message/rfc822" + std::string(crlf) + std::string(crlf);
    out += with_crlf(in.original);
  } else {
    out += "Content-Type: text/rfc822-headers" + std::string(crlf) + std::string(crlf);
    const std::size_t end = in.original.find("\r\n\r\n");
    out += with_crlf(end == std::string_view::npos ? in.original : in.original.substr(0, end + 2));
  }
  out += crlf;
  out += "--" + in.boundary + "--" + std::string(crlf);
  return out;
}

}  // namespace relay
