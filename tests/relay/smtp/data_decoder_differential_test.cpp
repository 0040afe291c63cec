// tests/relay/smtp/data_decoder_differential_test.cpp — the DATA decoder against its
// previous implementation, kept here as the reference model: one line at a time, every
// CRLF appended on its own. Random inputs made of the octets that matter (CR, LF, ".",
// text) with long lines now and then, fed whole and in random pieces, with and without a
// size cap and refusal of bare line endings: consumed octets, finished, size, the flags
// and the bare line ending count must be identical, and so must the output whenever
// it is specified (not output_discarded()).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "relay/smtp/data_decoder.hpp"
#include "tests/support/decode_in_pieces.hpp"

namespace relay {
namespace {

class ReferenceDecoder {
 public:
  using Options = DataDecoder::Options;
  using Step = DataDecoder::Step;
  explicit ReferenceDecoder(Options options) noexcept : options_(options) {}
  bool finished() const noexcept { return state_ == State::finished; }
  std::uint64_t size() const noexcept { return size_; }
  bool too_big() const noexcept { return too_big_; }
  std::uint64_t bare_line_endings() const noexcept { return bare_line_endings_; }
  bool text_line_too_long() const noexcept { return long_line_; }
  bool output_discarded() const noexcept { return discarding_; }

  void update_discarding() noexcept {
    discarding_ = discarding_ || too_big_ || long_line_ ||
                  (options_.refuse_bare_line_endings && bare_line_endings_ != 0);
  }

  void emit(std::string& sink, const char* data, std::size_t n) {
    if (n == 0) return;
    size_ += n;
    if (options_.max_size != 0 && size_ > options_.max_size && !too_big_) {
      too_big_ = true;
      update_discarding();
    }
    if (!discarding_) sink.append(data, n);
  }

  void count_line_octets(std::size_t n) noexcept {
    line_length_ += n;
    if (line_length_ + 2 > limits::max_text_line && !long_line_) {
      long_line_ = true;
      update_discarding();
    }
  }

  void end_line(std::string& sink, bool bare) {
    if (bare) {
      ++bare_line_endings_;
      update_discarding();
    }
    emit(sink, "\r\n", 2);
    line_length_ = 0;
  }

  Step decode(std::string_view input, std::string& sink) {
    const char* const data = input.data();
    const std::size_t n = input.size();
    std::size_t i = 0;
    std::size_t next_lf = 0;     // first LF at or after i, or n; valid while lf_known
    bool lf_known = false;
    while (i < n) {
      switch (state_) {
        case State::finished:
          return {i, true};

        case State::smtp_line_start:
          if (data[i] == '.') {
            ++i;
            state_ = State::dot_seen;
          } else {
            state_ = State::in_line;
          }
          break;

        case State::dot_seen:
          if (data[i] == '\r') {
            ++i;
            state_ = State::dot_cr_seen;
          } else {
            // RFC 5321 §4.5.2: a leading dot with more on the line is deleted.
            state_ = State::in_line;
          }
          break;

        case State::dot_cr_seen:
          if (data[i] == '\n') {
            ++i;
            state_ = State::finished;
            return {i, true};
          }
          end_line(sink, true);  // ".<CR>x": the CR is bare; the dot was stuffing
          state_ = State::in_line;
          break;

        case State::cr_seen:
          if (data[i] == '\n') {
            ++i;
            end_line(sink, false);
            state_ = State::smtp_line_start;
          } else {
            end_line(sink, true);
            state_ = State::in_line;
          }
          break;

        case State::in_line: {
          if (!lf_known || next_lf < i) {
            const void* lf = std::memchr(data + i, '\n', n - i);
            next_lf = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : n;
            lf_known = true;
          }
          const void* cr = std::memchr(data + i, '\r', next_lf - i);
          const std::size_t stop = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - data) : next_lf;
          emit(sink, data + i, stop - i);
          count_line_octets(stop - i);
          i = stop;
          if (i == n) break;
          ++i;
          if (data[stop] == '\r') {
            state_ = State::cr_seen;
          } else {
            end_line(sink, true);  // a bare LF
          }
          break;
        }
      }
    }
    return {n, state_ == State::finished};
  }


 private:
  enum class State : std::uint8_t { smtp_line_start, dot_seen, dot_cr_seen, in_line, cr_seen, finished };
  Options options_{};
  State state_ = State::smtp_line_start;
  std::uint64_t size_ = 0;
  std::uint64_t bare_line_endings_ = 0;
  std::size_t line_length_ = 0;
  bool too_big_ = false;
  bool long_line_ = false;
  bool discarding_ = false;
};

std::string random_data(std::mt19937_64& rng) {
  static constexpr std::string_view pieces[] = {"\r\n", "\r\n", "\r\n", ".", "\r", "\n", "a", "text ", "\r\n.", "\r\n.\r\n", ".."};
  std::string out;
  const std::size_t parts = rng() % 300;
  for (std::size_t i = 0; i < parts; ++i) {
    if (rng() % 40 == 0) {
      out.append(rng() % 1100, 'x');  // near or over the 1000-octet line limit
    } else {
      out.append(pieces[rng() % std::size(pieces)]);
    }
  }
  if (rng() % 2 == 0) out.append("\r\n.\r\nMAIL FROM:<next>\r\n");
  return out;
}

TEST(DataDecoderDifferential, SameResultsAsTheReferenceOverRandomInput) {
  std::mt19937_64 rng(0x5eed);
  const auto check = [](bool ok, const char* what) { EXPECT_TRUE(ok) << what; };
  for (int round = 0; round < 20000; ++round) {
    const std::string input = random_data(rng);
    DataDecoder::Options options;
    options.max_size = rng() % 3 == 0 ? rng() % 4000 : 0;
    options.refuse_bare_line_endings = rng() % 2 == 0;
    const std::size_t piece = rng() % 4 == 0 ? 0 : 1 + rng() % 200;
    const auto got = test_support::decode_in_pieces(input, piece, options, check);
    const auto want = test_support::decode_in_pieces<decltype(check), ReferenceDecoder>(input, piece, options, check);
    ASSERT_EQ(got.consumed, want.consumed) << "round " << round;
    ASSERT_EQ(got.finished, want.finished) << "round " << round;
    ASSERT_EQ(got.size, want.size) << "round " << round;
    ASSERT_EQ(got.too_big, want.too_big) << "round " << round;
    ASSERT_EQ(got.bare, want.bare) << "round " << round;
    ASSERT_EQ(got.long_line, want.long_line) << "round " << round;
    ASSERT_EQ(got.discarded, want.discarded) << "round " << round;
    if (!want.discarded) {
      ASSERT_EQ(got.output, want.output) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace relay
