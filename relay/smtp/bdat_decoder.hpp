// relay/smtp/bdat_decoder.hpp — the streaming decoder of a message sent with BDAT chunks.
//
// Owns: taking exactly the announced octets of each chunk, canonical CRLF output, the
// message size cap, and the count of bare CR/LF — the facts the server needs to accept
// or refuse a chunked message. It is the BDAT counterpart of relay/smtp/data_decoder:
// BDAT content is not dot-stuffed and has no terminator (the size says where a chunk
// ends), but the message is still relayed as lines (possibly with DATA), so a bare CR or
// LF becomes CRLF exactly as in DATA. A CR at the end of a chunk waits for the next
// chunk's first octet to decide whether it was half a CRLF.
// Never: performs I/O, buffers beyond the cap (octets past it are counted, not
// appended), decides replies or sequencing (relay/server/server_fsm). Not thread-safe;
// one per transaction.
// Standards: RFC 3030 §2-§4 (CHUNKING), RFC 5321 §2.3.8 (lines end in CRLF).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay {

class BdatDecoder {
 public:
  struct Options {
    std::uint64_t max_size = 0;  // cap on message octets (0: none); over it → too_big()
  };

  struct Step {
    std::size_t consumed = 0;   // input octets taken: at most what the chunk still lacks
    bool chunk_done = false;    // the current chunk is complete
  };

  BdatDecoder() noexcept = default;
  explicit BdatDecoder(Options options) noexcept : options_(options) {}

  /// Starts a new message with new options.
  void reset(Options options) noexcept { *this = BdatDecoder(options); }

  /// Announces the next chunk of `size` octets (a size of 0 is complete at once).
  void begin_chunk(std::uint64_t size) noexcept { remaining_ = size; }

  /// Takes octets of the current chunk from `input`, appending message octets to `sink`.
  Step decode(std::string_view input, std::string& sink);

  /// After the LAST chunk: a pending CR is written as CRLF (a bare CR), and a message
  /// that does not end in CRLF gets one, since it may be relayed with DATA.
  void finish(std::string& sink);

  bool chunk_done() const noexcept { return remaining_ == 0; }
  /// Octets of decoded message data, counted even past the cap.
  std::uint64_t size() const noexcept { return size_; }
  bool too_big() const noexcept { return too_big_; }
  bool bare_line_ending_seen() const noexcept { return bare_line_endings_ != 0; }
  std::uint64_t bare_line_endings() const noexcept { return bare_line_endings_; }

 private:
  void emit(std::string& sink, std::string_view piece);

  Options options_{};
  std::uint64_t remaining_ = 0;        // octets of the current chunk still to take
  std::uint64_t size_ = 0;
  std::uint64_t bare_line_endings_ = 0;
  bool cr_pending_ = false;            // the previous octet was CR (maybe half a CRLF)
  bool too_big_ = false;
  bool ends_in_crlf_ = true;           // the output so far is empty or ends in CRLF
};

}  // namespace relay
