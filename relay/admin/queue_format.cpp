// relay/admin/queue_format.cpp — how `hubrelay queue` and the admin queue API show the queue.
#include "relay/admin/queue_format.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "relay/admin/metrics.hpp"

namespace relay::queue_format {
namespace {

using metrics::json_string;

std::optional<std::size_t> parse_count(std::string_view text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string iso_time(queue::UnixMillis ms) {
  if (ms <= 0) return "-";
  const std::chrono::sys_seconds t{std::chrono::seconds{ms / 1000}};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string short_age(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::expected<queue::QueueFilter, std::string> filter_from(const Options& options) {
  queue::QueueFilter f;
  for (const auto& [key, value] : options) {
    const auto bad = [&](std::string_view why) {
      return std::unexpected("--" + key + " " + json_string(value) + ": " + std::string(why));
    };
    if (key == "state") {
      auto s = queue::parse_state_filter(value);
      if (!s) return bad("unknown state (use queued, deferred, held, delivered, failed, expired or all)");
      f.state = *s;
    } else if (key == "direction") {
      if (value == "inbound") {
        f.direction = conf::Direction::inbound;
      } else if (value == "outbound") {
        f.direction = conf::Direction::outbound;
      } else {
        return bad("use inbound or outbound");
      }
    } else if (key == "listener") {
      f.listener = value;
    } else if (key == "sender") {
      f.sender = value;
    } else if (key == "recipient") {
      f.recipient = value;
    } else if (key == "domain") {
      f.domain = value;
    } else if (key == "hop") {
      f.hop = value;
    } else if (key == "older" || key == "newer") {
      auto age = queue::parse_age_ms(value);
      if (!age) return bad("not an age (e.g. 90s, 15m, 2h, 3d)");
      (key == "older" ? f.older_than_ms : f.newer_than_ms) = *age;
    } else if (key == "limit" || key == "offset") {
      auto n = parse_count(value);
      if (!n || (key == "limit" && (*n == 0 || *n > 100000))) return bad("not a count (limit: 1..100000)");
      (key == "limit" ? f.limit : f.offset) = *n;
    } else if (key == "after") {
      auto id = queue::parse_queue_id(value);
      if (!id) return bad("not a queue id (hexadecimal, as shown by queue list)");
      f.after = *id;
    } else {
      return std::unexpected("unknown filter --" + key +
                             " (use state, direction, listener, sender, recipient, domain, hop, older, newer, "
                             "limit, offset, after)");
    }
  }
  return f;
}

std::string message_json(const queue::MessageView& m, queue::UnixMillis now) {
  std::string o = "{\"id\":\"" + queue::format_queue_id(m.id) + "\",\"state\":\"" + std::string(m.state()) +
                  "\",\"direction\":\"" + conf::to_string(m.direction) + "\",\"listener\":" + json_string(m.listener) +
                  ",\"client\":" + json_string(m.client_address) + ",\"helo\":" + json_string(m.helo) +
                  ",\"sender\":" + json_string(m.sender) + ",\"parameters\":" + json_string(m.mail_parameters) +
                  ",\"received_at\":" + json_string(iso_time(m.received_at)) +
                  ",\"age_seconds\":" + std::to_string(std::max<std::int64_t>(now - m.received_at, 0) / 1000) +
                  ",\"size\":" + std::to_string(m.size) + ",\"held\":" + (m.held ? "true" : "false") +
                  ",\"body_stored\":" + (m.has_body ? "true" : "false") + ",\"recipients\":[";
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    if (i) o += ',';
    o += "{\"address\":" + json_string(r.address) + ",\"state\":\"" + std::string(queue::to_string(r.state)) +
         "\",\"attempts\":" + std::to_string(r.attempts) + ",\"in_delivery\":" + (in_delivery(r, now) ? "true" : "false") +
         (r.lease_node.empty() ? "" : ",\"lease_node\":" + json_string(r.lease_node) +
                                          ",\"lease_until\":" + json_string(iso_time(r.lease_until))) +
         ",\"next_attempt\":" +
         (r.state == queue::RecipientState::pending ? json_string(iso_time(r.next_attempt)) : "null") +
         ",\"last_reply\":" + (r.last_reply.empty() ? "null" : json_string(r.last_reply)) +
         ",\"hop\":" + (r.hop.empty() ? "null" : json_string(r.hop)) +
         ",\"parked_on\":" + (r.parked_on.empty() ? "null" : json_string(r.parked_on)) +
         ",\"parked_since\":" + (r.parked_on.empty() ? "null" : json_string(iso_time(r.parked_since))) +
         ",\"parked_reason\":" + (r.parked_reason.empty() ? "null" : json_string(r.parked_reason)) +
         (r.parameters.empty() ? "" : ",\"parameters\":" + json_string(r.parameters)) + "}";
  }
  o += "]";
  if (!m.attempts.empty()) {
    o += ",\"attempts\":[";
    for (std::size_t i = 0; i < m.attempts.size(); ++i) {
      const auto& a = m.attempts[i];
      if (i) o += ',';
      o += "{\"recipient\":" + std::to_string(a.index) + ",\"at\":" + json_string(iso_time(a.at)) +
           ",\"hop\":" + (a.hop.empty() ? "null" : json_string(a.hop)) +
           ",\"address\":" + (a.address.empty() ? "null" : json_string(a.address)) + ",\"kind\":\"" +
           std::string(queue::to_string(a.kind)) + "\",\"state\":\"" + std::string(queue::to_string(a.state)) +
           "\",\"reply\":" + json_string(a.reply) + (a.tls.empty() ? "" : ",\"tls\":" + json_string(a.tls)) + "}";
    }
    o += "]";
  }
  return o + "}";
}

std::string list_header() {
  return pad("QUEUE-ID", 12) + pad("STATE", 10) + pad("DIR", 9) + pad("AGE", 6) + pad("SIZE", 9) + "SENDER -> RECIPIENTS\n";
}

std::string message_line(const queue::MessageView& m, queue::UnixMillis now) {
  std::string line = pad(queue::format_queue_id(m.id), 12) + pad(std::string(m.state()), 10) +
                     pad(conf::to_string(m.direction), 9) + pad(short_age(now - m.received_at), 6) +
                     pad(std::to_string(m.size), 9) + "<" + m.sender + "> ->";
  for (const auto& r : m.recipients) line += " <" + r.address + ">";
  line += "\n";
  for (const auto& r : m.recipients) {
    if (r.state != queue::RecipientState::pending) continue;
    if (!r.last_reply.empty() || !r.parked_on.empty()) line += "    <" + r.address + "> " + waiting_text(r) + "\n";
    if (!r.lease_node.empty()) line += "    <" + r.address + "> lease: " + lease_text(r, now) + "\n";
  }
  return line;
}

std::string waiting_text(const queue::RecipientView& r) {
  std::string out;
  if (!r.last_reply.empty()) out += (r.hop.empty() ? "" : "hop=" + r.hop + " ") + "\"" + r.last_reply + "\"";
  if (!r.parked_on.empty()) {
    const bool never_tried = out.empty();
    out += (never_tried ? "" : "; ") + std::string("parked on route ") + r.parked_on + " since " + iso_time(r.parked_since);
    // Not tried yet: the park's own text is the only error there is (each hop's state).
    if (never_tried && !r.parked_reason.empty()) out += ": \"" + r.parked_reason + "\"";
  }
  return out;
}

std::string lease_text(const queue::RecipientView& r, queue::UnixMillis now) {
  if (r.lease_node.empty()) return {};
  return "node " + r.lease_node + " until " + iso_time(r.lease_until) +
         (r.lease_until > now ? "" : " (ran out: any node may take it over)");
}

bool in_delivery(const queue::RecipientView& r, queue::UnixMillis now) {
  return r.leased && (r.lease_node.empty() || r.lease_until > now);
}

std::string show_text(const queue::MessageView& m, queue::UnixMillis now) {
  std::string o;
  o += "queue id:    " + queue::format_queue_id(m.id) + "\n";
  o += "state:       " + std::string(m.state()) + (m.held ? " (held)" : "") + "\n";
  o += "direction:   " + std::string(conf::to_string(m.direction)) + " (listener " + m.listener + ")\n";
  o += "client:      " + m.client_address + " helo=" + m.helo + "\n";
  o += "sender:      <" + m.sender + ">" + (m.mail_parameters.empty() ? "" : " " + m.mail_parameters) + "\n";
  o += "received:    " + iso_time(m.received_at) + " (" + short_age(now - m.received_at) + " ago)\n";
  o += "size:        " + std::to_string(m.size) + " bytes" + (m.has_body ? "" : " (body purged)") + "\n";
  o += "recipients:\n";
  for (const auto& r : m.recipients) {
    o += "  [" + std::to_string(r.index) + "] <" + r.address + "> " + std::string(queue::to_string(r.state)) +
         " attempts=" + std::to_string(r.attempts);
    if (r.state == queue::RecipientState::pending)
      o += in_delivery(r, now) ? " in-delivery" : " next=" + iso_time(r.next_attempt);
    if (!r.hop.empty()) o += " hop=" + r.hop;
    o += "\n";
    if (!r.parameters.empty()) o += "      parameters: " + r.parameters + "\n";  // DSN NOTIFY/ORCPT
    if (r.state == queue::RecipientState::pending && !r.lease_node.empty())
      o += "      lease:      " + lease_text(r, now) + "\n";
    if (!r.last_reply.empty()) o += "      last reply: " + r.last_reply + "\n";
    if (!r.parked_on.empty())
      o += "      waiting:    parked on route " + r.parked_on + " since " + iso_time(r.parked_since) +
           " (no usable hop; released when one is)\n";
    if (!r.parked_reason.empty()) o += "      parked:     " + r.parked_reason + "\n";
  }
  o += "attempts:\n";
  if (m.attempts.empty()) o += "  (none)\n";
  // Oldest first, newest last. A park is not an attempt: it says why nothing was tried.
  for (const auto& a : m.attempts) {
    const std::string hop = a.hop.empty() ? "-" : a.address.empty() ? a.hop : a.hop + " (" + a.address + ")";
    o += "  " + iso_time(a.at) + " [" + std::to_string(a.index) + "] ";
    if (a.kind == queue::AttemptKind::delivery) {
      o += "attempt hop=" + hop + " ";
      if (!a.tls.empty()) o += "tls=\"" + a.tls + "\" ";
    }
    else o += std::string(queue::to_string(a.kind)) + " ";
    o += std::string(queue::to_string(a.state)) + " \"" + a.reply + "\"\n";
  }
  return o;
}

std::string summary_text(const std::vector<queue::SummaryRow>& rows) {
  // qshape layout: domain, total, bytes, then one column per age bucket. Numbers are
  // right-aligned in columns as wide as their widest value, so a million-message queue
  // still reads as columns.
  std::vector<std::string> header{"T", "BYTES"};
  for (auto minutes : queue::summary_bucket_minutes) header.push_back(std::to_string(minutes));
  header.push_back(std::to_string(queue::summary_bucket_minutes.back()) + "+");
  std::vector<std::vector<std::string>> cells;
  std::size_t domain_width = 6;
  for (const auto& r : rows) {
    std::vector<std::string> line{std::to_string(r.total), std::to_string(r.bytes)};
    for (auto count : r.buckets) line.push_back(std::to_string(count));
    cells.push_back(std::move(line));
    domain_width = std::max(domain_width, std::min<std::size_t>(r.domain.size(), 40));
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& line : cells)
      if (c < line.size()) width[c] = std::max(width[c], line[c].size());
  }
  auto right = [](const std::string& text, std::size_t w) { return std::string(w + 1 - std::min(w, text.size()), ' ') + text; };
  std::string o = pad("", domain_width);
  for (std::size_t c = 0; c < header.size(); ++c) o += right(header[c], width[c]);
  o += "\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string& domain = rows[i].domain;
    o += pad(domain.size() > domain_width ? domain.substr(0, domain_width) : domain, domain_width);
    for (std::size_t c = 0; c < cells[i].size() && c < width.size(); ++c) o += right(cells[i][c], width[c]);
    o += "\n";
  }
  return o;
}

std::string summary_json(const std::vector<queue::SummaryRow>& rows) {
  std::string o;
  for (const auto& r : rows) {
    o += "{\"domain\":" + json_string(r.domain) + ",\"total\":" + std::to_string(r.total) +
         ",\"bytes\":" + std::to_string(r.bytes) + ",\"buckets\":{";
    for (std::size_t i = 0; i < r.buckets.size(); ++i) {
      if (i) o += ',';
      const std::string key = i < queue::summary_bucket_minutes.size()
                                  ? "<" + std::to_string(queue::summary_bucket_minutes[i]) + "m"
                                  : ">=" + std::to_string(queue::summary_bucket_minutes.back()) + "m";
      o += json_string(key) + ":" + std::to_string(r.buckets[i]);
    }
    o += "}}\n";
  }
  return o;
}

}  // namespace relay::queue_format
