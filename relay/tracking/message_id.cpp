// relay/tracking/message_id.cpp — the Message-ID header field (see the header).
#include "relay/tracking/message_id.hpp"

#include "conf/ascii.hpp"
#include "relay/smtp/header_fields.hpp"

namespace relay::tracking {

std::string message_id_of(std::string_view message) {
  HeaderFieldReader fields(message, LineEnds::crlf_or_lf, max_header_scan);
  while (const auto field = fields.next()) {
    if (!conf::ascii_iequals(field->name, "message-id")) continue;
    // Unfolded, without white space and angle brackets.
    std::string id;
    for (const char c : field->value)
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '<' && c != '>') id += c;
    return id.substr(0, 998);
  }
  return {};
}

}  // namespace relay::tracking
