// relay/delivery/spool_recovery.hpp — start-up reconciliation of the spool with the queue.
//
// Owns: what the daemon does, after the queue opened and before any listener accepts, to
// bring the spool directory (state_dir/spool) and the envelopes naming its files back
// into agreement after a crash (queue/spool_scan.hpp finds the differences):
// - a file no envelope names is deleted: its commit never happened (no 250 was sent),
//   or its message went final and the unlink was lost. Counted and logged.
// - an envelope whose file is missing or has another size must not happen (the 250 is
//   sent only after the file's fdatasync and the commit): a disk fault or a hand. The
//   message can never be delivered, so each one is logged as an error naming its queue
//   id, and its pending recipients fail with 550 5.3.0 "body lost" and a report to the
//   sender (without the content), in one transaction, as `hubrelay queue bounce` does.
// Runs on the caller's thread on its own connection (AdminStore), before the queue's
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
  std::size_t orphans_removed = 0;  // files without envelope, deleted
  std::size_t bodies_lost = 0;      // envelopes whose file is missing or short
  std::size_t reports = 0;          // sender reports queued for those
};

std::expected<SpoolRecovery, std::string> recover_spool(const conf::Config& config, const std::string& db_path,
                                                        const queue::Spool& spool, queue::UnixMillis now);

}  // namespace relay
