// queue/pg_redact.cpp — connection errors without the password.
#include "queue/pg_redact.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <string_view>
#include <vector>

namespace queue {
namespace {

constexpr std::string_view hidden = "********";

void replace_all(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + hidden.size())) {
    text.replace(at, secret.size(), hidden);
  }
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// The value after each `password` `=` (spaces around '=' allowed, as in a conninfo):
// quoted up to the closing quote (backslash escapes), else up to white space.
void hide_password_pairs(std::string& text) {
  constexpr std::string_view key = "password";
  for (std::size_t at = 0; at + key.size() <= text.size(); ++at) {
    if (!equal_ignoring_case(std::string_view(text).substr(at, key.size()), key)) continue;
    std::size_t i = at + key.size();
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || text[i] != '=') continue;
    ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t end = i;
    if (end < text.size() && text[end] == '\'') {
      for (++end; end < text.size() && text[end] != '\''; ++end) {
        if (text[end] == '\\' && end + 1 < text.size()) ++end;
      }
      if (end < text.size()) ++end;
    } else {
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '"') ++end;
    }
    if (end > i) text.replace(i, end - i, hidden);
    at = i + hidden.size() - 1;
  }
}

// scheme://user:secret@host: the part between the first ':' of the userinfo and its
// last '@' (a password may contain '@' when libpq is lenient).
void hide_uri_userinfo(std::string& text) {
  for (auto scheme = text.find("://"); scheme != std::string::npos; scheme = text.find("://", scheme + 3)) {
    const std::size_t start = scheme + 3;
    std::size_t end = start;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '/' &&
           text[end] != '?' && text[end] != '"' && text[end] != '\'') {
      ++end;
    }
    const std::string_view authority = std::string_view(text).substr(start, end - start);
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    const auto colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos || colon + 1 == at) continue;
    text.replace(start + colon + 1, at - colon - 1, hidden);
  }
}

// The password as written in a URI (percent-encoded), which libpq's parse decodes.
std::string uri_password_as_written(const std::string& conninfo) {
  std::string copy = conninfo;
  const auto scheme = copy.find("://");
  if (scheme == std::string::npos) return {};
  const std::size_t start = scheme + 3;
  const std::size_t end = copy.find_first_of("/?", start);
  const std::string_view authority = std::string_view(copy).substr(start, end == std::string::npos ? copy.size() - start : end - start);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  const auto colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(authority.substr(colon + 1, at - colon - 1));
}

}  // namespace

std::string redact_connection_error(const std::string& conninfo, std::string message) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    PQfreemem(parse_error);
    return "the connection string is not valid libpq syntax (key=value pairs or a postgresql:// URI)";
  }
  std::vector<std::string> secrets;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) secrets.emplace_back(o->val);
  }
  PQconninfoFree(options);
  secrets.push_back(uri_password_as_written(conninfo));
  for (const std::string& secret : secrets) replace_all(message, secret);
  hide_password_pairs(message);
  hide_uri_userinfo(message);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  // One log line: each line break and the indentation after it (libpq indents the
  // continuation of a message with a tab) become "; ".
  for (auto at = message.find('\n'); at != std::string::npos; at = message.find('\n', at)) {
    std::size_t end = at + 1;
    while (end < message.size() && (message[end] == '\t' || message[end] == ' ' || message[end] == '\n')) ++end;
    message.replace(at, end - at, "; ");
  }
  return message;
}

}  // namespace queue
