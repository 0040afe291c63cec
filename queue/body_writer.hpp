// queue/body_writer.hpp — streaming one message body into its spool file.
//
// Owns: one body file from DATA/BDAT start to the end of the message: a bounded buffer
// (limits::body_buffer; write(2) when it is full, so a session holds at most about one
// buffer plus one read whatever the message size), the size written, and the file's
// fate: a BodyWriter that is dropped or abandon()ed (RSET, 552 too big, client gone)
// unlinks its file. finish() flushes and hands the file on as a FinishedBody, which in
// turn unlinks it when dropped, until release() says the envelope naming it is
// committed. So an unacknowledged body never outlives its session, and what a crash
// leaves behind is found by the orphan scan (queue/spool_scan).
// The trace header (Received:, and the DNSBL tag) is the first thing appended: it is
// fixed at DATA/BDAT start, and the file is then the message exactly as relayed.
// Never: fsyncs (FinishedBody::sync() does, on a BodySyncPool thread, never on an I/O
// thread). write(2) only copies into the page cache, so the I/O thread may call
// append(). Not thread-safe: one writer per transaction, one thread at a time.
// Errors: std::error_code (errno); after the first one the writer stays failed and
// returns it again. Map with to_queue_error() for the reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <system_error>

#include "queue/spool.hpp"
#include "queue/unique_fd.hpp"

namespace queue {

namespace limits {
inline constexpr std::size_t body_buffer = 64 * 1024;  // octets buffered before write(2)
}  // namespace limits

/// A complete body file, written but not yet durable or not yet owned by an envelope.
class FinishedBody {
 public:
  FinishedBody() noexcept = default;
  FinishedBody(const Spool& spool, std::string name, std::uint64_t size, UniqueFd fd,
               std::uint64_t directory_ticket = 0) noexcept
      : spool_(&spool), name_(std::move(name)), size_(size), fd_(std::move(fd)), directory_ticket_(directory_ticket) {}
  /// Unlinks the file unless release() was called.
  ~FinishedBody();
  FinishedBody(FinishedBody&& other) noexcept;
  FinishedBody& operator=(FinishedBody&& other) noexcept;

  /// fdatasync, closes the descriptor, then makes the file's name durable (the spool's
  /// coalesced directory fsync, Spool::sync_directory_for). Blocks for disk flushes: run
  /// it on a BodySyncPool thread. A second call (descriptor closed) returns at once.
  std::error_code sync() noexcept;
  /// The two halves of sync(), which may run at the same time on two threads (they touch
  /// different members): the data's fdatasync (closes the descriptor) and the name's
  /// directory fsync. BodySyncPool runs them side by side.
  std::error_code sync_data() noexcept;
  std::error_code sync_name() const noexcept;
  /// Whether sync_name() has anything to flush.
  bool needs_name_sync() const noexcept { return spool_ != nullptr && directory_ticket_ != 0; }

  /// The envelope naming this file is committed: the file is the queue's now, and this
  /// object no longer removes it. Returns the name (for the envelope and logs).
  std::string release() noexcept;

  const std::string& name() const noexcept { return name_; }
  std::uint64_t size() const noexcept { return size_; }
  bool synced() const noexcept { return !fd_; }

 private:
  void remove_file() noexcept;

  const Spool* spool_ = nullptr;  // null: nothing owned (moved from or released)
  std::string name_;
  std::uint64_t size_ = 0;
  UniqueFd fd_;
  std::uint64_t directory_ticket_ = 0;  // 0: the name needs no directory fsync
};

class BodyWriter {
 public:
  /// Creates the body file for one message (Spool::create).
  static std::expected<BodyWriter, std::error_code> create(Spool& spool,
                                                           std::size_t buffer_size = limits::body_buffer);

  /// Abandons the file unless finish() handed it on.
  ~BodyWriter() { abandon(); }
  BodyWriter(BodyWriter&& other) noexcept;
  BodyWriter& operator=(BodyWriter&& other) noexcept;
  BodyWriter(const BodyWriter&) = delete;
  BodyWriter& operator=(const BodyWriter&) = delete;

  /// Appends octets; writes the buffer out when it reaches the buffer size. Input at
  /// least one buffer long is written straight through, not copied.
  std::error_code append(std::string_view data);

  /// The buffer itself, for a decoder that appends into a std::string (DataDecoder::
  /// decode(input, writer.pending())): no copy. Call flush_if_full() after each decode.
  std::string& pending() noexcept { return buffer_; }
  /// Writes the buffer out once it holds at least the buffer size.
  std::error_code flush_if_full();

  /// Flushes and hands the file on. The writer is empty afterwards (its destructor does
  /// nothing). On error the file is unlinked and the error returned.
  std::expected<FinishedBody, std::error_code> finish();

  /// Closes and unlinks the file now. Idempotent; errors are ignored (a file left
  /// behind is an orphan, removed at the next start).
  void abandon() noexcept;

  /// Octets appended so far (written and buffered).
  std::uint64_t size() const noexcept { return written_ + buffer_.size(); }
  const std::string& name() const noexcept { return name_; }
  /// The first error, sticky; empty while the writer is healthy.
  std::error_code error() const noexcept { return error_; }

 private:
  BodyWriter(Spool& spool, SpoolFile file, std::size_t buffer_size);
  std::error_code write_out(std::string_view data);
  std::error_code flush();

  Spool* spool_ = nullptr;  // null: empty (moved from, finished or abandoned)
  std::string name_;
  UniqueFd fd_;
  std::uint64_t directory_ticket_ = 0;
  std::size_t buffer_size_ = 0;
  std::string buffer_;
  std::uint64_t written_ = 0;
  std::error_code error_;
};

}  // namespace queue
