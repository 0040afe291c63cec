// queue/message.hpp — value types that cross the queue boundary.
//
// Owns: the shapes of a message on its way in (NewMessage), a queued message handed to
// delivery (QueuedMessage), and a per-recipient delivery outcome (RecipientOutcome).
// Times are Unix milliseconds, supplied by the caller (the queue reads no clock).
// Performs no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"

namespace queue {

using MessageId = std::int64_t;
using UnixMillis = std::int64_t;

/// Per-recipient state. Stored as its integer value: never renumber.
enum class RecipientState : std::uint8_t {
  pending = 0,    // waiting for (another) delivery attempt
  delivered = 1,  // a hop answered 2xx
  failed = 2,     // permanent failure (5xx); a bounce is due
  expired = 3,    // queue lifetime exceeded
};

std::string_view to_string(RecipientState s) noexcept;

/// What a row of a recipient's history is. Stored as its integer value: never renumber.
enum class AttemptKind : std::uint8_t {
  delivery = 0,       // a hop was tried (or the attempt failed before one was reached)
  parked = 1,         // no usable hop: the recipient waits for its route (not an attempt)
  administrator = 2,  // `hubrelay queue bounce/expire`
};

std::string_view to_string(AttemptKind k) noexcept;

/// Where a queued message's body is: inline in SQLite (`data`, bodies up to
/// [queue] inline_body_max) or in a spool file (`file`, `file_size`; queue/spool.hpp).
/// Neither: the body was freed (every recipient final). Readers do not care which:
/// queue/stored_body_reader.hpp yields chunks for both. A spooled message is
/// `prefix` followed by the file's octets from `skip` on: header edits after the file was
/// written (a content filter's, then DKIM's) live beside it and the file is never rewritten.
struct StoredBody {
  std::shared_ptr<const std::string> data;  // inline body, or null
  std::string file;                         // spool file name, or "" when inline
  std::uint64_t file_size = 0;              // with `file`: its size as stored
  /// With `file`: header fields the message begins with, before the file's octets (the
  /// DKIM-Signature fields added after the file was written; schema v8). "" for none.
  std::string prefix;
  /// With `file`: octets at the start of the file that are not part of the message (the
  /// header section a filter's edited one, in `prefix`, replaced; schema v9). 0 for none.
  std::uint64_t skip = 0;

  bool present() const noexcept { return data != nullptr || !file.empty(); }
  bool spooled() const noexcept { return !file.empty(); }
  std::uint64_t size() const noexcept { return data ? data->size() : prefix.size() + file_size - skip; }
};

struct NewMessage {
  /// Reserved with MessageQueue::reserve_id() (the Received: header already names it);
  /// 0: the store assigns the next one.
  MessageId id = 0;
  conf::Direction direction = conf::Direction::inbound;
  std::string listener;
  std::string client_address;
  std::string helo;
  std::string sender;                    // "" is the null sender
  std::string mail_parameters;           // ESMTP MAIL parameters, e.g. "BODY=8BITMIME"
  std::vector<std::string> recipients;
  std::string body;                      // complete message with trace header, CRLF endings
  /// A body that outgrew the session's buffer lives in this spool file instead (`body`
  /// stays empty): written and fdatasync'd before the commit; "" for an inline body.
  std::string body_file;
  std::uint64_t body_file_size = 0;
  /// With `body_file`: header fields sent before the file's octets (StoredBody::prefix):
  /// a spool file cannot be prepended to without copying it.
  std::string body_prefix;
  /// With `body_file`: octets at the file's start the message no longer has
  /// (StoredBody::skip): the header section `body_prefix` replaces. 0 for none.
  std::uint64_t body_skip = 0;
  UnixMillis received_at = 0;
  /// RCPT parameters per recipient (same index; DSN NOTIFY/ORCPT, RFC 3461). Shorter
  /// than `recipients` (or empty) means "" for the rest.
  std::vector<std::string> recipient_parameters;
  /// Non-empty: the message is stored held (a content filter quarantined it) in the same
  /// transaction, with this text as each recipient's last reply; `queue release` sends it.
  std::string held_reason;
};

struct QueuedRecipient {
  std::int32_t index = 0;                // position in the message's recipient list
  std::string address;
  std::uint32_t attempts = 0;
  std::string parameters;                // RCPT parameters as received (schema v3), "" if none
  bool delay_notified = false;           // a delay notice went out already (schema v4)
};

/// A message with the recipients that are still pending and were claimed for delivery.
struct QueuedMessage {
  MessageId id = 0;
  conf::Direction direction = conf::Direction::inbound;
  std::string listener;
  std::string sender;
  std::string mail_parameters;
  UnixMillis received_at = 0;
  std::vector<QueuedRecipient> recipients;
  StoredBody body;
  // Shared queue: the node whose lease on these recipients had run out when this node
  // claimed them (it died, or lost the database); empty for mail nobody held.
  std::string lease_expired_for;
};

struct RecipientOutcome {
  MessageId id = 0;
  std::int32_t index = 0;
  RecipientState state = RecipientState::pending;
  UnixMillis next_attempt = 0;           // used when state is pending
  bool attempted = true;                 // false: released unattempted, attempts unchanged
  std::string reply;                     // last SMTP reply or fault text
  std::string hop;                       // hop name used, "" if none
  /// When the outcome happened (the caller's clock); stored as the recipient's
  /// updated_at. 0 means unknown and is stored as NULL, keeping the queue clock-free.
  UnixMillis recorded_at = 0;
  /// A delay notice was sent with this outcome: stored, never cleared (schema v4).
  bool delay_notified = false;
  /// Pending because no hop of the route was usable: route index + 1, 0 when not parked
  /// (schema v5). SqliteStore::release_parked makes such recipients due again.
  std::uint32_t parked_route = 0;
  /// With parked_route: the route's name and why it has no usable hop (each hop's
  /// state), stored as a "parked" history row. `reply`/`hop` stay for a real attempt made
  /// in the same pass; "" there keeps the recipient's last real reply (schema v6).
  std::string parked_on;
  std::string parked_note;
  std::string hop_address;               // address:port of `hop`, "" if unknown
  /// What protected the attempt's session ("dane TLSv1.3 TLS_AES_256_GCM_SHA384",
  /// "none"); "" when no session was opened (stored as NULL, schema v10).
  std::string tls;
};

/// Queue ids as shown in logs and the CLI: upper-case hex, at least 10 digits.
std::string format_queue_id(MessageId id);

}  // namespace queue
