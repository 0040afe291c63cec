// relay/tlsrpt/session_result.cpp — the RFC 8460 names of policy and result types.
#include "relay/tlsrpt/session_result.hpp"

#include <array>

namespace relay::tlsrpt {
namespace {

constexpr std::array<std::string_view, 3> policy_names{"tlsa", "sts", "no-policy-found"};
constexpr std::array<std::string_view, result_type_count> result_names{
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure",       "tlsa-invalid",
    "dnssec-invalid",         "dane-required",             "sts-policy-fetch-error",
    "sts-policy-invalid",     "sts-webpki-invalid"};

template <typename Enum, std::size_t N>
std::optional<Enum> find_name(const std::array<std::string_view, N>& names, std::string_view text) noexcept {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text) return static_cast<Enum>(i);
  return std::nullopt;
}

}  // namespace

std::string_view to_string(PolicyType type) noexcept { return policy_names[static_cast<std::size_t>(type)]; }
std::string_view to_string(ResultType type) noexcept { return result_names[static_cast<std::size_t>(type)]; }

std::optional<PolicyType> policy_type_from(std::string_view text) noexcept {
  return find_name<PolicyType>(policy_names, text);
}
std::optional<ResultType> result_type_from(std::string_view text) noexcept {
  return find_name<ResultType>(result_names, text);
}

}  // namespace relay::tlsrpt
