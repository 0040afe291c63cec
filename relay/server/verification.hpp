// relay/server/verification.hpp — the I/O half of the listener checks: DNSBL lookups and
// recipient verification (static list, callout to the next hop), for one listener.
//
// Owns: per listener and configuration generation, the compiled DNSBL zones and their
// result cache, a c-ares resolver of its own (its timeout is the policy's
// dnsbl_timeout), the static recipient set, the callout cache, a HopSelector over the
// route table for callouts, and the coalescing of concurrent callouts for one address.
// It answers the FSM's PolicyQuery (relay/server/server_fsm) with a PolicyAnswer; the decision
// rules themselves live in policy/dnsbl and policy/recipient_verifier (pure).
// Errors: DNS failures and timeouts are "not listed" (fail open, logged as warnings);
// callout failures follow callout_on_failure (default defer → 451 4.4.3). Never throws
// into the session: a resolver that cannot start is a failed lookup.
// Threading: the one io_context thread; caches are not locked.
// Caches are per generation: a SIGHUP starts them empty (a changed list or zone must
// not keep serving old answers).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "health/passive_ejection.hpp"
#include "policy/dnsbl.hpp"
#include "policy/recipient_verifier.hpp"
#include "relay/counters.hpp"
#include "relay/server/server_fsm.hpp"
#include "routing/hop_selector.hpp"
#include "routing/route_table.hpp"

namespace routing { class DnsResolver; }

namespace relay {

class ListenerVerification : public std::enable_shared_from_this<ListenerVerification> {
 public:
  /// nullptr when the policy has neither DNSBL zones nor recipient verification.
  /// `config` and `routes` must outlive the object (both belong to the generation).
  static std::expected<std::shared_ptr<ListenerVerification>, std::string> build(
      const conf::Config& config, const conf::PolicyConfig& policy, const routing::RouteTable& routes,
      conf::Direction direction);

  ListenerVerification(const conf::Config& config, const conf::PolicyConfig& policy, const routing::RouteTable& routes,
                       conf::Direction direction);
  ~ListenerVerification();

  bool dnsbl() const noexcept { return !zones_.empty(); }
  bool dnsbl_at_connect() const noexcept { return policy_.dnsbl_at_connect; }
  bool verify_recipients() const noexcept { return policy_.static_recipients || policy_.recipient_callout; }

  struct Context {
    boost::asio::any_io_executor executor;
    const health::PassiveEjection* ejection = nullptr;  // the delivery engine's; nullptr: all hops usable
    ListenerCounters* counters = nullptr;
    std::string session;                               // for log lines
    std::string listener;
  };

  /// Answers one question of the FSM. Never fails; see the header comment for errors.
  boost::asio::awaitable<PolicyAnswer> answer(PolicyQuery query, Context context);

 private:
  struct Gather;
  struct Pending;
  boost::asio::awaitable<PolicyAnswer> answer_dnsbl(PolicyQuery query, Context context);
  boost::asio::awaitable<PolicyAnswer> answer_recipient(PolicyQuery query, Context context);
  static boost::asio::awaitable<void> lookup_zone(std::shared_ptr<ListenerVerification> self, std::shared_ptr<Gather> gather,
                                                  std::size_t index, std::string name);
  boost::asio::awaitable<policy::CalloutResult> callout(std::string address, Context context, std::string& detail);
  routing::DnsResolver* resolver(const boost::asio::any_io_executor& executor, bool dnsbl);

  const conf::Config& config_;
  conf::PolicyConfig policy_;
  const routing::RouteTable& routes_;
  conf::Direction direction_;
  std::vector<policy::DnsblZone> zones_;
  policy::DnsblCache dnsbl_cache_{10000};
  conf::DnsConfig dnsbl_dns_;                        // [dns] with the policy's dnsbl_timeout
  std::unique_ptr<routing::DnsResolver> dnsbl_resolver_;
  conf::DnsConfig hop_dns_;                          // [dns] as configured (a copy: resolvers keep a reference)
  std::unique_ptr<routing::DnsResolver> hop_resolver_;  // for callout hops
  policy::StaticRecipients recipients_;
  policy::CalloutCache callout_cache_;
  routing::HopSelector selector_;
  std::map<std::string, std::shared_ptr<Pending>, std::less<>> in_flight_;  // coalesced callouts
};

}  // namespace relay
