// relay/tracking/record.cpp — a tracking record to its JSON line and back (see the header).
#include "relay/tracking/record.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <type_traits>

#include "health/json_reader.hpp"
#include "relay/tracking/fields.hpp"

namespace relay::tracking {
namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(Event::count_)> event_names{
    "receive", "reject", "queue", "filter", "deliver", "defer", "bounce",
    "expire",  "dsn",    "hold",  "release", "delete", "drop"};

// Length of the valid UTF-8 sequence at text[0], 0 when it is not one.
std::size_t utf8_length(std::string_view text) noexcept {
  const auto b0 = static_cast<unsigned char>(text[0]);
  std::size_t n = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) n = 3;
  else if (b0 >= 0xf0 && b0 <= 0xf4) n = 4;
  else return 0;
  if (text.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) return 0;
  return n;
}

bool plain(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    // Runs of printable ASCII, nearly all of a record, go in with one append.
    std::size_t run = i;
    while (run < text.size() && plain(text[run])) ++run;
    if (run > i) {
      out.append(text.substr(i, run - i));
      i = run;
      continue;
    }
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
      out += escaped;
    } else if (u >= 0x80) {
      const std::size_t n = utf8_length(text.substr(i));
      if (n == 0) {
        out += "\xef\xbf\xbd";  // U+FFFD: the line stays valid UTF-8, hence valid JSON
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    } else {
      out += c;
    }
    ++i;
  }
  out += '"';
}

void key_of(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  key_of(out, key);
  append_string(out, value);
}

void number(std::string& out, std::string_view key, std::int64_t value) {
  key_of(out, key);
  out += std::to_string(value);
}

bool read_field(health::JsonReader& c, std::string_view key, Record& r) {
  const auto text = [&](std::string& into) {
    auto s = c.string();
    if (s) into = std::move(*s);
    return s.has_value();
  };
  const auto integer = [&](auto& into) {
    auto n = c.integer();
    if (n) into = static_cast<std::remove_reference_t<decltype(into)>>(*n);
    return n.has_value();
  };
  if (key == "time") {
    std::string t;
    if (!text(t)) return false;
    const auto parsed = parse_time(t);
    if (!parsed) return false;
    r.time = *parsed;
    return true;
  }
  if (key == "event") {
    std::string e;
    if (!text(e)) return false;
    const auto parsed = event_from_string(e);
    if (!parsed) return false;
    r.event = *parsed;
    return true;
  }
  const auto field = std::ranges::find(record_fields, key, &Field::key);
  if (field == record_fields.end()) return c.skip_value();
  return std::visit(
      [&](auto member) -> bool {
        auto& into = r.*member;
        using T = std::remove_reference_t<decltype(into)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return text(into);
        } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
          std::string s;
          if (!text(s)) return false;
          into = std::move(s);
          return true;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          if (!c.eat('[')) return false;
          if (c.eat(']')) return true;
          do {
            auto s = c.string();
            if (!s) return false;
            into.push_back(std::move(*s));
          } while (c.eat(','));
          return c.eat(']');
        } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
          std::int64_t n = 0;
          if (!integer(n)) return false;
          into = n;
          return true;
        } else {
          return integer(into);
        }
      },
      field->member);
}

}  // namespace

std::string_view to_string(Event event) noexcept {
  const auto i = static_cast<std::size_t>(event);
  return i < event_names.size() ? event_names[i] : std::string_view("unknown");
}

std::optional<Event> event_from_string(std::string_view text) noexcept {
  for (std::size_t i = 0; i < event_names.size(); ++i)
    if (event_names[i] == text) return static_cast<Event>(i);
  return std::nullopt;
}

std::string format_time(UnixMillis time) {
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds(time)};
  const auto day = floor<days>(at);
  const year_month_day ymd{day};
  const hh_mm_ss hms{at - day};
  // Digits written by hand: the writer thread formats every record's time, and snprintf
  // was a third of its instructions per record (bench/callgrind_per_message.py).
  std::string text = "0000-00-00T00:00:00.000Z";
  const auto put = [&text](std::size_t at, std::size_t width, long long value) {
    for (std::size_t i = at + width; i > at; --i, value /= 10) text[i - 1] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, static_cast<int>(ymd.year()));
  put(5, 2, static_cast<unsigned>(ymd.month()));
  put(8, 2, static_cast<unsigned>(ymd.day()));
  put(11, 2, hms.hours().count());
  put(14, 2, hms.minutes().count());
  put(17, 2, hms.seconds().count());
  put(20, 3, hms.subseconds().count());
  return text;
}

std::optional<UnixMillis> parse_time(std::string_view text) noexcept {
  // YYYY-MM-DDTHH:MM:SS.mmmZ (the format_time form; the fraction and Z may be absent, and
  // a space may stand for the T).
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  const auto num = [&](std::size_t at, std::size_t len, int& out) {
    if (at + len > text.size()) return false;
    return std::from_chars(text.data() + at, text.data() + at + len, out).ptr == text.data() + at + len;
  };
  if (!num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text.size() < 10 || text[7] != '-' || !num(8, 2, d))
    return std::nullopt;
  if (text.size() > 10) {
    if ((text[10] != 'T' && text[10] != ' ') || !num(11, 2, h) || text.size() < 19 || text[13] != ':' ||
        !num(14, 2, mi) || text[16] != ':' || !num(17, 2, s))
      return std::nullopt;
    std::size_t at = 19;
    if (at < text.size() && text[at] == '.') {
      if (!num(at + 1, 3, ms)) return std::nullopt;
      at += 4;
    }
    if (at < text.size() && text[at] == 'Z') ++at;
    if (at != text.size()) return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const auto at = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms);
  return duration_cast<milliseconds>(at.time_since_epoch()).count();
}

void append_record(std::string& out, const Record& r) {
  out += "{\"time\":\"";
  out += format_time(r.time);
  out += "\",\"event\":\"";
  out += to_string(r.event);
  out += '"';
  for (const Field& f : record_fields) {
    std::visit(
        [&](auto member) {
          const auto& value = r.*member;
          using T = std::remove_cvref_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string>) {
            field(out, f.key, value);
          } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            if (!value) return;
            key_of(out, f.key);
            append_string(out, *value);
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            if (value.empty()) return;
            key_of(out, f.key);
            out += '[';
            for (std::size_t i = 0; i < value.size(); ++i) {
              if (i > 0) out += ',';
              append_string(out, value[i]);
            }
            out += ']';
          } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
            if (value) number(out, f.key, *value);
          } else {
            if (value > 0) number(out, f.key, static_cast<std::int64_t>(value));
          }
        },
        f.member);
  }
  out += "}\n";
}

std::string format_record(const Record& record) {
  std::string out;
  out.reserve(256);
  append_record(out, record);
  return out;
}

std::optional<Record> parse_record(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty() || line.back() != '}') return std::nullopt;  // cut by a crash
  health::JsonReader c(line);
  Record r;
  bool has_time = false, has_event = false;
  try {
    const bool ok = c.object([&](const std::string& key) {
      has_time = has_time || key == "time";
      has_event = has_event || key == "event";
      return read_field(c, key, r);
    });
    if (!ok || !has_time || !has_event) return std::nullopt;
  } catch (const std::exception&) {  // a number or escape the reader's std::sto* refuse
    return std::nullopt;
  }
  return r;
}

}  // namespace relay::tracking
