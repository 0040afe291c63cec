// tests/relay/delivery/park_note_test.cpp — the history text of a parked recipient: the
// route, each hop's state and its last real error with the time, table-driven.
#include "relay/delivery/park_note.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "health/report.hpp"

namespace {

constexpr std::int64_t t0 = 1'800'000'000'000;
const std::string refused =
    "451 4.4.1 Connection to next hop failed: connect to 127.0.0.1:2603 failed: Connection refused";

TEST(ParkNote, SaysWhyEachHopOfTheRouteIsNotUsed) {
  struct Case {
    const char* name;
    std::vector<relay::HopWait> hops;
    std::string want;
  };
  const std::string no_hop = "451 4.4.1 No healthy next hop available (route internet:";
  const std::vector<Case> cases = {
      {"ejected after a refused connection",
       {{"upstream", t0 + 60'000, false, refused, t0}},
       no_hop + " upstream ejected until " + health::format_utc(t0 + 60'000) + ", last error at " +
           health::format_utc(t0) + ": " + refused + ")"},
      {"a path down, never failed a delivery",
       {{"isp-a", 0, false, "", 0}},
       no_hop + " isp-a not usable (a path or its own check is down))"},
      {"two hops: one ejected, one whose path is down with an old error",
       {{"a", t0 + 5'000, false, "421 4.3.2 busy", t0 - 1'000}, {"b", 0, false, "550 5.7.1 denied", t0 - 9'000}},
       no_hop + " a ejected until " + health::format_utc(t0 + 5'000) + ", last error at " +
           health::format_utc(t0 - 1'000) + ": 421 4.3.2 busy; b not usable (a path or its own check is down), "
           "last error at " + health::format_utc(t0 - 9'000) + ": 550 5.7.1 denied)"},
      {"no hops (a route whose hops were all removed)", {}, no_hop + ")"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(relay::park_note("internet", c.hops), c.want);
  }
}

}  // namespace
