// relay/milter/reply.cpp — filter replies, parsed and checked (see reply.hpp).
#include "relay/milter/reply.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace relay::milter {

std::string_view to_string(ReplyKind kind) noexcept {
  switch (kind) {
    case ReplyKind::continue_: return "continue";
    case ReplyKind::accept: return "accept";
    case ReplyKind::reject: return "reject";
    case ReplyKind::tempfail: return "tempfail";
    case ReplyKind::discard: return "discard";
    case ReplyKind::reply_code: return "replycode";
    case ReplyKind::skip: return "skip";
    case ReplyKind::shutdown: return "shutdown";
    case ReplyKind::connection_fail: return "connection_fail";
    case ReplyKind::progress: return "progress";
    case ReplyKind::quarantine: return "quarantine";
    case ReplyKind::add_header: return "addheader";
    case ReplyKind::insert_header: return "insheader";
    case ReplyKind::change_header: return "chgheader";
    case ReplyKind::replace_body: return "replbody";
    case ReplyKind::change_from: return "chgfrom";
    case ReplyKind::add_rcpt: return "addrcpt";
    case ReplyKind::add_rcpt_par: return "addrcpt_par";
    case ReplyKind::del_rcpt: return "delrcpt";
  }
  return "unknown";
}

bool is_verdict(ReplyKind kind) noexcept {
  switch (kind) {
    case ReplyKind::continue_:
    case ReplyKind::accept:
    case ReplyKind::reject:
    case ReplyKind::tempfail:
    case ReplyKind::discard:
    case ReplyKind::reply_code:
    case ReplyKind::skip:
    case ReplyKind::shutdown:
    case ReplyKind::connection_fail:
      return true;
    default:
      return false;
  }
}

bool valid_header_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > limits::header_name_max) return false;
  return std::ranges::all_of(name, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != ':';
  });
}

std::optional<std::string> normalise_header_value(std::string_view value) {
  if (value.size() > limits::header_value_max) return std::nullopt;
  std::string out;
  out.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') {
      // A line end (CRLF, LF or a lone CR) is allowed only as folding: something follows
      // and it starts with whitespace. Anything else would start a new header line.
      std::size_t next = i + 1;
      if (c == '\r' && next < value.size() && value[next] == '\n') ++next;
      if (next >= value.size() || (value[next] != ' ' && value[next] != '\t')) return std::nullopt;
      out += "\r\n";
      i = next - 1;
      continue;
    }
    if (c == '\0') return std::nullopt;
    out += c;
  }
  return out;
}

std::optional<std::string> normalise_reply_code(std::string_view text) {
  if (text.empty() || text.size() > limits::reply_text_max) return std::nullopt;
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();  // a trailing line end
  std::string out;
  const std::string_view code = lines.front().substr(0, 3);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.size() < 3 || line.substr(0, 3) != code) return std::nullopt;
    if (!std::ranges::all_of(code, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    if (code[0] != '4' && code[0] != '5') return std::nullopt;
    const bool last = i + 1 == lines.size();
    if (line.size() > 3) {
      const char separator = line[3];
      if (separator != (last ? ' ' : '-')) return std::nullopt;
    } else if (!last) {
      return std::nullopt;
    }
    const bool printable = std::ranges::all_of(line, [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u >= 0x20 && u != 0x7f;
    });
    if (!printable) return std::nullopt;
    out.append(line);
    out += "\r\n";
  }
  return out;
}

namespace {

// An envelope address: "<a@b>" or "a@b", printable ASCII without spaces; "" is the null
// path. (8-bit addresses would need SMTPUTF8 on the message; a filter does not get to add it.)
std::optional<std::string> normalise_address(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = text.substr(1, text.size() - 2);
  if (text.size() > limits::address_max) return std::nullopt;
  const bool clean = std::ranges::all_of(text, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '<' && c != '>';
  });
  if (!clean) return std::nullopt;
  return std::string(text);
}

// ESMTP arguments: printable words separated by single spaces.
std::optional<std::string> normalise_arguments(std::string_view text) {
  if (text.size() > limits::esmtp_arguments_max) return std::nullopt;
  const bool clean = std::ranges::all_of(text, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
  if (!clean) return std::nullopt;
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    while (start < text.size() && text[start] == ' ') ++start;
    auto end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) {
      if (!out.empty()) out += ' ';
      out.append(text.substr(start, end - start));
    }
    start = end;
  }
  return out;
}

std::expected<Reply, std::string> header_reply(ReplyKind kind, std::string_view data, bool indexed) {
  DataCursor cursor(data);
  Reply reply{kind};
  if (indexed) {
    auto index = cursor.u32();
    if (!index) return std::unexpected("header modification without an index");
    reply.index = *index;
  }
  auto name = cursor.cstring();
  auto value = cursor.cstring();
  if (!name || !value || !cursor.empty()) return std::unexpected("malformed header modification");
  if (!valid_header_name(*name)) return std::unexpected("invalid header name");
  auto folded = normalise_header_value(*value);
  if (!folded) return std::unexpected("header value would inject a line or is too long");
  reply.name = std::string(*name);
  reply.text = std::move(*folded);
  return reply;
}

std::expected<Reply, std::string> envelope_reply(ReplyKind kind, std::string_view data, bool may_have_arguments) {
  auto strings = split_cstrings(data);
  if (!strings || strings->empty() || strings->size() > 2 || (!may_have_arguments && strings->size() > 1))
    return std::unexpected("malformed envelope modification");
  auto address = normalise_address(strings->front());
  if (!address) return std::unexpected("invalid address in envelope modification");
  if (address->empty() && kind != ReplyKind::change_from) return std::unexpected("empty recipient");
  Reply reply{kind};
  reply.text = std::move(*address);
  if (strings->size() == 2) {
    auto arguments = normalise_arguments((*strings)[1]);
    if (!arguments) return std::unexpected("invalid ESMTP arguments in envelope modification");
    reply.arguments = std::move(*arguments);
  }
  return reply;
}

std::expected<Reply, std::string> simple(ReplyKind kind, std::string_view data) {
  // libmilter sends these without data; a stray NUL is tolerated, anything else is not.
  if (!data.empty() && data != std::string_view("\0", 1)) return std::unexpected("unexpected data in a reply");
  return Reply{kind};
}

}  // namespace

std::expected<Reply, std::string> parse_reply(const Packet& packet) {
  const std::string_view data = packet.data;
  switch (packet.code) {
    case response::continue_: return simple(ReplyKind::continue_, data);
    case response::accept: return simple(ReplyKind::accept, data);
    case response::reject: return simple(ReplyKind::reject, data);
    case response::tempfail: return simple(ReplyKind::tempfail, data);
    case response::discard: return simple(ReplyKind::discard, data);
    case response::skip: return simple(ReplyKind::skip, data);
    case response::progress: return simple(ReplyKind::progress, data);
    case response::shutdown: return simple(ReplyKind::shutdown, data);
    case response::connection_fail: return simple(ReplyKind::connection_fail, data);
    case response::reply_code: {
      DataCursor cursor(data);
      auto text = cursor.cstring();
      if (!text || !cursor.empty()) return std::unexpected("malformed reply code");
      auto reply = normalise_reply_code(*text);
      if (!reply) return std::unexpected("reply code is not a valid 4xx/5xx SMTP reply");
      return Reply{ReplyKind::reply_code, std::move(*reply)};
    }
    case response::quarantine: {
      DataCursor cursor(data);
      auto reason = cursor.cstring();
      if (!reason || !cursor.empty() || reason->size() > limits::quarantine_reason_max)
        return std::unexpected("malformed quarantine reason");
      const bool printable = std::ranges::all_of(*reason, [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u != 0x7f;
      });
      if (!printable) return std::unexpected("quarantine reason has control characters");
      return Reply{ReplyKind::quarantine, std::string(*reason)};
    }
    case response::add_header: return header_reply(ReplyKind::add_header, data, false);
    case response::insert_header: return header_reply(ReplyKind::insert_header, data, true);
    case response::change_header: {
      // An empty value deletes the header; its check is the same minus emptiness.
      return header_reply(ReplyKind::change_header, data, true);
    }
    case response::replace_body: return Reply{ReplyKind::replace_body, std::string(data)};
    case response::change_from: return envelope_reply(ReplyKind::change_from, data, true);
    case response::add_rcpt: return envelope_reply(ReplyKind::add_rcpt, data, false);
    case response::add_rcpt_par: return envelope_reply(ReplyKind::add_rcpt_par, data, true);
    case response::del_rcpt: return envelope_reply(ReplyKind::del_rcpt, data, false);
    default:
      return std::unexpected("unknown reply code");
  }
}

}  // namespace relay::milter
