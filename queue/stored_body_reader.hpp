// queue/stored_body_reader.hpp — one way to read a queued message's body, wherever it is.
//
// Owns: reading a StoredBody (queue/message.hpp) in chunks whether it is inline (a shared
// string from SQLite) or a spool file (queue/body_reader), so delivery, notices and the
// CLI never ask which. Inline: read() copies from the string. Spooled: the prefix fields
// (StoredBody::prefix: a filter's edited header section, DKIM-Signature) first, then the
// file from StoredBody::skip on (the octets the prefix replaced are passed over), pread
// one chunk at a time; a file of another size than the envelope says is an error
// (errc::io_error), never a silently truncated message.
// Not thread-safe: one reader per delivery. Errors: std::error_code (errno or queue::errc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include "queue/body_reader.hpp"
#include "queue/message.hpp"
#include "queue/spool.hpp"

namespace queue {

class StoredBodyReader {
 public:
  /// `spool` may be null when `body` is inline. A missing body (freed, or spooled without
  /// a spool) is errc::not_found.
  static std::expected<StoredBodyReader, std::error_code> open(const Spool* spool, const StoredBody& body);

  /// Up to buffer.size() octets at the current position; 0 at the end.
  std::expected<std::size_t, std::error_code> read(std::span<char> buffer);
  /// Back to the first octet (the next hop or transaction gets the whole body again).
  void rewind() noexcept;
  /// Octets in the body (SIZE=, BDAT n).
  std::uint64_t size() const noexcept { return size_; }

 private:
  StoredBodyReader(std::shared_ptr<const std::string> data, std::optional<BodyReader> file, std::uint64_t size,
                   std::string prefix = {}, std::uint64_t skip = 0) noexcept
      : data_(std::move(data)), prefix_(std::move(prefix)), file_(std::move(file)), size_(size), skip_(skip) {}

  std::shared_ptr<const std::string> data_;
  std::string prefix_;  // spooled: sent before the file
  std::optional<BodyReader> file_;
  std::uint64_t size_ = 0;
  std::uint64_t skip_ = 0;  // spooled: where the message's part of the file begins
  std::uint64_t offset_ = 0;
};

/// The whole body in memory, checked against its stored size: for the few callers that
/// need it whole (`queue show --eml`, a report returning the full message).
std::expected<std::string, std::error_code> load_stored_body(const Spool* spool, const StoredBody& body);

/// The message's header section (up to and including the first empty line, or all of it
/// if there is none), capped at `max_octets`: what a RET=HDRS report returns.
std::expected<std::string, std::error_code> load_stored_header_section(const Spool* spool, const StoredBody& body,
                                                                       std::size_t max_octets);

}  // namespace queue
