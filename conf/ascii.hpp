// conf/ascii.hpp — ASCII case folding, the one definition for the whole tree.
//
// Owns: lower/upper-casing of single octets and strings, and case-insensitive equality
// and prefix tests, for protocol keywords (SMTP verbs, ESMTP parameters, EHLO keywords),
// domain names and configuration words. Only A–Z and a–z fold: octets ≥ 0x80 (UTF-8
// in SMTPUTF8 addresses) and every other byte compare exactly, whatever the C locale
// says, which is what RFC 5321 §2.4 and RFC 1035 §2.3.3 ask for.
// Pure, header-only, constexpr where it can be.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace conf {

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

inline std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), ascii_lower);
  return out;
}

inline std::string ascii_uppercase(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), ascii_upper);
  return out;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::ranges::equal(a, b, [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

constexpr bool ascii_istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && ascii_iequals(text.substr(0, prefix.size()), prefix);
}

}  // namespace conf
