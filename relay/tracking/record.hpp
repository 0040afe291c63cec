// relay/tracking/record.hpp — one message tracking record and its JSON line.
//
// Owns: the vocabulary of tracking (the events a message goes through, from reception to
// delivery, bounce or deletion), the record's fields, and the two pure conversions
// between a record and the one line of JSON that stands for it in a tracking file
// (docs/tracking.md documents every field). Pure: no I/O, no clock; the caller stamps
// the time. Absent fields (empty text, zero numbers) are left out of the line, so a
// record is as short as what it says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::tracking {

enum class Event : std::uint8_t {
  receive,  // a message was received from a client (before the queue answered)
  reject,   // a client's command or message was refused (stage + reason)
  queue,    // the message is committed to the queue: the client got its 250
  filter,   // a content filter acted on the message (reserved: emitted by content filters)
  deliver,  // a next hop accepted a recipient
  defer,    // an attempt failed temporarily; the recipient is tried again (maybe elsewhere)
  bounce,   // a recipient failed permanently
  expire,   // a recipient outlived the queue lifetime
  dsn,      // a delivery status notice (bounce, delay, relayed) was queued to the sender
  hold,     // an administrator held the message
  release,  // an administrator released it
  del,      // an administrator deleted it ("delete")
  drop,     // dropped without a notice (an undeliverable notice, a null-sender failure)
  count_,
};

std::string_view to_string(Event event) noexcept;
std::optional<Event> event_from_string(std::string_view text) noexcept;

using UnixMillis = std::int64_t;

struct Record {
  UnixMillis time = 0;              // when it happened, UTC milliseconds since the epoch
  Event event = Event::receive;
  std::string queue_id;             // "" before the queue named the message
  std::string message_id;           // Message-ID header field, without <> ("" if none seen)
  std::optional<std::string> sender;  // reverse-path without <>; "" is the null sender
  std::vector<std::string> recipients;
  std::uint64_t size = 0;           // message octets as queued
  std::string direction;            // "inbound" / "outbound"
  std::string listener;
  std::string client;               // the sending client's address
  std::string helo;
  std::string stage;                // reject: connect, helo, mail, rcpt, data; else where it happened
  std::string reason;               // reject: the policy reason; dsn: the notice's kind
  std::string hop;                  // next hop name
  std::string remote;               // the next hop's address as connected ("10.0.0.1:25")
  std::string reply;                // the remote reply, or the local fault, as text
  std::uint32_t attempt = 0;        // delivery attempt number of the recipient (1 = first)
  std::string tls_protocol;         // "TLSv1.3": the client's session (receive), the next hop's (deliver, defer, bounce)
  std::string tls_cipher;
  std::string tls_kind;             // deliver, defer, bounce: what protected the next hop's session (relay/tls_used)
  std::string dkim;                 // receive/queue: the signatures added, "d/s/algorithm" comma-separated
  std::optional<std::int64_t> latency_ms;  // since the message was received
  std::string actor;                // hold/release/delete: who did it ("uid=0 user=root")
};

/// The record as one JSON object followed by "\n". Text is escaped so the line is valid
/// JSON whatever a client sent (control octets as \u00XX, invalid UTF-8 as U+FFFD).
std::string format_record(const Record& record);
/// Appends the same to `out` (the writer formats a batch into one buffer).
void append_record(std::string& out, const Record& record);

/// The record a line stands for; nullopt when it is not a tracking record (a line cut by
/// a crash, a foreign line). Unknown keys are ignored, so old readers read new files.
std::optional<Record> parse_record(std::string_view line);

/// "2026-12-04T22:54:00.123Z" and back.
std::string format_time(UnixMillis time);
std::optional<UnixMillis> parse_time(std::string_view text) noexcept;

}  // namespace relay::tracking
