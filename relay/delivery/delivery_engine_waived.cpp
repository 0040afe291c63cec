// relay/delivery/delivery_engine_waived.cpp — sessions for "TLS-Required: No" messages.
//
// Owns: delivering a message that waives its smart host's TLS requirement (RFC 8689
// §4.1: the sender prefers delivery to the hop's tls = "required", "verify" or "dane", or
// "auto" looking up TLSA records: relay/client/client_settings demands_tls). The hop's
// pooled sessions keep its policy, so such a message gets one session of its own under
// opportunistic TLS, in one of the hop's session slots (within its concurrency window and
// max_connections, beside its pooled sessions: relay/delivery/session_slots, started by
// open_sessions); its verdict is applied like any other (apply_verdict). A session
// that cannot be opened sends the message on to another hop of the route, or back to the
// queue, without charging the hop: its pooled sessions are the judge of its health. For
// the same reason such a hop, ejected because its pooled sessions failed (its TLS demand,
// most often), is still picked for these messages, and their success does not end the
// ejection.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "relay/client/smtp_client.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/delivery_engine_internal.hpp"
#include "relay/smtp/require_tls.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

// The usual hop health, except that a hop demanding TLS counts as usable when only its
// passive ejection keeps it out; probes and suspensions still apply.
class WaivingHealth final : public health::View {
 public:
  WaivingHealth(const health::View& usual, const health::View& without_ejection, const conf::Config& config) noexcept
      : usual_(usual), without_ejection_(without_ejection), config_(config) {}
  bool usable(std::size_t hop) const noexcept override {
    const auto& hop_config = config_.hops[hop];
    return usual_.usable(hop) ||
           (demands_tls(hop_config.tls, config_.dns.dnssec) && without_ejection_.usable(hop));
  }

 private:
  const health::View& usual_;
  const health::View& without_ejection_;
  const conf::Config& config_;
};

}  // namespace

std::optional<std::size_t> DeliveryEngine::pick_waiving(const Job& job, const HealthNow& health,
                                                        const std::vector<std::uint32_t>& load) {
  if (job.message->tls != TlsRequest::waived) return std::nullopt;
  const health::HopHealth without_ejection(no_ejection_, std::chrono::steady_clock::now(), health.probes.get(),
                                           &suspension_);
  const auto hop = selector_.pick(job.route, WaivingHealth(health.view, without_ejection, config_), job.tried, load);
  if (hop && !waives_hop_tls(job, *hop)) return std::nullopt;
  return hop;
}

bool DeliveryEngine::waives_hop_tls(const Job& job, std::size_t hop) const {
  return job.message->tls == TlsRequest::waived && demands_tls(config_.hops[hop].tls, config_.dns.dnssec);
}

asio::awaitable<void> DeliveryEngine::run_waived(std::size_t hop, Job job) {
  const auto& hop_config = config_.hops[hop];
  ClientSettings settings = client_settings(config_, hop_config, hop_config.host);
  waive_tls_requirement(settings);
  SmtpClient client(io_.get_executor(), std::move(settings));
  Work work;
  auto addresses = co_await resolver_->addresses(hop_config.host);
  std::string why;
  if (!addresses) {
    why = reply_line(ReplyId::hop_dns_failure, addresses.error().text);
  } else {
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& address : *addresses) endpoints.emplace_back(address, hop_config.port);
    const Transcript opened = co_await client.connect(endpoints);
    if (opened.opened()) {
      spdlog::debug("qid={} hop={} TLS-Required: No, session tls={}", queue::format_queue_id(job.message->queued.id),
                    hop_config.name, to_string(client.tls_kind()));
      work = co_await deliver(client, hop, std::move(job), false);
    } else {
      why = judge(opened, 0, false).why;
    }
  }
  if (!why.empty()) {
    Job left = dialled(std::move(job), hop, why);
    left.tried.push_back(hop);
    work.jobs.push_back(std::move(left));
  }
  co_await client.quit();
  --hops_[hop].connections;
  run(std::move(work));
  open_sessions(hop);  // the slot goes to what waits for it
}

}  // namespace relay
