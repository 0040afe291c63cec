// tests/support/decode_in_pieces.hpp — drives one DataDecoder the way a session does, for
// the DATA decoder tests and the data_decoder fuzz entry.
//
// Owns: handing the decoder its input in pieces of a given size (or all at once) until it
// finishes, checking each step's contract (never consumes more than it was given, stops
// early only when finished), and collecting what it reports. A broken contract goes to
// the caller's `check(ok, what)`, so the tests can report through GoogleTest and the
// fuzzer can abort. Header-only and free of GoogleTest; test code only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/smtp/data_decoder.hpp"

namespace test_support {

struct DecodeRun {
  std::string output;
  std::size_t consumed = 0;
  bool finished = false;
  bool too_big = false;
  std::uint64_t bare = 0;
  bool long_line = false;
  bool discarded = false;
  std::uint64_t size = 0;
};

/// Feeds `input` in pieces of `piece` octets (0: all at once) until the decoder finishes.
/// `Decoder`: another implementation with DataDecoder's interface (a reference model).
template <typename Check, typename Decoder = relay::DataDecoder>
DecodeRun decode_in_pieces(std::string_view input, std::size_t piece, relay::DataDecoder::Options options,
                           Check check) {
  Decoder decoder(options);
  DecodeRun r;
  std::size_t offset = 0;
  while (offset < input.size() && !r.finished) {
    const std::size_t n = piece == 0 ? input.size() - offset : std::min(piece, input.size() - offset);
    const auto step = decoder.decode(input.substr(offset, n), r.output);
    check(step.consumed <= n, "decoder consumed more than given");
    check(step.finished || step.consumed == n, "decoder stopped early without finishing");
    r.consumed += step.consumed;
    r.finished = step.finished;
    offset += n;
  }
  r.too_big = decoder.too_big();
  r.bare = decoder.bare_line_endings();
  r.long_line = decoder.text_line_too_long();
  r.discarded = decoder.output_discarded();
  r.size = decoder.size();
  check(decoder.finished() == r.finished, "decoder's finished() disagrees with its last step");
  return r;
}

}  // namespace test_support
