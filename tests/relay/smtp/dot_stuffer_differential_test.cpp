// tests/relay/smtp/dot_stuffer_differential_test.cpp — the sending side's dot-stuffing
// against its previous implementation, kept here as the reference model: a search for
// CRLF "." per line start, the chunk copied into the output around each added dot.
// Random bodies made of the octets that matter (CR, LF, ".", text) and long dot-free
// runs, stuffed whole and in random pieces (empty ones included): the output given as
// pieces, joined, must equal the reference's string, and so must the string overload's.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "relay/smtp/dot_stuffer.hpp"

namespace relay {
namespace {

class ReferenceStuffer {
 public:
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
    const bool crlf_across = cr_last_ && chunk.size() == 1 && chunk.front() == '\n';
    line_start_ = chunk.ends_with("\r\n") || crlf_across;
    cr_last_ = chunk.back() == '\r';
    empty_ = false;
  }

  void finish(std::string& out) {
    if (empty_ || !line_start_) out += "\r\n";
    out += ".\r\n";
  }

 private:
  bool line_start_ = true;
  bool cr_last_ = false;
  bool empty_ = true;
};

std::string random_body(std::mt19937_64& rng) {
  static constexpr std::string_view pieces[] = {"\r\n", "\r\n", "\r\n", ".", "\r", "\n", "a", "text. ", "\r\n.", "\r\n.\r\n", ".."};
  std::string out;
  const std::size_t parts = rng() % 300;
  for (std::size_t i = 0; i < parts; ++i) {
    if (rng() % 40 == 0) {
      out.append(rng() % 300, 'x');  // a run with no dot at all
    } else {
      out.append(pieces[rng() % std::size(pieces)]);
    }
  }
  return out;
}

/// Chunk borders: fixed size, or random sizes from 0 (an empty chunk) up.
std::vector<std::string_view> random_chunks(std::string_view body, std::mt19937_64& rng) {
  std::vector<std::string_view> chunks;
  const std::size_t fixed = rng() % 3 == 0 ? 1 + rng() % 64 : 0;
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t n = std::min(body.size() - at, fixed != 0 ? fixed : rng() % 40);
    chunks.push_back(body.substr(at, n));
    at += n;
  }
  return chunks;
}

TEST(DotStufferDifferential, SameOutputAsTheReferenceOverRandomBodies) {
  std::mt19937_64 rng(0xd07);
  for (int round = 0; round < 20000; ++round) {
    const std::string body = random_body(rng);
    const std::vector<std::string_view> chunks =
        rng() % 4 == 0 ? std::vector<std::string_view>{body} : random_chunks(body, rng);
    ReferenceStuffer reference;
    std::string want;
    DotStuffer by_pieces;
    DotStuffer by_string;
    std::string joined;
    std::string appended;
    for (std::string_view chunk : chunks) {
      reference.stuff(chunk, want);
      by_pieces.stuff(chunk, [&](std::string_view piece) {
        ASSERT_FALSE(piece.empty());
        joined.append(piece);
      });
      by_string.stuff(chunk, appended);
    }
    reference.finish(want);
    by_pieces.finish([&](std::string_view piece) { joined.append(piece); });
    by_string.finish(appended);
    ASSERT_EQ(joined, want) << "round " << round << " body " << testing::PrintToString(body);
    ASSERT_EQ(appended, want) << "round " << round;
  }
}

}  // namespace
}  // namespace relay
