// queue/spool_scan.hpp — crash recovery of the spool: bodies and envelopes that lost
// their other half.
//
// Owns: comparing the spool's files (name, size) with the bodies the database knows
// (name, size stored with the envelope). The 250 waits for both the file's fdatasync
// and the envelope's COMMIT, which may run in parallel; so after a crash:
// - a file without envelope: its COMMIT never happened (session dropped, crash before
//   COMMIT) or its message went final before the unlink. Delete the file.
// - an envelope without file, or whose file has another size: the envelope committed
//   but the body's fdatasync never completed (or the file was removed by hand), so no
//   250 was sent for it. Delete the envelope (and the file), and log each one: it is
//   the only case where a committed row is dropped.
// find_orphans() is pure (two lists in, three out); remove_orphans() is the thin disk
// wrapper, which deletes files only: envelopes are the database's (SqliteStore).
// Run it at start-up, before the listeners open: a body being written has no envelope
// yet and would be taken for an orphan.
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
  std::vector<std::string> files_without_envelope;  // sorted; delete the file
  std::vector<std::string> envelopes_without_file;  // sorted; delete the envelope
  std::vector<std::string> incomplete;              // sorted; size differs: delete both
};

/// `files`: the spool listing; `known`: every body the database holds. Names that are
/// not spool names (is_spool_name) are ignored on both sides; a name listed twice
/// counts once (the first entry's size). Order of input is free.
OrphanScan find_orphans(std::vector<SpoolEntry> files, std::vector<SpoolEntry> known);

struct OrphanRemoval {
  OrphanScan scan;
  std::size_t removed = 0;  // files unlinked (files_without_envelope and incomplete)
};

/// Lists the spool, runs find_orphans and unlinks the files without envelope and the
/// incomplete ones. The caller deletes the envelopes of envelopes_without_file and
/// incomplete in one transaction.
std::expected<OrphanRemoval, std::error_code> remove_orphans(const Spool& spool, std::vector<SpoolEntry> known);

}  // namespace queue
