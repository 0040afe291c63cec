// relay/smtp/reply_parser.cpp — reply framing and line grammar.
//
// Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
// Reply-code = %x32-35 %x30-35 %x30-39   (RFC 5321 §4.2)
// The enhanced status is taken from the first line only when its class equals the first
// digit of the code (RFC 2034 §4: they must agree); otherwise the text is kept whole,
// since "250 1.2.3.4 is your address" is plain text, not a status.
#include "relay/smtp/reply_parser.hpp"

#include <cstring>

namespace relay {
namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Parses 1-3 digits at the front of `text`, advancing it.
std::optional<std::uint16_t> take_number(std::string_view& text) noexcept {
  std::size_t n = 0;
  std::uint16_t value = 0;
  while (n < text.size() && n < 4 && is_digit(text[n])) {
    value = static_cast<std::uint16_t>(value * 10 + (text[n] - '0'));
    ++n;
  }
  if (n == 0 || n > 3) return std::nullopt;
  text.remove_prefix(n);
  return value;
}

// Splits "x.y.z rest" into the status and the rest, when the line starts with one.
std::optional<EnhancedStatus> split_enhanced(std::string_view& text) noexcept {
  const std::size_t space = text.find(' ');
  const std::string_view word = text.substr(0, space);
  auto status = parse_enhanced_status(word);
  if (!status) return std::nullopt;
  text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
  return status;
}

}  // namespace

std::string EnhancedStatus::to_string() const {
  return std::to_string(klass) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

std::optional<EnhancedStatus> parse_enhanced_status(std::string_view text) noexcept {
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') {
    return std::nullopt;
  }
  EnhancedStatus status;
  status.klass = static_cast<std::uint8_t>(text[0] - '0');
  text.remove_prefix(2);
  auto subject = take_number(text);
  if (!subject || text.empty() || text.front() != '.') return std::nullopt;
  text.remove_prefix(1);
  auto detail = take_number(text);
  if (!detail || !text.empty()) return std::nullopt;
  status.subject = *subject;
  status.detail = *detail;
  return status;
}

std::string Reply::text() const {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out.push_back(' ');
    out.append(line);
  }
  return out;
}

std::string Reply::to_string() const {
  std::string out = std::to_string(code);
  if (enhanced) {
    out.push_back(' ');
    out.append(enhanced->to_string());
  }
  for (const auto& line : lines) {
    if (line.empty()) continue;
    out.push_back(' ');
    out.append(line);
  }
  return out;
}

std::string_view to_string(ReplyError error) noexcept {
  switch (error) {
    case ReplyError::line_too_long: return "line_too_long";
    case ReplyError::too_many_lines: return "too_many_lines";
    case ReplyError::malformed: return "malformed";
  }
  return "unknown";
}

void ReplyParser::reset() noexcept {
  line_.clear();
  current_ = Reply{};
  failed_.reset();
}

// Adds one line (CR/LF removed). Returns true when it was the last line of the reply.
std::expected<bool, ReplyError> ReplyParser::take_line(std::string_view line) {
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
      !is_digit(line[2])) {
    return std::unexpected(ReplyError::malformed);
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      return std::unexpected(ReplyError::malformed);
    }
  }
  if (current_.lines.empty()) {
    current_.code = code;
  } else if (code != current_.code) {
    return std::unexpected(ReplyError::malformed);
  }
  if (current_.lines.size() >= limits::max_reply_lines) return std::unexpected(ReplyError::too_many_lines);

  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
  if (current_.lines.empty()) {
    std::string_view rest = text;
    if (auto status = split_enhanced(rest); status && status->klass == code / 100) {
      current_.enhanced = status;
      text = rest;
    }
  } else if (current_.enhanced) {
    std::string_view rest = text;
    if (auto status = split_enhanced(rest); status && *status == *current_.enhanced) text = rest;
  }
  current_.lines.emplace_back(text);
  return last;
}

std::expected<ReplyParser::Step, ReplyError> ReplyParser::feed(std::string_view input) {
  if (failed_) return std::unexpected(*failed_);
  const auto fail = [this](ReplyError error) {
    failed_ = error;
    return std::unexpected(error);
  };
  Step step;
  while (step.consumed < input.size()) {
    const std::string_view rest = input.substr(step.consumed);
    const void* found = std::memchr(rest.data(), '\n', rest.size());
    if (found == nullptr) {
      // A line without its LF yet; its terminator will count towards the limit too.
      if (line_.size() + rest.size() + 1 > limits::max_reply_line) return fail(ReplyError::line_too_long);
      line_.append(rest);
      step.consumed = input.size();
      break;
    }
    const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(found) - rest.data());
    if (line_.size() + lf + 1 > limits::max_reply_line) return fail(ReplyError::line_too_long);
    std::string_view line;
    if (line_.empty()) {
      line = rest.substr(0, lf);
    } else {
      line_.append(rest.substr(0, lf));
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto last = take_line(line);
    line_.clear();
    step.consumed += lf + 1;
    if (!last) return fail(last.error());
    if (*last) {
      step.reply = std::move(current_);
      current_ = Reply{};
      break;
    }
  }
  return step;
}

ReplyParser::Parsed ReplyParser::parse(std::string& buffer) {
  Parsed parsed;
  auto step = feed(buffer);
  if (!step) {
    parsed.status = Status::malformed;
    parsed.error = std::string(relay::to_string(step.error()));
    return parsed;
  }
  buffer.erase(0, step->consumed);
  if (step->reply) {
    parsed.status = Status::complete;
    parsed.reply = std::move(*step->reply);
  }
  return parsed;
}

}  // namespace relay
