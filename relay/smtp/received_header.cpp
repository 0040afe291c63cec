// relay/smtp/received_header.cpp — building and folding the Received: header.
//
// Folding works per clause ("from ...", "by ...", "for ...; date"): each clause starts
// a new line (tab-indented after the first) and is split further at spaces only when it
// would exceed 78 characters. A single word longer than that (a 255-octet host name) is
// left whole: RFC 5322 makes 78 a SHOULD and 998 the MUST, and splitting inside a word
// would change its meaning.
#include "relay/smtp/received_header.hpp"

#include <array>
#include <vector>

namespace relay {
namespace {

constexpr std::array<std::string_view, 7> weekdays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void append_two_digits(std::string& out, unsigned value) {
  out.push_back(static_cast<char>('0' + value / 10 % 10));
  out.push_back(static_cast<char>('0' + value % 10));
}

bool is_helo_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

// Splits at spaces, except inside "<...>" or a quoted string: a recipient such as
// <"john doe"@example.com> must survive folding and unfolding unchanged.
std::vector<std::string_view> words_of(std::string_view clause) {
  std::vector<std::string_view> words;
  bool in_angle = false;
  bool in_quote = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < clause.size(); ++i) {
    const char c = clause[i];
    if (in_quote && c == '\\') {
      ++i;
    } else if (c == '"') {
      in_quote = !in_quote;
    } else if (!in_quote && c == '<') {
      in_angle = true;
    } else if (!in_quote && c == '>') {
      in_angle = false;
    } else if (c == ' ' && !in_angle && !in_quote) {
      words.push_back(clause.substr(start, i - start));
      start = i + 1;
    }
  }
  if (start < clause.size()) words.push_back(clause.substr(start));
  return words;
}

// Appends `clause`, starting at `column`, folding onto tab-indented lines as needed.
void append_folded(std::string& out, std::string_view clause, std::size_t column) {
  std::size_t line_length = column;
  bool line_empty = true;
  for (const std::string_view word : words_of(clause)) {
    if (!line_empty && line_length + 1 + word.size() > limits::max_header_line) {
      out.append("\r\n\t");
      line_length = 1;
      line_empty = true;
    }
    if (!line_empty) {
      out.push_back(' ');
      ++line_length;
    }
    out.append(word);
    line_length += word.size();
    line_empty = false;
  }
}

// Our own names (host, session id) are not truncated, only made header-safe.
std::string header_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out.push_back(is_helo_char(c) ? c : '?');
  return out;
}

}  // namespace

std::string format_rfc5322_date(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto day_point = floor<days>(when);
  const year_month_day date{day_point};
  const hh_mm_ss time{floor<seconds>(when - day_point)};
  const weekday wd{day_point};
  std::string out;
  out.reserve(32);
  out.append(weekdays[wd.c_encoding()]);
  out.append(", ");
  out.append(std::to_string(static_cast<unsigned>(date.day())));
  out.push_back(' ');
  out.append(months[static_cast<unsigned>(date.month()) - 1]);
  out.push_back(' ');
  out.append(std::to_string(static_cast<int>(date.year())));
  out.push_back(' ');
  append_two_digits(out, static_cast<unsigned>(time.hours().count()));
  out.push_back(':');
  append_two_digits(out, static_cast<unsigned>(time.minutes().count()));
  out.push_back(':');
  append_two_digits(out, static_cast<unsigned>(time.seconds().count()));
  out.append(" +0000");
  return out;
}

std::string sanitize_helo(std::string_view helo) {
  if (helo.empty()) return "unknown";
  std::string out;
  const std::size_t n = std::min(helo.size(), limits::max_received_helo);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(is_helo_char(helo[i]) ? helo[i] : '?');
  return out;
}

std::string address_literal(std::string_view ip) {
  if (ip.empty()) return "[unknown]";
  std::string out = "[";
  if (ip.find(':') != std::string_view::npos) out.append("IPv6:");
  // The address comes from the socket layer, but a header is no place to trust that.
  for (char c : ip) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                    c == '.' || c == ':';
    out.push_back(ok ? c : '?');
  }
  out.push_back(']');
  return out;
}

std::string build_received_header(const ReceivedFields& fields) {
  const std::string from =
      "from " + sanitize_helo(fields.helo) + " (" + address_literal(fields.peer_address) + ")";
  std::string by = "by " + header_safe(fields.hostname.empty() ? std::string_view("localhost") : fields.hostname) +
                   " (hubrelay) with " + 
                   (fields.esmtp ? std::string("ESMTP") + (fields.tls ? "S" : "") + (fields.authenticated ? "A" : "")
                                 : std::string("SMTP"));
  if (!fields.id.empty()) by += " id " + header_safe(fields.id);
  std::string tail;
  if (fields.recipients.size() == 1) {
    tail = "for <" + fields.recipients.front() + ">; ";
  } else {
    by.push_back(';');
  }
  tail.append(format_rfc5322_date(fields.when));

  std::string out = "Received: ";
  append_folded(out, from, out.size());
  out.append("\r\n\t");
  append_folded(out, by, 1);
  out.append("\r\n\t");
  append_folded(out, tail, 1);
  out.append("\r\n");
  return out;
}

}  // namespace relay
