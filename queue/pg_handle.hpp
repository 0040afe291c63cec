// queue/pg_handle.hpp — owning handles for libpq connections and results.
//
// Owns: PgConnection (PQfinish on destruction), PgResult (PQclear on destruction), and
// PgParams, the parameter arrays PQexecPrepared takes: numbers and text as text, bytes
// (bytea) in binary form so a message body is passed as it is, never escaped or copied
// into hex. Never: opens connections or runs statements on its own.
// Threading: a handle is used by one thread at a time (libpq connections are not shared).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace queue {

struct PgConnectionClose {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using PgConnection = std::unique_ptr<PGconn, PgConnectionClose>;

struct PgResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

/// A statement's result. ok(): the statement completed (a command, or rows).
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) noexcept : result_(result) {}

  bool ok() const noexcept;
  ExecStatusType status() const noexcept { return PQresultStatus(result_.get()); }
  /// SQLSTATE ("" when the connection failed before the server answered).
  std::string_view sqlstate() const noexcept;
  std::string message() const;
  int rows() const noexcept { return PQntuples(result_.get()); }
  bool null(int row, int column) const noexcept { return PQgetisnull(result_.get(), row, column) != 0; }
  /// A text-format column as an integer (0 for NULL or garbage).
  std::int64_t int64(int row, int column) const noexcept;
  std::string_view text(int row, int column) const noexcept;
  /// Rows a command touched (UPDATE, INSERT, DELETE).
  std::int64_t affected() const noexcept;
  PGresult* get() const noexcept { return result_.get(); }

 private:
  std::unique_ptr<PGresult, PgResultClear> result_;
};

/// Parameters of one statement, in order ($1, $2, ...). Values are kept alive here until
/// the statement ran; a bytes() view must outlive it too (it is not copied).
class PgParams {
 public:
  PgParams& int64(std::int64_t value);
  PgParams& text(std::string_view value);
  /// Text from outside (a remote server's reply, a client's HELO): the database's text is
  /// UTF-8 without NUL, so a NUL and each byte of an invalid sequence become '?' rather
  /// than failing the transaction.
  PgParams& display_text(std::string_view value);
  /// NULL.
  PgParams& null();
  /// Binary bytea, read in place.
  PgParams& bytes(std::string_view value);

  int count() const noexcept { return static_cast<int>(values_.size()); }
  const char* const* values() const noexcept { return values_.data(); }
  const int* lengths() const noexcept { return lengths_.data(); }
  const int* formats() const noexcept { return formats_.data(); }

 private:
  std::deque<std::string> storage_;  // deque: growing never moves the strings values_ points into
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

/// Runs prepared statement `name`; `binary_result` asks for binary columns (bytea bodies).
PgResult exec_prepared(PGconn* connection, const char* name, const PgParams& params, bool binary_result = false);
/// Runs `sql` without parameters (transaction control, schema steps).
PgResult exec(PGconn* connection, const char* sql);

}  // namespace queue
