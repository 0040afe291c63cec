// relay/smtp/header_fields.hpp — the fields of a message's header section, one at a time.
//
// Owns: the one walk over a header section (RFC 5322 §2.2, §2.2.3): a field is a line
// and every folded line after it (one that starts with SP or HTAB); the section ends at
// the first empty line; only the first `limit` octets are read, so a huge or endless
// header section costs no more than that. Line ends are CRLF, or with
// LineEnds::crlf_or_lf a bare LF as well (mail that was edited on its way). Used for
// "TLS-Required: No" (relay/smtp/require_tls), the Message-ID of tracking records
// (relay/tracking/message_id), where a spooled body's header section ends
// (relay/server/body_spooler) and a filter's view of the header (relay/milter/message_edit).
// Pure: views into the caller's text; no allocation, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace relay {

enum class LineEnds : std::uint8_t { crlf, crlf_or_lf };

/// One field, as views into the message.
struct HeaderFieldView {
  std::string_view name;   // the text before the first colon, as written; "" without a colon
  std::string_view value;  // after the colon, folding included, without the last line end
  std::string_view text;   // the whole field, line ends included
};

class HeaderFieldReader {
 public:
  explicit HeaderFieldReader(std::string_view message, LineEnds ends = LineEnds::crlf,
                             std::size_t limit = std::string_view::npos) noexcept;

  /// The next field; nullopt at the empty line that ends the header section, or when the
  /// text (within the limit) runs out. A field cut by the limit is returned as far as read.
  std::optional<HeaderFieldView> next() noexcept;

  /// Offset just past the last field returned: where the empty line starts, once next()
  /// found it.
  std::size_t fields_end() const noexcept { return at_; }
  /// Offset just past the empty line that ended the header section; nullopt before next()
  /// found it, or when the text (within the limit) holds none.
  std::optional<std::size_t> section_end() const noexcept { return end_; }

 private:
  /// Offset just past the line that starts at `from` (its line end included).
  std::size_t line_end(std::size_t from) const noexcept;

  std::string_view text_;
  LineEnds ends_;
  std::size_t at_ = 0;
  std::optional<std::size_t> end_;
};

/// Offset just past the empty line that ends the header section of `message`, or nullopt
/// when `message` (a prefix of it) holds no complete header section yet. A message that
/// starts with the empty line has an empty header section.
std::optional<std::size_t> header_section_end(std::string_view message, LineEnds ends = LineEnds::crlf,
                                              std::size_t limit = std::string_view::npos) noexcept;

}  // namespace relay
