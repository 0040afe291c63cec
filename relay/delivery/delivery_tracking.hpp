// relay/delivery/delivery_tracking.hpp — the tracking records of delivery: delivered,
// deferred (at a hop, or back to the queue), bounced, expired, notices sent, dropped.
//
// Owns: turning a finished job's recipient outcomes, a hop's temporary failure that
// moves recipients on to another hop at once, and a sender notice into tracking records
// for the writer (relay/tracking/writer). A null writer costs one comparison. Called on
// the delivery engine's I/O thread: it copies a few strings, no formatting, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "queue/message.hpp"
#include "relay/client/client_stream.hpp"
#include "relay/tracking/writer.hpp"

namespace relay {

/// One record per outcome that says something happened: delivered, failed (bounce),
/// expired, pending after an attempt or parked (defer). Recipients handed back without
/// an attempt (a reload, a stop) get none. `tls`: what protected the session to the next
/// hop that decided them (nullopt: no session).
void track_outcomes(tracking::Writer* writer, const queue::QueuedMessage& message,
                    std::span<const queue::RecipientOutcome> outcomes, const std::optional<TlsUsed>& tls = {});

/// A defer record for recipients (positions in message.recipients) that failed
/// temporarily at `hop` and go on to another hop now.
void track_hop_retry(tracking::Writer* writer, const queue::QueuedMessage& message,
                     std::span<const std::size_t> positions, std::string_view hop, std::string_view remote,
                     std::string_view reply, const std::optional<TlsUsed>& tls = {});

/// A dsn record: a notice of `kind` ("bounce", "delay", "relayed") about `message`
/// queued to its sender as `notice_id`.
void track_notice(tracking::Writer* writer, const queue::QueuedMessage& message, std::string_view kind,
                  std::size_t recipients);

/// A drop record: failures of a null-sender message nobody is told about.
void track_drop(tracking::Writer* writer, const queue::QueuedMessage& message, std::string_view why);

}  // namespace relay
