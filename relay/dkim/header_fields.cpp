// relay/dkim/header_fields.cpp — see header_fields.hpp.
#include "relay/dkim/header_fields.hpp"

#include <algorithm>
#include <cctype>

namespace relay::dkim {
namespace {

constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (is_wsp(text.front()) || text.front() == '\r' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (is_wsp(text.back()) || text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

std::string_view value_of(const HeaderField& field) noexcept {
  const auto colon = field.raw.find(':');
  return colon == std::string_view::npos ? std::string_view{} : field.raw.substr(colon + 1);
}

/// The value without RFC 5322 comments "(...)" (nested, with quoted-pairs) and with
/// quoted strings kept as they are (a display name may hold "<" or "@").
std::string without_comments(std::string_view value) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      if (depth == 0) {
        out.push_back(c);
        out.push_back(value[i + 1]);
      }
      ++i;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      out.push_back(c);
      continue;
    }
    if (c == '(') {
      ++depth;
      continue;
    }
    if (c == ')' && depth > 0) {
      --depth;
      continue;
    }
    if (depth > 0) continue;
    if (c == '"') quoted = true;
    out.push_back(c);
  }
  return out;
}

/// The addr-spec of a mailbox: inside the angle brackets outside quotes, else the whole.
std::string_view addr_spec(std::string_view mailbox) {
  bool quoted = false;
  for (std::size_t i = 0; i < mailbox.size(); ++i) {
    const char c = mailbox[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '<' && !quoted) {
      const auto close = mailbox.find('>', i);
      return mailbox.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1);
    }
  }
  return mailbox;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<HeaderField> split_header_fields(std::string_view section) {
  std::vector<HeaderField> fields;
  std::size_t pos = 0;
  while (pos < section.size()) {
    // A field runs to the CR LF not followed by whitespace (a continuation line).
    std::size_t end = pos;
    for (;;) {
      const auto lf = section.find('\n', end);
      if (lf == std::string_view::npos) {
        end = section.size();
        break;
      }
      if (lf + 1 < section.size() && is_wsp(section[lf + 1])) {
        end = lf + 1;
        continue;
      }
      end = lf + 1;
      break;
    }
    std::string_view raw = section.substr(pos, end - pos);
    pos = end;
    if (raw.ends_with('\n')) raw.remove_suffix(1);
    if (raw.ends_with('\r')) raw.remove_suffix(1);
    const auto colon = raw.find(':');
    if (raw.empty() || is_wsp(raw.front()) || colon == std::string_view::npos) continue;
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    fields.push_back(HeaderField{name, raw});
  }
  return fields;
}

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> names{
      "from", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to", "references",
      "mime-version", "content-type", "content-transfer-encoding", "content-id", "content-description",
      "sender", "resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-message-id",
      "list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post", "list-subscribe", "list-post",
      "list-owner", "list-archive"};
  return names;
}

std::vector<std::string> signed_header_names(const std::vector<HeaderField>& fields,
                                             const std::vector<std::string>& names,
                                             const std::vector<std::string>& oversign) {
  std::vector<std::string> wanted;
  const auto add_unique = [&](std::string_view name) {
    std::string l = lower(name);
    if (std::ranges::find(wanted, l) == wanted.end()) wanted.push_back(std::move(l));
  };
  add_unique("from");
  for (const auto& name : names) add_unique(name);
  for (const auto& name : oversign) add_unique(name);  // oversigned names are signed too

  std::vector<std::string> h;
  for (const auto& name : wanted) {
    const auto present = std::ranges::count_if(fields, [&](const HeaderField& f) { return iequals(f.name, name); });
    const bool over = std::ranges::any_of(oversign, [&](const std::string& o) { return iequals(o, name); });
    const auto times = present + (over ? 1 : 0);
    for (std::ptrdiff_t i = 0; i < times; ++i) h.push_back(name);
  }
  return h;
}

std::vector<HeaderField> select_fields(const std::vector<HeaderField>& fields, const std::vector<std::string>& h_names) {
  std::vector<HeaderField> out;
  std::vector<std::pair<std::string, std::size_t>> used;  // name → instances taken so far
  for (const auto& name : h_names) {
    auto it = std::ranges::find_if(used, [&](const auto& u) { return iequals(u.first, name); });
    if (it == used.end()) it = used.insert(used.end(), {name, 0});
    std::size_t skip = it->second++;
    for (auto f = fields.rbegin(); f != fields.rend(); ++f) {
      if (!iequals(f->name, name)) continue;
      if (skip-- == 0) {
        out.push_back(*f);
        break;
      }
    }
  }
  return out;
}

std::optional<std::string> author_domain(const std::vector<HeaderField>& fields) {
  const HeaderField* from = nullptr;
  for (const auto& f : fields) {
    if (!iequals(f.name, "from")) continue;
    if (from != nullptr) return std::nullopt;  // two From: fields: no single author domain
    from = &f;
  }
  if (from == nullptr) return std::nullopt;
  const std::string value = without_comments(value_of(*from));
  // Several mailboxes ("a@x, b@y"): several authors, no single domain. An "@" inside a
  // quoted display name does not count.
  std::size_t ats = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\') ++i;
    else if (value[i] == '"') quoted = !quoted;
    else if (value[i] == '@' && !quoted) ++ats;
  }
  if (ats != 1) return std::nullopt;
  const std::string_view address = trim(addr_spec(value));
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string domain = lower(trim(address.substr(at + 1)));
  while (domain.ends_with('.')) domain.pop_back();
  if (domain.empty() || domain.find_first_of(",;<> \t\r\n") != std::string::npos) return std::nullopt;
  return domain;
}

bool domain_aligned(std::string_view domain, std::string_view signing_domain, bool subdomains) {
  if (iequals(domain, signing_domain)) return true;
  if (!subdomains || domain.size() <= signing_domain.size() + 1) return false;
  const auto dot = domain.size() - signing_domain.size() - 1;
  return domain[dot] == '.' && iequals(domain.substr(dot + 1), signing_domain);
}

std::vector<std::pair<std::string, std::string>> existing_signatures(const std::vector<HeaderField>& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : fields) {
    if (!iequals(f.name, "dkim-signature")) continue;
    std::string d;
    std::string s;
    std::string_view rest = value_of(f);
    while (!rest.empty()) {  // tag-list: tag=value; ... (RFC 6376 §3.2)
      const auto semicolon = rest.find(';');
      const std::string_view spec = rest.substr(0, semicolon);
      rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
      const auto equals = spec.find('=');
      if (equals == std::string_view::npos) continue;
      const std::string_view tag = trim(spec.substr(0, equals));
      std::string value;
      for (const char c : spec.substr(equals + 1))
        if (!is_wsp(c) && c != '\r' && c != '\n') value.push_back(c);
      if (tag == "d") d = lower(value);
      if (tag == "s") s = lower(value);
    }
    out.emplace_back(std::move(d), std::move(s));
  }
  return out;
}

}  // namespace relay::dkim
