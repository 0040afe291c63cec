// relay/dkim/signing_plan.cpp — see signing_plan.hpp.
#include "relay/dkim/signing_plan.hpp"

#include <algorithm>

namespace relay::dkim {

SigningPlan plan_signatures(const std::vector<HeaderField>& fields, const std::vector<SignerIdentity>& identities) {
  SigningPlan plan;
  const auto author = author_domain(fields);
  if (!author) return plan;
  plan.author_domain = *author;
  plan.note = PlanNote::not_aligned;
  const auto present = existing_signatures(fields);
  for (std::size_t i = 0; i < identities.size(); ++i) {
    const auto& id = identities[i];
    if (!domain_aligned(*author, id.domain, id.subdomains)) continue;
    const bool signed_already = std::ranges::any_of(present, [&](const auto& ds) {
      return iequals(ds.first, id.domain) && iequals(ds.second, id.selector);
    });
    if (signed_already) {
      plan.note = PlanNote::already_signed;
      continue;
    }
    plan.keys.push_back(i);
  }
  if (!plan.keys.empty()) plan.note = PlanNote::signing;
  return plan;
}

}  // namespace relay::dkim
