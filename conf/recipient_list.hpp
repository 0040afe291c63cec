// conf/recipient_list.hpp — the syntax of static valid-recipient lists.
//
// Owns: turning one entry ("bob@example.com", "@example.com" catch-all) into its stored
// form (trimmed, lower-cased) and reading a list file's text: one entry per line, blank
// lines ignored, "#" starts a comment at the start of a line or after white space.
// Used by conf/load_verification.cpp when it reads `valid_recipients` /
// `valid_recipients_file`, so a bad line is a configuration error with file:line, and a
// reload re-reads the file.
// Never: reads files (the loader does) or decides whether a recipient is valid
// (policy/recipient_verifier does). Pure; thread-safe.
// Standards: RFC 5321 §4.1.2 (Mailbox = Local-part "@" Domain). Local parts are
// compared case-insensitively here, as practically every mailbox store does, even
// though §2.4 allows case-sensitive local parts.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace conf {

/// "Bob@Example.COM" → "bob@example.com"; "@Example.com" → "@example.com".
/// Error text when the entry is not an address or a catch-all.
std::expected<std::string, std::string> normalize_recipient_entry(std::string_view entry);

struct RecipientListProblem {
  int line = 0;          // 1-based line in the list file
  std::string message;
};

/// Parses a whole list file; good entries are appended to `out`, problems returned.
std::vector<RecipientListProblem> parse_recipient_list(std::string_view text, std::vector<std::string>& out);

}  // namespace conf
