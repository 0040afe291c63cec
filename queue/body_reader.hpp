// queue/body_reader.hpp — reading a stored message body back from the spool, in chunks.
//
// Owns: one open body file, its size (fstat at open) and the read position. Delivery
// reads chunks into its own buffer and dot-stuffs them on the way out (DATA) or sends
// them raw (BDAT); rewind() starts over for the next hop. read_whole_body() is for the
// few callers that need the message in memory: tests, and small notices. Where
// streaming is not possible: nothing that only needs a prefix (RET=HDRS takes the
// header section, read up to the first empty line) or a pass (delivery, RET=FULL,
// `queue show --eml`, DKIM hashing) needs the whole body at once.
// Never: writes, blocks on anything but the read itself (a body not in the page cache
// is read from disk: posix_fadvise(SEQUENTIAL) lets the kernel read ahead).
// Not thread-safe: one reader per delivery. Errors: std::error_code (errno); a short
// file (the size shrank under us) is reported as end of file at the shorter size.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "queue/spool.hpp"
#include "queue/unique_fd.hpp"

namespace queue {

class BodyReader {
 public:
  /// Opens the body called `name`. ENOENT (std::errc::no_such_file_or_directory) means
  /// the envelope outlived its file: the orphan scan reports such names.
  static std::expected<BodyReader, std::error_code> open(const Spool& spool, std::string_view name);

  /// Reads up to buffer.size() octets at the current position; 0 means the end.
  std::expected<std::size_t, std::error_code> read(std::span<char> buffer);

  /// Back to the first octet (the next hop gets the whole body again).
  void rewind() noexcept { offset_ = 0; }
  /// To `offset` octets from the start (a stored body that begins past the file's start).
  void seek(std::uint64_t offset) noexcept { offset_ = offset; }

  /// The body's size when it was opened (for SIZE= and BDAT n).
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  BodyReader(UniqueFd fd, std::uint64_t size) noexcept : fd_(std::move(fd)), size_(size) {}

  UniqueFd fd_;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
};

/// The whole body in memory. Only for callers that need it whole (see above).
std::expected<std::string, std::error_code> read_whole_body(const Spool& spool, std::string_view name);

/// The header section (up to and including the first empty line, or everything if there
/// is none), read in chunks and capped at `max_octets`: what a RET=HDRS notice includes.
std::expected<std::string, std::error_code> read_header_section(const Spool& spool, std::string_view name,
                                                                std::size_t max_octets);

/// The same from any reader with read(std::span<char>) -> expected<size_t, error_code>
/// (0 at the end), from its current position.
template <class Reader>
std::expected<std::string, std::error_code> read_header_section(Reader& reader, std::size_t max_octets) {
  std::string header;
  std::array<char, 4096> chunk{};
  while (header.size() < max_octets) {
    auto n = reader.read(std::span(chunk).first(std::min(chunk.size(), max_octets - header.size())));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    // Search from 3 octets back so a "\r\n\r\n" split between chunks is found.
    const std::size_t from = header.size() >= 3 ? header.size() - 3 : 0;
    header.append(chunk.data(), *n);
    if (header.starts_with("\r\n")) return std::string("\r\n");
    if (const auto blank = header.find("\r\n\r\n", from); blank != std::string::npos) {
      header.resize(blank + 4);
      return header;
    }
  }
  return header;
}

}  // namespace queue
