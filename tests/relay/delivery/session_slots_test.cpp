// tests/relay/delivery/session_slots_test.cpp — sharing a hop's session slots between its
// pooled sessions and messages that get a session of their own ("TLS-Required: No").
#include "relay/delivery/session_slots.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace relay {
namespace {

TEST(SessionSlots, AFloodOfOwnSessionsStopsAtTheLimit) {
  SessionSlots slots;
  HopSessions hop{.open = 0, .limit = 3, .own_waiting = 100};
  // The engine asks again after every session it opens (bounded here).
  for (int round = 0; round < 200 && slots.next(hop) == NextSession::own; ++round) {
    ++hop.open;
    --hop.own_waiting;
  }
  EXPECT_EQ(hop.open, 3u);
  EXPECT_EQ(hop.own_waiting, 97u);
  EXPECT_EQ(slots.next(hop), NextSession::none);  // they wait for a slot
  --hop.open;                                        // one ends
  EXPECT_EQ(slots.next(hop), NextSession::own);
}

TEST(SessionSlots, PooledWorkOpensASessionOnlyWithoutAnIdleOne) {
  SessionSlots slots;
  EXPECT_EQ(slots.next({.open = 1, .limit = 2, .pooled_waiting = 4}), NextSession::pooled);
  EXPECT_EQ(slots.next({.open = 1, .limit = 2, .pooled_waiting = 4, .idle = 1}), NextSession::none);
  EXPECT_EQ(slots.next({.open = 2, .limit = 2, .pooled_waiting = 4}), NextSession::none);
  EXPECT_EQ(slots.next({.open = 0, .limit = 2}), NextSession::none);
}

TEST(SessionSlots, AnIdlePooledSessionMakesRoomForAWaitingMessage) {
  SessionSlots slots;
  EXPECT_EQ(slots.next({.open = 2, .limit = 2, .idle = 1, .own_waiting = 1}), NextSession::close_idle);
  EXPECT_EQ(slots.next({.open = 2, .limit = 2, .idle = 0, .own_waiting = 1}), NextSession::none);
  // The window shrank below the open sessions: nothing more opens.
  EXPECT_EQ(slots.next({.open = 3, .limit = 1, .own_waiting = 1}), NextSession::none);
}

TEST(SessionSlots, ContestedSlotsTakeTurns) {
  SessionSlots slots;
  // One slot, work always queued for the pool, messages always waiting for their own:
  // each freed slot goes to the other kind.
  std::vector<NextSession> granted;
  for (int i = 0; i < 4; ++i)
    granted.push_back(slots.next({.open = 0, .limit = 1, .pooled_waiting = 10, .own_waiting = 10}));
  EXPECT_EQ(granted, (std::vector{NextSession::own, NextSession::pooled, NextSession::own, NextSession::pooled}));
  // An uncontested slot does not use up a turn.
  EXPECT_EQ(slots.next({.open = 0, .limit = 1, .own_waiting = 1}), NextSession::own);
  EXPECT_EQ(slots.next({.open = 0, .limit = 1, .pooled_waiting = 1, .own_waiting = 1}), NextSession::own);
}

}  // namespace
}  // namespace relay
