// relay/delivery/delivery_engine_tls_report.cpp — MX sessions into TLS reporting.
//
// Owns: which sessions TLS reporting hears of: those of hops with tls = "auto", "dane" or
// "mta-sts" (the policy-aware ones), except sessions carrying a TLS report itself — a
// report about the delivery of reports could go on forever (RFC 8460 §5.3 asks for no such loop). A
// report message is known by the listener name it is queued under (tls_report_listener).
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/delivery/tls_session_report.hpp"

namespace relay {

void DeliveryEngine::report_tls_session(std::size_t hop, const Job& job,
                                        std::optional<tlsrpt::TlsSessionResult> session) {
  if (!session || !tls_sessions_ || !reports_tls_sessions(config_.hops[hop].tls)) return;
  if (job.message->queued.listener == tls_report_listener) return;
  tls_sessions_(*session);
}

}  // namespace relay
