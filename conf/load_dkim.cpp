// conf/load_dkim.cpp — [dkim]: its own keys (threads) and the [dkim.NAME] signing keys.
//
// Owns: telling the two apart in the one [dkim] table (a name its own keys know is that
// key, whatever its value; any other table is a signing key, anything else unknown),
// the keys of a signing entry (domain, subdomains, selector, key_file, headers,
// oversign, canonicalization, expiration, directions), reading the key file's text, and
// the checks that need no cryptography: the file exists, is readable, and is not readable
// by group or others (a private key is the domain's identity). Whether the text is an RSA
// key of 2048 bits or more or an Ed25519 key is judged by relay/dkim/key_ring, which
// reports against the key_file line kept here.
// See docs/configuration.md and docs/dkim.md.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "conf/ascii.hpp"
#include "conf/reader.hpp"

namespace conf::reading {
namespace {

bool read_canonicalization_word(std::string_view word, DkimCanonicalization& out) {
  if (word == "simple") out = DkimCanonicalization::simple;
  else if (word == "relaxed") out = DkimCanonicalization::relaxed;
  else return false;
  return true;
}

/// One or more DNS labels (RFC 6376 §3.1): letters, digits, '-' and '_', 1 to 63 each.
bool is_selector(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t label = 0;
  for (const char c : text) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') || ++label > 63) return false;
  }
  return label > 0;
}

void read_key_file(Loader& l, const Field& f, DkimConfig& dkim) {
  std::string path;
  if (!l.read_string(*f.value, f.key, path)) return;
  path = l.resolve(path);
  dkim.key_file = path;
  dkim.key_file_line = l.line_of(*f.value);
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::is_regular_file(status)) {
    l.error(f, "no such file " + quote(path));
    return;
  }
  using std::filesystem::perms;
  if ((status.permissions() & (perms::group_read | perms::others_read)) != perms::none) {
    l.error(f, "the private key " + quote(path) + " is readable by other users; chmod 600 it");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    l.error(f, "cannot read file " + quote(path));
    return;
  }
  if (text.empty() || text.size() > 64 * 1024) {
    l.error(f, quote(path) + " is not a PEM private key");
    return;
  }
  dkim.key_pem = std::move(text);
}

/// Header field names: lower case, no spaces or colons.
void read_field_names(Loader& l, const Field& f, std::vector<std::string>& out) {
  std::vector<Item> items;
  l.read_string_array(*f.value, f.key, items);
  out.clear();
  for (const Item& item : items) {
    const bool ok = !item.text.empty() && item.text.find_first_of(" \t:;\r\n") == std::string::npos &&
                    std::ranges::all_of(item.text, [](char c) { return c > 0x20 && c < 0x7f; });
    if (!ok) {
      l.error(item.line, item.key, quote(item.text) + " is not a header field name");
      continue;
    }
    out.push_back(ascii_lowercase(item.text));
  }
}

}  // namespace

const Keys<DkimSigningConfig>& dkim_signing_keys() {
  static const Keys<DkimSigningConfig> keys{
      {"threads", Need::optional, into_integer(&DkimSigningConfig::threads, limits::dkim_threads)},
  };
  return keys;
}

void read_dkim(Loader& l, const Field& f, Config& config) {
  if (!l.expect(*f.value, toml::value_t::table, f.key)) return;
  // One table, two readings: `threads = 4` must not be taken for a key table named
  // "threads" (nor [dkim.threads] for a key), and `treads = 4` is an unknown key, not a
  // key table that is not a table.
  Value own = *f.value;
  Value named = *f.value;
  for (const auto& [name, value] : f.value->as_table()) {
    const bool own_key = has_key(dkim_signing_keys(), name);
    if (own_key || !value.is_table()) named.as_table().erase(name);
    if (!own_key && value.is_table()) own.as_table().erase(name);
  }
  read_keys(l, own, f.key, dkim_signing_keys(), config.dkim_signing);
  named_tables_into(&Config::dkim, dkim_keys)(l, Field{&named, f.name, f.key, f.section}, config);
}

const Keys<DkimConfig>& dkim_keys() {
  static const Keys<DkimConfig> keys{
      {"domain", Need::required,
       [](Loader& l, const Field& f, DkimConfig& dkim) {
         std::string domain;
         if (!l.read_string(*f.value, f.key, domain)) return;
         if (!is_hostname(domain)) {
           l.error(f, quote(domain) + " is not a domain name");
           return;
         }
         dkim.domain = ascii_lowercase(domain);
       }},
      {"subdomains", Need::optional, into_bool(&DkimConfig::subdomains)},
      {"selector", Need::required,
       [](Loader& l, const Field& f, DkimConfig& dkim) {
         std::string selector;
         if (!l.read_string(*f.value, f.key, selector)) return;
         if (!is_selector(selector)) {
           l.error(f, quote(selector) + " is not a selector (DNS labels: letters, digits, '-', '_', '.')");
           return;
         }
         dkim.selector = ascii_lowercase(selector);
       }},
      {"key_file", Need::required, read_key_file},
      {"headers", Need::optional,
       [](Loader& l, const Field& f, DkimConfig& dkim) {
         read_field_names(l, f, dkim.headers);
         if (!dkim.headers.empty() && std::ranges::find(dkim.headers, "from") == dkim.headers.end())
           l.error(f, "must include \"from\" (RFC 6376 §5.4)");
       }},
      {"oversign", Need::optional,
       [](Loader& l, const Field& f, DkimConfig& dkim) { read_field_names(l, f, dkim.oversign); }},
      {"canonicalization", Need::optional,
       [](Loader& l, const Field& f, DkimConfig& dkim) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         const auto slash = text.find('/');
         if (slash == std::string::npos ||
             !read_canonicalization_word(std::string_view(text).substr(0, slash), dkim.header_canonicalization) ||
             !read_canonicalization_word(std::string_view(text).substr(slash + 1), dkim.body_canonicalization)) {
           l.error(f, quote(text) + " is not HEADER/BODY, each simple or relaxed (\"relaxed/relaxed\")");
         }
       }},
      {"expiration", Need::optional, into_seconds(&DkimConfig::expiration, limits::dkim_expiration)},
      {"directions", Need::optional,
       [](Loader& l, const Field& f, DkimConfig& dkim) {
         std::vector<Item> items;
         if (!l.read_string_array(*f.value, f.key, items)) return;
         dkim.directions.clear();
         for (const Item& item : items) {
           if (item.text == "inbound") dkim.directions.push_back(Direction::inbound);
           else if (item.text == "outbound") dkim.directions.push_back(Direction::outbound);
           else l.error(item.line, item.key, quote(item.text) + " is not one of \"inbound\", \"outbound\"");
         }
         if (items.empty()) l.error(f, "needs \"outbound\", \"inbound\" or both");
       }},
  };
  return keys;
}

}  // namespace conf::reading
