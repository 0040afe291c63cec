// relay/smtp/dot_stuffer.hpp — dot-stuffing a message body that is sent in chunks.
//
// Owns: the RFC 5321 §4.5.2 transparency rule on the sending side when the body is not
// in memory as one string (it is read from the spool in chunks): a line that begins
// with "." gets one more, the first line included, and the end is CRLF "." CRLF with a
// CRLF added first when the body does not end in one. The state carried between chunks
// is whether the output so far ends in CR or CRLF, so a CRLF "." split across two chunks
// is found. Output equals the whole-body rule (tests/support/whole_body_stuffing.hpp)
// however the body is chunked. The body is canonical (CRLF line endings, as the
// server's decoders store it); only CRLF ends a line. BDAT sends the body raw instead.
// The stuffed chunk is given as pieces, in order, to a callback: views into the chunk
// itself (and static text for the end), so the sender can write them as they are
// (gathered) without copying the body, or append them to a string.
// Why it scans for "." and not for line ends: a line needs a decision only when it begins
// with a dot, and a dot is rarer than a line end (base64 and most text lines have none),
// so one memchr usually crosses many lines; a run of plain lines is one piece.
// Never: performs I/O, allocates (the callback decides where pieces go).
// Header-only (no source list to change for a new file). Not thread-safe; one per send.
// Standards: RFC 5321 §4.5.2 (transparency), §4.1.1.4 (end of data).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace relay {

class DotStuffer {
 public:
  /// Gives `chunk` dot-stuffed to `emit(std::string_view)` as pieces whose
  /// concatenation is the stuffed chunk. Every piece is a view into `chunk`, so it lives
  /// as long as the chunk's storage does. A dot that opens a line is doubled by letting
  /// two pieces share it: the run before it ends with the dot, the next run starts with it.
  template <typename Emit>
  void stuff(std::string_view chunk, Emit&& emit) {
    if (chunk.empty()) return;
    const char* const data = chunk.data();
    const std::size_t n = chunk.size();
    std::size_t start = 0;  // where the piece not yet given begins
    for (std::size_t i = 0; i < n;) {
      const void* hit = std::memchr(data + i, '.', n - i);
      if (hit == nullptr) break;
      const std::size_t dot = static_cast<std::size_t>(static_cast<const char*>(hit) - data);
      if (opens_line(data, dot)) {
        emit(std::string_view(data + start, dot + 1 - start));
        start = dot;
      }
      i = dot + 1;
    }
    emit(std::string_view(data + start, n - start));
    // What the output now ends in decides the next chunk's first octets.
    line_start_ = n >= 2 ? data[n - 2] == '\r' && data[n - 1] == '\n' : cr_last_ && data[0] == '\n';
    cr_last_ = data[n - 1] == '\r';
    empty_ = false;
  }

  /// Appends `chunk`, stuffed, to `out`.
  void stuff(std::string_view chunk, std::string& out) {
    stuff(chunk, [&out](std::string_view piece) { out.append(piece); });
  }

  /// After the last chunk: CRLF if the body did not end in one, then ".\r\n", given to
  /// `emit` as one piece of static text.
  template <typename Emit>
  void finish(Emit&& emit) {
    static constexpr std::string_view crlf_terminator = "\r\n.\r\n";
    emit(empty_ || !line_start_ ? crlf_terminator : crlf_terminator.substr(2));
  }

  void finish(std::string& out) {
    finish([&out](std::string_view piece) { out.append(piece); });
  }

 private:
  /// Whether the "." at `dot` of the current chunk begins a line of the output.
  bool opens_line(const char* data, std::size_t dot) const noexcept {
    if (dot >= 2) return data[dot - 2] == '\r' && data[dot - 1] == '\n';
    if (dot == 1) return cr_last_ && data[0] == '\n';  // the CRLF straddles the chunks
    return line_start_;
  }

  bool line_start_ = true;  // the output so far is empty or ends in CRLF
  bool cr_last_ = false;    // the output so far ends in CR (maybe half a CRLF)
  bool empty_ = true;       // nothing stuffed yet: an empty body still gets its CRLF
};

}  // namespace relay
