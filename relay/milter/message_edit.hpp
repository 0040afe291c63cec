// relay/milter/message_edit.hpp — applying a filter's modifications to a stored message.
//
// Owns: splitting the header section into fields (and the name/value form a filter is
// sent), the header edits (add at the end, insert at a position, change or delete the
// n-th field of a name: an empty value deletes, an index past the last adds, as
// sendmail does), the body replacement and its line-ending rule (the same as received
// data: CRLF stays, a bare CR or LF becomes CRLF, so only CRLF line ends reach the next
// hop), and the envelope edits (sender with ESMTP arguments, recipients added with or
// without arguments, recipients deleted). Values arrive checked by relay/milter/reply.
// Pure: strings in, strings out.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/milter/reply.hpp"
#include "relay/smtp/header_fields.hpp"

namespace relay::milter {

struct HeaderField {
  std::string name;
  std::string text;  // the whole field: "Name: value\r\n", folding included
};

/// Offset just past the empty line ending the header section of a CRLF message, or
/// nullopt when `message` (a prefix of it) holds no complete header section yet
/// (relay/smtp/header_fields).
using relay::header_section_end;

/// The fields of a header section (without its empty line). Text before the first
/// field that is not a header (malformed input) stays attached to no field and is kept.
std::vector<HeaderField> split_header_section(std::string_view section);

/// What a filter is sent for a field: the value after the colon, leading whitespace
/// removed, the final CRLF removed and the folding line ends as LF (sendmail's form).
std::string value_for_filter(const HeaderField& field);

struct Envelope {
  std::string sender;
  std::string mail_parameters;
  std::vector<std::string> recipients;
  std::vector<std::string> recipient_parameters;  // same index as recipients
};

struct MessageEdits {
  bool headers_changed = false;
  std::string header_section;        // the new section, its empty line included
  std::optional<std::string> body;   // the replacement, line ends normalised
  std::optional<std::string> quarantine_reason;
  bool envelope_changed = false;
};

/// Applies `modifications` in order to the header section (with its empty line) and to
/// `envelope`. Replacement body packets are concatenated.
MessageEdits apply_modifications(std::span<const Reply> modifications, std::string_view header_section,
                                 Envelope& envelope);

/// CRLF stays; a bare CR or bare LF becomes CRLF; a last line without a line end gets one.
std::string normalise_body(std::string_view body);

}  // namespace relay::milter
