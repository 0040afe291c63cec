// relay/admin/metrics.cpp — Prometheus text and /api/status JSON from a Snapshot.
#include "relay/admin/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace relay::metrics {

Depth& Depth::operator+=(const Depth& other) noexcept {
  queued_messages += other.queued_messages;
  deferred_messages += other.deferred_messages;
  held_messages += other.held_messages;
  queued_recipients += other.queued_recipients;
  deferred_recipients += other.deferred_recipients;
  held_recipients += other.held_recipients;
  oldest_queued_seconds = std::max(oldest_queued_seconds, other.oldest_queued_seconds);
  oldest_deferred_seconds = std::max(oldest_deferred_seconds, other.oldest_deferred_seconds);
  oldest_held_seconds = std::max(oldest_held_seconds, other.oldest_held_seconds);
  bytes += other.bytes;
  return *this;
}

namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t v) { line(name, labels, std::to_string(v)); }
  void sample(std::string_view name, std::string_view labels, double v) { line(name, labels, number(v)); }
  /// A gauge family with one sample per direction and state of a pending message
  /// (queued, deferred, held); `field(depth)` gives {queued, deferred, held}.
  template <typename Field>
  void by_queue_state(std::string_view name, std::string_view help, const std::array<Depth, 2>& depth, Field field) {
    family(name, "gauge", help);
    for (std::size_t d = 0; d < depth.size(); ++d) {
      const auto values = field(depth[d]);
      const std::string direction =
          std::string("direction=\"") + conf::to_string(static_cast<conf::Direction>(d)) + "\",state=\"";
      sample(name, direction + "queued\"", values[0]);
      sample(name, direction + "deferred\"", values[1]);
      sample(name, direction + "held\"", values[2]);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, std::string_view labels, const std::string& v) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += v;
    out_ += '\n';
  }
  std::string out_;
};

std::string listener_labels(const Listener& l) {
  return "listener=\"" + label(l.name) + "\",direction=\"" + conf::to_string(l.direction) + "\"";
}

std::string direction_label(std::size_t d) {
  return std::string("direction=\"") + conf::to_string(static_cast<conf::Direction>(d)) + "\"";
}

std::string hop_label(const Hop& h) { return "hop=\"" + label(h.name) + "\""; }

/// Policy refusals of a listener (decisions other than accept), summed by reason.
std::map<std::string_view, std::uint64_t> refusals_by_reason(const ListenerCounters& c) {
  std::map<std::string_view, std::uint64_t> out;
  for (const auto& [key, n] : c.policy_decisions)
    if (std::get<1>(key) != "accept") out[std::get<2>(key)] += n;
  return out;
}

/// The queue of both directions together.
Depth total(const std::array<Depth, 2>& depth) {
  Depth t;
  for (const Depth& d : depth) t += d;
  return t;
}

/// The /api/status "queue" fields of one Depth (no braces).
std::string depth_fields(const Depth& d) {
  return "\"queued\":" + std::to_string(d.queued_messages) + ",\"deferred\":" + std::to_string(d.deferred_messages) +
         ",\"held\":" + std::to_string(d.held_messages) + ",\"recipients\":" +
         std::to_string(d.queued_recipients + d.deferred_recipients + d.held_recipients) +
         ",\"bytes\":" + std::to_string(d.bytes) + ",\"oldest_seconds\":" +
         number(std::max({d.oldest_queued_seconds, d.oldest_deferred_seconds, d.oldest_held_seconds}));
}

}  // namespace

std::string format_prometheus(const Snapshot& s) {
  Writer w;
  w.family("hubrelay_up", "gauge", "1 while the daemon serves.");
  w.sample("hubrelay_up", "", std::uint64_t{1});
  w.family("hubrelay_start_time_seconds", "gauge", "Unix time the daemon started.");
  w.sample("hubrelay_start_time_seconds", "", static_cast<std::uint64_t>(s.started_unix));
  w.family("hubrelay_draining", "gauge", "1 while draining for shutdown.");
  w.sample("hubrelay_draining", "", std::uint64_t{s.draining ? 1u : 0u});
  w.family("hubrelay_build_info", "gauge", "Always 1; the labels name the release and git revision of the binary.");
  w.sample("hubrelay_build_info", "version=\"" + label(s.version) + "\",revision=\"" + label(s.revision) + "\"",
           std::uint64_t{1});
  // An info metric rather than a label on every series: one series carries the node's
  // name, and a query that wants it joins on `instance` (group_left), so the name never
  // multiplies the series count nor changes every series' identity if it is renamed.
  w.family("hubrelay_node_info", "gauge", "Always 1; the labels name this node and its queue backend.");
  w.sample("hubrelay_node_info", "node=\"" + label(s.node) + "\",queue_backend=\"" + label(s.queue_backend) + "\"",
           std::uint64_t{1});

  struct ListenerMetric {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t ListenerCounters::*field;
  };
  constexpr std::array<ListenerMetric, 7> listener_metrics{{
      {"hubrelay_connections_accepted_total", "counter", "SMTP connections accepted.",
       &ListenerCounters::connections_accepted},
      {"hubrelay_connections_rejected_total", "counter", "SMTP connections refused (421) over max_connections.",
       &ListenerCounters::connections_refused},
      {"hubrelay_sessions_active", "gauge", "SMTP sessions open now.", &ListenerCounters::sessions_active},
      {"hubrelay_messages_received_total", "counter", "Messages committed to the queue and answered 250.",
       &ListenerCounters::messages_received},
      {"hubrelay_recipients_received_total", "counter", "Recipients of committed messages.",
       &ListenerCounters::recipients_received},
      {"hubrelay_bytes_received_total", "counter", "Message bytes committed.", &ListenerCounters::bytes_received},
      {"hubrelay_commit_failures_total", "counter", "Messages answered 451/452 because the queue commit failed.",
       &ListenerCounters::commit_failures},
  }};
  for (const auto& m : listener_metrics) {
    w.family(m.name, m.type, m.help);
    for (const auto& l : s.listeners) w.sample(m.name, listener_labels(l), l.counters.*m.field);
  }
  w.family("hubrelay_rejections_total", "counter",
           "4xx/5xx replies sent, by enhanced status code (or basic code when a reply has none).");
  for (const auto& l : s.listeners)
    for (const auto& [status, n] : l.counters.rejections)
      w.sample("hubrelay_rejections_total", listener_labels(l) + ",status=\"" + label(status) + "\"", n);
  // Recipient callouts and DNSBL lookups (keys are "a b": two label values).
  const auto pair_labels = [](const std::string& key, const char* first, const char* second) {
    const auto space = key.find(' ');
    return std::string(",") + first + "=\"" + label(key.substr(0, space)) + "\"," + second + "=\"" +
           label(space == std::string::npos ? std::string() : key.substr(space + 1)) + "\"";
  };
  w.family("hubrelay_callout_total", "counter", "Recipient verification callouts, by result and cache hit/miss.");
  for (const auto& l : s.listeners)
    for (const auto& [key, n] : l.counters.callouts)
      w.sample("hubrelay_callout_total", listener_labels(l) + pair_labels(key, "result", "cache"), n);
  w.family("hubrelay_dnsbl_total", "counter", "DNSBL results per zone (listed, clean, error), cache hits included.");
  for (const auto& l : s.listeners)
    for (const auto& [key, n] : l.counters.dnsbl)
      w.sample("hubrelay_dnsbl_total", listener_labels(l) + pair_labels(key, "zone", "result"), n);
  // Every policy decision by stage, verdict and reason (docs/policy.md#metrics).
  w.family("hubrelay_policy_decisions_total", "counter",
           "Policy decisions by SMTP stage, decision (accept, reject, defer) and reason.");
  for (const auto& l : s.listeners)
    for (const auto& [key, n] : l.counters.policy_decisions)
      w.sample("hubrelay_policy_decisions_total",
               listener_labels(l) + ",stage=\"" + label(std::get<0>(key)) + "\",decision=\"" +
                   label(std::get<1>(key)) + "\",reason=\"" + label(std::get<2>(key)) + "\"",
               n);

  // Content filters (docs/configuration.md#miltername): every decision and the time per message.
  w.family("hubrelay_milter_actions_total", "counter",
           "Content filter decisions by listener, milter, stage and action (default_* when the filter failed).");
  for (const auto& l : s.listeners)
    for (const auto& [key, n] : l.counters.milter_actions)
      w.sample("hubrelay_milter_actions_total",
               listener_labels(l) + ",milter=\"" + label(std::get<0>(key)) + "\",stage=\"" + label(std::get<1>(key)) +
                   "\",action=\"" + label(std::get<2>(key)) + "\"",
               n);
  w.family("hubrelay_milter_latency_seconds", "histogram", "Time one content filter took over one message.");
  for (const auto& l : s.listeners)
    for (const auto& [name, h] : l.counters.milter_latency) {
      const std::string labels = listener_labels(l) + ",milter=\"" + label(name) + "\"";
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h.buckets.size(); ++i) {
        cumulative += h.buckets[i];
        const std::string le = i < latency_bounds.size() ? number(latency_bounds[i]) : "+Inf";
        w.sample("hubrelay_milter_latency_seconds_bucket", labels + ",le=\"" + le + "\"", cumulative);
      }
      w.sample("hubrelay_milter_latency_seconds_sum", labels, h.sum_seconds);
      w.sample("hubrelay_milter_latency_seconds_count", labels, h.count);
    }

  // DKIM signing (docs/dkim.md): summed over the listeners, labelled by key identity.
  const auto dkim_family = [&](const char* name, const char* help, const char* third, auto member) {
    std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> total;
    for (const auto& l : s.listeners)
      for (const auto& [key, n] : l.counters.*member) total[key] += n;
    w.family(name, "counter", help);
    for (const auto& [key, n] : total)
      w.sample(name,
               "domain=\"" + label(std::get<0>(key)) + "\",selector=\"" + label(std::get<1>(key)) + "\"," + third +
                   "=\"" + label(std::get<2>(key)) + "\"",
               n);
  };
  dkim_family("hubrelay_dkim_signatures_total", "DKIM signatures added by domain, selector and algorithm.",
              "algorithm", &ListenerCounters::dkim_signatures);
  dkim_family("hubrelay_dkim_failures_total", "Messages committed unsigned by a key (or by no key: domain \"\").",
              "reason", &ListenerCounters::dkim_failures);

  struct DirectionMetric {
    const char* name;
    const char* help;
    std::uint64_t DirectionCounters::*field;
  };
  constexpr std::array<DirectionMetric, 7> direction_metrics{{
      {"hubrelay_recipients_delivered_total", "Recipients a next hop accepted.", &DirectionCounters::delivered},
      {"hubrelay_recipients_deferred_total", "Recipient deliveries deferred for a retry.", &DirectionCounters::deferred},
      {"hubrelay_recipients_bounced_total", "Recipients failed permanently.", &DirectionCounters::bounced},
      {"hubrelay_recipients_expired_total", "Recipients expired (queue lifetime).", &DirectionCounters::expired},
      {"hubrelay_messages_delivered_total", "Transactions with at least one recipient delivered.",
       &DirectionCounters::messages_out},
      {"hubrelay_recipients_parked_total", "Deferrals because no hop of the route was usable.",
       &DirectionCounters::parked},
      {"hubrelay_recipients_released_total", "Parked recipients made due when a hop of their route came back.",
       &DirectionCounters::released},
  }};
  for (const auto& m : direction_metrics) {
    w.family(m.name, "counter", m.help);
    for (std::size_t d = 0; d < 2; ++d) w.sample(m.name, direction_label(d), s.directions[d].*m.field);
  }
  w.family("hubrelay_delivery_latency_seconds", "histogram", "Time from receipt to delivery, per recipient.");
  for (std::size_t d = 0; d < 2; ++d) {
    const auto& h = s.directions[d].latency;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le = i < latency_bounds.size() ? number(latency_bounds[i]) : "+Inf";
      w.sample("hubrelay_delivery_latency_seconds_bucket", direction_label(d) + ",le=\"" + le + "\"", cumulative);
    }
    w.sample("hubrelay_delivery_latency_seconds_sum", direction_label(d), h.sum_seconds);
    w.sample("hubrelay_delivery_latency_seconds_count", direction_label(d), h.count);
  }

  w.family("hubrelay_hop_attempts_total", "counter",
           "Connection or transaction tries on a next hop, failed at connect, TLS or a reply, or not.");
  for (const auto& h : s.hops) w.sample("hubrelay_hop_attempts_total", hop_label(h), h.counters.attempts);
  w.family("hubrelay_hop_successes_total", "counter", "Attempts that delivered at least one recipient.");
  for (const auto& h : s.hops) w.sample("hubrelay_hop_successes_total", hop_label(h), h.counters.successes);
  w.family("hubrelay_hop_failures_total", "counter",
           "Attempts that failed, by class (connect, tls, io, timeout, protocol, reply_4xx, reply_5xx).");
  for (const auto& h : s.hops)
    for (const auto& [cls, n] : h.counters.failures)
      w.sample("hubrelay_hop_failures_total", hop_label(h) + ",class=\"" + label(cls) + "\"", n);
  // What protected each transaction (docs/tls-policy.md), or "failed": TLS was required
  // and not achieved, so nothing was sent on that session.
  w.family("hubrelay_tls_deliveries_total", "counter",
           "Transactions by what protected the session (none, opportunistic, verified, dane), or failed when TLS "
           "was required and not achieved; policy is the hop's tls setting.");
  for (const auto& h : s.hops) {
    const std::string labels = hop_label(h) + ",policy=\"" + conf::to_string(h.tls) + "\",result=\"";
    for (const auto& kind : tls_kinds)
      w.sample("hubrelay_tls_deliveries_total", labels + std::string(kind.name) + "\"",
               h.counters.tls_deliveries[static_cast<std::size_t>(kind.kind)]);
    w.sample("hubrelay_tls_deliveries_total", labels + "failed\"", h.counters.tls_deliveries[HopCounters::tls_failed]);
  }
  w.family("hubrelay_hop_state", "gauge",
           "1 for the hop's one state (usable, path down, check down, suspended, ejected), 0 for the others.");
  for (const auto& h : s.hops)
    for (const auto condition : health::hop_conditions)
      w.sample("hubrelay_hop_state", hop_label(h) + ",state=\"" + std::string(health::to_string(condition)) + "\"",
               std::uint64_t{h.state.condition == condition ? 1u : 0u});
  w.family("hubrelay_hop_up", "gauge", "1 when the hop is usable (hubrelay_hop_state usable), else 0.");
  for (const auto& h : s.hops)
    w.sample("hubrelay_hop_up", hop_label(h), std::uint64_t{h.state.condition == health::HopCondition::usable ? 1u : 0u});
  w.family("hubrelay_hop_connections", "gauge", "Open connections to the hop.");
  for (const auto& h : s.hops) w.sample("hubrelay_hop_connections", hop_label(h), std::uint64_t{h.connections});
  // Upstream limits: the concurrency window and what the hop's limits cost us.
  w.family("hubrelay_hop_concurrency_limit", "gauge",
           "Connections the hop may have now: its concurrency window (at most its max_connections).");
  for (const auto& h : s.hops) w.sample("hubrelay_hop_concurrency_limit", hop_label(h), std::uint64_t{h.window});
  w.family("hubrelay_hop_throttled_total", "counter",
           "Replies from the hop that throttled us (4.7.x such as 421 4.7.0 or 451 4.7.1, and 4.5.3).");
  for (const auto& h : s.hops) w.sample("hubrelay_hop_throttled_total", hop_label(h), h.counters.throttled);
  w.family("hubrelay_hop_rate_delayed_total", "counter",
           "Transactions or connections held back by the hop's max_message_rate or max_connection_rate.");
  for (const auto& h : s.hops) w.sample("hubrelay_hop_rate_delayed_total", hop_label(h), h.counters.rate_delayed);
  w.family("hubrelay_hop_rate_delay_seconds_total", "counter",
           "Time work was held back by the hop's rate limits, summed over what was held.");
  for (const auto& h : s.hops)
    w.sample("hubrelay_hop_rate_delay_seconds_total", hop_label(h), static_cast<double>(h.counters.rate_delay_ms) / 1000.0);

  w.family("hubrelay_path_up", "gauge", "1 while the health path is UP (the state routing uses), 0 while DOWN.");
  for (const auto& p : s.paths) w.sample("hubrelay_path_up", "path=\"" + label(p.name) + "\"", std::uint64_t{p.up ? 1u : 0u});
  w.family("hubrelay_path_maintenance", "gauge", "1 while the health path is inside a maintenance window.");
  for (const auto& p : s.paths)
    w.sample("hubrelay_path_maintenance", "path=\"" + label(p.name) + "\"",
             std::uint64_t{p.state == "maintenance" ? 1u : 0u});
  w.family("hubrelay_path_transitions_total", "counter", "UP/DOWN changes of the health path since the daemon started.");
  for (const auto& p : s.paths) w.sample("hubrelay_path_transitions_total", "path=\"" + label(p.name) + "\"", p.transitions);

  w.family("hubrelay_queue_commit_transactions_total", "counter", "Group-commit transactions.");
  w.sample("hubrelay_queue_commit_transactions_total", "", s.commit.transactions);
  w.family("hubrelay_queue_committed_messages_total", "counter", "Messages committed (sum of batch sizes).");
  w.sample("hubrelay_queue_committed_messages_total", "", s.commit.messages_committed);
  w.family("hubrelay_queue_commit_batch_max", "gauge", "Largest group-commit batch so far.");
  w.sample("hubrelay_queue_commit_batch_max", "", s.commit.largest_batch);
  w.family("hubrelay_queue_commit_seconds_total", "counter", "Time spent in group-commit transactions.");
  w.sample("hubrelay_queue_commit_seconds_total", "", static_cast<double>(s.commit.commit_seconds_total_us) / 1e6);
  w.family("hubrelay_delivery_in_flight", "gauge", "Messages held in memory by the delivery engine.");
  w.sample("hubrelay_delivery_in_flight", "", s.delivery_in_flight);
  w.family("hubrelay_delivery_record_failures_total", "counter",
           "Failed attempts to write delivery outcomes to the queue (each retry counts).");
  w.sample("hubrelay_delivery_record_failures_total", "", s.delivery_record_failures);
  w.family("hubrelay_tls_reports_sent_total", "counter", "TLS reports (RFC 8460) sent to the domains that asked (mail or HTTPS).");
  w.sample("hubrelay_tls_reports_sent_total", "", s.tls_reports_sent);

  if (s.depth) {
    const auto& depth = *s.depth;
    w.by_queue_state("hubrelay_queue_messages", "Messages with pending recipients, by direction and state.", depth,
                     [](const Depth& d) { return std::array{d.queued_messages, d.deferred_messages, d.held_messages}; });
    w.by_queue_state("hubrelay_queue_recipients", "Pending recipients, by direction and state.", depth, [](const Depth& d) {
      return std::array{d.queued_recipients, d.deferred_recipients, d.held_recipients};
    });
    w.by_queue_state("hubrelay_queue_oldest_age_seconds", "Age of the oldest message in each direction and state (0: none).",
                     depth, [](const Depth& d) {
                       return std::array{d.oldest_queued_seconds, d.oldest_deferred_seconds, d.oldest_held_seconds};
                     });
    w.family("hubrelay_queue_bytes", "gauge", "Bytes of messages with pending recipients, by direction.");
    for (std::size_t d = 0; d < depth.size(); ++d) w.sample("hubrelay_queue_bytes", direction_label(d), depth[d].bytes);
  }
  return w.take();
}

std::string format_status_json(const Snapshot& s) {
  std::string o = "{\"version\":" + json_string(s.version) + ",\"revision\":" + json_string(s.revision) +
                  ",\"node\":" + json_string(s.node) + ",\"queue_backend\":" + json_string(s.queue_backend) +
                  ",\"now\":" + std::to_string(s.now_unix) +
                  ",\"started\":" + std::to_string(s.started_unix) + ",\"draining\":" + (s.draining ? "true" : "false") +
                  ",\"in_flight\":" + std::to_string(s.delivery_in_flight) + ",\"listeners\":[";
  for (std::size_t i = 0; i < s.listeners.size(); ++i) {
    const auto& l = s.listeners[i];
    const auto& c = l.counters;
    if (i) o += ',';
    o += "{\"name\":" + json_string(l.name) + ",\"direction\":\"" + conf::to_string(l.direction) +
         "\",\"connections_accepted\":" + std::to_string(c.connections_accepted) +
         ",\"connections_rejected\":" + std::to_string(c.connections_refused) +
         ",\"sessions_active\":" + std::to_string(c.sessions_active) +
         ",\"messages_received\":" + std::to_string(c.messages_received) +
         ",\"recipients_received\":" + std::to_string(c.recipients_received) +
         ",\"bytes_received\":" + std::to_string(c.bytes_received) + ",\"rejections\":{";
    bool first = true;
    for (const auto& [status, n] : c.rejections) {
      if (!first) o += ',';
      first = false;
      o += json_string(status) + ":" + std::to_string(n);
    }
    o += "},\"refusals\":{";
    first = true;
    for (const auto& [reason, n] : refusals_by_reason(c)) {
      if (!first) o += ',';
      first = false;
      o += json_string(reason) + ":" + std::to_string(n);
    }
    o += "}}";
  }
  o += "],\"directions\":{";
  for (std::size_t d = 0; d < 2; ++d) {
    const auto& c = s.directions[d];
    const auto& r = s.rates[d];
    if (d) o += ',';
    o += "\"" + std::string(conf::to_string(static_cast<conf::Direction>(d))) + "\":{\"delivered\":" +
         std::to_string(c.delivered) + ",\"deferred\":" + std::to_string(c.deferred) +
         ",\"bounced\":" + std::to_string(c.bounced) + ",\"expired\":" + std::to_string(c.expired) +
         ",\"messages_out\":" + std::to_string(c.messages_out) + ",\"rate_in\":[" + number(r.in[0]) + "," +
         number(r.in[1]) + "," + number(r.in[2]) + "],\"rate_out\":[" + number(r.out[0]) + "," + number(r.out[1]) +
         "," + number(r.out[2]) + "],\"series_in\":[";
    for (std::size_t f = 0; f < 2; ++f) {
      if (f) o += "],\"series_out\":[";
      const auto& series = s.series[d][f];
      for (std::size_t i = 0; i < series.size(); ++i) {
        if (i) o += ',';
        o += std::to_string(series[i]);
      }
    }
    o += "]}";
  }
  o += "},\"hops\":[";
  for (std::size_t i = 0; i < s.hops.size(); ++i) {
    const auto& h = s.hops[i];
    if (i) o += ',';
    std::uint64_t failures = 0;
    for (const auto& [cls, n] : h.counters.failures) failures += n;
    const health::HopState& st = h.state;
    o += "{\"name\":" + json_string(h.name) + ",\"state\":" + json_string(health::to_string(st.condition)) +
         ",\"usable\":" + (st.condition == health::HopCondition::usable ? "true" : "false") +
         ",\"ejected\":" + (st.ejected ? "true" : "false") +
         ",\"ejected_until\":" + std::to_string(st.ejected ? st.ejected_until / 1000 : 0) +
         ",\"suspended_until\":" + std::to_string(st.suspended_until / 1000) +
         ",\"window\":" + std::to_string(h.window) + ",\"max_connections\":" + std::to_string(h.max_connections) +
         ",\"throttled\":" + std::to_string(h.counters.throttled) +
         ",\"rate_delayed\":" + std::to_string(h.counters.rate_delayed) +
         ",\"last_error\":" + json_string(st.last_error) + ",\"connections\":" + std::to_string(h.connections) + ",\"attempts\":" + std::to_string(h.counters.attempts) +
         ",\"successes\":" + std::to_string(h.counters.successes) + ",\"failures\":" + std::to_string(failures) +
         ",\"paths\":[";
    for (std::size_t k = 0; k < h.paths.size(); ++k) o += (k ? "," : "") + json_string(h.paths[k]);
    o += "]}";
  }
  o += "],\"paths\":[";
  for (std::size_t i = 0; i < s.paths.size(); ++i) {
    const auto& p = s.paths[i];
    if (i) o += ',';
    o += "{\"name\":" + json_string(p.name) + ",\"state\":" + json_string(p.state) +
         ",\"up\":" + (p.up ? "true" : "false") + ",\"since\":" + std::to_string(p.since_unix) +
         ",\"transitions\":" + std::to_string(p.transitions) + "}";
  }
  o += "],\"queue\":";
  if (s.depth) {
    o += "{" + depth_fields(total(*s.depth)) + ",\"directions\":{";
    for (std::size_t d = 0; d < s.depth->size(); ++d)
      o += std::string(d ? "," : "") + "\"" + conf::to_string(static_cast<conf::Direction>(d)) + "\":{" +
           depth_fields((*s.depth)[d]) + "}";
    o += "}}";
  } else {
    o += "{\"error\":" + json_string(s.depth_error) + "}";
  }
  o += ",\"commit\":{\"transactions\":" + std::to_string(s.commit.transactions) +
       ",\"messages\":" + std::to_string(s.commit.messages_committed) +
       ",\"largest_batch\":" + std::to_string(s.commit.largest_batch) + "}";
  o += ",\"milters\":[";
  for (std::size_t i = 0; i < s.milters.size(); ++i) {
    const auto& m = s.milters[i];
    o += std::string(i ? "," : "") + "{\"name\":" + json_string(m.name) + ",\"address\":" + json_string(m.address) +
         ",\"up\":" + (m.up ? "true" : "false") + ",\"failures\":" + std::to_string(m.failures) +
         ",\"last_error\":" + json_string(m.last_error) + "}";
  }
  o += "]}";
  return o;
}

}  // namespace relay::metrics
