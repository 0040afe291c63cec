// tests/relay/admin/dkim_metrics_test.cpp — DKIM signatures and signing failures in
// /metrics: summed over the listeners, labelled by the key's domain and selector.
#include <gtest/gtest.h>

#include "relay/admin/metrics.hpp"
#include "relay/counters.hpp"

namespace relay {
namespace {

TEST(DkimMetrics, SignaturesAndFailuresSummedOverListeners) {
  metrics::Snapshot s;
  metrics::Listener out{"outbound", conf::Direction::outbound, {}};
  out.counters.dkim_signatures[{"example.com", "s1", "rsa-sha256"}] = 3;
  out.counters.dkim_failures[{"example.com", "s1", "sign"}] = 1;
  metrics::Listener submission{"submission", conf::Direction::outbound, {}};
  submission.counters.dkim_signatures[{"example.com", "s1", "rsa-sha256"}] = 2;
  submission.counters.dkim_failures[{"", "", "read"}] = 1;
  s.listeners.push_back(out);
  s.listeners.push_back(submission);
  const std::string text = metrics::format_prometheus(s);
  EXPECT_NE(text.find("# TYPE hubrelay_dkim_signatures_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hubrelay_dkim_signatures_total{domain=\"example.com\",selector=\"s1\","
                      "algorithm=\"rsa-sha256\"} 5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hubrelay_dkim_failures_total{domain=\"example.com\",selector=\"s1\",reason=\"sign\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hubrelay_dkim_failures_total{domain=\"\",selector=\"\",reason=\"read\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace relay
