// relay/tracking/fields.hpp — the fields of a tracking record, named once.
//
// Owns: one table of the record's fields after time and event: each field's JSON key and
// where it is in Record (relay/tracking/record writes and reads the JSON line from it, in
// the table's order), and how the one-line text form shows it (relay/tracking/present:
// its key there, its presentation, its place on the line). A field added to Record is
// added here, and both forms follow.
// Pure: constant data.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relay/tracking/record.hpp"

namespace relay::tracking {

/// How the one-line form shows a field (present.cpp); absent values are never shown.
enum class Shown : std::uint8_t {
  hidden,        // not on the line (the queue id has its own place; direction, listener)
  plain,         // key=value
  quoted,        // key="value"
  angled,        // key=<value>
  addresses,     // key=<a>,<b>
  with_cipher,   // tls=protocol/cipher
  milliseconds,  // key=Nms
};

/// Where a field is in Record; its type says how it is written, read and when it is absent
/// (text: empty; optional: nullopt; list: empty; count: 0).
using Member = std::variant<std::string Record::*, std::optional<std::string> Record::*,
                            std::vector<std::string> Record::*, std::uint64_t Record::*, std::uint32_t Record::*,
                            std::optional<std::int64_t> Record::*>;

struct Field {
  std::string_view key;       // JSON key
  Member member;
  std::string_view text_key;  // key on the one-line form
  Shown shown;
  std::uint8_t text_rank;     // place on the one-line form (smaller first)
};

inline const std::array<Field, 21> record_fields{{
    {"queue_id", &Record::queue_id, "", Shown::hidden, 0},
    {"message_id", &Record::message_id, "message-id", Shown::angled, 1},
    {"sender", &Record::sender, "from", Shown::angled, 2},
    {"recipients", &Record::recipients, "to", Shown::addresses, 3},
    {"size", &Record::size, "size", Shown::plain, 13},
    {"direction", &Record::direction, "", Shown::hidden, 0},
    {"listener", &Record::listener, "", Shown::hidden, 0},
    {"client", &Record::client, "client", Shown::plain, 4},
    {"helo", &Record::helo, "helo", Shown::plain, 5},
    {"stage", &Record::stage, "stage", Shown::plain, 6},
    {"reason", &Record::reason, "reason", Shown::plain, 7},
    {"hop", &Record::hop, "hop", Shown::plain, 8},
    {"remote", &Record::remote, "remote", Shown::plain, 9},
    {"reply", &Record::reply, "reply", Shown::quoted, 17},
    {"attempt", &Record::attempt, "attempt", Shown::plain, 10},
    {"tls_protocol", &Record::tls_protocol, "tls", Shown::with_cipher, 11},
    {"tls_cipher", &Record::tls_cipher, "", Shown::hidden, 0},
    {"tls_kind", &Record::tls_kind, "tls_kind", Shown::plain, 11},
    {"dkim", &Record::dkim, "dkim", Shown::plain, 12},
    {"latency_ms", &Record::latency_ms, "latency", Shown::milliseconds, 14},
    {"actor", &Record::actor, "by", Shown::plain, 15},
}};

}  // namespace relay::tracking
