// relay/delivery/session_slots.hpp — who gets a smart host's next free session slot.
//
// Owns: sharing one hop's connection limit (its concurrency window, at most
// max_connections: relay/delivery/concurrency_window) between its pooled sessions and the
// sessions of their own that messages saying "TLS-Required: No" get on a hop demanding TLS
// (relay/delivery/delivery_engine_waived). Both kinds count against the same limit, so a
// flood of such messages waits for slots instead of opening connection after connection.
// Rules (max_connection_rate applies to both kinds after this decision):
//   - a free slot goes to a message waiting for a session of its own, or to the pool when
//     work is queued for it and none of its sessions is idle;
//   - when both want the slot they take turns, so neither starves the other (a pooled
//     session keeps its slot for at most max_messages_per_connection transactions);
//   - no free slot, a message waits for a session of its own and a pooled session is
//     idle: that idle session is closed, and its slot goes to the message.
// Pure: counts in, decision out; the turn is the only state. One owner (the delivery
// engine's thread).
#pragma once

#include <cstddef>
#include <cstdint>

namespace relay {

/// A hop's sessions and the work waiting for them, at one instant.
struct HopSessions {
  std::uint32_t open = 0;          // sessions open or opening, of both kinds
  std::uint32_t limit = 1;         // the concurrency window now
  std::size_t pooled_waiting = 0;  // jobs queued for the pooled sessions
  std::size_t idle = 0;            // pooled sessions waiting for work
  std::size_t own_waiting = 0;     // messages waiting for a session of their own
};

enum class NextSession : std::uint8_t {
  none,        // nothing to open now
  pooled,      // open a pooled session
  own,         // open a session of its own for the first waiting message
  close_idle,  // close an idle pooled session: its slot goes to a waiting message
};

class SessionSlots {
 public:
  /// What to do with `hop`'s slots now. A contested slot (both kinds want it) goes to the
  /// kind that did not get the previous contested one.
  NextSession next(const HopSessions& hop) noexcept;

 private:
  bool own_went_last_ = false;
};

}  // namespace relay
