// queue/wal_checkpointer.hpp — WAL checkpoints off the commit path.
//
// Owns: one thread with its own connection to the queue database that copies the WAL
// back into the database file (a PASSIVE checkpoint) whenever the writer's WAL has grown
// past a threshold. SQLite's default, wal_autocheckpoint, runs the checkpoint inside the
// COMMIT that crosses 1,000 pages, so every ~17th 100 KiB message made its 250 wait for
// it; here the writer connection has wal_autocheckpoint = 0 and only posts a wake-up from
// its wal_hook (attach()), once per `pages` frames appended. A PASSIVE checkpoint never
// blocks the writer, which goes on
// appending to the WAL meanwhile; once a checkpoint has copied every frame, the writer's
// next transaction starts the WAL over (journal_size_limit then truncates the file).
// The WAL starts over only when a checkpoint copied every frame before the writer's next
// transaction; a writer that never pauses for a whole pass keeps it growing. So once the
// WAL holds `restart_factor` times the threshold, the writer's own hook runs one PASSIVE
// checkpoint inline, as SQLite's auto-checkpoint would: the thread has copied nearly
// everything already, so it is short, and it lets the WAL start over.
// Durability is unchanged: the checkpointer uses synchronous = FULL, so it fsyncs the
// WAL before and the database after copying, as the auto-checkpoint did.
// Threading: attach() on the writer's thread before it writes; the hook runs on that
// thread and only takes a mutex. The destructor stops and joins the thread (a last
// checkpoint is SQLite's own, when the writer's connection closes).
// Errors: a failed checkpoint is retried at the next wake-up; SQLITE_BUSY (a reader or
// the CLI) is normal for PASSIVE and not an error.
#pragma once

#include <condition_variable>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "queue/sqlite_handle.hpp"

namespace queue {

class WalCheckpointer {
 public:
  /// WAL pages after a commit that wake the checkpointer (SQLite's auto-checkpoint default).
  static constexpr int default_pages = 1000;
  /// WAL size, in thresholds, at which the writer checkpoints inline so the WAL restarts.
  static constexpr int restart_factor = 8;

  /// Opens its own connection to `db_path` and starts the thread.
  static std::expected<std::unique_ptr<WalCheckpointer>, std::string> open(const std::string& db_path,
                                                                            int pages = default_pages);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  /// Turns the writer's auto-checkpoint off and installs the wal_hook that wakes this
  /// checkpointer. `writer` must be closed before this object is destroyed, or detached
  /// by the caller (sqlite3_wal_hook(writer, nullptr, nullptr)).
  int attach(sqlite3* writer) noexcept;

  /// Checkpoints completed (every frame copied or not), for tests and metrics.
  std::uint64_t checkpoints() const;

 private:
  WalCheckpointer(Connection connection, int pages) noexcept
      : connection_(std::move(connection)), pages_(pages), wake_at_(pages) {}
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages) noexcept;
  void run();

  Connection connection_;  // used only by thread_
  const int pages_;
  // The writer's side (its thread only): a checkpoint is asked for each time the WAL has
  // grown by `pages_` frames since the last request, not after every commit past the
  // threshold (a writer that keeps ahead of the checkpoint would otherwise wake it for
  // every commit, each pass rescanning the WAL).
  int wake_at_ = 0;
  int last_frames_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false;       // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::uint64_t checkpoints_ = 0;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace queue
