// relay/tracking/record.cpp — a tracking record to its JSON line and back (see the header).
#include "relay/tracking/record.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>

#include "health/json_reader.hpp"

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

void field(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ",\"";
  out += key;
  out += "\":";
  append_string(out, value);
}

void number(std::string& out, std::string_view key, std::int64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
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
  if (key == "queue_id") return text(r.queue_id);
  if (key == "message_id") return text(r.message_id);
  if (key == "sender") {
    std::string s;
    if (!text(s)) return false;
    r.sender = std::move(s);
    return true;
  }
  if (key == "recipients") {
    if (!c.eat('[')) return false;
    if (c.eat(']')) return true;
    do {
      auto s = c.string();
      if (!s) return false;
      r.recipients.push_back(std::move(*s));
    } while (c.eat(','));
    return c.eat(']');
  }
  if (key == "size") return integer(r.size);
  if (key == "direction") return text(r.direction);
  if (key == "listener") return text(r.listener);
  if (key == "client") return text(r.client);
  if (key == "helo") return text(r.helo);
  if (key == "stage") return text(r.stage);
  if (key == "reason") return text(r.reason);
  if (key == "hop") return text(r.hop);
  if (key == "remote") return text(r.remote);
  if (key == "reply") return text(r.reply);
  if (key == "attempt") return integer(r.attempt);
  if (key == "tls_protocol") return text(r.tls_protocol);
  if (key == "tls_cipher") return text(r.tls_cipher);
  if (key == "dkim") return text(r.dkim);
  if (key == "latency_ms") {
    std::int64_t ms = 0;
    if (!integer(ms)) return false;
    r.latency_ms = ms;
    return true;
  }
  if (key == "actor") return text(r.actor);
  return c.skip_value();
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
  field(out, "queue_id", r.queue_id);
  field(out, "message_id", r.message_id);
  if (r.sender) {
    out += ",\"sender\":";
    append_string(out, *r.sender);
  }
  if (!r.recipients.empty()) {
    out += ",\"recipients\":[";
    for (std::size_t i = 0; i < r.recipients.size(); ++i) {
      if (i > 0) out += ',';
      append_string(out, r.recipients[i]);
    }
    out += ']';
  }
  if (r.size > 0) number(out, "size", static_cast<std::int64_t>(r.size));
  field(out, "direction", r.direction);
  field(out, "listener", r.listener);
  field(out, "client", r.client);
  field(out, "helo", r.helo);
  field(out, "stage", r.stage);
  field(out, "reason", r.reason);
  field(out, "hop", r.hop);
  field(out, "remote", r.remote);
  field(out, "reply", r.reply);
  if (r.attempt > 0) number(out, "attempt", r.attempt);
  field(out, "tls_protocol", r.tls_protocol);
  field(out, "tls_cipher", r.tls_cipher);
  field(out, "dkim", r.dkim);
  if (r.latency_ms) number(out, "latency_ms", *r.latency_ms);
  field(out, "actor", r.actor);
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
