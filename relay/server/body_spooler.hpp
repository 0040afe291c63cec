// relay/server/body_spooler.hpp — a session's message body on its way to the spool.
//
// Owns: the hybrid storage decision for one session's messages (like RocksDB's
// min_blob_size). A message whose whole body, trace header included, fits in [queue]
// inline_body_max stays in memory and is committed inline in SQLite, as before. The
// first time the FSM's pending output grows past that, a spool file is created
// (queue/body_writer), the buffer flushed into it, and every later octet goes there
// after each consume(), so the session holds one read of the message, not all of it.
// The FSM stays pure: it only appends to its output (ServerFsm::body_output); moving
// that output to the file is done here, by the driver.
// A file whose body the FSM closed (RSET, a refusal, the client gone) is unlinked by
// BodyWriter's destructor. finish() hands a complete file on as a FinishedBody, which the
// session fdatasyncs on the BodySyncPool before committing the envelope naming it.
// The first octets of a spooled body (its header section, at most head_max) are kept
// until the next body: the tracking record of the message takes its Message-ID from them,
// as it does from an inline body, without reading the file back.
// Errors: the first write error is kept and returned by finish(): the message is then
// refused with 451/452 (queue::to_queue_error), never committed short.
// Not thread-safe: one per session, on its I/O thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "queue/body_writer.hpp"
#include "queue/spool.hpp"

namespace relay {

class BodySpooler {
 public:
  /// `spool` null: every body stays inline whatever its size.
  BodySpooler(queue::Spool* spool, std::size_t inline_max) noexcept : spool_(spool), inline_max_(inline_max) {}

  /// After each ServerFsm::consume(): `pending` is the FSM's body output and `open_body`
  /// its ServerFsm::open_body(). Moves `pending` into the body's spool file once the body
  /// is larger than inline_max (clearing the string, keeping its capacity); drops the
  /// file of a body that is no longer open.
  void drain(std::string& pending, std::uint64_t open_body);

  /// At the commit, with the body's last octets (Transaction::body): nullopt when the
  /// body is inline (it stays in `rest`); else the complete file, or the first error.
  std::optional<std::expected<queue::FinishedBody, std::error_code>> finish(std::string& rest);

  /// Octets written to the current body's file so far (0: inline).
  std::uint64_t spooled() const noexcept { return writer_ ? writer_->size() : 0; }

  /// After finish() of a spooled body: its first octets, up to the end of its header
  /// section (at most head_max); "" after an inline one.
  std::string_view head() const noexcept { return head_; }

  static constexpr std::size_t head_max = 64 * 1024;

 private:
  queue::Spool* spool_;
  std::size_t inline_max_;
  std::optional<queue::BodyWriter> writer_;
  std::uint64_t body_ = 0;  // open_body() number of the spooled body, 0: none
  std::error_code error_;   // creating or writing the file failed
  std::string head_;        // see head()
};

}  // namespace relay
