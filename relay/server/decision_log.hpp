// relay/server/decision_log.hpp — one policy decision of a server session, and its log line.
//
// Owns: the event the FSM emits for every policy evaluation (connect, HELO, MAIL, RCPT,
// end of data) with what it was about — HELO name, sender, recipient — and the reply
// that announced it, and the one function that turns such an event into the log line
// an administrator greps for ("why was my mail refused?"). Pure: no I/O, no clock.
// The line keeps the order `listener= client= stage= decision= reason=` that existing
// tooling matches, then adds the reply and the envelope.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/listener_policy.hpp"
#include "relay/smtp/reply_table.hpp"

namespace relay {

/// One policy evaluation. Views point into the FSM and are valid during the observer call.
struct PolicyEvent {
  PolicyStage stage = PolicyStage::connect;
  policy::Decision decision;
  ReplyId reply = ReplyId::count_;              // the reply that announced it; count_: none (yet)
  std::string_view helo;                        // HELO/EHLO name in effect (or being decided); "" before
  std::optional<std::string_view> sender;       // reverse-path without <> ("" null sender); none before MAIL
  std::optional<std::string_view> recipient;    // RCPT stage: the forward-path decided about
};

/// "session=S listener=L client=C stage=rcpt decision=reject reason=relay_denied code=550
/// status=5.7.1 helo=H from=<a@b> to=<c@d>". Client-chosen text is made log-safe
/// (control octets become '?', bounded length); absent parts are left out.
std::string decision_log_line(std::string_view session, std::string_view listener, std::string_view client,
                              const PolicyEvent& event);

}  // namespace relay
