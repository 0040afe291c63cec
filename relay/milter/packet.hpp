// relay/milter/packet.hpp — milter packet framing: a 4-octet big-endian length, then the
// command octet and its data (the length counts both).
//
// Owns: encoding packets and the NUL-terminated strings and 32-bit integers inside them,
// and the incremental reader that cuts a filter's byte stream into packets with a size
// cap. A zero length or a length over the cap is a framing error: the filter failed.
// Never performs I/O; the reader buffers at most one packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/milter/protocol.hpp"

namespace relay::milter {

struct Packet {
  char code = 0;
  std::string data;
};

/// Appends one packet (length, code, data) to `out`.
void append_packet(std::string& out, char code, std::string_view data);
std::string encode_packet(char code, std::string_view data);

/// Appends a 32-bit big-endian integer / a NUL-terminated string to packet data.
void append_u32(std::string& out, std::uint32_t value);
void append_cstring(std::string& out, std::string_view text);

/// Reads packet data front to back; every read fails (nullopt) past the end.
class DataCursor {
 public:
  explicit DataCursor(std::string_view data) noexcept : data_(data) {}
  std::optional<std::uint32_t> u32();
  std::optional<std::uint16_t> u16();
  /// A string up to its NUL (consumed); nullopt without a NUL.
  std::optional<std::string_view> cstring();
  std::string_view rest() const noexcept { return data_; }
  bool empty() const noexcept { return data_.empty(); }

 private:
  std::string_view data_;
};

/// Splits a NUL-separated argument list ("a\0b\0") into its strings; nullopt when the
/// last one is not terminated.
std::optional<std::vector<std::string_view>> split_cstrings(std::string_view data);

enum class FramingError : std::uint8_t { empty_packet, oversize_packet };
std::string_view to_string(FramingError error) noexcept;

class PacketReader {
 public:
  explicit PacketReader(std::size_t max_size = packet_max) noexcept : max_size_(max_size) {}
  /// Buffers bytes read from the filter.
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// The next complete packet, nullopt when more bytes are needed, or the framing error
  /// (after which the reader is useless: the conversation has failed).
  std::expected<std::optional<Packet>, FramingError> next();
  /// Octets still wanted for the packet being read (at least 1 while incomplete).
  std::size_t wanted() const noexcept;
  void clear() noexcept { buffer_.clear(); offset_ = 0; }

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
  std::size_t max_size_;
};

}  // namespace relay::milter
