// relay/client/throttle.hpp — which upstream replies say "slow down" rather than "broken".
//
// Owns: reading a Transcript for the reply that refused work, and whether that reply is a
// throttle: a transient (4xx) reply whose enhanced status is 4.7.x (policy: "421 4.7.0
// Too many connections", "451 4.7.1 rate limited") or 4.5.3 ("452 4.5.3 Too many
// recipients"). A throttle is not a dead hop: the delivery engine shrinks the hop's
// concurrency window instead of ejecting it (relay/delivery/delivery_engine_limits.cpp).
// A bare 421 or 421 4.3.2 (shutting down, overloaded) stays a hop failure, as judge says.
// Never: decides fates or retry times (relay/client/judge does).
// Standards: RFC 3463 §3.8 (X.7.x security or policy status), §3.6 (X.5.3).
#pragma once

#include <optional>
#include <string>

#include "relay/client/judge.hpp"

namespace relay {

/// The first reply of `transcript` that was not positive, in stage order (session
/// refusal, MAIL, each RCPT, DATA, the final reply), as one line; nullopt when none.
std::optional<std::string> refusing_reply(const Transcript& transcript);

/// True for a reply that throttles us (see above).
bool is_throttle(const Reply& reply) noexcept;

/// The first throttling reply of `transcript`, as one line; nullopt when none.
std::optional<std::string> throttle_reply(const Transcript& transcript);

}  // namespace relay
