// policy/listener_policy.hpp — the compiled relay policy of one listener.
//
// Owns: the decision whether a client may connect, submit, and relay to a recipient.
// Compiled once from conf::PolicyConfig (and again on reload), evaluated per command.
// Default is closed: with no trusted networks, only recipients in the accepted domains
// are taken, and a listener with require_trusted refuses everyone it does not trust.
// Performs no I/O. Thread-safe for concurrent evaluation (immutable after compile).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "conf/domain_pattern.hpp"
#include "policy/access_rules.hpp"
#include "policy/decision.hpp"
#include "policy/ip_address.hpp"
#include "policy/password_hash.hpp"

namespace policy {

struct Client {
  IpAddress address;
  bool authenticated = false;
  std::string_view user;  // AUTH identity for sender restrictions, "" when none
};

class ListenerPolicy {
 public:
  /// `organisation_domains` is [relay].accepted_domains, used when the policy lists none.
  static std::expected<ListenerPolicy, std::string> compile(
      const conf::PolicyConfig& config, const std::vector<std::string>& organisation_domains);

  /// As above, with the listener's direction (anti-spoofing default), host
  /// name and bind addresses (HELO checks). The two-argument form assumes inbound.
  static std::expected<ListenerPolicy, std::string> compile(
      const conf::PolicyConfig& config, const std::vector<std::string>& organisation_domains,
      const ListenerFacts& listener);

  /// A policy that trusts nobody and accepts no domain: what a listener gets by default.
  ListenerPolicy() = default;

  bool trusted(const Client& client) const noexcept;
  Decision on_connect(const Client& client) const noexcept;
  Decision on_mail(const Client& client, std::string_view sender) const noexcept;
  Decision on_rcpt(const Client& client, std::string_view recipient) const noexcept;
  /// True when `domain` is one of the accepted domains (case-insensitive).
  bool accepts_domain(std::string_view domain) const noexcept;
  /// HELO/EHLO checks (policy/access_rules); accept unless configured.
  Decision on_helo(const Client& client, std::string_view helo) const noexcept;
  const AccessRules& rules() const noexcept { return rules_; }

  // --- AUTH ---
  /// True when `user` exists and `password` matches its stored hash. Slow on purpose
  /// (PBKDF2); an unknown user costs the same as a wrong password.
  bool authenticate(std::string_view user, std::string_view password) const;
  bool has_auth_users() const noexcept { return !users_.empty(); }

 private:
  std::vector<std::pair<std::string, PasswordHash>> users_;
  std::vector<Cidr> trusted_;
  std::vector<conf::DomainPattern> accepted_;
  bool require_trusted_ = false;
  AccessRules rules_;
  RuleSubject subject(const Client& client) const noexcept;
};

}  // namespace policy
