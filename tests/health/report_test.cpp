// tests/health/report_test.cpp — the hop vocabulary of the state files, the reader of
// health.json (round trip with render_json) and the staleness rule.
#include "health/report.hpp"

#include <gtest/gtest.h>

namespace {

using health::EjectionReport;
using health::HealthSnapshot;
using health::HopCondition;
using health::HopStatus;
using health::PathStatus;

constexpr health::UnixMillis t0 = 1'800'000'000'000;

/// Hops: "plain" (no paths), "sited" (path site-a), "checked" (own check hop:checked).
HealthSnapshot snapshot(health::State site_a, health::State own_check) {
  HealthSnapshot s;
  s.taken_at = t0;
  PathStatus a;
  a.name = "site-a";
  a.state = site_a;
  PathStatus c;
  c.name = "hop:checked";
  c.hop = "checked";
  c.state = own_check;
  health::RunReport run;
  run.at = t0;
  run.failed = true;
  run.checks.push_back({"smtp 192.0.2.9:25", health::ProbeStatus::probe_overrun, 3, "no \"answer\""});
  c.runs.push_back(run);
  s.paths = {a, c};
  s.hops = {HopStatus{"plain", {}, true}, HopStatus{"sited", {"site-a"}, site_a == health::State::up},
            HopStatus{"checked", {"hop:checked"}, own_check == health::State::up}};
  return s;
}

TEST(HopStates, OneVocabularyForEveryReason) {
  const auto s = snapshot(health::State::down, health::State::down);
  std::vector<EjectionReport> ejections{{"plain", true, t0 + 60'000, 1, 1}, {"sited", true, t0 + 5'000, 2, 1}};
  const auto states = health::hop_states(s, ejections);
  ASSERT_EQ(states.size(), 3u);
  EXPECT_EQ(states[0].condition, HopCondition::ejected);
  EXPECT_EQ(states[0].ejected_until, t0 + 60'000);
  // A DOWN path outranks an ejection, which is still shown.
  EXPECT_EQ(states[1].condition, HopCondition::path_down);
  EXPECT_TRUE(states[1].ejected);
  EXPECT_EQ(states[2].condition, HopCondition::check_down);
  EXPECT_NE(states[2].last_error.find("hop:checked: smtp 192.0.2.9:25"), std::string::npos) << states[2].last_error;
  EXPECT_EQ(health::to_string(HopCondition::path_down), "path down");
}

// A path held or forced DOWN inside its maintenance window suspends its hops: planned,
// so a measured fault (another path, the own check) outranks it, and it outranks an
// ejection. The state file carries the word and the reader takes it back.
TEST(HopStates, MaintenanceSuspends) {
  auto s = snapshot(health::State::down, health::State::up);
  s.paths[0].maintenance = true;
  auto states = health::hop_states(s, {{"sited", true, t0 + 5'000, 2, 1}});
  EXPECT_EQ(states[1].condition, HopCondition::suspended);
  EXPECT_TRUE(states[1].ejected);
  EXPECT_EQ(states[1].last_error, "site-a: DOWN in a maintenance window");
  EXPECT_EQ(health::describe(states[1]).substr(0, 23), "NOT usable: suspended (");
  const auto state = health::parse_state(health::render_json(s, {}));
  ASSERT_TRUE(state) << state.error();
  EXPECT_EQ(state->hops[1].condition, HopCondition::suspended);
  // The own check DOWN outside maintenance is a fault: it wins.
  s.paths[1].state = health::State::down;
  s.hops[1].paths.push_back("hop:checked");
  EXPECT_EQ(health::hop_states(s, {})[1].condition, HopCondition::check_down);
}

TEST(HopStates, TextSaysWhyAHopIsNotUsable) {
  const auto s = snapshot(health::State::up, health::State::up);
  const auto text = health::render_text(s, {{"plain", true, t0 + 60'000, 1, 1}});
  EXPECT_NE(text.find("plain                    NOT usable: ejected until " + health::format_utc(t0 + 60'000)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sited                    usable"), std::string::npos) << text;
}

TEST(StateFile, ReadsBackWhatTheDaemonWrites) {
  const auto s = snapshot(health::State::up, health::State::down);
  const auto json = health::render_json(s, {{"plain", true, t0 + 60'000, 3, 1}});
  const auto state = health::parse_state(json);
  ASSERT_TRUE(state) << state.error() << "\n" << json;
  EXPECT_EQ(state->written_at, t0);
  ASSERT_EQ(state->hops.size(), 3u);
  EXPECT_EQ(state->hops[0].name, "plain");
  EXPECT_EQ(state->hops[0].condition, HopCondition::ejected);
  EXPECT_EQ(state->hops[0].ejected_until, t0 + 60'000);
  EXPECT_EQ(state->hops[0].consecutive_failures, 3u);
  EXPECT_EQ(state->hops[1].condition, HopCondition::usable);
  EXPECT_EQ(state->hops[2].condition, HopCondition::check_down);
  // Escaped quotes in the detail survive the round trip.
  EXPECT_NE(state->hops[2].last_error.find("no \"answer\""), std::string::npos) << state->hops[2].last_error;
}

// The delivery engine's last failure on a hop, with its time, reaches both files and
// comes back from health.json; it stays after the hop is usable again. A DOWN path's
// failing check, when there is one, is named instead.
TEST(StateFile, CarriesTheHopsLastDeliveryErrorAndWhen) {
  const auto s = snapshot(health::State::down, health::State::up);
  const std::string refused =
      "451 4.4.1 Connection to next hop failed: connect to 127.0.0.1:2603 failed: Connection refused";
  std::vector<EjectionReport> ejections{{"plain", true, t0 + 60'000, 1, 1, refused, t0 - 1'000},
                                        {"sited", false, 0, 0, 0, "421 4.3.2 busy", t0 - 2'000},
                                        {"checked", false, 0, 0, 0, "550 5.7.1 relaying denied", t0 - 9'000}};
  const auto json = health::render_json(s, ejections);
  EXPECT_NE(json.find("\"last_error_at\": " + std::to_string(t0 - 1'000) + ", \"last_error_at_utc\": \"" +
                      health::format_utc(t0 - 1'000) + "\""),
            std::string::npos)
      << json;
  const auto state = health::parse_state(json);
  ASSERT_TRUE(state) << state.error();
  EXPECT_EQ(state->hops[0].last_error, refused);
  EXPECT_EQ(state->hops[0].last_error_at, t0 - 1'000);
  EXPECT_EQ(state->hops[1].condition, HopCondition::path_down);
  EXPECT_EQ(state->hops[1].last_error, "421 4.3.2 busy");  // its path has no failed check to name
  EXPECT_EQ(state->hops[2].condition, HopCondition::usable);
  EXPECT_EQ(state->hops[2].last_error, "550 5.7.1 relaying denied");
  EXPECT_EQ(health::describe(state->hops[0]), "NOT usable: ejected until " + health::format_utc(t0 + 60'000) +
                                                  "; last error at " + health::format_utc(t0 - 1'000) + ": " + refused);
  const auto text = health::render_text(s, ejections);
  EXPECT_NE(text.find("checked                  usable; last error at " + health::format_utc(t0 - 9'000) +
                      ": 550 5.7.1 relaying denied"),
            std::string::npos)
      << text;
}

TEST(StateFile, RefusesWhatItCannotTrust) {
  const auto json = health::render_json(snapshot(health::State::up, health::State::up), {});
  EXPECT_FALSE(health::parse_state(json.substr(0, json.size() / 2)));  // partly written
  EXPECT_FALSE(health::parse_state(""));
  EXPECT_FALSE(health::parse_state(R"({"taken_at": 5, "hops": [{"name": "a", "usable": true}]})"));  // older format
  EXPECT_FALSE(health::parse_state(R"({"taken_at": 5})"));
  const auto minimal = health::parse_state(R"({"taken_at": 5, "future": [1, {"x": null}], "hops": []})");
  ASSERT_TRUE(minimal) << minimal.error();
  EXPECT_TRUE(minimal->hops.empty());
}

TEST(StateFile, StaleAfterThreeMissedHeartbeats) {
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(health::state_stale_after).count();
  EXPECT_FALSE(health::stale_reason(t0, t0 + limit));
  const auto why = health::stale_reason(t0, t0 + limit + 1000);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("not running"), std::string::npos) << *why;
}

}  // namespace
