// relay/tracking/present.cpp — record lines and message stories (see the header).
#include "relay/tracking/present.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <type_traits>
#include <vector>

#include "relay/tracking/fields.hpp"

namespace relay::tracking {
namespace {

void add(std::string& out, std::string_view key, std::string_view value, bool quoted = false) {
  if (value.empty()) return;
  out += ' ';
  out += key;
  out += '=';
  if (quoted) out += '"';
  for (const char c : value) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (quoted) out += '"';
}

std::string joined(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& a : addresses) {
    if (!out.empty()) out += ',';
    out += '<' + a + '>';
  }
  return out;
}

// "2026-12-04 22:54:00.123": the record's time without the T and Z.
std::string shown_time(UnixMillis time) {
  std::string t = format_time(time);
  t[10] = ' ';
  t.pop_back();
  return t;
}

// What happened, in words, for a line of a story.
std::string happened(const Record& r) {
  std::string out;
  switch (r.event) {
    case Event::receive:
      out = "received from " + r.client;
      if (!r.helo.empty()) out += " (helo " + r.helo + ")";
      if (!r.tls_protocol.empty()) out += " over " + r.tls_protocol;
      if (!r.listener.empty()) out += " on " + r.listener;
      out += ", " + std::to_string(r.recipients.size()) + " recipient(s)";
      return out;
    case Event::queue: return r.dkim.empty() ? "queued" : "queued, signed " + r.dkim;
    case Event::deliver: out = "delivered"; break;
    case Event::defer: out = "deferred"; break;
    case Event::bounce: out = "bounced"; break;
    case Event::expire: out = "expired"; break;
    case Event::dsn: return r.reason + " notice sent to <" + r.sender.value_or("") + ">: " + r.reply;
    case Event::drop: return "dropped: " + r.reason;
    case Event::hold:
    case Event::release:
    case Event::del: return std::string(to_string(r.event)) + " by administrator " + r.actor;
    default: out = std::string(to_string(r.event)); break;
  }
  if (!r.hop.empty()) out += " at hop " + r.hop;
  if (!r.remote.empty()) out += " (" + r.remote + ")";
  if (!r.tls_protocol.empty()) out += " over " + r.tls_protocol;
  if (!r.recipients.empty()) out += " for " + joined(r.recipients);
  if (r.attempt > 0) out += ", attempt " + std::to_string(r.attempt);
  if (!r.reply.empty()) out += ": " + r.reply;
  if (r.event == Event::defer && r.stage == "next_hop") out += " (another hop tried at once)";
  if (r.event == Event::defer && r.stage == "parked") out += " (" + r.reason + ")";
  return out;
}

}  // namespace

std::string record_line(const Record& r) {
  // The fields in their place on the line (relay/tracking/fields: text_rank).
  static const std::vector<const Field*> shown = [] {
    std::vector<const Field*> out;
    for (const Field& f : record_fields)
      if (f.shown != Shown::hidden) out.push_back(&f);
    std::ranges::stable_sort(out, {}, &Field::text_rank);
    return out;
  }();
  std::string out = shown_time(r.time);
  out += ' ';
  out += to_string(r.event);
  if (!r.queue_id.empty()) out += ' ' + r.queue_id;
  for (const Field* f : shown) {
    // The value as text; nullopt when the record does not have it.
    const std::optional<std::string> value = std::visit(
        [&](auto member) -> std::optional<std::string> {
          const auto& v = r.*member;
          using T = std::remove_cvref_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            return v.empty() ? std::nullopt : std::optional(v);
          } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            return v;
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            return v.empty() ? std::nullopt : std::optional(joined(v));
          } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
            return v ? std::optional(std::to_string(*v)) : std::nullopt;
          } else {
            return v > 0 ? std::optional(std::to_string(v)) : std::nullopt;
          }
        },
        f->member);
    if (!value) continue;
    switch (f->shown) {
      case Shown::quoted: add(out, f->text_key, *value, true); break;
      case Shown::angled: add(out, f->text_key, "<" + *value + ">"); break;
      case Shown::with_cipher: add(out, f->text_key, *value + "/" + r.tls_cipher); break;
      case Shown::milliseconds: add(out, f->text_key, *value + "ms"); break;
      default: add(out, f->text_key, *value); break;
    }
  }
  out += '\n';
  return out;
}

std::string stories(std::span<const Record> records) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Record*>> groups;
  std::vector<const Record*> loose;
  for (const auto& r : records) {
    if (r.queue_id.empty()) {
      loose.push_back(&r);
      continue;
    }
    auto& group = groups[r.queue_id];
    if (group.empty()) order.push_back(r.queue_id);
    group.push_back(&r);
  }
  std::string out;
  for (const auto& id : order) {
    const auto& group = groups[id];
    std::string message_id, sender;
    std::uint64_t size = 0;
    bool has_sender = false;
    for (const Record* r : group) {
      if (message_id.empty()) message_id = r->message_id;
      if (!has_sender && r->sender) {
        sender = *r->sender;
        has_sender = true;
      }
      if (size == 0) size = r->size;
    }
    out += "message " + id;
    if (!message_id.empty()) out += " <" + message_id + ">";
    if (has_sender) out += " from <" + sender + ">";
    if (size > 0) out += " size " + std::to_string(size);
    out += '\n';
    for (const Record* r : group) out += "  " + shown_time(r->time) + "  " + happened(*r) + "\n";
  }
  if (!loose.empty()) {
    out += "refused before a message was queued\n";
    for (const Record* r : loose) out += "  " + record_line(*r);
  }
  return out;
}

}  // namespace relay::tracking
