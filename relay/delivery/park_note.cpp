// relay/delivery/park_note.cpp — what a recipient's history says when it waits for a hop.
#include "relay/delivery/park_note.hpp"

#include "health/report.hpp"
#include "relay/smtp/reply_table.hpp"

namespace relay {

std::string park_note(std::string_view route, std::span<const HopWait> hops) {
  std::string note = format_reply(ReplyId::no_healthy_hop);  // one line, from the reply table
  while (!note.empty() && (note.back() == '\n' || note.back() == '\r')) note.pop_back();
  note += " (route " + std::string(route) + ":";
  for (std::size_t i = 0; i < hops.size(); ++i) {
    const HopWait& hop = hops[i];
    note += (i ? "; " : " ") + hop.name;
    if (hop.ejected_until != 0) note += " ejected until " + health::format_utc(hop.ejected_until);
    else if (!hop.usable) note += " not usable (a path or its own check is down)";
    else note += " usable";
    if (hop.last_error_at != 0) note += ", last error at " + health::format_utc(hop.last_error_at) + ": " + hop.last_error;
  }
  return note + ")";
}

}  // namespace relay
