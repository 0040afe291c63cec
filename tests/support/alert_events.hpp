// tests/support/alert_events.hpp — a health alert event with runs and check results.
//
// Owns: the one sample path-DOWN event that the health tests (summary, hook environment,
// report) and the notices tests (the alert mail) share.
#pragma once

#include "health/alert_event.hpp"

namespace test_support {

/// site-a-internet UP -> DOWN at 2026-11-23T05:34:53Z after two failed runs (two of
/// three checks failed in each); the hop dmz-a depends on it.
inline health::AlertEvent path_down_event() {
  health::AlertEvent e;
  e.path = "site-a-internet";
  e.hops = {"dmz-a"};
  e.from = health::State::up;
  e.to = health::State::down;
  e.at = 1'795'412'093'000;  // 2026-11-23T05:34:53Z
  e.reason = "checks";
  health::RunReport run{e.at - 120'000, true, 2,
                        {{"icmp 192.0.2.1", health::ProbeStatus::icmp_no_reply, 1000, "0 of 3 replies"},
                         {"tcp 192.0.2.2:443", health::ProbeStatus::connect_timeout, 5000, ""},
                         {"https https://x/", health::ProbeStatus::protocol_ok, 80, "status 200"}}};
  e.runs = {run, run};
  e.runs[1].at = e.at;
  return e;
}

}  // namespace test_support
