// relay/delivery/admin_reports.hpp — the sender's report on recipients finished outside
// delivery: an administrator's bounce, expire or delete (`hubrelay queue`), and a
// message whose spooled body was found lost at start-up (relay/delivery/spool_recovery).
//
// Owns: the NoticeComposer AdminStore::finish calls inside its transaction, so the
// report is queued exactly once with the recipients it reports. Composition and routing
// are the daemon's own (relay::sender_notice: NOTIFY decides, never to the null sender).
// Draws the report's token from std::random_device; otherwise no I/O.
#pragma once

#include <cstddef>

#include "conf/config.hpp"
#include "queue/admin_store.hpp"

namespace relay {

/// Reports of failed (or expired) recipients; counts in `unreported` the failures nobody
/// hears of (null sender). Both references must outlive the composer.
queue::NoticeComposer administrator_reports(const conf::Config& config, queue::UnixMillis now, std::size_t& unreported);

}  // namespace relay
