// queue/spool_name.cpp — formatting, and recognising spool body names.
#include "queue/spool_name.hpp"

#include <algorithm>

namespace queue {
namespace {

constexpr std::size_t hex_digits = 16;

void append_hex(std::string& out, std::uint64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out += digits[(value >> shift) & 0xf];
}

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string format_spool_name(std::uint64_t instance, std::uint64_t sequence) {
  std::string name;
  name.reserve(limits::spool_name_length);
  append_hex(name, instance);
  name += '-';
  append_hex(name, sequence);
  return name;
}

bool is_spool_name(std::string_view name) noexcept {
  if (name.size() != limits::spool_name_length || name[hex_digits] != '-') return false;
  return std::ranges::all_of(name.substr(0, hex_digits), is_lower_hex) &&
         std::ranges::all_of(name.substr(hex_digits + 1), is_lower_hex);
}

}  // namespace queue
