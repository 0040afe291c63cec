// relay/delivery/delivery_engine_internal.hpp — what the delivery engine's files share.
//
// Owns: the in-flight message record and the engine's fixed limits. Only the
// delivery_engine*.cpp files include it.
#pragma once

#include <chrono>
#include <cstddef>

#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/smtp/require_tls.hpp"

namespace relay {

// A claimed message is leased this long on SQLite (queue::lease_time: the shared queue's
// own lease time on PostgreSQL); recovery on restart clears leases.
inline constexpr queue::UnixMillis local_lease_ms = 60 * 60 * 1000;
inline constexpr std::size_t claim_batch = 256;
inline constexpr auto scan_interval = std::chrono::seconds(1);

struct DeliveryEngine::MessageInFlight {
  queue::QueuedMessage queued;
  std::size_t jobs_open = 0;
  TlsRequest tls = TlsRequest::hop_policy;  // REQUIRETLS or "TLS-Required: No", read once at submit
};

}  // namespace relay
