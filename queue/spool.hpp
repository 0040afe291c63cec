// queue/spool.hpp — the spool directory: one file per message body, beside queue.db.
//
// Owns: the directory (state_dir/spool, mode 0700), its descriptor, handing out new body
// files under fresh names (queue/spool_name), making the directory's entries durable,
// listing it, and unlinking a body once its message is final. The SQLite envelope names
// the file; the file never names the envelope.
// Durability of directory entries: fdatasync on a body file does not make its name
// durable. sync_directory() does, for every file created before the call. Body files
// use the coalesced form, sync_directory_for(ticket): each created file carries the
// number of the first directory fsync that will cover it, and a caller waits for that
// one, joining an fsync already started by another thread, or starting the next; so
// concurrent sessions share one directory fsync, run on the sync pool in parallel with
// their envelopes' WAL commit. Unlinks need no directory fsync: an unlink lost in a crash
// leaves a file without envelope, which the start-up orphan scan removes (queue/spool_scan).
// Threading: create() and sync_directory_for() may be called from any thread; the other
// members are const and use only the descriptor. The Spool must outlive every
// BodyWriter, FinishedBody and BodyReader made from it.
// Errors: std::error_code in std::system_category (errno); to_queue_error() maps one
// onto queue::errc for the SMTP reply (ENOSPC/EDQUOT → storage_full → 452 4.3.1).
// Exceptions: none; open() reports start-up failures as text.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "queue/unique_fd.hpp"

namespace queue {

/// A body file as listed, or a body as the database knows it (name and size).
struct SpoolEntry {
  std::string name;
  std::uint64_t size = 0;
  friend bool operator==(const SpoolEntry&, const SpoolEntry&) = default;
};

/// A freshly created, empty body file: its name in the spool and a write descriptor.
struct SpoolFile {
  std::string name;
  UniqueFd fd;
  std::uint64_t directory_ticket = 0;  // for Spool::sync_directory_for
};

class Spool {
 public:
  /// Start-up: creates `state_dir`/spool (0700) if missing, fsyncs `state_dir` when it
  /// did so, opens the directory and draws this process's random name instance.
  static std::expected<std::unique_ptr<Spool>, std::string> open(const std::string& state_dir);
  /// As open(), with the name instance given (tests: two "restarts" with chosen instances).
  static std::expected<std::unique_ptr<Spool>, std::string> open(const std::string& state_dir,
                                                                   std::uint64_t instance);

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Creates a new empty file (O_CREAT|O_EXCL, 0600) under a name no file has had.
  std::expected<SpoolFile, std::error_code> create();

  /// fsync of the directory: every file created before this call keeps its name after a
  /// crash. Blocks for one disk flush: call it on the queue thread (or a sync thread),
  /// never on an I/O thread.
  std::error_code sync_directory() const;

  /// Returns once a directory fsync numbered `ticket` or later has completed (a file's
  /// SpoolFile::directory_ticket: that fsync began after the file was created). Joins a
  /// running fsync or starts the next one, so concurrent callers share flushes. Blocks
  /// for up to two disk flushes: a sync pool thread only, never an I/O thread.
  std::error_code sync_directory_for(std::uint64_t ticket) const;

  /// Unlinks a body. A name that does not exist counts as removed (a crash between
  /// COMMIT and unlink, then the orphan scan, may have removed it already).
  std::error_code remove(std::string_view name) const;

  /// Every body file with its size, in directory order (unsorted): one fstatat per
  /// file, for the start-up scan. Other entries (anything is_spool_name() rejects, ".",
  /// "..", a body unlinked while listing) are left out.
  std::expected<std::vector<SpoolEntry>, std::error_code> list() const;

  /// Opens a stored body for reading (O_RDONLY|O_CLOEXEC).
  std::expected<UniqueFd, std::error_code> open_body(std::string_view name) const;

  const std::string& path() const noexcept { return path_; }

 private:
  Spool(std::string path, UniqueFd directory, std::uint64_t instance) noexcept
      : path_(std::move(path)), directory_(std::move(directory)), instance_(instance) {}

  std::string path_;
  UniqueFd directory_;
  std::uint64_t instance_;
  std::atomic<std::uint64_t> sequence_{0};

  // Coalesced directory fsyncs: numbered from 1; one runs at a time.
  mutable std::mutex directory_mutex_;
  mutable std::condition_variable directory_synced_cv_;
  mutable std::uint64_t directory_started_ = 0;  // number of the last fsync begun
  mutable std::uint64_t directory_synced_ = 0;   // number of the last fsync completed
  mutable bool directory_syncing_ = false;
};

/// The errno-valued `ec` as queue::errc: storage_full for ENOSPC/EDQUOT, io_error for
/// other system errors; a queue::errc code is returned unchanged.
std::error_code to_queue_error(std::error_code ec) noexcept;

/// The current errno as a std::error_code (system category).
std::error_code last_system_error() noexcept;

}  // namespace queue
