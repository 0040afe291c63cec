// routing/mta_sts_policy.hpp — MTA-STS (RFC 8461) as pure decisions.
//
// Owns: reading the `_mta-sts` TXT record (§3.1) and the policy file (§3.2), matching
// an MX host against the policy's patterns (§4.1), the cache rules (when a stored policy
// is refreshed, when it still applies; §3.3, §5.1), the text form of a stored policy, and
// the verdict for one MX host: require a WebPKI-verified session, deliver and only
// report, skip the host, or defer. Failures carry the RFC 8460 result type, so TLS
// reporting can count them.
// Never: performs I/O or reads the clock (time comes in as seconds since the epoch).
// Standards: RFC 8461 §3.1, §3.2, §3.3, §4.1, §4.2, §5, §5.1; RFC 8460 §4.3.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"

namespace routing {

/// RFC 8460 §4.3 result types this relay can tell apart (none: no failure).
enum class TlsFailure : std::uint8_t {
  none,
  starttls_not_supported,
  certificate_host_mismatch,
  certificate_expired,
  validation_failure,
  sts_policy_fetch_error,
  sts_policy_invalid,
  sts_webpki_invalid,
};
/// The RFC 8460 spelling ("sts-policy-fetch-error"); "" for none.
std::string_view to_string(TlsFailure failure) noexcept;

/// The `_mta-sts.<domain>` TXT record (§3.1): only the id matters to a sender.
struct StsRecord {
  std::string id;  // 1*32 ALPHA / DIGIT
};

/// One TXT record's text; an error when it is not a valid STSv1 record.
std::expected<StsRecord, std::string> parse_sts_record(std::string_view text);

/// What the TXT lookup says. §3.1: records not starting with "v=STSv1;" are discarded;
/// anything but exactly one remaining, valid record means "no policy available".
struct StsRecordLookup {
  enum class Status : std::uint8_t { found, none, invalid };
  Status status = Status::none;
  StsRecord record;
  std::string why;  // invalid: what was wrong
};
StsRecordLookup select_sts_record(const std::vector<std::string>& texts);

enum class StsMode : std::uint8_t { enforce, testing, none };
std::string_view to_string(StsMode mode) noexcept;

/// A policy file (§3.2), with the id of the TXT record it was fetched under.
struct StsPolicy {
  StsMode mode = StsMode::none;
  std::vector<std::string> mx;      // patterns, lower case, without a trailing dot
  std::int64_t max_age = 0;         // seconds, 0..31557600
  std::string id;
  friend bool operator==(const StsPolicy&, const StsPolicy&) = default;
};

inline constexpr std::int64_t sts_max_age_limit = 31557600;

/// The body served at https://mta-sts.<domain>/.well-known/mta-sts.txt. Lines end in
/// CRLF or LF; unknown keys are ignored (§3.2); version, mode and max_age must be valid
/// and present, and mx must be present unless mode is none.
std::expected<StsPolicy, std::string> parse_sts_policy(std::string_view body);

/// §4.1: whether `host` (an MX host name, any case, trailing dot allowed) matches one
/// pattern; "*.example.net" matches exactly one leftmost label.
bool sts_mx_matches(std::string_view pattern, std::string_view host);
bool sts_mx_matches(const StsPolicy& policy, std::string_view host);

// --- cache ---------------------------------------------------------------------

/// A policy as kept in the cache and on disk.
struct StsCacheEntry {
  StsPolicy policy;
  std::int64_t fetched_at = 0;  // seconds since the epoch
  friend bool operator==(const StsCacheEntry&, const StsCacheEntry&) = default;
};

/// §3.3 / §5.1: a stored policy applies until fetched_at + max_age.
bool sts_expired(const StsCacheEntry& entry, std::int64_t now) noexcept;

/// Whether the policy must be fetched again: nothing stored, the TXT id differs from the
/// stored one (§3.3), or the stored policy is in the last tenth of its life (at most one
/// day before expiry: refreshed before it lapses, §5.1). A missing TXT record does not
/// force a fetch by itself (§3.3: keep the cached policy).
bool sts_needs_fetch(const std::optional<StsCacheEntry>& stored, const StsRecordLookup& record,
                     std::int64_t now) noexcept;

/// How an HTTPS fetch ended.
struct StsFetchResult {
  /// webpki_invalid: the policy host's certificate did not verify (RFC 8460
  /// sts-webpki-invalid); fetch_error: everything else that kept the body away.
  enum class Status : std::uint8_t { ok, fetch_error, invalid, webpki_invalid };
  Status status = Status::fetch_error;
  std::string body;  // ok
  std::string why;   // otherwise
};

/// The policy in force after a lookup: what came back from a fetch (when `fetched` is
/// set), else the stored one when still unexpired — a DNS or HTTPS outage never drops a
/// domain to plaintext. §5.1: a mode-none policy replaces a stored one (that is how a
/// domain withdraws). `failure` says why nothing is in force, for reporting.
struct StsResolution {
  std::optional<StsCacheEntry> entry;                   // the policy to apply
  TlsFailure failure = TlsFailure::none;                // fetch/parse failure, if any
  std::string why;                                      // the failure's text
  bool store = false;                                   // entry is new: write it to the cache
};
StsResolution resolve_sts(const std::optional<StsCacheEntry>& stored, const StsRecordLookup& record,
                          const std::optional<StsFetchResult>& fetched, std::int64_t now);

/// The cache file of `domain` under `cache_dir` (<state_dir>/mta-sts); "" when the name
/// could not be a domain (a file name must never come from text shaped into a path).
std::string sts_cache_path(const std::string& cache_dir, const std::string& domain);

/// The "mta-sts:" line of `hubrelay route explain` for `domain`: the stored policy (the
/// cache file's text; nullopt: none) and whether it is still in force at `now`.
std::string sts_explanation(const std::string& domain, const std::optional<std::string>& cache_text, std::int64_t now);

/// The text of a stored entry (one small file per domain) and back.
std::string format_sts_cache(const StsCacheEntry& entry);
std::expected<StsCacheEntry, std::string> parse_sts_cache(std::string_view text);

// --- the verdict for one MX host -----------------------------------------------------

struct StsVerdict {
  enum class Kind : std::uint8_t {
    ordinary,  // no MTA-STS for this host: the hop's own TLS behaviour
    verify,    // STARTTLS mandatory, certificate chains to the trust store and names the host
    report,    // testing: verify, but deliver anyway when it fails (and report the failure)
    skip,      // enforce, host not in the policy's mx list: not used
    defer,     // tls = "mta-sts" without a policy in force: the mail waits
  };
  Kind kind = Kind::ordinary;
  TlsFailure failure = TlsFailure::none;  // skip/defer (and the fetch failure under ordinary)
  std::string why;
};

/// `mode` is the hop's tls policy (automatic or mta_sts matter; others give ordinary).
/// `resolution` is what resolve_sts found for the recipient domain.
StsVerdict decide_sts(conf::TlsPolicy mode, const StsResolution& resolution, std::string_view mx_host);

/// What the client's TLS layer found wrong with the server's certificate.
enum class CertificateProblem : std::uint8_t { none, host_mismatch, expired, untrusted };

/// The result type of a failed session under MTA-STS, from what the client saw:
/// STARTTLS missing, or the certificate problem (none when the handshake failed for
/// another reason).
TlsFailure classify_session_failure(bool starttls_offered, CertificateProblem problem) noexcept;

}  // namespace routing
