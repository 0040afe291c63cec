// routing/mta_sts_policy.cpp — the RFC 8461 grammar, cache rules and verdicts (see the header).
#include "routing/mta_sts_policy.hpp"

#include <algorithm>
#include <charconv>

#include "routing/txt_version.hpp"

namespace routing {
namespace {

bool alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool wsp(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_wsp(std::string_view text) noexcept {
  while (!text.empty() && wsp(text.front())) text.remove_prefix(1);
  while (!text.empty() && wsp(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

// RFC 5321 Ldh-str: letters, digits, hyphens; not starting or ending with a hyphen.
bool ldh_label(std::string_view label) noexcept {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::ranges::all_of(label, [](char c) { return alnum(c) || c == '-'; });
}

bool mx_pattern(std::string_view pattern) noexcept {
  if (pattern.starts_with("*.")) pattern.remove_prefix(2);
  if (pattern.empty() || pattern.size() > 253) return false;
  for (std::size_t start = 0;;) {
    const std::size_t dot = pattern.find('.', start);
    if (!ldh_label(pattern.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// §3.1 sts-extension: name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."),
// value = 1*(%x21-3A / %x3C / %x3E-7E).
bool extension_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 32 || !alnum(name.front())) return false;
  return std::ranges::all_of(name, [](char c) { return alnum(c) || c == '_' || c == '-' || c == '.'; });
}
bool extension_value(std::string_view value) noexcept {
  if (value.empty()) return false;
  return std::ranges::all_of(value, [](char c) { return c >= 0x21 && c <= 0x7E && c != ';' && c != '='; });
}

}  // namespace

std::string_view to_string(TlsFailure failure) noexcept {
  switch (failure) {
    case TlsFailure::none: return "";
    case TlsFailure::starttls_not_supported: return "starttls-not-supported";
    case TlsFailure::certificate_host_mismatch: return "certificate-host-mismatch";
    case TlsFailure::certificate_expired: return "certificate-expired";
    case TlsFailure::validation_failure: return "validation-failure";
    case TlsFailure::sts_policy_fetch_error: return "sts-policy-fetch-error";
    case TlsFailure::sts_policy_invalid: return "sts-policy-invalid";
    case TlsFailure::sts_webpki_invalid: return "sts-webpki-invalid";
  }
  return "";
}

std::string_view to_string(StsMode mode) noexcept {
  switch (mode) {
    case StsMode::enforce: return "enforce";
    case StsMode::testing: return "testing";
    case StsMode::none: return "none";
  }
  return "none";
}

std::expected<StsRecord, std::string> parse_sts_record(std::string_view text) {
  // sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
  StsRecord record;
  bool first = true, have_id = false;
  while (!text.empty()) {
    const std::size_t semi = text.find(';');
    const std::string_view field = trim_wsp(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (field.empty()) {
      // Only the optional trailing separator may leave an empty field.
      if (!trim_wsp(text).empty() || first) return std::unexpected("empty field in the TXT record");
      break;
    }
    const std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return std::unexpected("field without '=' in the TXT record");
    const std::string_view key = trim_wsp(field.substr(0, eq)), value = trim_wsp(field.substr(eq + 1));
    if (first) {
      if (key != "v" || value != "STSv1") return std::unexpected("the TXT record does not start with v=STSv1");
      first = false;
      continue;
    }
    if (key == "id") {
      if (have_id) return std::unexpected("id given twice in the TXT record");
      if (value.empty() || value.size() > 32 || !std::ranges::all_of(value, alnum))
        return std::unexpected("id is not 1 to 32 letters and digits");
      record.id = std::string(value);
      have_id = true;
    } else if (!extension_name(key) || !extension_value(value)) {
      return std::unexpected("malformed field '" + std::string(key) + "' in the TXT record");
    }
  }
  if (first) return std::unexpected("empty TXT record");
  if (!have_id) return std::unexpected("the TXT record has no id");
  return record;
}

StsRecordLookup select_sts_record(const std::vector<std::string>& texts) {
  constexpr std::string_view version = "v=STSv1;";
  const VersionedRecord found = select_versioned_record(texts, version);
  if (found.status == VersionedRecord::Status::none) return {};
  if (found.status == VersionedRecord::Status::several)
    return {StsRecordLookup::Status::invalid, {}, versioned_record_problem(found, version)};
  auto record = parse_sts_record(found.record);
  if (!record) return {StsRecordLookup::Status::invalid, {}, record.error()};
  return {StsRecordLookup::Status::found, std::move(*record), {}};
}

std::expected<StsPolicy, std::string> parse_sts_policy(std::string_view body) {
  StsPolicy policy;
  bool have_version = false, have_mode = false, have_max_age = false;
  for (std::size_t line_no = 1; !body.empty(); ++line_no) {
    const std::size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (trim_wsp(line).empty()) continue;  // a blank (final) line
    const std::string where = "policy line " + std::to_string(line_no) + ": ";
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::unexpected(where + "no ':'");
    const std::string_view key = line.substr(0, colon), value = trim_wsp(line.substr(colon + 1));
    if (key.empty() || !std::ranges::all_of(key, [](char c) { return alnum(c) || c == '_' || c == '-' || c == '.'; }))
      return std::unexpected(where + "malformed key");
    if (key == "version") {
      if (have_version) continue;  // the first occurrence counts
      if (value != "STSv1") return std::unexpected(where + "version is not STSv1");
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) continue;
      if (value == "enforce") policy.mode = StsMode::enforce;
      else if (value == "testing") policy.mode = StsMode::testing;
      else if (value == "none") policy.mode = StsMode::none;
      else return std::unexpected(where + "mode is not enforce, testing or none");
      have_mode = true;
    } else if (key == "max_age") {
      if (have_max_age) continue;
      std::int64_t seconds = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (value.empty() || value.size() > 10 || ec != std::errc{} || end != value.data() + value.size() ||
          !std::ranges::all_of(value, [](char c) { return c >= '0' && c <= '9'; }) || seconds > sts_max_age_limit)
        return std::unexpected(where + "max_age is not 0 to 31557600 seconds");
      policy.max_age = seconds;
      have_max_age = true;
    } else if (key == "mx") {
      std::string pattern = lower(value);
      if (!mx_pattern(pattern)) return std::unexpected(where + "mx '" + std::string(value) + "' is not a host name pattern");
      policy.mx.push_back(std::move(pattern));
    }
    // Any other key is an extension: ignored (§3.2).
  }
  if (!have_version) return std::unexpected("policy has no version");
  if (!have_mode) return std::unexpected("policy has no mode");
  if (!have_max_age) return std::unexpected("policy has no max_age");
  if (policy.mx.empty() && policy.mode != StsMode::none) return std::unexpected("policy has no mx");
  return policy;
}

bool sts_mx_matches(std::string_view pattern, std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  const std::string name = lower(host);
  if (pattern.starts_with("*.")) {
    // §4.1: the wildcard stands for exactly one label, the leftmost.
    const std::size_t dot = name.find('.');
    return dot != std::string::npos && dot > 0 && std::string_view(name).substr(dot + 1) == pattern.substr(2);
  }
  return name == pattern;
}

bool sts_mx_matches(const StsPolicy& policy, std::string_view host) {
  return std::ranges::any_of(policy.mx, [&](const std::string& pattern) { return sts_mx_matches(pattern, host); });
}

bool sts_expired(const StsCacheEntry& entry, std::int64_t now) noexcept {
  return now >= entry.fetched_at + entry.policy.max_age;
}

bool sts_needs_fetch(const std::optional<StsCacheEntry>& stored, const StsRecordLookup& record,
                     std::int64_t now) noexcept {
  if (!stored) return record.status == StsRecordLookup::Status::found;
  if (record.status == StsRecordLookup::Status::found && record.record.id != stored->policy.id) return true;
  const std::int64_t margin = std::min<std::int64_t>(stored->policy.max_age / 10, 86400);
  // Refreshed only while the domain still publishes a record: without one the stored
  // policy runs out on its own (§3.3: a missing record does not end a cached policy).
  return record.status == StsRecordLookup::Status::found && now >= stored->fetched_at + stored->policy.max_age - margin;
}

StsResolution resolve_sts(const std::optional<StsCacheEntry>& stored, const StsRecordLookup& record,
                          const std::optional<StsFetchResult>& fetched, std::int64_t now) {
  StsResolution result;
  const bool stored_usable = stored && !sts_expired(*stored, now);
  if (fetched) {
    if (fetched->status == StsFetchResult::Status::ok) {
      auto policy = parse_sts_policy(fetched->body);
      if (policy) {
        policy->id = record.record.id;
        result.entry = StsCacheEntry{std::move(*policy), now};
        result.store = true;
        return result;
      }
      result.failure = TlsFailure::sts_policy_invalid;
      result.why = policy.error();
    } else {
      result.failure = fetched->status == StsFetchResult::Status::invalid          ? TlsFailure::sts_policy_invalid
                       : fetched->status == StsFetchResult::Status::webpki_invalid ? TlsFailure::sts_webpki_invalid
                                                                                   : TlsFailure::sts_policy_fetch_error;
      result.why = fetched->why;
    }
  } else if (record.status == StsRecordLookup::Status::invalid && !stored_usable) {
    result.failure = TlsFailure::sts_policy_invalid;
    result.why = record.why;
  }
  // §5.1: a failed refresh keeps the stored policy in force until it expires.
  if (stored_usable) result.entry = stored;
  return result;
}

std::string sts_cache_path(const std::string& cache_dir, const std::string& domain) {
  const bool plain = !domain.empty() && domain.size() <= 253 && domain.front() != '.' && domain.find("..") == std::string::npos &&
                     std::ranges::all_of(domain, [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
                     });
  if (cache_dir.empty() || !plain) return {};
  return cache_dir + (cache_dir.ends_with('/') ? "" : "/") + domain;
}

std::string sts_explanation(const std::string& domain, const std::optional<std::string>& cache_text, std::int64_t now) {
  if (!cache_text) return "mta-sts:    no policy stored for " + domain + " (looked up at the first delivery)\n";
  const auto entry = parse_sts_cache(*cache_text);
  if (!entry) return "mta-sts:    stored policy of " + domain + " unreadable: " + entry.error() + "\n";
  std::string mx;
  for (const auto& pattern : entry->policy.mx) mx += (mx.empty() ? "" : ", ") + pattern;
  const std::int64_t left = entry->fetched_at + entry->policy.max_age - now;
  return "mta-sts:    policy id " + entry->policy.id + ", mode " + std::string(to_string(entry->policy.mode)) +
         ", mx " + (mx.empty() ? "(none)" : mx) +
         (left > 0 ? ", in force for " + std::to_string(left) + " s more" : ", expired") + "\n";
}

std::string format_sts_cache(const StsCacheEntry& entry) {
  std::string text = "fetched_at: " + std::to_string(entry.fetched_at) + "\nid: " + entry.policy.id +
                     "\nversion: STSv1\nmode: " + std::string(to_string(entry.policy.mode)) +
                     "\nmax_age: " + std::to_string(entry.policy.max_age) + "\n";
  for (const auto& mx : entry.policy.mx) text += "mx: " + mx + "\n";
  return text;
}

std::expected<StsCacheEntry, std::string> parse_sts_cache(std::string_view text) {
  // The stored form is a policy file with two extension keys in front: fetched_at and id
  // (a policy parser ignores unknown keys, so the same grammar reads it back).
  StsCacheEntry entry;
  std::optional<std::int64_t> fetched_at;
  std::optional<std::string> id;
  for (std::string_view rest = text; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.starts_with("fetched_at: ")) {
      std::int64_t value = 0;
      const std::string_view digits = line.substr(12);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc{} || end != digits.data() + digits.size()) return std::unexpected("bad fetched_at");
      fetched_at = value;
    } else if (line.starts_with("id: ")) {
      id = std::string(line.substr(4));
    }
  }
  if (!fetched_at || !id) return std::unexpected("fetched_at or id missing");
  auto policy = parse_sts_policy(text);
  if (!policy) return std::unexpected(policy.error());
  entry.policy = std::move(*policy);
  entry.policy.id = std::move(*id);
  entry.fetched_at = *fetched_at;
  return entry;
}

StsVerdict decide_sts(conf::TlsPolicy mode, const StsResolution& resolution, std::string_view mx_host) {
  if (mode != conf::TlsPolicy::automatic && mode != conf::TlsPolicy::mta_sts) return {};
  const bool in_force = resolution.entry && resolution.entry->policy.mode != StsMode::none;
  if (!in_force) {
    if (mode == conf::TlsPolicy::mta_sts) {
      const std::string why = resolution.failure != TlsFailure::none ? "no MTA-STS policy: " + resolution.why
                              : resolution.entry ? "MTA-STS policy mode is none"
                                                 : "no MTA-STS policy";
      return {StsVerdict::Kind::defer, resolution.failure, why};
    }
    return {StsVerdict::Kind::ordinary, resolution.failure, resolution.why};
  }
  const StsPolicy& policy = resolution.entry->policy;
  if (!sts_mx_matches(policy, mx_host)) {
    // §4.2: under testing, a non-matching MX host is still used (and reported).
    if (policy.mode == StsMode::testing)
      return {StsVerdict::Kind::report, TlsFailure::validation_failure, "MX host not in the MTA-STS policy"};
    return {StsVerdict::Kind::skip, TlsFailure::validation_failure,
            "MX host not in the MTA-STS policy (id " + policy.id + ")"};
  }
  if (policy.mode == StsMode::testing) return {StsVerdict::Kind::report, TlsFailure::none, {}};
  return {StsVerdict::Kind::verify, TlsFailure::none, {}};
}

TlsFailure classify_session_failure(bool starttls_offered, CertificateProblem problem) noexcept {
  if (!starttls_offered) return TlsFailure::starttls_not_supported;
  switch (problem) {
    case CertificateProblem::host_mismatch: return TlsFailure::certificate_host_mismatch;
    case CertificateProblem::expired: return TlsFailure::certificate_expired;
    case CertificateProblem::none:       // a handshake failure of another kind
    case CertificateProblem::untrusted: return TlsFailure::validation_failure;
  }
  return TlsFailure::validation_failure;
}

}  // namespace routing
