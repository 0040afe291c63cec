// relay/smtp/header_fields.cpp — walking a header section (see the header).
#include "relay/smtp/header_fields.hpp"

namespace relay {

HeaderFieldReader::HeaderFieldReader(std::string_view message, LineEnds ends, std::size_t limit) noexcept
    : text_(message.substr(0, limit)), ends_(ends) {}

std::size_t HeaderFieldReader::line_end(std::size_t from) const noexcept {
  for (std::size_t at = from;; ++at) {
    at = text_.find('\n', at);
    if (at == std::string_view::npos) return text_.size();
    if (ends_ == LineEnds::crlf_or_lf || (at > from && text_[at - 1] == '\r')) return at + 1;
  }
}

std::optional<HeaderFieldView> HeaderFieldReader::next() noexcept {
  if (end_ || at_ >= text_.size()) return std::nullopt;
  const std::size_t first_end = line_end(at_);
  std::string_view first = text_.substr(at_, first_end - at_);
  if (first == "\r\n" || (ends_ == LineEnds::crlf_or_lf && first == "\n")) {
    end_ = first_end;  // the empty line: the header section ends here
    return std::nullopt;
  }
  std::size_t end = first_end;
  while (end < text_.size() && (text_[end] == ' ' || text_[end] == '\t')) end = line_end(end);
  HeaderFieldView field;
  field.text = text_.substr(at_, end - at_);
  std::string_view body = field.text;
  if (body.ends_with("\r\n")) body.remove_suffix(2);
  else if (body.ends_with('\n')) body.remove_suffix(1);
  if (const auto colon = body.find(':'); colon != std::string_view::npos) {
    field.name = body.substr(0, colon);
    field.value = body.substr(colon + 1);
  }
  at_ = end;
  return field;
}

std::optional<std::size_t> header_section_end(std::string_view message, LineEnds ends, std::size_t limit) noexcept {
  HeaderFieldReader reader(message, ends, limit);
  while (reader.next()) {
  }
  return reader.section_end();
}

}  // namespace relay
