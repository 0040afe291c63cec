// tests/relay/admin/milter_metrics_test.cpp — content filter decisions and latency in
// /metrics, and filter state in /api/status.
#include <gtest/gtest.h>

#include "relay/admin/admin_http.hpp"
#include "relay/admin/metrics.hpp"
#include "relay/counters.hpp"

namespace relay {
namespace {

metrics::Snapshot with_filters() {
  metrics::Snapshot s;
  metrics::Listener in{"inbound", conf::Direction::inbound, {}};
  in.counters.milter_actions[{"rspamd", "eom", "reject"}] = 2;
  in.counters.milter_actions[{"clamav", "negotiate", "default_tempfail"}] = 1;
  in.counters.milter_latency["rspamd"].observe(0.2);
  s.listeners.push_back(in);
  s.milters.push_back({"rspamd", "inet:127.0.0.1:11332", true, 0, ""});
  s.milters.push_back({"clamav", "unix:/run/clamav.sock", false, 3, "connect: Connection refused"});
  return s;
}

TEST(MilterMetrics, ActionsAndLatencyPerListenerAndMilter) {
  const std::string text = metrics::format_prometheus(with_filters());
  EXPECT_NE(text.find("# TYPE hubrelay_milter_actions_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("hubrelay_milter_actions_total{listener=\"inbound\",direction=\"inbound\",milter=\"rspamd\","
                      "stage=\"eom\",action=\"reject\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("milter=\"clamav\",stage=\"negotiate\",action=\"default_tempfail\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hubrelay_milter_latency_seconds_bucket{listener=\"inbound\",direction=\"inbound\","
                      "milter=\"rspamd\",le=\"0.5\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hubrelay_milter_latency_seconds_count{listener=\"inbound\",direction=\"inbound\","
                      "milter=\"rspamd\"} 1\n"),
            std::string::npos);
}

TEST(MilterMetrics, StatusJsonCarriesFilterState) {
  const std::string json = metrics::format_status_json(with_filters());
  EXPECT_NE(json.find(",\"milters\":[{\"name\":\"rspamd\",\"address\":\"inet:127.0.0.1:11332\",\"up\":true,"
                      "\"failures\":0,\"last_error\":\"\"},{\"name\":\"clamav\",\"address\":\"unix:/run/clamav.sock\","
                      "\"up\":false,\"failures\":3,\"last_error\":\"connect: Connection refused\"}]}"),
            std::string::npos)
      << json;
}

TEST(MilterMetrics, StatusPageHasAFilterTable) {
  const std::string page = admin::status_page(metrics::format_status_json(with_filters()));
  EXPECT_NE(page.find("<h2>Content filters</h2><div id=\"milters\"></div>"), std::string::npos);
  EXPECT_NE(page.find("\"milters\":[{\"name\":\"rspamd\""), std::string::npos);  // the data the table draws
}

}  // namespace
}  // namespace relay
