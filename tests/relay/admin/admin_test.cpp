// Tests for the pure operations parts of relay/: rejection counting, the latency
// histogram, the throughput ring, Prometheus and JSON formatting, and the admin HTTP
// handler's routing and token check (with a fake backend).
#include <gtest/gtest.h>

#include "relay/admin/admin_http.hpp"
#include "relay/admin/health_metrics.hpp"
#include "relay/counters.hpp"
#include "relay/admin/metrics.hpp"
#include "relay/admin/stats_text.hpp"
#include "relay/throughput_ring.hpp"
#include "relay/version.hpp"

namespace relay {
namespace {

TEST(Counters, RejectionsByEnhancedCodeOrBasicCode) {
  std::map<std::string, std::uint64_t, std::less<>> seen;
  count_rejections("250 2.1.0 ok\r\n550 5.7.1 relay denied\r\n", seen);
  count_rejections("452-4.5.3 too many\r\n452 4.5.3 recipients\r\n", seen);  // one multi-line reply
  count_rejections("554 no service\r\n550 5.7.1 again\r\n354 go ahead\r\n", seen);
  count_rejections("", seen);
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen["5.7.1"], 2u);
  EXPECT_EQ(seen["4.5.3"], 1u);
  EXPECT_EQ(seen["554"], 1u);
}

TEST(Counters, LatencyHistogramBuckets) {
  LatencyHistogram h;
  h.observe(0.05);
  h.observe(0.1);     // le=0.1 is inclusive
  h.observe(2);
  h.observe(1e6);     // beyond the last bound: +Inf
  EXPECT_EQ(h.buckets[0], 2u);
  EXPECT_EQ(h.buckets[3], 1u);
  EXPECT_EQ(h.buckets.back(), 1u);
  EXPECT_EQ(h.count, 4u);
}

// Totals over a reload: the retired engine's counts and the new one's add field by field,
// the histogram too; the queue of both directions keeps the larger oldest age.
TEST(Counters, TotalsAddEveryField) {
  DirectionCounters a, b;
  a.count(RecipientEvent::delivered, 0.2);
  a.count(RecipientEvent::parked, 0);
  b.count(RecipientEvent::bounced, 0);
  b.count(RecipientEvent::expired, 0);
  b.count(RecipientEvent::delivered, 40);
  b.messages_out = 3;
  b.released = 2;
  a += b;
  EXPECT_EQ(a.delivered, 2u);
  EXPECT_EQ(a.deferred, 1u);
  EXPECT_EQ(a.parked, 1u);
  EXPECT_EQ(a.bounced, 1u);
  EXPECT_EQ(a.expired, 1u);
  EXPECT_EQ(a.messages_out, 3u);
  EXPECT_EQ(a.released, 2u);
  EXPECT_EQ(a.latency.count, 2u);
  EXPECT_DOUBLE_EQ(a.latency.sum_seconds, 40.2);

  HopCounters h1, h2;
  h1.count_attempt("");
  h1.count_attempt("connect");
  h2.count_attempt("connect");
  h2.count_attempt("reply_4xx");
  h2.throttled = 4;
  h2.rate_delayed = 5;
  h2.rate_delay_ms = 600;
  h1 += h2;
  EXPECT_EQ(h1.attempts, 4u);
  EXPECT_EQ(h1.successes, 1u);
  EXPECT_EQ(h1.failures["connect"], 2u);
  EXPECT_EQ(h1.failures["reply_4xx"], 1u);
  EXPECT_EQ(h1.throttled, 4u);
  EXPECT_EQ(h1.rate_delayed, 5u);
  EXPECT_EQ(h1.rate_delay_ms, 600u);

  metrics::Depth d1, d2;
  d1.queued_messages = 1;
  d1.oldest_queued_seconds = 9;
  d1.bytes = 10;
  d2.queued_messages = 2;
  d2.held_recipients = 3;
  d2.oldest_queued_seconds = 4;
  d2.oldest_held_seconds = 7;
  d2.bytes = 5;
  d1 += d2;
  EXPECT_EQ(d1.queued_messages, 3u);
  EXPECT_EQ(d1.held_recipients, 3u);
  EXPECT_DOUBLE_EQ(d1.oldest_queued_seconds, 9);
  EXPECT_DOUBLE_EQ(d1.oldest_held_seconds, 7);
  EXPECT_EQ(d1.bytes, 15u);
}

TEST(ThroughputRing, WindowAndRates) {
  ThroughputRing ring;
  using F = ThroughputRing::Flow;
  const auto in_out = ThroughputRing::series(conf::Direction::outbound, F::in);
  const std::int64_t t0 = 1'700'000'000;  // a multiple of 10
  for (int i = 0; i < 60; ++i) ring.add(conf::Direction::outbound, F::in, t0 + i);  // 1/s for a minute
  ring.add(conf::Direction::inbound, F::out, t0 + 5, 7);
  const auto w = ring.window(in_out, t0 + 65, 8);
  ASSERT_EQ(w.size(), 8u);
  EXPECT_EQ(w, (std::vector<std::uint64_t>{0, 10, 10, 10, 10, 10, 10, 0}));
  EXPECT_DOUBLE_EQ(ring.rate(in_out, t0 + 65, 60), 1.0);       // six complete buckets of 10
  EXPECT_DOUBLE_EQ(ring.rate(in_out, t0 + 65, 300), 0.2);      // 60 over 5 minutes
  EXPECT_EQ(ring.window(ThroughputRing::series(conf::Direction::inbound, F::out), t0 + 9, 1)[0], 7u);
  // An hour later the same slots are reused and old counts are gone.
  ring.add(conf::Direction::outbound, F::in, t0 + 3600);
  EXPECT_EQ(ring.window(in_out, t0 + 3600, 1)[0], 1u);
  EXPECT_DOUBLE_EQ(ring.rate(in_out, t0 + 3600 + 65, 60), 1.0 / 60);  // not 10/s from an hour ago
}

metrics::Snapshot sample_snapshot() {
  metrics::Snapshot s;
  s.now_unix = 1000;
  s.started_unix = 900;
  metrics::Listener in{"in \"bound\"", conf::Direction::inbound, {}};
  in.counters.messages_received = 3;
  in.counters.rejections["5.7.1"] = 2;
  s.listeners.push_back(in);
  s.listeners.push_back({"outbound", conf::Direction::outbound, {}});
  s.directions[1].delivered = 5;
  s.directions[1].latency.observe(0.2);
  // Members assigned one by one: g++ 12 at -O2 warns (maybe-uninitialized, a false
  // positive) on the brace-initialised map inside HopCounters.
  metrics::Hop hop;
  hop.name = "up-a";
  hop.state = {"up-a", health::HopCondition::ejected, true, 1'700'000'060'000, 3, ""};
  hop.paths = {"wan \"a\"", "hop:up-a"};
  hop.counters.attempts = 4;
  hop.counters.failures["connect"] = 1;
  s.hops.push_back(hop);
  s.paths.push_back({"wan \"a\"", "up", true, 1700000000, 3});
  s.paths.push_back({"hop:up-a", "down", false, 1700000100, 1});
  s.paths.push_back({"dmz", "maintenance", true, 0, 0});
  s.depth.emplace();
  (*s.depth)[0].held_messages = 1;
  s.series[0][0] = {1, 2, 3};
  s.series[0][1] = {0, 0, 1};
  return s;
}

TEST(Metrics, PrometheusHasLabelsAndEscapes) {
  const std::string text = metrics::format_prometheus(sample_snapshot());
  EXPECT_NE(text.find("# TYPE hubrelay_messages_received_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("hubrelay_messages_received_total{listener=\"in \\\"bound\\\"\",direction=\"inbound\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hubrelay_rejections_total{listener=\"in \\\"bound\\\"\",direction=\"inbound\",status=\"5.7.1\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("hubrelay_recipients_delivered_total{direction=\"outbound\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("hubrelay_delivery_latency_seconds_bucket{direction=\"outbound\",le=\"0.5\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hubrelay_delivery_latency_seconds_bucket{direction=\"outbound\",le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hubrelay_hop_up{hop=\"up-a\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("hubrelay_hop_failures_total{hop=\"up-a\",class=\"connect\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hubrelay_queue_messages{direction=\"inbound\",state=\"held\"} 1\n"), std::string::npos);
  // Every sample line belongs to a family announced before it.
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, PrometheusPathStates) {
  const std::string text = metrics::format_prometheus(sample_snapshot());
  struct Case { const char* line; };
  const Case present[] = {
      {"# HELP hubrelay_path_up 1 while the health path is UP"},
      {"# TYPE hubrelay_path_up gauge\n"},
      {"# TYPE hubrelay_path_maintenance gauge\n"},
      {"# TYPE hubrelay_path_transitions_total counter\n"},
      {"hubrelay_path_up{path=\"wan \\\"a\\\"\"} 1\n"},  // label escaped
      {"hubrelay_path_up{path=\"hop:up-a\"} 0\n"},
      {"hubrelay_path_up{path=\"dmz\"} 1\n"},               // forced/held UP during maintenance
      {"hubrelay_path_maintenance{path=\"dmz\"} 1\n"},
      {"hubrelay_path_maintenance{path=\"hop:up-a\"} 0\n"},
      {"hubrelay_path_transitions_total{path=\"wan \\\"a\\\"\"} 3\n"},
      {"hubrelay_path_transitions_total{path=\"hop:up-a\"} 1\n"},
  };
  for (const auto& c : present) EXPECT_NE(text.find(c.line), std::string::npos) << c.line << "\n" << text;
  // Without paths the families are still announced, with no samples.
  metrics::Snapshot empty;
  const std::string none = metrics::format_prometheus(empty);
  EXPECT_NE(none.find("# TYPE hubrelay_path_up gauge\n"), std::string::npos);
  EXPECT_EQ(none.find("hubrelay_path_up{"), std::string::npos);
}

TEST(Metrics, StatusJsonPathsAndHopDependencies) {
  const std::string json = metrics::format_status_json(sample_snapshot());
  EXPECT_NE(json.find("\"failures\":1,\"paths\":[\"wan \\\"a\\\"\",\"hop:up-a\"]}"), std::string::npos) << json;
  EXPECT_NE(json.find("],\"paths\":[{\"name\":\"wan \\\"a\\\"\",\"state\":\"up\",\"up\":true,\"since\":1700000000,"
                      "\"transitions\":3},{\"name\":\"hop:up-a\",\"state\":\"down\",\"up\":false,\"since\":1700000100,"
                      "\"transitions\":1},{\"name\":\"dmz\",\"state\":\"maintenance\",\"up\":true,\"since\":0,"
                      "\"transitions\":0}],\"queue\":"),
            std::string::npos)
      << json;
  metrics::Snapshot empty;
  empty.hops.push_back({"solo", {}, 0, {}, {}});
  const std::string none = metrics::format_status_json(empty);
  EXPECT_NE(none.find("\"failures\":0,\"paths\":[]}],\"paths\":[],\"queue\":"), std::string::npos) << none;
}

TEST(HealthMetrics, PathsFromTheMonitorSnapshot) {
  EXPECT_TRUE(metrics_paths(nullptr).empty());  // before the first run
  health::HealthSnapshot snap;
  health::PathStatus a;
  a.name = "wan";
  a.state = health::State::up;
  a.since = 1'700'000'000'999;  // milliseconds: truncated to seconds
  a.transitions = 2;
  health::PathStatus b;
  b.name = "hop:up-a";
  b.hop = "up-a";
  b.state = health::State::down;
  b.since = 5'000;
  health::PathStatus c;
  c.name = "dmz";
  c.state = health::State::down;
  c.maintenance = true;
  snap.paths = {a, b, c};
  const auto paths = metrics_paths(&snap);
  ASSERT_EQ(paths.size(), 3u);
  struct Want { const char* name; const char* state; bool up; std::int64_t since; std::uint64_t transitions; };
  const Want want[] = {{"wan", "up", true, 1'700'000'000, 2}, {"hop:up-a", "down", false, 5, 0},
                       {"dmz", "maintenance", false, 0, 0}};
  for (std::size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(paths[i].name, want[i].name);
    EXPECT_EQ(paths[i].state, want[i].state) << want[i].name;
    EXPECT_EQ(paths[i].up, want[i].up) << want[i].name;
    EXPECT_EQ(paths[i].since_unix, want[i].since) << want[i].name;
    EXPECT_EQ(paths[i].transitions, want[i].transitions) << want[i].name;
  }
}

TEST(Metrics, StatusJsonEscapesAndCarriesSeries) {
  const std::string json = metrics::format_status_json(sample_snapshot());
  EXPECT_NE(json.find("\"name\":\"in \\\"bound\\\"\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"series_in\":[1,2,3],\"series_out\":[0,0,1]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"state\":\"ejected\""), std::string::npos);
  EXPECT_EQ(metrics::json_string("a\x01</b>\n"), "\"a\\u0001</b>\\n\"");
}

// One attempt, one unit: every way an attempt ends is one success or one failure.
TEST(Counters, HopAttemptsCountEveryFailureOnce) {
  HopCounters c;
  for (std::string_view outcome : {"connect", "tls", "reply_4xx", "reply_5xx", "", "connect"}) c.count_attempt(outcome);
  std::uint64_t failures = 0;
  for (const auto& [cls, n] : c.failures) failures += n;
  EXPECT_EQ(c.attempts, 6u);
  EXPECT_EQ(c.successes, 1u);
  EXPECT_EQ(failures, 5u);
  EXPECT_EQ(c.failures.at("connect"), 2u);
  EXPECT_EQ(c.failures.at("tls"), 1u);
}

// The hop states of the status page, /metrics and /api/status are those of health.json:
// one function (health::hop_states) decides, the formats only copy its answer.
TEST(Metrics, HopStateIsTheOneHealthState) {
  health::HealthSnapshot snap;
  snap.taken_at = 1'700'000'000'000;
  health::PathStatus wan;
  wan.name = "wan";
  wan.state = health::State::down;
  wan.runs.push_back({1'700'000'000'000, true, 1, {{"tcp 127.0.0.1:9", health::ProbeStatus::probe_overrun, 1, ""}}});
  health::PathStatus own;
  own.name = "hop:b";
  own.hop = "b";
  own.state = health::State::down;
  snap.paths = {wan, own};
  snap.hops = {{"a", {"wan"}, false}, {"b", {"hop:b"}, false}, {"c", {}, true}, {"d", {}, true}};
  const std::vector<health::EjectionReport> ejections = {{"c", true, 1'700'000'030'000, 2, 1}};
  const auto states = health::hop_states(snap, ejections);
  metrics::Snapshot s;
  for (const auto& state : states) {
    metrics::Hop hop;
    hop.name = state.name;
    hop.state = state;
    s.hops.push_back(hop);
  }
  const std::string text = metrics::format_prometheus(s);
  const std::string json = metrics::format_status_json(s);
  const std::string file = health::render_json(snap, ejections);
  struct Want { const char* hop; const char* state; int up; };
  const Want want[] = {{"a", "path down", 0}, {"b", "check down", 0}, {"c", "ejected", 0}, {"d", "usable", 1}};
  for (const auto& w : want) {
    const std::string hop = std::string("hop=\"") + w.hop + "\"";
    EXPECT_NE(text.find("hubrelay_hop_up{" + hop + "} " + std::to_string(w.up) + "\n"), std::string::npos) << w.hop;
    for (const auto condition : health::hop_conditions) {
      const bool mine = health::to_string(condition) == w.state;
      EXPECT_NE(text.find("hubrelay_hop_state{" + hop + ",state=\"" + std::string(health::to_string(condition)) +
                          "\"} " + (mine ? "1" : "0") + "\n"),
                std::string::npos)
          << w.hop << " " << health::to_string(condition) << "\n" << text;
    }
    const std::string in_json = std::string("{\"name\":\"") + w.hop + "\",\"state\":\"" + w.state + "\",\"usable\":" +
                                (w.up ? "true" : "false");
    EXPECT_NE(json.find(in_json), std::string::npos) << in_json << "\n" << json;
    EXPECT_NE(file.find(std::string("{\"name\": \"") + w.hop + "\", \"state\": \"" + w.state + "\""), std::string::npos)
        << w.hop << "\n" << file;
  }
  EXPECT_NE(json.find("\"ejected\":true,\"ejected_until\":1700000030,"), std::string::npos) << json;
  // `hubrelay stats` reads the same document back: the same words.
  const auto table = metrics::hop_table(json);
  ASSERT_TRUE(table) << table.error();
  for (const char* line : {"\na                    path down ", "\nb                    check down ",
                           "\nc                    ejected until 2023-11-14T22:13:50Z ", "\nd                    usable "})
    EXPECT_NE(table->find(line), std::string::npos) << line << "\n" << *table;
  EXPECT_FALSE(metrics::hop_table("{\"version\":\"x\"}"));
  EXPECT_FALSE(metrics::hop_table("not json"));
  EXPECT_NE(json.find("\"last_error\":\"wan: tcp 127.0.0.1:9: "), std::string::npos) << json;
}

TEST(Metrics, UpstreamLimitsPerHop) {
  metrics::Snapshot s;
  metrics::Hop hop;
  hop.name = "isp";
  hop.state.name = "isp";
  hop.state.condition = health::HopCondition::suspended;
  hop.state.suspended_until = 1'700'000'030'000;
  hop.state.last_error = "451 4.7.0 rate exceeded";
  hop.window = 3;
  hop.max_connections = 20;
  hop.counters.throttled = 7;
  hop.counters.rate_delayed = 4;
  hop.counters.rate_delay_ms = 2500;
  s.hops.push_back(hop);
  const std::string text = metrics::format_prometheus(s);
  for (const char* line : {"hubrelay_hop_concurrency_limit{hop=\"isp\"} 3\n", "hubrelay_hop_throttled_total{hop=\"isp\"} 7\n",
                           "hubrelay_hop_rate_delayed_total{hop=\"isp\"} 4\n",
                           "hubrelay_hop_rate_delay_seconds_total{hop=\"isp\"} 2.5\n",
                           "hubrelay_hop_state{hop=\"isp\",state=\"suspended\"} 1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  const std::string json = metrics::format_status_json(s);
  EXPECT_NE(json.find("\"suspended_until\":1700000030,\"window\":3,\"max_connections\":20,\"throttled\":7"),
            std::string::npos)
      << json;
  const auto table = metrics::hop_table(json);
  ASSERT_TRUE(table) << table.error();
  EXPECT_NE(table->find("\nisp                  suspended until 2023-11-14T22:13:50Z "), std::string::npos) << *table;
  EXPECT_NE(table->find("\n  isp: window 3/20, throttled 7\n"), std::string::npos) << *table;
}

// hubrelay_tls_deliveries_total: every kind and "failed" per hop, labelled with the hop's
// tls setting; a reload's totals add up.
TEST(Metrics, TlsDeliveriesByHopPolicyAndResult) {
  HopCounters counters, retired;
  counters.count_tls(TlsKind::dane);
  counters.count_tls(TlsKind::dane);
  counters.count_tls(TlsKind::opportunistic);
  counters.count_tls_failed();
  retired.count_tls(TlsKind::none);
  counters += retired;
  metrics::Snapshot s;
  metrics::Hop hop;
  hop.name = "direct";
  hop.tls = conf::TlsPolicy::automatic;
  hop.counters = counters;
  s.hops.push_back(hop);
  const std::string text = metrics::format_prometheus(s);
  EXPECT_NE(text.find("# HELP hubrelay_tls_deliveries_total "), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE hubrelay_tls_deliveries_total counter\n"), std::string::npos) << text;
  for (const char* line : {"hubrelay_tls_deliveries_total{hop=\"direct\",policy=\"auto\",result=\"none\"} 1\n",
                           "hubrelay_tls_deliveries_total{hop=\"direct\",policy=\"auto\",result=\"opportunistic\"} 1\n",
                           "hubrelay_tls_deliveries_total{hop=\"direct\",policy=\"auto\",result=\"verified\"} 0\n",
                           "hubrelay_tls_deliveries_total{hop=\"direct\",policy=\"auto\",result=\"dane\"} 2\n",
                           "hubrelay_tls_deliveries_total{hop=\"direct\",policy=\"auto\",result=\"failed\"} 1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
}

TEST(Metrics, BuildInfoCarriesTheProjectVersion) {
  metrics::Snapshot s;
  EXPECT_EQ(s.version, build::version);
  EXPECT_FALSE(build::version.empty());
  EXPECT_NE(build::version, "unknown");
  s.version = "9.8.7";
  s.revision = "v9.8.7-1-gabc";
  EXPECT_NE(metrics::format_prometheus(s).find(
                "# TYPE hubrelay_build_info gauge\nhubrelay_build_info{version=\"9.8.7\",revision=\"v9.8.7-1-gabc\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics::format_status_json(s).find("{\"version\":\"9.8.7\",\"revision\":\"v9.8.7-1-gabc\","),
            std::string::npos);
}

// One info series names the node and its queue backend; no other series carries the node.
TEST(Metrics, NodeInfoNamesTheNodeAndQueueBackend) {
  metrics::Snapshot s;
  EXPECT_EQ(s.queue_backend, "sqlite");
  s.node = "relay1";
  s.queue_backend = "postgresql";
  const std::string text = metrics::format_prometheus(s);
  EXPECT_NE(text.find("# TYPE hubrelay_node_info gauge\n"
                      "hubrelay_node_info{node=\"relay1\",queue_backend=\"postgresql\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("node=\""), text.find("hubrelay_node_info{node=\"") + std::string("hubrelay_node_info{").size());
  EXPECT_EQ(text.find("node=\"", text.find("hubrelay_node_info{") + 30), std::string::npos) << text;
  EXPECT_NE(metrics::format_status_json(s).find(",\"node\":\"relay1\",\"queue_backend\":\"postgresql\","),
            std::string::npos)
      << metrics::format_status_json(s);
}

TEST(Metrics, QueueGaugesByDirection) {
  metrics::Snapshot s;
  auto& depth = s.depth.emplace();
  depth[0].deferred_messages = 2;
  depth[0].deferred_recipients = 3;
  depth[0].bytes = 100;
  depth[1].queued_messages = 1;
  depth[1].queued_recipients = 1;
  depth[1].oldest_queued_seconds = 7;
  depth[1].bytes = 50;
  const std::string text = metrics::format_prometheus(s);
  for (const char* line : {"hubrelay_queue_messages{direction=\"inbound\",state=\"deferred\"} 2\n",
                           "hubrelay_queue_messages{direction=\"outbound\",state=\"deferred\"} 0\n",
                           "hubrelay_queue_messages{direction=\"outbound\",state=\"queued\"} 1\n",
                           "hubrelay_queue_recipients{direction=\"inbound\",state=\"deferred\"} 3\n",
                           "hubrelay_queue_oldest_age_seconds{direction=\"outbound\",state=\"queued\"} 7\n",
                           "hubrelay_queue_bytes{direction=\"inbound\"} 100\n", "hubrelay_queue_bytes{direction=\"outbound\"} 50\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  EXPECT_EQ(text.find("hubrelay_queue_messages{state="), std::string::npos);  // no series without a direction
  const std::string json = metrics::format_status_json(s);
  EXPECT_NE(json.find("\"queue\":{\"queued\":1,\"deferred\":2,\"held\":0,\"recipients\":4,\"bytes\":150,"
                      "\"oldest_seconds\":7,\"directions\":{\"inbound\":{\"queued\":0,\"deferred\":2,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"outbound\":{\"queued\":1,\"deferred\":0,\"held\":0,\"recipients\":1,\"bytes\":50,"),
            std::string::npos)
      << json;
}

// Label names mean one thing: `status` is an SMTP enhanced (or basic) code, `reason` a
// policy reason; a listener's policy refusals are summed by reason for the status page.
TEST(Metrics, StatusAndReasonLabelsAndListenerRefusals) {
  metrics::Snapshot s;
  metrics::Listener in{"inbound", conf::Direction::inbound, {}};
  in.counters.rejections["5.7.1"] = 2;
  in.counters.policy_decisions[{"rcpt", "reject", "relay_denied"}] = 2;
  in.counters.policy_decisions[{"connect", "reject", "dnsbl_listed"}] = 1;
  in.counters.policy_decisions[{"mail", "defer", "relay_denied"}] = 1;
  in.counters.policy_decisions[{"rcpt", "accept", "none"}] = 9;
  s.listeners.push_back(in);
  const std::string text = metrics::format_prometheus(s);
  EXPECT_NE(text.find("hubrelay_rejections_total{listener=\"inbound\",direction=\"inbound\",status=\"5.7.1\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("hubrelay_rejections_total{listener=\"inbound\",direction=\"inbound\",reason="), std::string::npos);
  EXPECT_NE(text.find("stage=\"rcpt\",decision=\"reject\",reason=\"relay_denied\"} 2\n"), std::string::npos);
  const std::string json = metrics::format_status_json(s);
  EXPECT_NE(json.find("\"rejections\":{\"5.7.1\":2},\"refusals\":{\"dnsbl_listed\":1,\"relay_denied\":3}}"),
            std::string::npos)
      << json;
}

class FakeBackend : public admin::Backend {
 public:
  metrics::Snapshot snapshot() override {
    ++snapshots;
    return sample_snapshot();
  }
  std::expected<std::string, std::string> queue_list(const admin::Query& q) override {
    last_query = q;
    if (q.contains("state") && q.at("state") == "bogus") return std::unexpected("unknown state 'bogus'");
    return std::string("{\"id\":\"1\"}\n");
  }
  std::expected<std::string, std::string> queue_summary() override { return std::string("TOTAL 0\n"); }
  std::expected<std::string, admin::QueueError> queue_show(std::string_view id) override {
    if (id == "2A") return std::string("{\"id\":\"000000002A\",\"attempts\":[]}");
    if (id == "zz") return std::unexpected(admin::QueueError{400, "bad request: not a queue id"});
    return std::unexpected(admin::QueueError{404, "no message with queue id " + std::string(id)});
  }
  std::expected<admin::QueueActionResult, admin::ApiError> queue_action(const admin::QueueAction&,
                                                                       std::string_view) override {
    return admin::QueueActionResult{};
  }
  std::expected<admin::HopActionResult, admin::ApiError> hop_action(const admin::HopAction&, std::string_view) override {
    return admin::HopActionResult{};
  }
  std::expected<admin::PathActionResult, admin::ApiError> path_action(const admin::PathAction&, std::string_view) override {
    return admin::PathActionResult{};
  }
  std::string tracking_dir() override { return "/var/lib/hubrelay/tracking"; }
  std::expected<std::vector<tracking::Record>, admin::ApiError> tracking_search(const admin::TrackingSearch&) override {
    return std::vector<tracking::Record>{};
  }
  int snapshots = 0;
  admin::Query last_query;
};

TEST(AdminHttp, Routing) {
  FakeBackend b;
  struct Case { const char* method; const char* target; int status; const char* type_prefix; };
  const Case cases[] = {
      {"GET", "/metrics", 200, "text/plain; version=0.0.4"},
      {"GET", "/api/status", 200, "application/json"},
      {"GET", "/", 200, "text/html"},
      {"GET", "/status", 200, "text/html"},
      {"GET", "/api/queue?state=held&domain=x%2Eorg", 200, "application/x-ndjson"},
      {"GET", "/api/queue?state=bogus", 400, "text/plain"},
      {"GET", "/api/queue/summary", 200, "text/plain"},
      {"POST", "/metrics", 405, "text/plain"},
      {"GET", "/nope", 404, "text/plain"},
      {"GET", "/../etc/passwd", 404, "text/plain"},
  };
  for (const auto& c : cases) {
    const auto r = admin::handle({c.method, c.target, ""}, "", b);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target;
    EXPECT_TRUE(r.content_type.starts_with(c.type_prefix)) << c.target << ": " << r.content_type;
  }
  admin::handle({"GET", "/api/queue?state=held&domain=x%2Eorg&limit=5", ""}, "", b);
  EXPECT_EQ(b.last_query.at("domain"), "x.org");
  EXPECT_EQ(b.last_query.at("limit"), "5");
}

TEST(AdminHttp, TokenIsRequiredWhenConfigured) {
  FakeBackend b;
  auto denied = admin::handle({"GET", "/metrics", ""}, "s3cret", b);
  EXPECT_EQ(denied.status, 401);
  EXPECT_TRUE(denied.challenge);
  EXPECT_EQ(b.snapshots, 0);  // nothing computed for an unauthorised caller
  EXPECT_EQ(admin::handle({"GET", "/metrics", "Bearer wrong!"}, "s3cret", b).status, 401);
  EXPECT_EQ(admin::handle({"GET", "/metrics", "Bearer s3cret"}, "s3cret", b).status, 200);
  EXPECT_EQ(admin::handle({"GET", "/?token=s3cret", ""}, "s3cret", b).status, 200);
  EXPECT_EQ(admin::handle({"GET", "/nope", ""}, "s3cret", b).status, 401);  // no probing without the token
}

TEST(AdminHttp, StatusPageEmbedsJsonSafely) {
  const std::string page = admin::status_page("{\"x\":\"</script><b>\"}");
  EXPECT_EQ(page.find("</script><b>"), std::string::npos);
  EXPECT_NE(page.find("<\\/script><b>"), std::string::npos);
  EXPECT_EQ(page.find("http://", page.find("<body")), page.find("http://www.w3.org/2000/svg"));  // no external assets
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);
  // The page has a section for the health paths and shows each hop's paths.
  EXPECT_NE(page.find("id=\"paths\""), std::string::npos);
  EXPECT_NE(page.find("S.paths"), std::string::npos);
  // Hops show the state of /api/status (health.json's words), listeners their policy
  // refusals, the summary the queue by direction.
  EXPECT_NE(page.find("data-state=\"${esc(h.state)}\""), std::string::npos);
  EXPECT_EQ(page.find("h.state === \"up\""), std::string::npos);
  EXPECT_NE(page.find("\"policy refusals\""), std::string::npos);
  EXPECT_NE(page.find("l.refusals"), std::string::npos);
  EXPECT_NE(page.find("\"queue by direction\""), std::string::npos);
}

// The queue section lists deferred messages (the /api/queue lines) as one JSON array, with
// each recipient's last error and park; "</" in a reply cannot end the script early.
TEST(AdminHttp, StatusPageListsWhyDeferredMailWaits) {
  const std::string lines =
      "{\"id\":\"01\",\"recipients\":[{\"last_reply\":\"451 </script> refused\",\"parked_on\":\"internet\"}]}\n"
      "{\"id\":\"02\",\"recipients\":[]}\n";
  const std::string page = admin::status_page("{}", lines);
  EXPECT_NE(page.find("<script id=\"waiting-data\" type=\"application/json\">[{\"id\":\"01\""), std::string::npos);
  EXPECT_NE(page.find("\"parked_on\":\"internet\"}]},{\"id\":\"02\",\"recipients\":[]}]</script>"), std::string::npos);
  EXPECT_NE(page.find("451 <\\/script> refused"), std::string::npos);
  EXPECT_NE(page.find("id=\"waiting\""), std::string::npos);
  EXPECT_NE(page.find("\"last error\""), std::string::npos);
  EXPECT_NE(admin::status_page("{}").find("type=\"application/json\">[]</script>"), std::string::npos);
}

// /api/queue/ID: one message with its history; a bad or unknown id says which.
TEST(AdminHttp, OneMessageWithItsHistory) {
  FakeBackend b;
  const auto shown = admin::handle({"GET", "/api/queue/2A", ""}, "", b);
  EXPECT_EQ(shown.status, 200);
  EXPECT_EQ(shown.content_type, "application/json");
  EXPECT_EQ(shown.body, "{\"id\":\"000000002A\",\"attempts\":[]}\n");
  EXPECT_EQ(admin::handle({"GET", "/api/queue/zz", ""}, "", b).status, 400);
  const auto unknown = admin::handle({"GET", "/api/queue/2B", ""}, "", b);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "404 no message with queue id 2B\n");
  EXPECT_EQ(admin::handle({"GET", "/api/queue/summary", ""}, "", b).body, "TOTAL 0\n");  // still the summary
}

TEST(AdminHttp, SplitTarget) {
  const auto [path, q] = admin::split_target("/api/queue?a=1&b=x+y&c&d=%41%4");
  EXPECT_EQ(path, "/api/queue");
  EXPECT_EQ(q.at("a"), "1");
  EXPECT_EQ(q.at("b"), "x y");
  EXPECT_EQ(q.at("c"), "");
  EXPECT_EQ(q.at("d"), "A%4");
}

}  // namespace
}  // namespace relay
