// conf/config.cpp — lookups on the validated configuration.
#include "conf/config.hpp"

#include <algorithm>

#include "conf/domain_pattern.hpp"

namespace conf {

const PolicyConfig* Config::find_policy(std::string_view name) const noexcept {
  auto it = std::ranges::find(policies, name, &PolicyConfig::name);
  return it == policies.end() ? nullptr : &*it;
}

const MilterConfig* Config::find_milter(std::string_view name) const noexcept {
  auto it = std::ranges::find(milters, name, &MilterConfig::name);
  return it == milters.end() ? nullptr : &*it;
}

const HopConfig* Config::find_hop(std::string_view name) const noexcept {
  auto it = std::ranges::find(hops, name, &HopConfig::name);
  return it == hops.end() ? nullptr : &*it;
}

const PathConfig* Config::find_path(std::string_view name) const noexcept {
  auto it = std::ranges::find(paths, name, &PathConfig::name);
  return it == paths.end() ? nullptr : &*it;
}

bool Config::is_own_domain(std::string_view domain) const {
  return std::ranges::any_of(relay.accepted_domains, [domain](const std::string& text) {
    const auto pattern = DomainPattern::parse(text);
    return pattern && pattern->matches(domain);
  });
}

}  // namespace conf
