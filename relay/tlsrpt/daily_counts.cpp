// relay/tlsrpt/daily_counts.cpp — counting sessions per day and domain, and the state text.
#include "relay/tlsrpt/daily_counts.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

namespace relay::tlsrpt {
namespace {

constexpr std::int64_t seconds_per_day = 86400;
constexpr std::string_view header_line = "hubrelay-tls-report-counts 1";

// Fields are tab-separated; a field's own '%', tab, CR and LF are written %XX.
void put_field(std::string& out, std::string_view field) {
  static constexpr char hex[] = "0123456789ABCDEF";
  out.push_back('\t');
  for (const char c : field) {
    if (c == '%' || c == '\t' || c == '\n' || c == '\r') {
      out.push_back('%');
      out.push_back(hex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(hex[static_cast<unsigned char>(c) & 0xF]);
    } else {
      out.push_back(c);
    }
  }
}

std::optional<std::string> unescape(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '%') {
      out.push_back(field[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= field.size()) return std::nullopt;
    const auto [end, ec] = std::from_chars(field.data() + i + 1, field.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != field.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

template <typename Number>
std::optional<Number> number(std::string_view text) {
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::int64_t utc_day(std::int64_t unix_seconds) noexcept {
  return unix_seconds >= 0 ? unix_seconds / seconds_per_day : (unix_seconds - seconds_per_day + 1) / seconds_per_day;
}

void DailyCounts::roll(std::int64_t unix_seconds) {
  const std::int64_t oldest = utc_day(unix_seconds) - limits_.finished_days_kept;
  std::erase_if(days_, [&](const auto& entry) {
    if (entry.first.first >= oldest) return false;
    expired_.push_back(entry.first);
    return true;
  });
}

std::vector<DailyCounts::Key> DailyCounts::take_expired() { return std::exchange(expired_, {}); }

void DailyCounts::record(const TlsSessionResult& session, std::int64_t unix_seconds) {
  roll(unix_seconds);
  const std::int64_t day = utc_day(unix_seconds);
  Key key{day, session.policy.domain};
  auto day_it = days_.find(key);
  if (day_it == days_.end()) {
    std::size_t today = 0;
    for (const auto& [k, v] : days_) today += k.first == day ? 1 : 0;
    if (today >= limits_.domains_per_day) {
      ++dropped_;
      return;
    }
    day_it = days_.emplace(std::move(key), DomainDay{day * seconds_per_day, {}}).first;
  }
  auto& policies = day_it->second.policies;
  auto policy_it = policies.find(session.policy);
  if (policy_it == policies.end()) {
    if (policies.size() >= limits_.policies_per_domain) {
      ++dropped_;
      return;
    }
    policy_it = policies.emplace(session.policy, PolicyCounts{}).first;
  }
  PolicyCounts& counts = policy_it->second;
  if (session.success) {
    ++counts.successful;
    return;
  }
  ++counts.failed;
  FailureKey failure{session.result, session.sending_mta_ip, session.receiving_mx_hostname, session.receiving_ip,
                     session.additional_information};
  if (auto it = counts.failures.find(failure); it != counts.failures.end()) {
    ++it->second;
  } else if (counts.failures.size() < limits_.failures_per_policy) {
    counts.failures.emplace(std::move(failure), 1);
  }
  // Past the limit the failure is in the total only (RFC 8460 §4.4 lets details be partial).
}

std::vector<DailyCounts::Key> DailyCounts::finished(std::int64_t unix_seconds) const {
  const std::int64_t today = utc_day(unix_seconds);
  std::vector<Key> out;
  for (const auto& [key, value] : days_)
    if (key.first < today) out.push_back(key);
  return out;
}

std::vector<DailyCounts::Key> DailyCounts::all() const {
  std::vector<Key> out;
  for (const auto& [key, value] : days_) out.push_back(key);
  return out;
}

const DomainDay* DailyCounts::find(const Key& key) const {
  const auto it = days_.find(key);
  return it == days_.end() ? nullptr : &it->second;
}

void DailyCounts::erase(const Key& key) { days_.erase(key); }

void DailyCounts::restart(const Key& key, std::int64_t begin) { days_[key] = DomainDay{begin, {}}; }

void DailyCounts::merge(const Key& key, const DomainDay& day) {
  auto [it, added] = days_.try_emplace(key, day);
  if (added) return;
  DomainDay& into = it->second;
  into.begin = std::min(into.begin, day.begin);
  for (const auto& [policy, counts] : day.policies) {
    auto policy_it = into.policies.find(policy);
    if (policy_it == into.policies.end()) {
      if (into.policies.size() >= limits_.policies_per_domain) {
        dropped_ += counts.successful + counts.failed;
        continue;
      }
      into.policies.emplace(policy, counts);
      continue;
    }
    PolicyCounts& sum = policy_it->second;
    sum.successful += counts.successful;
    sum.failed += counts.failed;
    for (const auto& [failure, count] : counts.failures) {
      if (auto found = sum.failures.find(failure); found != sum.failures.end()) found->second += count;
      else if (sum.failures.size() < limits_.failures_per_policy) sum.failures.emplace(failure, count);
    }
  }
}

// Lines: D day domain begin | P type nstrings strings... nmx mx... successful failed |
// F result sending-ip mx-host receiving-ip information count. P belongs to the last D,
// F to the last P.
std::string DailyCounts::serialize() const {
  std::string out(header_line);
  out.push_back('\n');
  for (const auto& [key, day] : days_) {
    out += "D";
    put_field(out, std::to_string(key.first));
    put_field(out, key.second);
    put_field(out, std::to_string(day.begin));
    out.push_back('\n');
    for (const auto& [policy, counts] : day.policies) {
      out += "P";
      put_field(out, to_string(policy.type));
      put_field(out, std::to_string(policy.strings.size()));
      for (const auto& s : policy.strings) put_field(out, s);
      put_field(out, std::to_string(policy.mx_hosts.size()));
      for (const auto& s : policy.mx_hosts) put_field(out, s);
      put_field(out, std::to_string(counts.successful));
      put_field(out, std::to_string(counts.failed));
      out.push_back('\n');
      for (const auto& [failure, count] : counts.failures) {
        out += "F";
        put_field(out, to_string(failure.result));
        put_field(out, failure.sending_mta_ip);
        put_field(out, failure.receiving_mx_hostname);
        put_field(out, failure.receiving_ip);
        put_field(out, failure.additional_information);
        put_field(out, std::to_string(count));
        out.push_back('\n');
      }
    }
  }
  return out;
}

std::expected<DailyCounts, std::string> DailyCounts::parse(std::string_view text, CountLimits limits) {
  DailyCounts counts(limits);
  DomainDay* day = nullptr;
  std::string domain;
  PolicyCounts* policy = nullptr;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    const auto fail = [&] { return std::unexpected("line " + std::to_string(line_number) + " does not parse"); };
    if (line_number == 1) {
      if (line != header_line) return fail();
      continue;
    }
    if (line.empty()) continue;
    const auto raw = split_tabs(line);
    std::vector<std::string> fields;
    for (std::size_t i = 1; i < raw.size(); ++i) {
      auto field = unescape(raw[i]);
      if (!field) return fail();
      fields.push_back(std::move(*field));
    }
    if (raw[0] == "D" && fields.size() == 3) {
      const auto day_number = number<std::int64_t>(fields[0]);
      const auto begin = number<std::int64_t>(fields[2]);
      if (!day_number || !begin) return fail();
      domain = fields[1];
      day = &counts.days_[{*day_number, domain}];
      day->begin = *begin;
      policy = nullptr;
    } else if (raw[0] == "P" && day != nullptr && fields.size() >= 5) {
      PolicyDescription description;
      const auto type = policy_type_from(fields[0]);
      const auto strings = number<std::size_t>(fields[1]);
      if (!type || !strings || *strings + 5 > fields.size()) return fail();
      description.type = *type;
      description.domain = domain;
      description.strings.assign(fields.begin() + 2, fields.begin() + 2 + static_cast<std::ptrdiff_t>(*strings));
      const std::size_t at = 2 + *strings;
      const auto hosts = number<std::size_t>(fields[at]);
      if (!hosts || at + 1 + *hosts + 2 != fields.size()) return fail();
      description.mx_hosts.assign(fields.begin() + static_cast<std::ptrdiff_t>(at + 1),
                                  fields.begin() + static_cast<std::ptrdiff_t>(at + 1 + *hosts));
      const auto successful = number<std::uint64_t>(fields[at + 1 + *hosts]);
      const auto failed = number<std::uint64_t>(fields[at + 2 + *hosts]);
      if (!successful || !failed) return fail();
      policy = &day->policies[std::move(description)];
      policy->successful = *successful;
      policy->failed = *failed;
    } else if (raw[0] == "F" && policy != nullptr && fields.size() == 6) {
      const auto result = result_type_from(fields[0]);
      const auto count = number<std::uint64_t>(fields[5]);
      if (!result || !count) return fail();
      policy->failures[FailureKey{*result, fields[1], fields[2], fields[3], fields[4]}] = *count;
    } else {
      return fail();
    }
  }
  if (line_number == 0) return std::unexpected("empty state");
  return counts;
}

}  // namespace relay::tlsrpt
