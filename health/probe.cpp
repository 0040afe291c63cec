// health/probe.cpp — run_check: one check kind, one probe (see health/probe.hpp).
#include "health/probe.hpp"

namespace health {

boost::asio::awaitable<CheckResult> run_check(const conf::CheckConfig& check, std::string helo) {
  switch (check.kind) {
    case conf::CheckKind::icmp: co_return co_await icmp_probe(check);
    case conf::CheckKind::tcp: co_return co_await tcp_probe(check);
    case conf::CheckKind::http: co_return co_await http_probe(check);
    case conf::CheckKind::https: co_return co_await https_probe(check);
    case conf::CheckKind::smtp: co_return co_await smtp_probe(check, helo);
    case conf::CheckKind::dns: co_return co_await dns_probe(check);
  }
  co_return CheckResult{check.label, ProbeStatus::setup_error, 0, "unknown check type"};
}

}  // namespace health
