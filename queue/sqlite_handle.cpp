// queue/sqlite_handle.cpp — RAII SQLite handles and the result-code mapping.
#include "queue/sqlite_handle.hpp"

namespace queue {

errc to_errc(int sqlite_result) noexcept {
  // Extended codes (SQLITE_IOERR_FSYNC, SQLITE_BUSY_SNAPSHOT, ...) share the low byte
  // with their primary code.
  switch (sqlite_result & 0xff) {
    case SQLITE_FULL: return errc::storage_full;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: return errc::io_error;  // the disk refused; not a bug of ours
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return errc::busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return errc::corrupt;
    default: return errc::internal;
  }
}

std::expected<Connection, std::string> open_connection(const std::string& path) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection db(raw);  // sqlite3_open_v2 may hand out a handle even on failure
  if (rc != SQLITE_OK) {
    return std::unexpected("cannot open queue database " + path + ": " +
                           (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

int execute(sqlite3* db, const char* sql) noexcept {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

std::expected<Statement, int> Statement::prepare(sqlite3* db, std::string_view sql) noexcept {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return std::unexpected(rc);
  }
  Statement statement;
  statement.stmt_.reset(raw);
  return statement;
}

void Statement::remember(int result) noexcept {
  if (result != SQLITE_OK && bind_result_ == SQLITE_OK) bind_result_ = result;
}

void Statement::bind(int index, std::int64_t value) noexcept {
  remember(sqlite3_bind_int64(stmt_.get(), index, value));
}

// A null data pointer would bind SQL NULL; an empty view must stay an empty value.
void Statement::bind_text(int index, std::string_view text) noexcept {
  const char* data = text.data() != nullptr ? text.data() : "";
  remember(sqlite3_bind_text64(stmt_.get(), index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void Statement::bind_blob(int index, std::string_view bytes) noexcept {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  remember(sqlite3_bind_blob64(stmt_.get(), index, data, bytes.size(), SQLITE_STATIC));
}

void Statement::bind_null(int index) noexcept { remember(sqlite3_bind_null(stmt_.get(), index)); }

int Statement::step() noexcept {
  if (bind_result_ != SQLITE_OK) return bind_result_;
  return sqlite3_step(stmt_.get());
}

void Statement::reset() noexcept {
  // The step's error was already reported by step(); reset() repeats it and is ignored.
  sqlite3_reset(stmt_.get());
  bind_result_ = SQLITE_OK;
}

std::int64_t Statement::column_int64(int column) const noexcept {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string_view Statement::column_text(int column) const noexcept {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), column));
  if (text == nullptr) return {};
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
}

std::string_view Statement::column_blob(int column) const noexcept {
  // Order matters: column_blob first, then column_bytes (SQLite's documented idiom).
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), column));
  if (bytes == nullptr) return {};
  return {bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column))};
}

bool Statement::column_is_null(int column) const noexcept {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

}  // namespace queue
