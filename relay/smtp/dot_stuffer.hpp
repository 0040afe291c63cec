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
// Never: performs I/O, allocates beyond what it appends to the caller's string.
// Header-only (no source list to change for a new file). Not thread-safe; one per send.
// Standards: RFC 5321 §4.5.2 (transparency), §4.1.1.4 (end of data).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace relay {

class DotStuffer {
 public:
  /// Appends `chunk` to `out`, with a "." doubled at every line start.
  void stuff(std::string_view chunk, std::string& out) {
    if (chunk.empty()) return;
    std::size_t start = 0;
    if (line_start_ && chunk.front() == '.') {
      out += '.';
    } else if (cr_last_ && chunk.front() == '\n' && chunk.size() > 1 && chunk[1] == '.') {
      out += "\n.";  // the CRLF straddled the chunks; the "." itself follows with the run
      start = 1;
    }
    for (std::size_t pos = chunk.find("\r\n.", start); pos != std::string_view::npos;
         pos = chunk.find("\r\n.", pos + 3)) {
      out.append(chunk.substr(start, pos + 2 - start));
      out += '.';
      start = pos + 2;
    }
    out.append(chunk.substr(start));
    // What the output now ends in decides the next chunk's first octet.
    const bool crlf_across = cr_last_ && chunk.size() == 1 && chunk.front() == '\n';
    line_start_ = chunk.ends_with("\r\n") || crlf_across;
    cr_last_ = chunk.back() == '\r';
    empty_ = false;
  }

  /// After the last chunk: CRLF if the body did not end in one, then ".\r\n".
  void finish(std::string& out) {
    if (empty_ || !line_start_) out += "\r\n";
    out += ".\r\n";
  }

 private:
  bool line_start_ = true;  // the output so far is empty or ends in CRLF
  bool cr_last_ = false;    // the output so far ends in CR (maybe half a CRLF)
  bool empty_ = true;       // nothing stuffed yet: an empty body still gets its CRLF
};

}  // namespace relay
