// policy/recipient_verifier.cpp — static recipient sets, callout replies and their cache.
#include "policy/recipient_verifier.hpp"
#include "conf/ascii.hpp"
#include "conf/address_parts.hpp"

namespace policy {

std::string normalize_address(std::string_view address) {
  std::string out = conf::ascii_lowercase(conf::without_angle_brackets(address));
  while (out.ends_with('.')) out.pop_back();
  return out;
}

StaticRecipients::StaticRecipients(std::span<const std::string> entries) {
  for (const auto& entry : entries) {
    const std::string normalized = normalize_address(entry);
    if (normalized.starts_with('@')) {
      domains_.insert(normalized.substr(1));
    } else {
      addresses_.insert(normalized);
    }
  }
}

bool StaticRecipients::contains(std::string_view address) const {
  const std::string normalized = normalize_address(address);
  if (addresses_.contains(normalized)) return true;
  if (conf::domain_separator(normalized) == std::string::npos) return false;
  return domains_.contains(std::string(conf::domain_part(normalized)));
}

std::string_view to_string(CalloutResult r) noexcept {
  switch (r) {
    case CalloutResult::valid: return "valid";
    case CalloutResult::unknown: return "unknown";
    case CalloutResult::failed: return "failed";
  }
  return "unknown";
}

Decision callout_decision(CalloutResult result, bool accept_on_failure) noexcept {
  switch (result) {
    case CalloutResult::valid: return Decision::accept();
    case CalloutResult::unknown: return Decision::reject(Reason::recipient_unknown);
    case CalloutResult::failed:
      return accept_on_failure ? Decision::accept() : Decision::defer(Reason::recipient_unverified);
  }
  return Decision::defer(Reason::recipient_unverified);
}

std::optional<CalloutResult> CalloutCache::find(std::string_view address, TtlCache<CalloutResult>::TimePoint now) const {
  return cache_.find(normalize_address(address), now);
}

void CalloutCache::store(std::string_view address, CalloutResult result, TtlCache<CalloutResult>::TimePoint now) {
  if (result == CalloutResult::failed) return;
  cache_.store(normalize_address(address), result, result == CalloutResult::valid ? positive_ttl_ : negative_ttl_, now);
}

}  // namespace policy
