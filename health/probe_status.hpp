// health/probe_status.hpp — what one probe found, as a layered status instead of free text.
//
// Owns: ProbeStatus (one value per outcome an operator or a rule can tell apart, grouped
// by the layer that decided it, as HAProxy's check_statuses are), the constexpr table
// that gives each value a class (ok, transient, bad answer, local), a short tag ("L4CON",
// "L7STS", "DNSNX") and a text, and the one-line rendering reports and alerts print:
// "unexpected HTTP status: 503 (expected 200) [L7STS]". The facts behind a status (the
// HTTP status seen, the OS error, the addresses found) travel beside it as detail text.
// Invariant: the table has one row per enumerator, in enumerator order (static_assert).
// Never: performs I/O; pure data and functions, part of the pure health library.
// See also: health/probe.hpp (the probes that produce it), health/report.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace health {

/// Grouped by layer, lowest first; within a layer failures come before its ok value.
/// New values go into their layer's group and get a row at the same place in the table.
enum class ProbeStatus : std::uint8_t {
  // Local: the probe could not run; this says nothing about the target.
  socket_error,          // cannot open a socket or bind the configured source address
  setup_error,           // cannot load trust anchors or set up the DNS channel
  probe_exception,       // the probe coroutine threw
  probe_overrun,         // the probe did not finish within its timeout and the grace
  // Name resolution of the target (tcp, http, https, smtp, icmp).
  resolve_failed,
  resolve_timeout,
  // L3: ICMP echo.
  icmp_send_failed,
  icmp_no_reply,
  icmp_too_few_replies,
  icmp_ok,
  // L4: TCP connect.
  connect_failed,        // refused, unreachable, reset: the detail says which
  connect_timeout,
  connect_ok,
  // L6: TLS.
  tls_handshake_failed,  // includes a certificate that fails verification
  tls_timeout,
  // L7: SMTP and HTTP exchanges.
  reply_timeout,         // no complete banner, EHLO reply or HTTP response in time
  connection_lost,       // the peer closed or reset before a complete reply
  bad_response,          // not an HTTP response, or not an SMTP reply
  smtp_bad_banner,       // greeting other than 220 (RFC 5321 §4.2)
  smtp_ehlo_refused,     // EHLO answered other than 250
  http_status_mismatch,  // status not among expect_status
  http_body_mismatch,    // expected status, but the body lacks body_contains
  protocol_ok,
  // DNS answer (dns checks, via c-ares).
  dns_nxdomain,
  dns_servfail,
  dns_refused,
  dns_timeout,
  dns_no_answer,         // the name exists without A or AAAA records
  dns_error,             // any other failure (malformed answer, connection refused)
  dns_ok,
};

/// What a status means for the target.
enum class ProbeClass : std::uint8_t {
  ok,          // the target answered as expected
  transient,   // no answer, refused or timed out: the target or the way to it is down
  bad_answer,  // the target answered, but not as expected
  local,       // our side could not probe (still a failed check: nothing was proven)
};

struct ProbeStatusInfo {
  ProbeStatus status;
  ProbeClass klass;
  std::string_view tag;   // at most 8 characters, stable: scripts and dashboards read it
  std::string_view text;  // what happened, in words
};

inline constexpr std::array probe_status_table{
    ProbeStatusInfo{ProbeStatus::socket_error, ProbeClass::local, "SOCKERR", "socket error"},
    ProbeStatusInfo{ProbeStatus::setup_error, ProbeClass::local, "SETUP", "probe set-up failed"},
    ProbeStatusInfo{ProbeStatus::probe_exception, ProbeClass::local, "PROCERR", "probe failed with an exception"},
    ProbeStatusInfo{ProbeStatus::probe_overrun, ProbeClass::local, "PROCTOUT", "did not finish in time"},
    ProbeStatusInfo{ProbeStatus::resolve_failed, ProbeClass::transient, "RESOLV", "cannot resolve the target"},
    ProbeStatusInfo{ProbeStatus::resolve_timeout, ProbeClass::transient, "RESTOUT", "timed out resolving"},
    ProbeStatusInfo{ProbeStatus::icmp_send_failed, ProbeClass::transient, "L3SEND", "cannot send echo request"},
    ProbeStatusInfo{ProbeStatus::icmp_no_reply, ProbeClass::transient, "L3TOUT", "no echo reply"},
    ProbeStatusInfo{ProbeStatus::icmp_too_few_replies, ProbeClass::transient, "L3FEW", "too few echo replies"},
    ProbeStatusInfo{ProbeStatus::icmp_ok, ProbeClass::ok, "L3OK", "echo replies received"},
    ProbeStatusInfo{ProbeStatus::connect_failed, ProbeClass::transient, "L4CON", "connection failed"},
    ProbeStatusInfo{ProbeStatus::connect_timeout, ProbeClass::transient, "L4TOUT", "timed out connecting"},
    ProbeStatusInfo{ProbeStatus::connect_ok, ProbeClass::ok, "L4OK", "connected"},
    ProbeStatusInfo{ProbeStatus::tls_handshake_failed, ProbeClass::bad_answer, "L6RSP", "TLS handshake failed"},
    ProbeStatusInfo{ProbeStatus::tls_timeout, ProbeClass::transient, "L6TOUT", "timed out in the TLS handshake"},
    ProbeStatusInfo{ProbeStatus::reply_timeout, ProbeClass::transient, "L7TOUT", "timed out waiting for the reply"},
    ProbeStatusInfo{ProbeStatus::connection_lost, ProbeClass::transient, "L7CLOSE", "connection lost before the reply"},
    ProbeStatusInfo{ProbeStatus::bad_response, ProbeClass::bad_answer, "L7RSP", "malformed reply"},
    ProbeStatusInfo{ProbeStatus::smtp_bad_banner, ProbeClass::bad_answer, "L7BANR", "SMTP greeting not 220"},
    ProbeStatusInfo{ProbeStatus::smtp_ehlo_refused, ProbeClass::bad_answer, "L7EHLO", "EHLO refused"},
    ProbeStatusInfo{ProbeStatus::http_status_mismatch, ProbeClass::bad_answer, "L7STS", "unexpected HTTP status"},
    ProbeStatusInfo{ProbeStatus::http_body_mismatch, ProbeClass::bad_answer, "L7BODY", "HTTP body lacks the expected text"},
    ProbeStatusInfo{ProbeStatus::protocol_ok, ProbeClass::ok, "L7OK", "reply as expected"},
    ProbeStatusInfo{ProbeStatus::dns_nxdomain, ProbeClass::bad_answer, "DNSNX", "name does not exist (NXDOMAIN)"},
    ProbeStatusInfo{ProbeStatus::dns_servfail, ProbeClass::transient, "DNSSRVF", "server failure (SERVFAIL)"},
    ProbeStatusInfo{ProbeStatus::dns_refused, ProbeClass::bad_answer, "DNSREF", "query refused (REFUSED)"},
    ProbeStatusInfo{ProbeStatus::dns_timeout, ProbeClass::transient, "DNSTOUT", "timed out waiting for the DNS answer"},
    ProbeStatusInfo{ProbeStatus::dns_no_answer, ProbeClass::bad_answer, "DNSNOANS", "no A or AAAA record"},
    ProbeStatusInfo{ProbeStatus::dns_error, ProbeClass::transient, "DNSERR", "DNS lookup failed"},
    ProbeStatusInfo{ProbeStatus::dns_ok, ProbeClass::ok, "DNSOK", "addresses found"},
};

static_assert(probe_status_table.size() == static_cast<std::size_t>(ProbeStatus::dns_ok) + 1,
              "probe_status_table needs one row per ProbeStatus");
static_assert(
    [] {
      for (std::size_t i = 0; i < probe_status_table.size(); ++i)
        if (static_cast<std::size_t>(probe_status_table[i].status) != i || probe_status_table[i].tag.empty() ||
            probe_status_table[i].tag.size() > 8 || probe_status_table[i].text.empty())
          return false;
      return true;
    }(),
    "probe_status_table rows must follow the enumerator order, with a tag of 1-8 characters and a text");

constexpr const ProbeStatusInfo& info(ProbeStatus s) noexcept { return probe_status_table[static_cast<std::size_t>(s)]; }
constexpr ProbeClass class_of(ProbeStatus s) noexcept { return info(s).klass; }
constexpr std::string_view tag(ProbeStatus s) noexcept { return info(s).tag; }
constexpr bool is_ok(ProbeStatus s) noexcept { return class_of(s) == ProbeClass::ok; }

std::string_view to_string(ProbeClass c) noexcept;

/// "unexpected HTTP status: 503 (expected 200) [L7STS]"; without detail "timed out connecting
/// [L4TOUT]". The text leads, so a report line reads as it did when the detail was free text.
std::string describe(ProbeStatus status, std::string_view detail);

}  // namespace health
