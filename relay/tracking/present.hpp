// relay/tracking/present.hpp — tracking records as an administrator reads them.
//
// Owns: the one-line text of a record ("2026-12-04 22:54:00.123 deliver 00000000000A
// from=<a@x> to=<b@y> hop=hub1 remote=10.0.0.1:25 reply=\"250 ok\"") and a message's
// story (its records grouped under one heading: received → queued → deferred at hop A
// → delivered at hop B), for `hubrelay track` and anything else that shows them. Pure.
#pragma once

#include <span>
#include <string>

#include "relay/tracking/record.hpp"

namespace relay::tracking {

/// One line, "\n"-terminated.
std::string record_line(const Record& record);

/// Records grouped by queue id, each group under a heading naming the message (its
/// Message-ID, sender, size), in the order each message first appears; records
/// without a queue id (refusals) are listed at the end. `records` oldest first.
std::string stories(std::span<const Record> records);

}  // namespace relay::tracking
