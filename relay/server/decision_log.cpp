// relay/server/decision_log.cpp — the log line of one policy decision (see the header).
#include "relay/server/decision_log.hpp"

namespace relay {
namespace {

// An address may be 64 + 1 + 255 octets; anything longer is cut, not logged whole.
constexpr std::size_t max_logged_text = 320;

// Client-chosen text: control octets (a CR/LF could forge a log line) become '?'.
// UTF-8 (SMTPUTF8 paths) is kept as it came.
void append_safe(std::string& line, std::string_view text) {
  for (const char c : text.substr(0, max_logged_text)) {
    const auto u = static_cast<unsigned char>(c);
    line += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
}

void append_field(std::string& line, std::string_view key, std::string_view value) {
  line += ' ';
  line += key;
  line += '=';
  line += value;
}

}  // namespace

std::string decision_log_line(std::string_view session, std::string_view listener, std::string_view client,
                              const PolicyEvent& event) {
  std::string line = "session=";
  line += session;
  append_field(line, "listener", listener);
  append_field(line, "client", client);
  append_field(line, "stage", to_string(event.stage));
  append_field(line, "decision", policy::to_string(event.decision.verdict));
  append_field(line, "reason", policy::to_string(event.decision.reason));
  if (event.reply != ReplyId::count_) {
    const ReplySpec& spec = reply_spec(event.reply);
    append_field(line, "code", std::to_string(spec.code));
    if (!spec.enhanced.empty()) append_field(line, "status", spec.enhanced);
  }
  if (!event.helo.empty()) {
    line += " helo=";
    append_safe(line, event.helo);
  }
  if (event.sender) {
    line += " from=<";
    append_safe(line, *event.sender);
    line += '>';
  }
  if (event.recipient) {
    line += " to=<";
    append_safe(line, *event.recipient);
    line += '>';
  }
  return line;
}

}  // namespace relay
