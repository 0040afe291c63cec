// relay/smtp/bdat_decoder.cpp — BDAT chunk content to canonical CRLF lines.
//
// Runs of ordinary octets are found with find_first_of and appended in one piece; only
// CR and LF are looked at one by one. Once the cap is passed nothing more is appended
// (the sink is released) but octets are still counted, so the refusal can name the size.
#include "relay/smtp/bdat_decoder.hpp"

#include <algorithm>

namespace relay {

void BdatDecoder::emit(std::string& sink, std::string_view piece) {
  size_ += piece.size();
  if (options_.max_size != 0 && size_ > options_.max_size) too_big_ = true;
  if (too_big_) {
    if (sink.capacity() != 0) std::string().swap(sink);
    return;
  }
  sink.append(piece);
  if (!piece.empty()) ends_in_crlf_ = piece.ends_with("\r\n");
}

BdatDecoder::Step BdatDecoder::decode(std::string_view input, std::string& sink) {
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
  const std::string_view bytes = input.substr(0, take);
  remaining_ -= take;
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (cr_pending_) {
      cr_pending_ = false;
      emit(sink, "\r\n");
      if (bytes[i] == '\n') {
        ++i;
        continue;
      }
      ++bare_line_endings_;  // a CR not followed by LF
    }
    const std::size_t stop = bytes.find_first_of("\r\n", i);
    const std::size_t end = stop == std::string_view::npos ? bytes.size() : stop;
    if (end > i) emit(sink, bytes.substr(i, end - i));
    if (stop == std::string_view::npos) break;
    if (bytes[stop] == '\r') {
      cr_pending_ = true;
    } else {
      ++bare_line_endings_;  // an LF without CR
      emit(sink, "\r\n");
    }
    i = stop + 1;
  }
  return {take, remaining_ == 0};
}

void BdatDecoder::finish(std::string& sink) {
  if (cr_pending_) {  // a bare CR at the very end
    cr_pending_ = false;
    ++bare_line_endings_;
    sink.append("\r\n");
    ends_in_crlf_ = true;
  }
  // Not counted against the cap: it is our framing, not the client's content.
  if (!too_big_ && !ends_in_crlf_) {
    sink.append("\r\n");
    ends_in_crlf_ = true;
  }
}

}  // namespace relay
