// queue/wal_checkpointer.cpp — the checkpoint thread and the writer's wal_hook.
#include "queue/wal_checkpointer.hpp"

#include <pthread.h>
#include <system_error>

namespace queue {
namespace {
// Passes per wake-up while the writer keeps appending during each one.
constexpr int catch_up_passes = 4;
}  // namespace

std::expected<std::unique_ptr<WalCheckpointer>, std::string> WalCheckpointer::open(const std::string& db_path,
                                                                                    int pages) {
  auto connection = open_connection(db_path);
  if (!connection) return std::unexpected(connection.error());
  // The checkpoint's fsyncs follow this connection's setting: as durable as the writer's.
  if (execute(connection->get(), "PRAGMA synchronous = FULL") != SQLITE_OK ||
      execute(connection->get(), "PRAGMA wal_autocheckpoint = 0") != SQLITE_OK) {
    return std::unexpected(db_path + ": cannot configure the checkpoint connection: " +
                           sqlite3_errmsg(connection->get()));
  }
  std::unique_ptr<WalCheckpointer> checkpointer(new WalCheckpointer(std::move(*connection), pages));
  try {
    checkpointer->thread_ = std::thread([raw = checkpointer.get()] { raw->run(); });
  } catch (const std::system_error& e) {
    return std::unexpected(std::string("cannot start the checkpoint thread: ") + e.what());
  }
  return checkpointer;
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

int WalCheckpointer::attach(sqlite3* writer) noexcept {
  const int rc = execute(writer, "PRAGMA wal_autocheckpoint = 0");  // also clears SQLite's own hook
  if (rc != SQLITE_OK) return rc;
  sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, this);
  return SQLITE_OK;
}

std::uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* /*schema*/, int pages) noexcept {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  if (pages >= checkpointer->pages_ * restart_factor) {
    // The thread never caught up with this writer: copy the rest here, so the next
    // transaction starts the WAL over. A failure (a reader) is tried at the next commit.
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  // Fewer frames than last time: a complete checkpoint let the writer start the WAL over.
  if (pages < checkpointer->last_frames_) checkpointer->wake_at_ = checkpointer->pages_;
  checkpointer->last_frames_ = pages;
  if (pages < checkpointer->wake_at_) return SQLITE_OK;
  checkpointer->wake_at_ = pages + checkpointer->pages_;
  bool wake = false;
  {
    std::lock_guard lock(checkpointer->mutex_);
    wake = !checkpointer->due_;
    checkpointer->due_ = true;
  }
  if (wake) checkpointer->wake_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  // Named so that top -H, perf and bench/thread_cpu.py tell the threads apart.
  pthread_setname_np(pthread_self(), "hr-checkpoint");
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
    }
    // PASSIVE: copies what no reader still needs, never waits for the writer or readers.
    // The WAL starts over only if a pass ends with every frame copied, so the frames the
    // writer appended during a pass are copied by a few more (short) passes at once.
    for (int pass = 0; pass < catch_up_passes; ++pass) {
      int log_frames = 0;
      int copied = 0;
      const int rc = sqlite3_wal_checkpoint_v2(connection_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                               &copied);
      if (rc != SQLITE_OK) break;  // busy or failing: the next wake-up tries again
      {
        std::lock_guard lock(mutex_);
        ++checkpoints_;
        if (stopping_) return;
      }
      if (copied >= log_frames) break;
    }
  }
}

}  // namespace queue
