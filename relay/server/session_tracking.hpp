// relay/server/session_tracking.hpp — the tracking records of the SMTP server: a message
// received and queued, a command or message refused.
//
// Owns: turning what a session knows at its commit (the queued message, the client, its
// HELO, the TLS session) and at a refusal (the policy event of relay/server/decision_log)
// into tracking records, and handing them to the tracking writer. A null writer
// (tracking off) costs one comparison. Called on the session's I/O thread: building the
// records copies a few strings; formatting and writing are the writer thread's.
#pragma once

#include <openssl/ssl.h>

#include <string_view>

#include "conf/config.hpp"
#include "queue/message.hpp"
#include "relay/server/decision_log.hpp"
#include "relay/tracking/writer.hpp"

namespace relay {

/// The receive and queue records of a committed message. `spooled_head`: the first
/// octets of a body kept in a spool file (relay/server/body_spooler head()), where its
/// Message-ID is found as in an inline body. `dkim`: the signatures the message got
/// ("d/s/algorithm", comma-separated; "" for none).
void track_reception(tracking::Writer* writer, const queue::QueuedMessage& message, const conf::ListenerConfig& listener,
                     std::string_view client, std::string_view helo, const SSL* tls, std::string_view spooled_head,
                     std::string_view dkim);

/// The reject record of a refusal (nothing for an accepting decision).
void track_refusal(tracking::Writer* writer, const PolicyEvent& event, const conf::ListenerConfig& listener,
                   std::string_view client);

}  // namespace relay
