// relay/delivery/notices.hpp — every message the relay writes itself, composed and routed.
//
// Owns: the notices to a message's sender — bounces, delay notices and "relayed" notices,
// RFC 3464 reports whose text dsn_report builds — and the health alert mail to
// [alerts].to, each as a queue::NewMessage ready to commit. Also the one routing rule for
// all of them, the same as for mail the relay relays: a recipient in one of the
// organisation's own domains ([relay].accepted_domains) is reached inbound (the HUB
// route), anyone else outbound. So an alert to postmaster@ our own domain never depends
// on the internet smart hosts, whose path may be the one the alert is about.
// Never: a notice to the null sender (RFC 5321 §4.5.5, RFC 3464 §2); I/O, clock or random
// reads — time and the unique token are inputs, so a test compares whole outputs.
// Errors: none; inputs come from our own queue and validated configuration.
// Standards: RFC 3464, RFC 3461, RFC 5321 §4.5.5, RFC 5322, RFC 3834.
// See also: relay/delivery/dsn_report.hpp (report text), health/alert_event.hpp (the event).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "health/alert_event.hpp"
#include "queue/message.hpp"
#include "relay/delivery/dsn_report.hpp"

namespace relay {

/// The direction mail to `recipient` takes: inbound (to the HUB) for our own domains
/// (conf::Config::is_own_domain), outbound otherwise.
conf::Direction direction_to(const conf::Config& config, std::string_view recipient);

/// What happened to one recipient of a queued message, as far as its sender may be told.
struct RecipientNews {
  std::int32_t index = 0;                 // QueuedRecipient::index in the original
  DsnAction action = DsnAction::failed;   // failed (or expired), delayed, relayed
  std::string reply;                      // last reply or fault text, "" when none
  std::string hop;                        // name of the hop last tried, "" when none
  bool expired = false;                   // failed because the queue lifetime ran out
};

/// The one report a delivery event gives the sender (or none).
struct SenderNotice {
  std::optional<queue::NewMessage> message;  // the report to queue, when one is due
  DsnAction action = DsnAction::failed;      // what it reports (its first recipient)
  std::size_t recipients = 0;                // recipients in it
  std::size_t unreported_failures = 0;       // failures nobody hears of: the sender is null
};

/// The report for `news` about `original`: one per event, failures (and relayed
/// recipients) first, a delay notice only when nothing failed. A recipient's NOTIFY
/// (RFC 3461 §4.1) decides whether it is included; a null sender gets nothing.
/// `token` makes the MIME boundary and Message-ID unique.
SenderNotice sender_notice(const conf::Config& config, const queue::QueuedMessage& original,
                           std::span<const RecipientNews> news, std::int64_t now_ms, std::string_view token);

/// The alert mail for `event` to [alerts].to: one message per direction its recipients
/// need (own domains inbound, the rest outbound), inbound first; empty when nobody is to
/// be told. `token` makes the Message-ID unique.
std::vector<queue::NewMessage> alert_notices(const conf::Config& config, const health::AlertEvent& event,
                                             std::int64_t now_ms, std::string_view token);

}  // namespace relay
