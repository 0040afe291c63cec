// relay/smtp/reply_parser.hpp — the client side's incremental parser of SMTP replies.
//
// Owns: turning bytes from a server into complete replies — code, optional enhanced
// status, text lines — across arbitrary read boundaries and multi-line replies
// ("250-..." continuation lines, then "250 ..."). Stops after each complete reply so
// pipelined replies are returned one at a time, in order.
// Limits: a line of more than 1000 octets, or more than 100 lines in one reply, is an
// error (a hostile or broken server must not make us buffer without bound).
// Tolerant of: missing enhanced codes (pre-RFC 2034 servers), bare LF line endings,
// "250" with no text. Malformed: a code that is not three digits 2-5/0-5/0-9, a fourth
// character other than ' ', '-' or end of line, or continuation lines whose code differs.
// After an error the parser stays failed: the connection's framing is lost.
// Never: performs I/O, interprets what a code means (relay/client/judge does).
// Standards: RFC 5321 §4.2 and §4.5.3.1.5, RFC 2034, RFC 3463.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

namespace limits {
inline constexpr std::size_t max_reply_line = 1000;   // octets incl. CRLF; RFC says 512, we are lenient
inline constexpr std::size_t max_reply_lines = 100;
}  // namespace limits

/// RFC 3463 status: class.subject.detail.
struct EnhancedStatus {
  std::uint8_t klass = 0;       // 2, 4 or 5
  std::uint16_t subject = 0;    // 0..999
  std::uint16_t detail = 0;     // 0..999
  std::string to_string() const;
  friend bool operator==(const EnhancedStatus&, const EnhancedStatus&) = default;
};

/// Parses "x.y.z" exactly (class 2/4/5, 1-3 digits each). Exposed for tests and DSNs.
std::optional<EnhancedStatus> parse_enhanced_status(std::string_view text) noexcept;

struct Reply {
  int code = 0;                              // 200..559
  std::optional<EnhancedStatus> enhanced;    // from the first line, when its class matches the code
  std::vector<std::string> lines;            // text of each line, enhanced status removed where present

  bool positive() const noexcept { return code >= 200 && code < 400; }
  bool transient() const noexcept { return code >= 400 && code < 500; }
  bool permanent() const noexcept { return code >= 500; }
  /// Lines joined by single spaces, for logs and DSN diagnostic text.
  std::string text() const;
  /// One-line rendering for logs and the queue's last-reply column:
  /// "550 5.7.1 Relay access denied" (lines joined by spaces).
  std::string to_string() const;
};

enum class ReplyError : std::uint8_t { line_too_long, too_many_lines, malformed };

std::string_view to_string(ReplyError error) noexcept;

class ReplyParser {
 public:
  struct Step {
    std::size_t consumed = 0;       // octets of the input used
    std::optional<Reply> reply;     // set when a reply was completed (consumed ends after it)
  };

  /// Feeds bytes. Returns after one complete reply or when the input is used up. Call
  /// again with the unconsumed rest to get the next pipelined reply.
  std::expected<Step, ReplyError> feed(std::string_view input);

  /// Forgets any partial reply and a previous error.
  void reset() noexcept;

  /// Convenience for drivers that keep one growing read buffer: parses from the front
  /// of `buffer` and erases what was consumed. Every ReplyError is reported as
  /// Status::malformed with its name in `error`.
  enum class Status : std::uint8_t { incomplete, complete, malformed };
  struct Parsed {
    Status status = Status::incomplete;
    Reply reply;          // valid when complete
    std::string error;    // set when malformed
  };
  Parsed parse(std::string& buffer);

  /// True when part of a reply has been received but not yet completed.
  bool in_progress() const noexcept { return !line_.empty() || !current_.lines.empty(); }

 private:
  std::expected<bool, ReplyError> take_line(std::string_view line);

  std::string line_;        // partial line carried between feeds
  Reply current_;           // lines received so far of the reply being assembled
  std::optional<ReplyError> failed_;
};

}  // namespace relay
