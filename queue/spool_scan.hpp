// queue/spool_scan.hpp — crash recovery of the spool: bodies and envelopes that lost
// their other half.
//
// Owns: comparing the spool's files with the body names the database knows.
// A file without envelope is a body whose COMMIT never happened (the session dropped,
// the process died between fdatasync and COMMIT, or after a final COMMIT before the
// unlink): no 250 was sent for it, or its message is finished, so it is deleted at
// start. An envelope without file must not exist, since the 250 waits for the file's
// fdatasync and the directory fsync before COMMIT; it is reported (the message cannot
// be delivered, and the operator must hear of it), never silently dropped.
// find_orphans() is pure (two name lists in, two lists out); remove_orphans() is the
// thin disk wrapper. Run it at start-up, before the listeners open: a body being
// written has no envelope yet and would be taken for an orphan.
// Errors: std::error_code from listing; a failed unlink is left for the next start.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <system_error>
#include <vector>

#include "queue/spool.hpp"

namespace queue {

struct OrphanScan {
  std::vector<std::string> files_without_envelope;  // sorted; delete
  std::vector<std::string> envelopes_without_file;  // sorted; report
};

/// `files`: the spool listing; `known`: every body name the database holds. Names that
/// are not spool names (is_spool_name) are ignored on both sides. Order of input is free.
OrphanScan find_orphans(std::vector<std::string> files, std::vector<std::string> known);

struct OrphanRemoval {
  OrphanScan scan;
  std::size_t removed = 0;  // of scan.files_without_envelope; the rest failed to unlink
};

/// Lists the spool, runs find_orphans and unlinks the files without envelope.
std::expected<OrphanRemoval, std::error_code> remove_orphans(const Spool& spool, std::vector<std::string> known);

}  // namespace queue
