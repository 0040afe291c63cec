// relay/smtp/data_decoder.cpp — the DATA state machine.
//
// The common path is a run of ordinary octets inside a line: it is found with memchr
// (one scan for LF, one for CR before that LF); consecutive lines ending in a real CRLF
// whose successor does not start with a dot are appended together in one piece. The LF
// position is cached across lines so a long run of bare CRs stays linear.
// States and their single-octet decisions:
//   smtp_line_start "."  → dot_seen          (maybe the terminator, maybe a stuffed dot)
//   dot_seen        CR   → dot_cr_seen       anything else: the dot was stuffing, drop it
//   dot_cr_seen     LF   → finished          anything else: the CR was bare
//   cr_seen         LF   → smtp_line_start   anything else: the CR was bare
// A bare CR or LF becomes CRLF in the output and starts a line in state in_line, so that
// line is neither unstuffed nor able to end DATA (see data_decoder.hpp for why).
#include "relay/smtp/data_decoder.hpp"

#include <cstring>

namespace relay {

void DataDecoder::reset(Options options) noexcept { *this = DataDecoder(options); }

void DataDecoder::update_discarding() noexcept {
  discarding_ = discarding_ || too_big_ || long_line_ ||
                (options_.refuse_bare_line_endings && bare_line_endings_ != 0);
}

void DataDecoder::emit(std::string& sink, const char* data, std::size_t n) {
  if (n == 0) return;
  size_ += n;
  if (options_.max_size != 0 && size_ > options_.max_size && !too_big_) {
    too_big_ = true;
    update_discarding();
  }
  if (!discarding_) sink.append(data, n);
}

void DataDecoder::count_line_octets(std::size_t n) noexcept {
  line_length_ += n;
  if (line_length_ + 2 > limits::max_text_line && !long_line_) {
    long_line_ = true;
    update_discarding();
  }
}

void DataDecoder::end_line(std::string& sink, bool bare) {
  if (bare) {
    ++bare_line_endings_;
    update_discarding();
  }
  emit(sink, "\r\n", 2);
  line_length_ = 0;
}

DataDecoder::Step DataDecoder::decode(std::string_view input, std::string& sink) {
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
        // A run of plain lines (text, then a real CRLF; the next line not starting with
        // a dot) is copied in one append, CRLFs included, as the per-line path would
        // have produced it; the scan stops at the first line that needs a decision.
        const std::size_t run_start = i;
        std::size_t stop = i;
        bool after_crlf = false;  // stopped right after a line's real CRLF
        for (;;) {
          if (!lf_known || next_lf < i) {
            const void* lf = std::memchr(data + i, '\n', n - i);
            next_lf = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : n;
            lf_known = true;
          }
          const void* cr = std::memchr(data + i, '\r', next_lf - i);
          stop = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - data) : next_lf;
          if (stop + 1 != next_lf || next_lf == n) break;
          count_line_octets(stop - i);
          line_length_ = 0;
          i = next_lf + 1;
          if (i == n || data[i] == '.') {
            after_crlf = true;
            break;
          }
        }
        emit(sink, data + run_start, i - run_start);
        if (after_crlf) {
          state_ = State::smtp_line_start;
          break;
        }
        // The line at i has no real CRLF in this input: its text, then a CR to decide
        // with the next octet, or a bare LF.
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

}  // namespace relay
