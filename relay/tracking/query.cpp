// relay/tracking/query.cpp — matching records, time bounds and index keys (see the header).
#include "relay/tracking/query.hpp"

#include <algorithm>
#include <charconv>

namespace relay::tracking {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// Glob with '*' only, case-insensitive.
bool glob(std::string_view text, std::string_view pattern) {
  std::size_t t = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] != '*' && lower(pattern[p]) == lower(text[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

std::string_view unbracket(std::string_view text) {
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') return text.substr(1, text.size() - 2);
  return text;
}

// A plain wanted value (no '*'): a whole address or a domain. Patterns are scanned.
bool is_domain_form(std::string_view wanted) { return wanted.find('@') == std::string_view::npos || wanted.front() == '@'; }

void address_keys(char kind, std::string_view address, std::vector<std::uint64_t>& out) {
  out.push_back(key_hash(kind, address));
  if (const auto domain = domain_of(address); !domain.empty()) out.push_back(key_hash(kind, "@" + std::string(domain)));
}

// The key a wanted address or domain is found by; nullopt for a pattern.
std::optional<std::uint64_t> wanted_key(char kind, std::string_view wanted) {
  if (wanted == "<>") return key_hash(kind, "");
  if (wanted.empty() || wanted.find('*') != std::string_view::npos) return std::nullopt;
  if (is_domain_form(wanted)) return key_hash(kind, wanted.front() == '@' ? std::string(wanted) : "@" + std::string(wanted));
  return key_hash(kind, wanted);
}

}  // namespace

bool Query::empty() const noexcept {
  return message_id.empty() && sender.empty() && recipient.empty() && queue_ids.empty() && client.empty() &&
         events.empty() && !since && !until;
}

bool address_matches(std::string_view address, std::string_view wanted) {
  if (wanted == "<>") return address.empty();
  if (wanted.empty()) return true;
  if (wanted.find('*') != std::string_view::npos) return glob(address, wanted);
  if (is_domain_form(wanted)) return iequal(domain_of(address), wanted.front() == '@' ? wanted.substr(1) : wanted);
  return iequal(address, wanted);
}

bool matches(const Record& r, const Query& q) {
  if (q.since && r.time < *q.since) return false;
  if (q.until && r.time >= *q.until) return false;
  if (!q.events.empty() && !q.events.contains(r.event)) return false;
  if (!q.queue_ids.empty() && !q.queue_ids.contains(r.queue_id)) return false;
  if (!q.message_id.empty() && !iequal(unbracket(r.message_id), unbracket(q.message_id))) return false;
  if (!q.client.empty() && r.client != q.client) return false;
  if (!q.sender.empty() && (!r.sender || !address_matches(*r.sender, q.sender))) return false;
  if (!q.recipient.empty() &&
      std::ranges::none_of(r.recipients, [&](const std::string& a) { return address_matches(a, q.recipient); }))
    return false;
  return true;
}

std::expected<UnixMillis, std::string> parse_time_bound(std::string_view text, UnixMillis now) {
  if (text.empty()) return std::unexpected(std::string("empty time"));
  const char unit = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t amount = 0;
  if (!digits.empty() && std::from_chars(digits.data(), digits.data() + digits.size(), amount).ptr ==
                             digits.data() + digits.size()) {
    std::int64_t unit_ms = 0;
    switch (unit) {
      case 's': unit_ms = 1000; break;
      case 'm': unit_ms = 60'000; break;
      case 'h': unit_ms = 3'600'000; break;
      case 'd': unit_ms = 86'400'000; break;
      case 'w': unit_ms = 7 * 86'400'000LL; break;
      default: break;
    }
    if (unit_ms > 0 && amount >= 0 && amount < 100'000) return now - amount * unit_ms;
  }
  // "2026-12-04T10:00" has no seconds: add them for parse_time.
  std::string absolute(text);
  if (absolute.size() == 16) absolute += ":00";
  if (const auto at = parse_time(absolute)) return *at;
  return std::unexpected("'" + std::string(text) +
                         "' is neither a relative time (30m, 2h, 3d, 1w) nor a UTC time (2026-12-04T10:00:00)");
}

std::uint64_t key_hash(char kind, std::string_view key) {
  // FNV-1a, 64 bits, over the kind and the lowercased key.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](char c) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  };
  mix(kind);
  for (const char c : key) mix(lower(c));
  return h;
}

std::vector<std::uint64_t> record_keys(const Record& r) {
  std::vector<std::uint64_t> keys;
  if (!r.queue_id.empty()) keys.push_back(key_hash('q', r.queue_id));
  if (!r.message_id.empty()) keys.push_back(key_hash('m', unbracket(r.message_id)));
  if (r.sender) address_keys('s', *r.sender, keys);
  for (const auto& rcpt : r.recipients) address_keys('r', rcpt, keys);
  if (!r.client.empty()) keys.push_back(key_hash('c', r.client));
  return keys;
}

std::vector<std::vector<std::uint64_t>> query_keys(const Query& q) {
  std::vector<std::vector<std::uint64_t>> need;
  if (!q.queue_ids.empty()) {
    std::vector<std::uint64_t> any;
    for (const auto& id : q.queue_ids) any.push_back(key_hash('q', id));
    need.push_back(std::move(any));
  }
  if (!q.message_id.empty()) need.push_back({key_hash('m', lowered(unbracket(q.message_id)))});
  if (const auto k = wanted_key('s', q.sender)) need.push_back({*k});
  if (const auto k = wanted_key('r', q.recipient)) need.push_back({*k});
  if (!q.client.empty()) need.push_back({key_hash('c', q.client)});
  return need;
}

}  // namespace relay::tracking
