// policy/base64.cpp — strict RFC 4648 base64.
#include "policy/base64.hpp"

#include <array>
#include <cstdint>

namespace policy {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) r[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto reverse = make_reverse();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += alphabet[v >> 6 & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
  if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
  out += alphabet[v >> 18 & 63];
  out += alphabet[v >> 12 & 63];
  out += rest == 2 ? alphabet[v >> 6 & 63] : '=';
  out += '=';
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::array<int, 4> d{};
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=') {
        // Padding only in the last quantum, only in the last two places, and only at the end.
        if (!last || k < 2) return std::nullopt;
        ++padding;
        d[static_cast<std::size_t>(k)] = 0;
        continue;
      }
      if (padding != 0) return std::nullopt;
      const int v = reverse[static_cast<unsigned char>(c)];
      if (v < 0) return std::nullopt;
      d[static_cast<std::size_t>(k)] = v;
    }
    const std::uint32_t v = static_cast<std::uint32_t>(d[0] << 18 | d[1] << 12 | d[2] << 6 | d[3]);
    out += static_cast<char>(v >> 16 & 0xff);
    if (padding < 2) out += static_cast<char>(v >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(v & 0xff);
    // Canonical form: the bits the padding hides must be zero.
    if ((padding == 1 && (v & 0xff) != 0) || (padding == 2 && (v & 0xffff) != 0)) return std::nullopt;
  }
  return out;
}

}  // namespace policy
