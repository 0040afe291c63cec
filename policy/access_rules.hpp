// policy/access_rules.hpp — the synchronous access rules of one listener policy.
//
// Owns: client networks allowed to connect, HELO sanity checks, sender and recipient
// allow/deny lists, inbound anti-spoofing of the organisation's own domains, and the
// outbound send-as rules (allowed_sender_domains, sender restrictions per network/user).
// Compiled once from conf::PolicyConfig (and again on reload), evaluated per command;
// each check returns a policy::Decision with a stable Reason (docs/policy.md#reasons).
// Never: formats SMTP replies (relay/smtp/reply_table does), performs I/O or DNS lookups
// (DNSBL and recipient verification live elsewhere), keeps per-client state
// (policy/client_limits does). Immutable after compile: safe to share between sessions.
// Standards: RFC 5321 §4.1.1.1 (HELO argument), §4.1.3 (address literals).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "conf/address_pattern.hpp"
#include "conf/config.hpp"
#include "conf/domain_pattern.hpp"
#include "policy/decision.hpp"
#include "policy/ip_address.hpp"

namespace policy {

/// Facts about the listener a policy is compiled for.
struct ListenerFacts {
  conf::Direction direction = conf::Direction::inbound;
  std::string hostname;                // [relay].hostname: the name a HELO must not claim
  std::vector<std::string> addresses;  // the listener's bind addresses: literals a HELO must not claim
};

/// Who is asking: the client address and what policy already knows about it.
struct RuleSubject {
  IpAddress address;
  bool trusted = false;                // trusted network or authenticated
  bool authenticated = false;
  std::string_view user;               // AUTH identity, "" when not authenticated
};

class AccessRules {
 public:
  /// `own_domains_default` is used for the spoof check when the policy lists no own_domains
  /// (the policy's accepted domains, else [relay].accepted_domains).
  static std::expected<AccessRules, std::string> compile(const conf::PolicyConfig& config,
                                                         const std::vector<std::string>& own_domains_default,
                                                         const ListenerFacts& listener);

  /// A rule set that restricts nothing (every rule off).
  AccessRules() = default;

  /// client_networks: reject(client_not_allowed) outside them; empty list: everyone.
  Decision on_connect(const IpAddress& client) const noexcept;
  /// helo_required_fqdn → reject(helo_invalid); helo_reject_own_name → reject(helo_spoofed).
  /// Trusted clients are exempt.
  Decision on_helo(const RuleSubject& client, std::string_view helo) const noexcept;
  /// sender_deny/sender_allow → sender_denied; anti-spoofing → spoofed_sender;
  /// allowed_sender_domains and sender restrictions → sender_not_allowed.
  /// `sender` is the reverse-path without <>; "" is the null sender.
  Decision on_mail(const RuleSubject& client, std::string_view sender) const noexcept;
  /// recipient_deny/recipient_allow → recipient_denied.
  Decision on_rcpt(const RuleSubject& client, std::string_view recipient) const noexcept;

  bool rejects_spoofed_senders() const noexcept { return reject_spoofed_; }

 private:
  struct Restriction {
    std::vector<Cidr> networks;
    std::string user;
    std::vector<conf::AddressPattern> senders;
  };
  struct Lists {
    std::vector<conf::AddressPattern> allow;
    std::vector<conf::AddressPattern> deny;
    /// Deny beats allow; an allow list present admits only what it lists.
    bool admits(std::string_view address) const noexcept;
  };

  std::vector<Cidr> client_networks_;
  std::vector<conf::DomainPattern> own_domains_;
  bool reject_spoofed_ = false;
  Lists senders_;
  Lists recipients_;
  bool helo_fqdn_ = false;
  bool helo_own_name_ = false;
  std::string hostname_;              // lower-cased
  std::vector<IpAddress> own_addresses_;
  std::vector<conf::DomainPattern> allowed_sender_domains_;
  std::vector<Restriction> restrictions_;
};

/// HELO argument shapes, for on_helo and its tests.
enum class HeloShape : std::uint8_t { fqdn, address_literal, bare_address, bad_literal, not_fqdn };
HeloShape classify_helo(std::string_view helo) noexcept;

}  // namespace policy
