// relay/server/verification.cpp — DNSBL lookups and recipient callouts for the session driver.
//
// DNSBL: every zone not in the cache is asked at once (one coroutine per zone on the
// same c-ares channel, so the queries are in flight together); the session waits for
// all of them, bounded by the channel's own timeout plus a safety margin. Results are
// cached per (zone, client) for the DNS TTL clamped to [dnsbl_min_ttl, dnsbl_max_ttl];
// a negative answer is cached for dnsbl_min_ttl; failures are not cached.
// Callout: route table → route of the recipient's domain for this listener's direction
// → a hop picked like the delivery engine does (weighted round robin over the tiers,
// passive ejection respected; no probe view) → SmtpClient connect (EHLO, STARTTLS/AUTH
// as the hop says) → MAIL FROM:<callout_sender> → RCPT TO → RSET → QUIT. Every step has
// callout_timeout. The RCPT reply is judged by relay/client/judge, as a delivery's would
// be (a 552 to RCPT is transient there, so a failed callout here, never "unknown"). MX hops (direct delivery) are not called out: that would probe
// foreign servers; such recipients count as a failed callout.
// Coalescing: while a callout for an address runs, other sessions asking about the same
// address wait for its result instead of opening their own connection.
#include "relay/server/verification.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "conf/domain_pattern.hpp"
#include "health/hop_health.hpp"
#include "relay/client/smtp_client.hpp"
#include "health/spawn_log.hpp"
#include "routing/dns_resolver.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

// Extra wait beyond the resolver's own timeout before the session stops waiting for a
// DNSBL answer (the resolver always answers, this only bounds a surprise).
constexpr std::chrono::seconds gather_margin{2};

void bump(std::map<std::string, std::uint64_t, std::less<>>* map, std::string key) {
  if (map != nullptr) ++(*map)[std::move(key)];
}

}  // namespace

struct ListenerVerification::Gather {
  explicit Gather(asio::any_io_executor ex, std::size_t n) : results(n), ttls(n), errors(n), finished(n, false), done(ex) {}
  std::vector<policy::DnsblLookup> results;
  std::vector<std::chrono::seconds> ttls;
  std::vector<std::string> errors;
  std::vector<bool> finished;
  std::size_t remaining = 0;
  asio::steady_timer done;
};

struct ListenerVerification::Pending {
  explicit Pending(asio::any_io_executor ex) : done(ex) {}
  asio::steady_timer done;
  std::optional<policy::CalloutResult> result;
};

std::expected<std::shared_ptr<ListenerVerification>, std::string> ListenerVerification::build(
    const conf::Config& config, const conf::PolicyConfig& policy, const routing::RouteTable& routes,
    conf::Direction direction) {
  if (policy.dnsbl.empty() && !policy.static_recipients && !policy.recipient_callout) return nullptr;
  auto made = std::make_shared<ListenerVerification>(config, policy, routes, direction);
  auto zones = policy::compile_dnsbl(policy.dnsbl);
  if (!zones) return std::unexpected(zones.error());
  made->zones_ = std::move(*zones);
  return made;
}

ListenerVerification::ListenerVerification(const conf::Config& config, const conf::PolicyConfig& policy,
                                           const routing::RouteTable& routes, conf::Direction direction)
    : config_(config),
      policy_(policy),
      routes_(routes),
      direction_(direction),
      dnsbl_dns_(config.dns),
      hop_dns_(config.dns),
      recipients_(policy.valid_recipients),
      callout_cache_(policy.callout_cache_size, policy.callout_positive_ttl, policy.callout_negative_ttl),
      selector_(routes) {
  // c-ares takes whole milliseconds; the loader keeps dnsbl_timeout >= 100 ms.
  dnsbl_dns_.timeout = std::chrono::duration_cast<std::chrono::seconds>(policy.dnsbl_timeout);
  if (dnsbl_dns_.timeout.count() == 0) dnsbl_dns_.timeout = std::chrono::seconds(1);
}

ListenerVerification::~ListenerVerification() = default;

routing::DnsResolver* ListenerVerification::resolver(const asio::any_io_executor& executor, bool dnsbl) {
  auto& slot = dnsbl ? dnsbl_resolver_ : hop_resolver_;
  if (!slot) {
    try {
      slot = std::make_unique<routing::DnsResolver>(executor, dnsbl ? dnsbl_dns_ : hop_dns_);
    } catch (const std::exception& e) {
      spdlog::error("verification: cannot start a resolver: {}", e.what());
      return nullptr;
    }
  }
  return slot.get();
}

asio::awaitable<PolicyAnswer> ListenerVerification::answer(PolicyQuery query, Context context) {
  if (query.kind == PolicyQueryKind::dnsbl) co_return co_await answer_dnsbl(std::move(query), std::move(context));
  co_return co_await answer_recipient(std::move(query), std::move(context));
}

asio::awaitable<void> ListenerVerification::lookup_zone(std::shared_ptr<ListenerVerification> self,
                                                       std::shared_ptr<Gather> gather, std::size_t index,
                                                       std::string name) {
  routing::DnsResolver* dns = self->resolver(gather->done.get_executor(), true);
  if (dns == nullptr) {
    gather->results[index].failed = true;
    gather->errors[index] = "no resolver";
  } else {
    auto found = co_await dns->lookup_a(name);
    if (!found) {
      gather->results[index].failed = true;
      gather->errors[index] = found.error().text;
    } else {
      gather->results[index].addresses = std::move(found->addresses);
      gather->ttls[index] = found->ttl;
    }
  }
  gather->finished[index] = true;
  // A reject zone that lists the client usually says why in a TXT record (RFC 5782
  // §2.1), often with a delisting address: the reply carries it, as Postfix's does. The
  // A answer already counts; a TXT answer that misses the deadline only loses the text.
  const policy::DnsblZone& zone = self->zones_[index];
  if (dns != nullptr && !zone.tag && !policy::dnsbl_listing(zone, gather->results[index]).empty()) {
    if (auto txt = co_await dns->lookup_txt(name); txt) gather->results[index].reason = std::move(*txt);
  }
  if (--gather->remaining == 0) gather->done.cancel();
}

asio::awaitable<PolicyAnswer> ListenerVerification::answer_dnsbl(PolicyQuery query, Context context) {
  const auto now = std::chrono::steady_clock::now();
  auto gather = std::make_shared<Gather>(context.executor, zones_.size());
  std::vector<bool> cached(zones_.size(), false);
  for (std::size_t i = 0; i < zones_.size(); ++i) {
    if (auto hit = dnsbl_cache_.find(policy::dnsbl_cache_key(zones_[i].zone, query.client), now)) {
      gather->results[i] = std::move(*hit);
      cached[i] = true;
    } else {
      ++gather->remaining;
    }
  }
  if (gather->remaining > 0) {
    for (std::size_t i = 0; i < zones_.size(); ++i) {
      if (cached[i]) continue;
      asio::co_spawn(context.executor,
                     lookup_zone(shared_from_this(), gather, i, policy::dnsbl_query_name(query.client, zones_[i].zone)),
                     health::log_escaped("DNSBL lookup"));
    }
    const auto deadline = std::chrono::steady_clock::now() + dnsbl_dns_.timeout + gather_margin;
    // Bounded: each round ends by a completion (remaining drops) or the deadline.
    for (std::size_t round = 0; round <= zones_.size() && gather->remaining > 0; ++round) {
      gather->done.expires_at(deadline);
      auto [ec] = co_await gather->done.async_wait(asio::as_tuple(asio::use_awaitable));
      if (!ec) break;  // deadline passed
    }
  }
  const auto after = std::chrono::steady_clock::now();
  // A copy: a lookup still in flight past the deadline writes into `gather` later.
  std::vector<policy::DnsblLookup> results = gather->results;
  for (std::size_t i = 0; i < zones_.size(); ++i) {
    auto& result = results[i];
    if (!cached[i] && !gather->finished[i]) {
      result = policy::DnsblLookup{true, {}};  // not answered in time: not listed (fail open)
      gather->errors[i] = "no answer in time";
    }
    const std::string code = policy::dnsbl_listing(zones_[i], result);
    const char* verdict = result.failed ? "error" : code.empty() ? "clean" : "listed";
    bump(context.counters ? &context.counters->dnsbl : nullptr, zones_[i].zone + " " + verdict);
    if (result.failed) {
      spdlog::warn("session={} listener={} client={} dnsbl zone={} lookup failed, not listed (fail open): {}",
                   context.session, context.listener, query.client_text, zones_[i].zone, gather->errors[i]);
    } else {
      spdlog::info("session={} listener={} client={} dnsbl zone={} result={}{}{} cache={}", context.session,
                   context.listener, query.client_text, zones_[i].zone, verdict, code.empty() ? "" : " code=", code,
                   cached[i] ? "hit" : "miss");
    }
    if (!cached[i] && !result.failed) {
      const auto ttl = result.addresses.empty()
                           ? policy_.dnsbl_min_ttl
                           : policy::dnsbl_cache_ttl(gather->ttls[i], policy_.dnsbl_min_ttl, policy_.dnsbl_max_ttl);
      dnsbl_cache_.store(policy::dnsbl_cache_key(zones_[i].zone, query.client), result, ttl, after);
    }
  }
  const auto outcome = policy::interpret_dnsbl(zones_, results);
  PolicyAnswer answer{outcome.decision, outcome.reject_zone, policy::dnsbl_tag_header(outcome.tags),
                      outcome.reject_reason};
  // The decision line itself (stage=… decision=… reason=…) is the session's, written for
  // every decision alike; this one says which zone decided.
  spdlog::info("session={} listener={} client={} check=dnsbl outcome={}{}{}", context.session, context.listener,
               query.client_text, outcome.decision.accepted() ? (outcome.tags.empty() ? "clean" : "tag") : "listed",
               outcome.reject_zone.empty() ? "" : " zone=", outcome.reject_zone);
  co_return answer;
}

asio::awaitable<PolicyAnswer> ListenerVerification::answer_recipient(PolicyQuery query, Context context) {
  const std::string address = policy::normalize_address(query.recipient);
  const auto log_decision = [&](const policy::Decision& d, std::string_view check) {
    spdlog::info("session={} listener={} client={} check={} outcome={} reason={} rcpt=<{}>", context.session,
                 context.listener, query.client_text, check, policy::to_string(d.verdict), policy::to_string(d.reason),
                 address);
  };
  if (policy_.static_recipients && !recipients_.contains(address)) {
    const auto d = policy::Decision::reject(policy::Reason::recipient_unknown);
    log_decision(d, "static");
    co_return PolicyAnswer{d, {}, {}};
  }
  if (!policy_.recipient_callout) {
    log_decision(policy::Decision::accept(), "static");
    co_return PolicyAnswer{};
  }
  std::optional<policy::CalloutResult> result = callout_cache_.find(address, std::chrono::steady_clock::now());
  std::string cache = "hit";
  std::string detail;
  if (!result) {
    if (auto it = in_flight_.find(address); it != in_flight_.end()) {
      // Another session is asking the next hop about this address right now.
      auto pending = it->second;
      cache = "coalesced";
      (void)co_await pending->done.async_wait(asio::as_tuple(asio::use_awaitable));
      result = pending->result.value_or(policy::CalloutResult::failed);
    } else {
      cache = "miss";
      auto pending = std::make_shared<Pending>(context.executor);
      // Set once here: waiters only wait (re-arming would cancel the other waiters).
      pending->done.expires_after(policy_.callout_timeout * 6);
      in_flight_.emplace(address, pending);
      auto self = shared_from_this();  // keeps the caches alive across the awaits
      result = co_await callout(address, context, detail);
      pending->result = result;
      pending->done.cancel();
      in_flight_.erase(address);
      callout_cache_.store(address, *result, std::chrono::steady_clock::now());
    }
  }
  bump(context.counters ? &context.counters->callouts : nullptr, std::string(policy::to_string(*result)) + " " + cache);
  spdlog::info("session={} listener={} callout rcpt=<{}> result={} cache={}{}{}", context.session, context.listener,
               address, policy::to_string(*result), cache, detail.empty() ? "" : " detail=", detail);
  const auto d = policy::callout_decision(*result, policy_.callout_accept_on_failure);
  log_decision(d, "callout");
  co_return PolicyAnswer{d, {}, {}};
}

asio::awaitable<policy::CalloutResult> ListenerVerification::callout(std::string address, Context context,
                                                                    std::string& detail) {
  // The same domain delivery routes by, so a callout asks the hop the mail would go to.
  const std::string domain = conf::domain_of(address);
  const routing::Route* route = routes_.match(direction_, domain);
  if (route == nullptr) {
    detail = "no route for " + domain;
    co_return policy::CalloutResult::failed;
  }
  static const health::AllUsable everyone;
  std::optional<std::size_t> hop;
  if (context.ejection != nullptr) {
    const health::HopHealth view(*context.ejection, std::chrono::steady_clock::now());
    hop = selector_.pick(routes_.index_of(*route), view, {});
  } else {
    hop = selector_.pick(routes_.index_of(*route), everyone, {});
  }
  if (!hop) {
    detail = "no usable hop";
    co_return policy::CalloutResult::failed;
  }
  const conf::HopConfig& h = config_.hops[*hop];
  if (h.mx) {
    detail = "hop " + h.name + " delivers by MX: no callout";
    co_return policy::CalloutResult::failed;
  }
  routing::DnsResolver* dns = resolver(context.executor, false);
  if (dns == nullptr) {
    detail = "no resolver";
    co_return policy::CalloutResult::failed;
  }
  auto addresses = co_await dns->addresses(h.host);
  if (!addresses) {
    detail = addresses.error().text;
    co_return policy::CalloutResult::failed;
  }
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& a : *addresses) endpoints.emplace_back(a, h.port);

  SmtpClient client(context.executor, callout_settings(config_, h, policy_.callout_timeout));
  const Transcript opened = co_await client.connect(endpoints);
  if (opened.fault) {
    detail = "hop " + h.name + ": " + opened.fault->text;
    co_return policy::CalloutResult::failed;
  }
  if (opened.refusal) {
    detail = "hop " + h.name + " refused the session: " + opened.refusal->reply.text();
    co_await client.quit();
    co_return policy::CalloutResult::failed;
  }
  const Transcript answer = co_await client.verify_recipient(policy_.callout_sender, address);
  // One judge for delivery and callouts: a 552 to RCPT is "try later" in both.
  const policy::CalloutResult result = judge_callout(answer);
  if (answer.fault) {
    detail = "hop " + h.name + ": " + answer.fault->text;
  } else if (!accepted(answer.mail)) {
    detail = "hop " + h.name + " refused MAIL: " + std::to_string(answer.mail->code);
  } else if (!answer.rcpt.empty() && answer.rcpt.front()) {
    detail = "hop " + h.name + " " + std::to_string(answer.rcpt.front()->code);
  }
  co_await client.quit();
  co_return result;
}

}  // namespace relay
