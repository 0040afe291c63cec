// relay/smtp/header_section_meter.hpp — the size of a message's header section, measured
// as the message streams past.
//
// Owns: finding the end of the header section (the first empty line, RFC 5322 §2.1) in a
// message that arrives in chunks and is not kept in memory (it goes to the spool), so
// the server can still refuse a header over max_header_size. Same measure as the
// in-memory check in relay/server (header_over_limit): the octets up to and including
// the CRLF of the last header line; 0 when the message starts with an empty line; the
// whole message while no empty line has been seen. Feed it the client's octets only,
// not the Received: header hubrelay writes first.
// Never: performs I/O, keeps message octets (four states of "\r\n\r\n" matched).
// Header-only (no source list to change for a new file). Not thread-safe; one per message.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace relay {

class HeaderSectionMeter {
 public:
  /// Feeds the next octets of the message. After complete() it only returns.
  void feed(std::string_view chunk) {
    const char* p = chunk.data();
    const char* const end = p + chunk.size();
    while (p != end && !complete()) {
      if (matched_ == 0) {
        // The common case, inside a line: jump to the next CR.
        const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(end - p));
        if (cr == nullptr) {
          seen_ += static_cast<std::uint64_t>(end - p);
          return;
        }
        seen_ += static_cast<std::uint64_t>(static_cast<const char*>(cr) - p);
        p = static_cast<const char*>(cr);
      }
      matched_ = next_state(matched_, *p++);
      ++seen_;
      if (complete()) header_ = seen_ - 2;  // the empty line's CRLF is not header
    }
  }

  /// Octets of the header section, so far if !complete().
  std::uint64_t size() const noexcept { return complete() ? header_ : seen_; }
  /// The empty line that ends the header section has been seen.
  bool complete() const noexcept { return matched_ == 4; }

 private:
  // States count the octets of "\r\n\r\n" matched; a CR restarts a match at 1.
  static int next_state(int state, char c) noexcept {
    if (c == '\r') return state == 2 ? 3 : 1;
    if (c == '\n' && (state == 1 || state == 3)) return state + 1;
    return 0;
  }

  int matched_ = 2;  // as if a CRLF preceded the message: a leading CRLF is the empty line
  std::uint64_t seen_ = 0;
  std::uint64_t header_ = 0;
};

}  // namespace relay
