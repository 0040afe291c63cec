// relay/delivery/notices.cpp — composing and routing the mail the relay writes itself.
//
// Owns: the choice of recipients and action for a sender's report, the envelope of every
// notice (null sender for reports, RFC 3464 §2; [alerts].from for alerts) and its
// direction, and the alert mail's text. Never: I/O, clocks, random sources.
#include "relay/delivery/notices.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "conf/domain_pattern.hpp"
#include "health/report.hpp"
#include "relay/smtp/esmtp_parameters.hpp"
#include "relay/smtp/require_tls.hpp"

namespace relay {
namespace {

// The address a notice is never sent to: the null sender "<>".
bool null_address(std::string_view address) { return address.empty() || address == "<>"; }

DsnRecipient report_entry(const conf::Config& config, const queue::QueuedMessage& original,
                          const RecipientNews& news, std::int64_t now_ms) {
  const auto rcpt = std::ranges::find(original.recipients, news.index, &queue::QueuedRecipient::index);
  const bool known = rcpt != original.recipients.end();
  const conf::HopConfig* hop = config.find_hop(news.hop);
  DsnRecipient entry{.final_recipient = known ? rcpt->address : std::string(),
                     .original_recipient = original_recipient_of(known ? rcpt->parameters : std::string()),
                     .action = news.action,
                     .status = {},
                     // An MX hop's host is a placeholder; the MX host is not known here.
                     .remote_mta = hop && !hop->mx ? hop->host : std::string(),
                     .diagnostic = news.reply,
                     .last_attempt_ms = now_ms};
  if (news.action == DsnAction::relayed) entry.status = "2.0.0";
  // RFC 3463 §3.5: 4.4.7, delivery time expired, when no hop ever answered.
  if (news.action == DsnAction::failed && news.expired && news.reply.empty()) entry.status = "4.4.7";
  return entry;
}

std::string alert_text(const conf::Config& config, const health::AlertEvent& e, const std::string& from,
                       std::string_view token) {
  const std::string& hostname = config.relay.hostname;
  std::string to_line;
  for (const auto& t : config.alerts.to) to_line += (to_line.empty() ? "" : ", ") + t;
  std::string m;
  m += "From: hubrelay <" + one_line(from) + ">\r\n";
  m += "To: " + one_line(to_line) + "\r\n";
  m += "Subject: " + one_line(fmt::format("[hubrelay {}] {}", hostname, health::alert_summary(e))) + "\r\n";
  m += "Date: " + rfc5322_date(e.at) + "\r\n";
  m += "Message-ID: <hubrelay-alert-" + std::string(token) + "@" + hostname + ">\r\n";
  m += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no auto-replies, please
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
  m += "X-Hubrelay-Path: " + one_line(e.path) + "\r\n";
  m += "X-Hubrelay-State: " + std::string(to_string(e.to)) + "\r\n\r\n";
  m += fmt::format("hubrelay on {} changed the state of {} {}\r\n", hostname,
                   e.hop.empty() ? "path" : "the own check of hop", e.hop.empty() ? e.path : e.hop);
  m += fmt::format("from {} to {} at {} (reason: {}).\r\n\r\n", to_string(e.from), to_string(e.to),
                   health::format_utc(e.at), e.reason);
  if (!e.hops.empty()) {
    std::string hops;
    for (const auto& h : e.hops) hops += (hops.empty() ? "" : ", ") + h;
    m += fmt::format("Hops depending on it: {}.\r\n{}\r\n\r\n", hops,
                     e.to == health::State::down ? "Mail for their routes now goes to other usable hops."
                                                 : "They are usable again (unless ejected or another path is DOWN).");
  }
  if (!e.runs.empty()) m += "Runs that caused the change (oldest first):\r\n";
  for (const auto& run : e.runs) {
    m += fmt::format("  {} {} ({} check(s) failed)\r\n", health::format_utc(run.at), run.failed ? "FAILED" : "ok",
                     run.failed_checks);
    for (const auto& c : run.checks)
      m += one_line(fmt::format("    {:<4} {:>6} ms  {}: {}", c.ok() ? "ok" : "FAIL", c.latency_ms, c.label,
                                c.describe())) + "\r\n";
  }
  return m;
}

}  // namespace

conf::Direction direction_to(const conf::Config& config, std::string_view recipient) {
  return config.is_own_domain(conf::domain_of(recipient)) ? conf::Direction::inbound : conf::Direction::outbound;
}

SenderNotice sender_notice(const conf::Config& config, const queue::QueuedMessage& original,
                           std::span<const RecipientNews> news, std::int64_t now_ms, std::string_view token) {
  SenderNotice out;
  std::vector<DsnRecipient> report;
  std::vector<DsnRecipient> delayed;
  for (const auto& item : news) {
    const auto rcpt = std::ranges::find(original.recipients, item.index, &queue::QueuedRecipient::index);
    // RFC 3461 §4.1: NOTIFY=NEVER, or a list without this kind, means no notice.
    if (!notify_allows(rcpt != original.recipients.end() ? rcpt->parameters : std::string(), item.action)) continue;
    (item.action == DsnAction::delayed ? delayed : report).push_back(report_entry(config, original, item, now_ms));
  }
  // One report per event: failures first; a delay notice only when nothing failed now.
  if (report.empty()) report = std::move(delayed);
  if (report.empty()) return out;
  out.action = report.front().action;
  out.recipients = report.size();
  if (null_address(original.sender)) {
    // RFC 5321 §4.5.5 / RFC 3464 §2: never report on a report (or any null-sender mail).
    out.unreported_failures = static_cast<std::size_t>(
        std::ranges::count(report, DsnAction::failed, &DsnRecipient::action));
    return out;
  }

  const std::string& hostname = config.relay.hostname;
  DsnInput input{.reporting_mta = hostname,
                 .from = config.bounce.from.empty() ? "MAILER-DAEMON@" + hostname : config.bounce.from,
                 .to = original.sender,
                 .envelope_id = envelope_id_of(original.mail_parameters),
                 .arrival_ms = original.received_at,
                 .now_ms = now_ms,
                 .recipients = std::move(report),
                 .original = original.body.data ? std::string_view(*original.body.data) : std::string_view(),
                 .return_full = wants_full_return(original.mail_parameters),
                 .text = config.bounce.text,
                 .boundary = "=_hubrelay_" + std::string(token),
                 .message_id = "<dsn." + std::string(token) + "@" + hostname + ">"};
  queue::NewMessage notice;
  notice.direction = direction_to(config, original.sender);
  notice.listener = "bounce";
  notice.helo = hostname;
  notice.recipients.push_back(original.sender);  // from the null sender: the default ""
  // RFC 8689 §5: a report on a REQUIRETLS message may quote it, so it travels under the
  // same requirement (and, from the null sender, is dropped if it cannot).
  if (wants_requiretls(original.mail_parameters)) notice.mail_parameters = requiretls_keyword;
  notice.body = build_dsn(input);
  notice.received_at = now_ms;
  out.message = std::move(notice);
  return out;
}

std::vector<queue::NewMessage> alert_notices(const conf::Config& config, const health::AlertEvent& event,
                                             std::int64_t now_ms, std::string_view token) {
  std::vector<queue::NewMessage> out;
  const std::string from = config.alerts.from.empty() ? "hubrelay@" + config.relay.hostname : config.alerts.from;
  std::string body;
  // One message per direction: its recipients' routes decide, as for relayed mail.
  for (const conf::Direction direction : {conf::Direction::inbound, conf::Direction::outbound}) {
    std::vector<std::string> recipients;
    for (const auto& to : config.alerts.to)
      if (!null_address(to) && direction_to(config, to) == direction) recipients.push_back(to);
    if (recipients.empty()) continue;
    if (body.empty()) body = alert_text(config, event, from, token);
    queue::NewMessage message;
    message.direction = direction;
    message.listener = "health-alert";
    message.client_address = "127.0.0.1";
    message.helo = config.relay.hostname;
    message.sender = from;
    message.recipients = std::move(recipients);
    message.body = body;
    message.received_at = now_ms;
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace relay
