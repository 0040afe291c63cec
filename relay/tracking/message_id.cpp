// relay/tracking/message_id.cpp — the Message-ID header field (see the header).
#include "relay/tracking/message_id.hpp"

namespace relay::tracking {
namespace {

bool starts_with_field(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  return true;
}

}  // namespace

std::string message_id_of(std::string_view message) {
  message = message.substr(0, max_header_scan);
  std::size_t at = 0;
  while (at < message.size()) {
    auto end = message.find('\n', at);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    if (starts_with_field(line, "message-id")) {
      std::string value(line.substr(11));
      // Folded continuation lines belong to the field.
      for (std::size_t next = end + 1; next < message.size() && (message[next] == ' ' || message[next] == '\t');) {
        auto stop = message.find('\n', next);
        if (stop == std::string_view::npos) stop = message.size();
        value += message.substr(next, stop - next);
        next = stop + 1;
      }
      std::string id;
      for (const char c : value)
        if (c != ' ' && c != '\t' && c != '\r' && c != '<' && c != '>') id += c;
      return id.substr(0, 998);
    }
    at = end + 1;
  }
  return {};
}

}  // namespace relay::tracking
