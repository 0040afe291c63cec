// relay/delivery/spool_recovery.hpp — start-up reconciliation of the spool with the queue.
//
// Owns: what the daemon does, after the queue opened and before any listener accepts, to
// bring the spool directory (state_dir/spool) and the envelopes naming its files back
// into agreement after a crash (queue/spool_scan.hpp finds the differences):
// - a file no envelope names is deleted: its commit never happened (no 250 was sent),
//   or its message went final and the unlink was lost. Counted and logged.
// - an envelope whose file is missing or has another size, and which was never tried,
//   was never acknowledged: the session commits the envelope while the sync pool
//   flushes the body file and its directory entry, and answers 250 only once both are
//   durable; a crash between the two leaves the envelope without its body, and the
//   client saw no 250 (it retries). So the envelope is deleted silently (no report to
//   the sender), counted, and one line per message is logged. Deleting it is the rule
//   that makes the parallel flushes safe: "an envelope whose body is not durable was
//   never acknowledged".
// - the same fault in a message that has history (a delivery attempt, an administrator's
//   action) cannot be a crash during its commit: it was acknowledged, and its body went
//   later (a disk fault, a file removed by hand). Its recipients fail with 550 5.3.0 and
//   the sender gets a report, as for any message that can never be delivered.
// Runs on the caller's thread on its own connection (SqliteAdminStore), before the queue's
// recover(): nothing else writes spool files yet.
#pragma once

#include <cstddef>
#include <expected>
#include <string>

#include "conf/config.hpp"
#include "queue/message.hpp"
#include "queue/spool.hpp"

namespace relay {

struct SpoolRecovery {
  std::size_t orphans_removed = 0;       // files without envelope, deleted
  std::size_t never_acknowledged = 0;    // envelopes whose file is missing or short, deleted
  std::size_t bodies_lost = 0;           // the same in messages already tried: failed
  std::size_t reports = 0;               // sender reports queued for those
};

std::expected<SpoolRecovery, std::string> recover_spool(const conf::Config& config, const std::string& db_path,
                                                        const queue::Spool& spool, queue::UnixMillis now);

}  // namespace relay
