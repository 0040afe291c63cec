// queue/pg_pipeline.hpp — statements sent without waiting for each answer (libpq pipeline).
//
// Owns: the bookkeeping of one transaction's pipeline on a connection: which statements
// were sent and not yet read, which of them the caller wants the result of, and the
// first failure among those it does not (a history row, a body), which fails the next
// read and the transaction's finish(). Once a statement fails the server skips the rest
// up to the sync, so nothing sent after it takes effect.
// Why: a round trip costs more than the statement; a transaction of many messages sends
// its inserts in one stream and learns of any error at COMMIT, before anything is
// acknowledged.
// Never: owns the connection or decides what an error means (PgStore does).
// Threading: with its connection, one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <cstddef>
#include <deque>

#include "queue/pg_handle.hpp"

namespace queue {

class PgPipeline {
 public:
  /// Enters pipeline mode; false when libpq refuses (the connection is unusable).
  bool start(PGconn* connection) noexcept;
  bool active() const noexcept { return connection_ != nullptr; }
  /// A statement sent without waiting failed: the server skips the rest up to COMMIT,
  /// which fails with that statement's error.
  bool doomed() const noexcept { return failed_; }
  /// Forgets everything (the connection is being dropped).
  void reset() noexcept;

  /// Sends a statement whose result is checked only at the next read() or finish().
  bool defer(const char* statement, const PgParams& params);
  /// Sends SQL without parameters whose result is checked likewise (BEGIN, SET LOCAL).
  bool defer_sql(const char* sql);
  /// Sends a statement whose result a later read() returns, in the order sent.
  bool send(const char* statement, const PgParams& params, bool binary_result = false);
  /// The same for SQL that is no prepared statement (COMMIT, an administrator's query).
  bool send_sql(const char* sql, const PgParams& params, bool binary_result = false);
  /// The next wanted result, after checking the deferred ones sent before it: the first
  /// of those that failed is returned instead. A null result: the connection failed.
  PgResult read();
  /// Sync: reads everything still unread, leaves pipeline mode and returns the first
  /// failure, or else the last wanted result (for a transaction: its COMMIT).
  PgResult finish();

 private:
  /// One statement's result and the end-of-statement marker after it.
  PgResult take() noexcept;
  /// Asks the server to send what it has so far (once per batch of reads).
  bool flush() noexcept;
  void note(PgResult result) noexcept;
  /// Books a statement libpq accepted (`sent` is its PQsend* answer).
  bool queued(int sent, bool wanted);

  PGconn* connection_ = nullptr;
  std::deque<bool> unread_;  // per statement sent and not read: whether the caller wants it
  bool flushed_ = true;      // nothing sent since the last flush request
  PgResult failure_;         // first failed deferred statement, not yet reported
  bool failed_ = false;
};

}  // namespace queue
