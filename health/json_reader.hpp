// health/json_reader.hpp — a small reader for the JSON documents hubrelay writes itself.
//
// Owns: reading back health.json (health/report.cpp) and /api/status (`hubrelay stats`):
// objects member by member, arrays, strings with escapes, numbers, booleans, null.
// Never: reads JSON from strangers with guarantees beyond "malformed input is refused":
// nesting is bounded, \u escapes outside ASCII become '?'.
// Pure: no I/O. Errors: every reader returns nullopt/false on malformed input.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace health {

/// Just enough JSON (RFC 8259) to read back what hubrelay writes: objects, arrays,
/// strings with escapes, numbers, true/false/null. Unknown keys are skipped, so fields
/// added later do not break older readers.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      const char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) return std::nullopt;
          const unsigned code = static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
          i_ += 4;
          out += code < 0x80 ? static_cast<char>(code) : '?';  // we only escape control characters
          break;
        }
        default: out += e;
      }
    }
    return std::nullopt;
  }
  std::optional<std::int64_t> integer() {
    skip_space();
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == start) return std::nullopt;
    return std::stoll(std::string(s_.substr(start, i_ - start)));
  }
  /// Any JSON number (fraction and exponent included).
  std::optional<double> number() {
    skip_space();
    const std::size_t start = i_;
    while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos) ++i_;
    if (i_ == start) return std::nullopt;
    try {
      return std::stod(std::string(s_.substr(start, i_ - start)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  std::optional<bool> boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{std::string_view("true"), true}, {std::string_view("false"), false}})
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return value;
      }
    return std::nullopt;
  }
  /// Skips any one value; false on malformed input.
  bool skip_value(int depth = 0) {
    skip_space();
    if (i_ >= s_.size() || depth > 32) return false;
    const char c = s_[i_];
    if (c == '"') return string().has_value();
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      if (eat(close)) return true;
      do {
        if (c == '{' && !(string() && eat(':'))) return false;
        if (!skip_value(depth + 1)) return false;
      } while (eat(','));
      return eat(close);
    }
    if (c == 'n' && s_.substr(i_, 4) == "null") {
      i_ += 4;
      return true;
    }
    return boolean() || number();
  }
  /// True when only white space is left (a document is one value, nothing after it).
  bool at_end() {
    skip_space();
    return i_ == s_.size();
  }

  /// Calls `field(key)` for each member of an object; `field` reads the value and
  /// returns false on malformed input.
  template <class Field>
  bool object(Field&& field) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    do {
      const auto key = string();
      if (!key || !eat(':') || !field(*key)) return false;
    } while (eat(','));
    return eat('}');
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace health
