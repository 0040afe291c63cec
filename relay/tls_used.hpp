// relay/tls_used.hpp — what protected one SMTP session to a next hop, named once.
//
// Owns: the TlsKind vocabulary (plaintext, TLS without authentication, a verified chain
// and name, a DANE match, an MTA-STS-verified session) with its one table of names, which
// kinds authenticated the server (verified()), and TlsUsed: the kind plus the protocol and
// cipher a session negotiated. Decisions take the kind, never its name. The delivery log line, the queue's attempt
// history (`hubrelay queue show`), tracking records and hubrelay_tls_deliveries_total all
// print these names. A new kind is one enumerator and one row of tls_kinds.
// Pure: constant data and string formatting; no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay {

enum class TlsKind : std::uint8_t { none, opportunistic, verified, dane, mta_sts };

struct TlsKindName {
  TlsKind kind;
  std::string_view name;
};

/// Every kind, in enumerator order (checked below).
inline constexpr std::array tls_kinds{
    TlsKindName{TlsKind::none, "none"},                    // plaintext
    TlsKindName{TlsKind::opportunistic, "opportunistic"},  // TLS, any certificate
    TlsKindName{TlsKind::verified, "verified"},            // tls = "verify": chain and name checked
    TlsKindName{TlsKind::dane, "dane"},                    // matched the host's TLSA records (RFC 7672)
    TlsKindName{TlsKind::mta_sts, "mta-sts"},              // chain and MX name checked under MTA-STS (RFC 8461)
};

constexpr bool tls_kinds_in_order() noexcept {
  for (std::size_t i = 0; i < tls_kinds.size(); ++i)
    if (static_cast<std::size_t>(tls_kinds[i].kind) != i) return false;
  return true;
}
static_assert(tls_kinds_in_order(), "tls_kinds lists every TlsKind once, in enumerator order");

constexpr std::string_view to_string(TlsKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < tls_kinds.size() ? tls_kinds[i].name : std::string_view("unknown");
}

/// Whether a session of this kind authenticated the server (REQUIRETLS needs it, RFC 8689
/// §4.2.1). No default: a new kind must say.
constexpr bool verified(TlsKind kind) noexcept {
  switch (kind) {
    case TlsKind::none:
    case TlsKind::opportunistic: return false;
    case TlsKind::verified:
    case TlsKind::dane:
    case TlsKind::mta_sts: return true;
  }
  return false;
}

/// The TLS a session negotiated: its kind, and protocol and cipher ("" without TLS).
struct TlsUsed {
  TlsKind kind = TlsKind::none;
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
};

/// One text for the queue's history: "dane TLSv1.3 TLS_AES_256_GCM_SHA384", or "none".
inline std::string describe(const TlsUsed& tls) {
  std::string text(to_string(tls.kind));
  if (!tls.protocol.empty()) text += " " + tls.protocol;
  if (!tls.cipher.empty()) text += " " + tls.cipher;
  return text;
}

/// The log line's fields: "tls=dane tls_protocol=TLSv1.3 tls_cipher=TLS_AES_256_GCM_SHA384",
/// or "tls=none".
inline std::string log_fields(const TlsUsed& tls) {
  std::string text = "tls=" + std::string(to_string(tls.kind));
  if (!tls.protocol.empty()) text += " tls_protocol=" + tls.protocol;
  if (!tls.cipher.empty()) text += " tls_cipher=" + tls.cipher;
  return text;
}

}  // namespace relay
