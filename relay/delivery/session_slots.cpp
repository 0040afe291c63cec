// relay/delivery/session_slots.cpp — sharing a hop's session slots (see the header).
#include "relay/delivery/session_slots.hpp"

namespace relay {

NextSession SessionSlots::next(const HopSessions& hop) noexcept {
  const bool own_wants = hop.own_waiting > 0;
  const bool pool_wants = hop.pooled_waiting > 0 && hop.idle == 0;
  if (hop.open >= hop.limit) return own_wants && hop.idle > 0 ? NextSession::close_idle : NextSession::none;
  if (own_wants && pool_wants) {
    own_went_last_ = !own_went_last_;
    return own_went_last_ ? NextSession::own : NextSession::pooled;
  }
  if (own_wants) return NextSession::own;
  return pool_wants ? NextSession::pooled : NextSession::none;
}

}  // namespace relay
