// relay/delivery/park_note.hpp — what a recipient's history says when it waits for a hop.
//
// Owns: the text of a "parked" history row: the reply-table reply for "no usable hop",
// then the route and, for each of its hops, why it is not used (ejected until when, a
// path or its own check down) and the last delivery error seen on it with its time. An
// administrator reads it in `hubrelay queue show`; it is never sent to a client.
// Never: reads a clock or the engine's state — the hop facts come in as values.
// Errors: none.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace relay {

/// One hop of the route at the moment its recipients were parked.
struct HopWait {
  std::string name;
  std::int64_t ejected_until = 0;  // wall clock (Unix ms) when ejected, else 0
  bool usable = false;             // usable for routing now (ejected or path down: false)
  std::string last_error;          // the engine's last failure on the hop, "" if none
  std::int64_t last_error_at = 0;  // when (Unix ms), 0 if none
};

/// "451 4.4.1 No healthy next hop available (route R: a ejected until T, last error at
/// T: …; b not usable (a path or its own check is down))".
std::string park_note(std::string_view route, std::span<const HopWait> hops);

}  // namespace relay
