// relay/milter/message_edit.cpp — applying a filter's modifications (see message_edit.hpp).
#include "relay/milter/message_edit.hpp"

#include <algorithm>

namespace relay::milter {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::ranges::equal(a, b, [](char x, char y) {
           const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string field_text(std::string_view name, std::string_view folded_value) {
  std::string text(name);
  text += ": ";
  text.append(folded_value);
  text += "\r\n";
  return text;
}

}  // namespace

std::vector<HeaderField> split_header_section(std::string_view section) {
  std::vector<HeaderField> fields;
  std::size_t start = 0;
  while (start < section.size()) {
    auto end = section.find("\r\n", start);
    end = end == std::string_view::npos ? section.size() : end + 2;
    const std::string_view line = section.substr(start, end - start);
    const bool continuation = line.front() == ' ' || line.front() == '\t';
    if (continuation && !fields.empty()) {
      fields.back().text.append(line);
    } else {
      const auto colon = line.find(':');
      HeaderField field;
      field.name = std::string(colon == std::string_view::npos ? std::string_view() : line.substr(0, colon));
      while (!field.name.empty() && (field.name.back() == ' ' || field.name.back() == '\t')) field.name.pop_back();
      field.text = std::string(line);
      fields.push_back(std::move(field));
    }
    start = end;
  }
  return fields;
}

std::string value_for_filter(const HeaderField& field) {
  std::string_view text = field.text;
  const auto colon = text.find(':');
  text = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (text.ends_with("\r\n")) text.remove_suffix(2);
  std::string value;
  value.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF → LF
    value += text[i];
  }
  return value;
}

std::string normalise_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

MessageEdits apply_modifications(std::span<const Reply> modifications, std::string_view header_section,
                                 Envelope& envelope) {
  MessageEdits edits;
  std::string_view section = header_section;
  if (section.ends_with("\r\n\r\n")) section.remove_suffix(2);
  else if (section == "\r\n") section = {};
  std::vector<HeaderField> fields = split_header_section(section);
  std::string body;
  bool body_replaced = false;

  const auto find_recipient = [&](std::string_view address) {
    return std::ranges::find_if(envelope.recipients, [&](const std::string& r) { return iequals(r, address); });
  };
  const auto add_recipient = [&](const Reply& reply) {
    if (find_recipient(reply.text) != envelope.recipients.end()) return;
    envelope.recipient_parameters.resize(envelope.recipients.size());
    envelope.recipients.push_back(reply.text);
    envelope.recipient_parameters.push_back(reply.arguments);
    edits.envelope_changed = true;
  };

  for (const Reply& reply : modifications) {
    switch (reply.kind) {
      case ReplyKind::add_header:
        fields.push_back({reply.name, field_text(reply.name, reply.text)});
        edits.headers_changed = true;
        break;
      case ReplyKind::insert_header: {
        const std::size_t at = std::min<std::size_t>(reply.index, fields.size());
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at), {reply.name, field_text(reply.name, reply.text)});
        edits.headers_changed = true;
        break;
      }
      case ReplyKind::change_header: {
        std::uint32_t seen = 0;
        auto it = std::ranges::find_if(fields, [&](const HeaderField& f) {
          return iequals(f.name, reply.name) && ++seen == std::max<std::uint32_t>(reply.index, 1);
        });
        if (it != fields.end()) {
          if (reply.text.empty()) fields.erase(it);
          else it->text = field_text(it->name, reply.text);
          edits.headers_changed = true;
        } else if (!reply.text.empty()) {
          fields.push_back({reply.name, field_text(reply.name, reply.text)});
          edits.headers_changed = true;
        }
        break;
      }
      case ReplyKind::replace_body:
        body.append(reply.text);
        body_replaced = true;
        break;
      case ReplyKind::quarantine:
        edits.quarantine_reason = reply.text;
        break;
      case ReplyKind::change_from:
        envelope.sender = reply.text;
        // Without arguments the received ones (BODY=, SMTPUTF8) still describe the content.
        if (!reply.arguments.empty()) envelope.mail_parameters = reply.arguments;
        edits.envelope_changed = true;
        break;
      case ReplyKind::add_rcpt:
      case ReplyKind::add_rcpt_par:
        add_recipient(reply);
        break;
      case ReplyKind::del_rcpt: {
        envelope.recipient_parameters.resize(envelope.recipients.size());
        for (std::size_t i = envelope.recipients.size(); i-- > 0;) {
          if (!iequals(envelope.recipients[i], reply.text)) continue;
          envelope.recipients.erase(envelope.recipients.begin() + static_cast<std::ptrdiff_t>(i));
          envelope.recipient_parameters.erase(envelope.recipient_parameters.begin() + static_cast<std::ptrdiff_t>(i));
          edits.envelope_changed = true;
        }
        break;
      }
      default:
        break;
    }
  }
  for (const auto& field : fields) edits.header_section += field.text;
  edits.header_section += "\r\n";
  if (body_replaced) edits.body = normalise_body(body);
  return edits;
}

}  // namespace relay::milter
