// relay/dkim/canonicalization.cpp — see canonicalization.hpp.
#include "relay/dkim/canonicalization.hpp"

#include <cctype>

namespace relay::dkim {
namespace {

constexpr bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

std::expected<Canonicalization, std::string> parse_one(std::string_view word) {
  if (word == "simple") return Canonicalization::simple;
  if (word == "relaxed") return Canonicalization::relaxed;
  return std::unexpected("'" + std::string(word) + "' is not simple or relaxed");
}

}  // namespace

std::expected<CanonicalizationPair, std::string> parse_canonicalization(std::string_view text) {
  const auto slash = text.find('/');
  auto header = parse_one(text.substr(0, slash));
  if (!header) return std::unexpected(header.error());
  CanonicalizationPair pair{*header, Canonicalization::simple};
  if (slash != std::string_view::npos) {
    auto body = parse_one(text.substr(slash + 1));
    if (!body) return std::unexpected(body.error());
    pair.body = *body;
  }
  return pair;
}

std::string canonicalize_header(std::string_view field, Canonicalization c) {
  std::string out;
  if (c == Canonicalization::simple) {
    out.reserve(field.size() + 2);
    out.append(field);
    out.append("\r\n");
    return out;
  }
  // Relaxed (§3.4.2): name lower-cased, whitespace around the colon deleted, the value
  // unfolded, whitespace runs made one SP, whitespace at its end deleted.
  const auto colon = field.find(':');
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  out.reserve(field.size() + 2);
  for (const char ch : name) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  out.push_back(':');
  if (colon == std::string_view::npos) return out + "\r\n";
  bool wsp = false;
  bool started = false;  // whitespace before the first value octet is deleted
  for (const char ch : field.substr(colon + 1)) {
    if (ch == '\r' || ch == '\n') continue;  // unfolding: the folding whitespace stays
    if (is_wsp(ch)) {
      wsp = true;
      continue;
    }
    if (wsp && started) out.push_back(' ');
    wsp = false;
    started = true;
    out.push_back(ch);
  }
  out.append("\r\n");
  return out;
}

void BodyCanonicalizer::line_end(std::string& out) {
  wsp_pending_ = false;  // relaxed: whitespace at the end of a line is deleted
  if (line_has_content_) {
    out.append("\r\n");
    line_has_content_ = false;
  } else {
    ++empty_lines_;
  }
}

void BodyCanonicalizer::content(std::string_view run, std::string& out) {
  if (run.empty()) return;
  // Empty lines followed by content were not trailing after all.
  for (; empty_lines_ > 0; --empty_lines_) out.append("\r\n");
  if (wsp_pending_) {
    out.push_back(' ');
    wsp_pending_ = false;
  }
  out.append(run);
  line_has_content_ = true;
  emitted_ = true;
}

void BodyCanonicalizer::feed(std::string_view chunk, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = chunk.size();
  while (i < n) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (chunk[i] == '\n') {
        line_end(out);
        ++i;
        continue;
      }
      content("\r", out);  // a lone CR is an ordinary octet
    }
    const char c = chunk[i];
    if (c == '\r') {
      cr_pending_ = true;
      ++i;
      continue;
    }
    if (relaxed_ && is_wsp(c)) {
      wsp_pending_ = true;
      ++i;
      continue;
    }
    // A run of ordinary octets goes out in one append.
    std::size_t end = i + 1;
    while (end < n && chunk[end] != '\r' && !(relaxed_ && is_wsp(chunk[end]))) ++end;
    content(chunk.substr(i, end - i), out);
    i = end;
  }
}

void BodyCanonicalizer::finish(std::string& out) {
  if (cr_pending_) {
    cr_pending_ = false;
    content("\r", out);
  }
  // A last line without CR LF gains one; trailing empty lines are dropped (§3.4.3, §3.4.4).
  if (line_has_content_) {
    out.append("\r\n");
    line_has_content_ = false;
  }
  // simple: an empty body is one CR LF; relaxed: an empty body stays empty.
  if (!emitted_ && !relaxed_) out.append("\r\n");
}

}  // namespace relay::dkim
