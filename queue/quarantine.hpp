// queue/quarantine.hpp — holding a freshly committed message a content filter quarantined.
//
// Owns: the one mutation that turns a message the daemon just committed (its recipients
// leased to the session that will not deliver it) into a held message: messages.held = 1,
// the lease dropped (so `hubrelay queue release` makes it due at once), and the filter's
// reason as every pending recipient's last reply, which `queue list --held` and `queue
// show` print. One BEGIN IMMEDIATE transaction on its own connection, as the admin
// commands use (WAL; the daemon's writer thread is not involved).
// Threading: synchronous; the caller's thread blocks for one small transaction.
// Errors: text for the log.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "queue/message.hpp"

namespace queue {

std::expected<void, std::string> quarantine_message(const std::string& db_path, MessageId id, std::string_view reason);

}  // namespace queue
