// conf/recipient_list.cpp — entries and files of static valid-recipient lists.
//
// An entry is kept deliberately simple: no quoted local parts, no address literals, no
// spaces — a list is written by an administrator from a directory export, and anything
// exotic there is more likely a mistake than a mailbox.
#include "conf/recipient_list.hpp"
#include "conf/ascii.hpp"
#include "conf/address_parts.hpp"

#include <algorithm>

#include "conf/domain_pattern.hpp"

namespace conf {
namespace {

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool local_part_ok(std::string_view local) noexcept {
  if (local.empty() || local.size() > 64) return false;  // RFC 5321 §4.5.3.1.1
  return std::ranges::all_of(local, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '@' && c != '<' && c != '>' && c != '"' && c != '(' && c != ')' &&
           c != ',' && c != ';' && c != ':' && c != '\\' && c != '[' && c != ']';
  });
}

}  // namespace

std::expected<std::string, std::string> normalize_recipient_entry(std::string_view entry) {
  entry = trim(entry);
  const auto at = domain_separator(entry);
  if (at == std::string_view::npos) {
    return std::unexpected("'" + std::string(entry.substr(0, 80)) + "' is not an address (user@domain) or catch-all (@domain)");
  }
  const std::string_view local = entry.substr(0, at);
  const std::string_view domain = entry.substr(at + 1);
  const auto pattern = DomainPattern::parse(domain);
  if (domain.empty() || !pattern || pattern->specificity() == 0 || domain.find('*') != std::string_view::npos) {
    return std::unexpected("'" + std::string(entry.substr(0, 80)) + "' has no valid domain");
  }
  if (!local.empty() && !local_part_ok(local)) {
    return std::unexpected("'" + std::string(entry.substr(0, 80)) + "' has an invalid local part");
  }
  std::string out = ascii_lowercase(entry);
  while (out.ends_with('.')) out.pop_back();  // one trailing dot of the domain
  return out;
}

std::vector<RecipientListProblem> parse_recipient_list(std::string_view text, std::vector<std::string>& out) {
  std::vector<RecipientListProblem> problems;
  int number = 0;
  while (!text.empty()) {
    const auto lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text = lf == std::string_view::npos ? std::string_view{} : text.substr(lf + 1);
    ++number;
    // A comment starts at "#" at the beginning or after white space ("a#b@x" is an address).
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
        line = line.substr(0, i);
        break;
      }
    }
    line = trim(line);
    if (line.empty()) continue;
    if (line.find_first_of(" \t") != std::string_view::npos) {
      problems.push_back({number, "one address per line expected"});
      continue;
    }
    auto entry = normalize_recipient_entry(line);
    if (!entry) {
      problems.push_back({number, entry.error()});
    } else {
      out.push_back(std::move(*entry));
    }
  }
  return problems;
}

}  // namespace conf
