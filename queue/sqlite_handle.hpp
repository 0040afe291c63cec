// queue/sqlite_handle.hpp — RAII ownership of SQLite connections and prepared statements.
//
// Owns: closing sqlite3* and finalizing sqlite3_stmt*, binding without copies, and the one
// mapping of SQLite result codes onto queue::errc.
// Never: runs SQL on its own, logs, or throws.
// Threading: a Connection and its Statements are confined to one thread at a time (the
// connection is opened with SQLITE_OPEN_NOMUTEX).
// Errors: functions return SQLite result codes; to_errc() turns them into queue::errc.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "queue/errc.hpp"

namespace queue {

/// SQLite result code (primary or extended) → queue error. SQLITE_OK/ROW/DONE are not errors
/// and map to errc::internal like every other unexpected code.
errc to_errc(int sqlite_result) noexcept;

struct ConnectionCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

/// Opens `path` read-write (created if missing), extended result codes on, no mutex.
/// On failure the text names the path and SQLite's reason.
std::expected<Connection, std::string> open_connection(const std::string& path);

/// Runs SQL that returns no rows (DDL, pragmas, BEGIN). Start-up and migration use only:
/// it prepares the text every time.
int execute(sqlite3* db, const char* sql) noexcept;

/// A prepared statement, prepared once with SQLITE_PREPARE_PERSISTENT and reused.
/// Text and blobs are bound SQLITE_STATIC: the bytes must stay alive until reset().
/// A failed bind is remembered and returned by the next step(), so call sites can bind
/// every parameter and check once.
class Statement {
 public:
  Statement() = default;

  static std::expected<Statement, int> prepare(sqlite3* db, std::string_view sql) noexcept;

  void bind(int index, std::int64_t value) noexcept;
  void bind_text(int index, std::string_view text) noexcept;
  void bind_blob(int index, std::string_view bytes) noexcept;
  void bind_null(int index) noexcept;

  /// SQLITE_ROW, SQLITE_DONE, or an error code (including a remembered bind failure).
  int step() noexcept;
  /// Makes the statement reusable; keeps the prepared program.
  void reset() noexcept;

  std::int64_t column_int64(int column) const noexcept;
  /// Valid until the next step() or reset().
  std::string_view column_text(int column) const noexcept;
  std::string_view column_blob(int column) const noexcept;
  bool column_is_null(int column) const noexcept;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
  };
  void remember(int result) noexcept;

  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_result_ = SQLITE_OK;
};

/// Resets a statement when leaving scope, so an early error return never leaves it
/// active (an active statement would pin a WAL read snapshot).
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) noexcept : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

}  // namespace queue
