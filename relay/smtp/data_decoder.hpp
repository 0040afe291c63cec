// relay/smtp/data_decoder.hpp — the streaming decoder of an SMTP DATA section.
//
// Owns: finding the end of DATA, dot-unstuffing, canonical CRLF output, and the facts
// the server needs to accept or refuse the message (size over the cap, bare CR/LF seen,
// text line over 1000 octets). Input arrives in arbitrary chunks; output is appended to
// a caller-owned std::string. Stops right after the terminator, so bytes that follow
// (the next pipelined command) stay with the caller.
// End of data is ONLY <CRLF>.<CRLF>: a line consisting of "." that began after a real
// CRLF (or is the first line) and ends in a real CRLF. Bare LF and bare CR never end
// DATA — <LF>.<LF>, <LF>.<CRLF>, <CR>.<CRLF>, <CRLF>.<LF>, <CRLF>.<CR>x are data
// (SMTP smuggling defence). A bare CR or LF is written out as CRLF, and the line that
// follows it is not an SMTP line: it is neither unstuffed nor eligible to end DATA,
// because only a CRLF ends an SMTP line (RFC 5321 §2.3.8); treating it otherwise is
// exactly the disagreement between servers that smuggling exploits.
// Never: performs I/O, buffers beyond the cap (once a refusal is certain it stops
// appending and only keeps scanning). Not thread-safe; one per transaction.
// Standards: RFC 5321 §4.1.1.4 (DATA), §4.5.2 (transparency), §4.5.3.1.6 (text line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay {

namespace limits {
/// Longest text line incl. CRLF, not counting a stuffed dot (RFC 5321 §4.5.3.1.6).
inline constexpr std::size_t max_text_line = 1000;
}  // namespace limits

class DataDecoder {
 public:
  struct Options {
    std::uint64_t max_size = 0;                  // cap on output octets (0: none); over it → too_big()
    bool refuse_bare_line_endings = false;       // true: a bare CR/LF dooms the message, so stop appending
  };

  struct Step {
    std::size_t consumed = 0;  // input octets used; less than the input only when finished
    bool finished = false;     // the terminator was consumed
  };

  DataDecoder() noexcept = default;
  explicit DataDecoder(Options options) noexcept : options_(options) {}

  /// Decodes `input`, appending message octets to `sink`. Call again with more input
  /// until Step::finished; after that it consumes nothing until reset().
  Step decode(std::string_view input, std::string& sink);

  /// Starts a new message with new options.
  void reset(Options options) noexcept;

  bool finished() const noexcept { return state_ == State::finished; }
  /// Octets of decoded message data, counted even past the cap.
  std::uint64_t size() const noexcept { return size_; }
  bool too_big() const noexcept { return too_big_; }
  bool bare_line_ending_seen() const noexcept { return bare_line_endings_ != 0; }
  std::uint64_t bare_line_endings() const noexcept { return bare_line_endings_; }
  bool text_line_too_long() const noexcept { return long_line_; }
  /// True once the message will be refused whatever follows: output is no longer
  /// appended, and what the sink holds is an unspecified prefix of the message.
  bool output_discarded() const noexcept { return discarding_; }

 private:
  enum class State : std::uint8_t {
    smtp_line_start,  // at the start of a line that began after CRLF (or the first line)
    dot_seen,         // smtp_line_start, then "."
    dot_cr_seen,      // smtp_line_start, then ".", CR
    in_line,          // inside a line (or at the start of a line begun by a bare CR/LF)
    cr_seen,          // in_line, then CR: CRLF or a bare CR, decided by the next octet
    finished,
  };

  void emit(std::string& sink, const char* data, std::size_t n);
  void end_line(std::string& sink, bool bare);
  void count_line_octets(std::size_t n) noexcept;
  void update_discarding() noexcept;

  Options options_{};
  State state_ = State::smtp_line_start;
  std::uint64_t size_ = 0;
  std::uint64_t bare_line_endings_ = 0;
  std::size_t line_length_ = 0;  // octets of the current line so far, no terminator, no stuffed dot
  bool too_big_ = false;
  bool long_line_ = false;
  bool discarding_ = false;
};

}  // namespace relay
