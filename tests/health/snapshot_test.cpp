// tests/health/snapshot_test.cpp — the probe-driven View routing reads, combined with
// passive ejection; the report and alert renderings.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "health/alert_event.hpp"
#include "health/hop_health.hpp"
#include "health/report.hpp"
#include "health/snapshot.hpp"
#include "tests/support/alert_events.hpp"

namespace {

using namespace health;
using std::chrono::seconds;

HealthSnapshot two_hops(bool a_up, bool b_up) {
  HealthSnapshot s;
  s.hops = {HopStatus{"a", {"site-a"}, a_up}, HopStatus{"b", {"site-b"}, b_up}};
  return s;
}

TEST(HealthSnapshot, HopUsableOnlyWhenPathsUpAndNotEjected) {
  const PassiveEjection::TimePoint t0{seconds{1000}};
  PassiveEjection ejection(3, seconds{30}, seconds{300});
  struct Case {
    bool a_up, b_up, eject_b;
    bool a, b, c;  // hop 2 is outside the snapshot: never vetoed by probes
  };
  for (const Case c : std::vector<Case>{{true, true, false, true, true, true},
                                        {false, true, false, false, true, true},
                                        {true, true, true, true, false, true},
                                        {false, false, false, false, false, true}}) {
    PassiveEjection e = ejection;
    if (c.eject_b) e.record_failure(1, t0);
    const HealthSnapshot snapshot = two_hops(c.a_up, c.b_up);
    const HopHealth view(e, t0 + seconds{1}, &snapshot);
    EXPECT_EQ(view.usable(0), c.a);
    EXPECT_EQ(view.usable(1), c.b);
    EXPECT_EQ(view.usable(2), c.c);
  }
}

TEST(HealthSnapshot, ProbeSuccessClearsEjectionAndItsBackoff) {
  const PassiveEjection::TimePoint t0{seconds{1000}};
  PassiveEjection e(1, seconds{30}, seconds{300});
  e.record_failure(0, t0);
  e.record_failure(0, t0 + seconds{31});  // second ejection: back-off doubled
  EXPECT_EQ(*e.ejected_until(0), t0 + seconds{31} + seconds{60});
  e.record_success(0);  // what the monitor's successful hop probe does
  EXPECT_FALSE(e.ejected(0, t0 + seconds{32}));
  e.record_failure(0, t0 + seconds{40});
  EXPECT_EQ(*e.ejected_until(0), t0 + seconds{40} + seconds{30});  // streak restarted
}

TEST(HealthSnapshot, BoxSwapsAtomically) {
  SnapshotBox box;
  EXPECT_EQ(box.load(), nullptr);
  auto first = std::make_shared<HealthSnapshot>(two_hops(true, true));
  box.store(first);
  const SnapshotPtr held = box.load();
  box.store(std::make_shared<HealthSnapshot>(two_hops(false, true)));
  EXPECT_TRUE(held->usable(0));  // a reader's snapshot never changes under it
  EXPECT_FALSE(box.load()->usable(0));
}

// The alert mail's text is tested with the other notices (tests/relay/delivery/notices_test.cpp).
TEST(AlertEvent, SummaryAndHookEnvironmentSayWhatChanged) {
  const AlertEvent e = test_support::path_down_event();
  EXPECT_EQ(alert_summary(e), "path site-a-internet UP -> DOWN (2 of 2 runs failed)");
  const auto env = alert_environment(e);
  EXPECT_NE(std::ranges::find(env, std::pair<std::string, std::string>{"HUBRELAY_TO", "DOWN"}), env.end());
  EXPECT_NE(std::ranges::find(env, std::pair<std::string, std::string>{"HUBRELAY_PATH", "site-a-internet"}), env.end());
}

TEST(Report, JsonEscapesAndCarriesEveryPart) {
  HealthSnapshot s = two_hops(false, true);
  s.taken_at = 1'795'412'093'000;
  PathStatus p;
  p.name = "site\"a";
  p.runs.push_back(test_support::path_down_event().runs[0]);
  s.paths.push_back(p);
  const std::string json = render_json(s, {EjectionReport{"b", true, s.taken_at + 30'000, 1, 1}});
  EXPECT_NE(json.find("\"name\": \"site\\\"a\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"latency_ms\": 5000"), std::string::npos);
  EXPECT_NE(json.find("\"ejected\": true"), std::string::npos);
  const std::string text = render_text(s, {});
  EXPECT_NE(text.find("NOT usable: path down"), std::string::npos) << text;  // the hop vocabulary
}

}  // namespace

namespace {

// Each check's status reaches the operator: tag and class in the JSON, the sentence with
// its tag in the text report and the JSON detail (the alert mail prints the same sentence:
// tests/relay/delivery/notices_test.cpp).
TEST(Report, ChecksCarryTheirProbeStatus) {
  HealthSnapshot s = two_hops(false, true);
  PathStatus p;
  p.name = "site-a";
  RunReport run{s.taken_at, true, 1,
                {{"http http://x/", health::ProbeStatus::http_status_mismatch, 12, "503 (expected 200)"},
                 {"dns probe.example @127.0.0.1", health::ProbeStatus::dns_ok, 3, "192.0.2.7"}}};
  p.runs.push_back(run);
  s.paths.push_back(p);
  const std::string json = render_json(s, {});
  EXPECT_NE(json.find("\"ok\": false, \"status\": \"L7STS\", \"class\": \"bad_answer\", \"latency_ms\": 12, "
                      "\"detail\": \"unexpected HTTP status: 503 (expected 200) [L7STS]\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"ok\": true, \"status\": \"DNSOK\", \"class\": \"ok\""), std::string::npos) << json;
  const std::string text = render_text(s, {});
  EXPECT_NE(text.find("FAIL     12 ms  http http://x/: unexpected HTTP status: 503 (expected 200) [L7STS]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ok        3 ms  dns probe.example @127.0.0.1: addresses found: 192.0.2.7 [DNSOK]\n"),
            std::string::npos)
      << text;
}

}  // namespace
