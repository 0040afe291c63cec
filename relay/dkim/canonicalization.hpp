// relay/dkim/canonicalization.hpp — DKIM header and body canonicalization (RFC 6376 §3.4).
//
// Owns: the two algorithms, "simple" and "relaxed", for header fields (one field in, its
// canonical form out) and for the body (a streaming canonicalizer fed the body in chunks of
// any size as it arrives, so the body hash is computed while the data streams in, without a
// second pass or a copy of the message). A CR LF pair, a run of whitespace or a run of empty
// lines may be split across chunks: the canonicalizer holds back only what it cannot decide
// yet (a CR, pending whitespace, a count of empty lines).
// Input is the message as stored: lines end in CR LF (bare line ends are normalised on
// receipt). A lone CR or LF is treated as an ordinary octet.
// Performs no I/O; pure; not thread-safe (one BodyCanonicalizer per body).
// Standards: RFC 6376 §3.4.1–§3.4.5 (with errata 3192: a non-empty body gains a final CR LF).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace relay::dkim {

enum class Canonicalization : std::uint8_t { simple, relaxed };

constexpr std::string_view to_string(Canonicalization c) noexcept {
  return c == Canonicalization::simple ? "simple" : "relaxed";
}

/// The c= tag's value: header algorithm / body algorithm.
struct CanonicalizationPair {
  Canonicalization header = Canonicalization::relaxed;
  Canonicalization body = Canonicalization::relaxed;
};

/// "relaxed/simple" and the like; "relaxed" alone means "relaxed/simple" (RFC 6376 §3.5 c=).
std::expected<CanonicalizationPair, std::string> parse_canonicalization(std::string_view text);

/// One header field, name and value with any folding, without its final CR LF, in its
/// canonical form followed by CR LF.
std::string canonicalize_header(std::string_view field, Canonicalization c);

/// The body's canonical form, chunk by chunk.
class BodyCanonicalizer {
 public:
  explicit BodyCanonicalizer(Canonicalization c) noexcept : relaxed_(c == Canonicalization::relaxed) {}

  /// Appends the canonical output that `chunk` makes certain to `out`.
  void feed(std::string_view chunk, std::string& out);
  /// Appends what remains once the body has ended. Call once.
  void finish(std::string& out);

 private:
  void line_end(std::string& out);
  void content(std::string_view run, std::string& out);

  bool relaxed_;
  bool cr_pending_ = false;     // the last octet seen was a CR
  bool wsp_pending_ = false;    // relaxed: whitespace seen since the last content octet
  bool line_has_content_ = false;
  bool emitted_ = false;        // anything at all was output
  std::uint64_t empty_lines_ = 0;  // empty lines held back: they may be trailing
};

}  // namespace relay::dkim
