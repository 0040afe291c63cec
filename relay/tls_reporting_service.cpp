// relay/tls_reporting_service.cpp — counting, saving and sending TLS reports (see the header).
#include "relay/tls_reporting_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "health/report.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/delivery/notices.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/delivery/tls_session_report.hpp"
#include "relay/tlsrpt/report.hpp"
#include "relay/tlsrpt/report_mail.hpp"
#include "relay/tlsrpt/rua_record.hpp"
#include "relay/tlsrpt/state_file.hpp"
#include "routing/https_request.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

constexpr std::int64_t seconds_per_day = 86400;
constexpr queue::UnixMillis report_lease_ms = 10 * 60 * 1000;
// A report that could not be sent is tried again at each run for this many days after
// the day it covers, then dropped (logged).
constexpr std::int64_t finished_days_kept = 7;
// An https: upload: the whole exchange, and the largest answer read (it is not used).
constexpr std::chrono::seconds report_post_timeout{30};
constexpr std::size_t report_answer_limit = 64 * 1024;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

tlsrpt::CountLimits count_limits() {
  tlsrpt::CountLimits limits;
  limits.finished_days_kept = finished_days_kept;
  return limits;
}

std::string random_token() {
  std::random_device rd;
  return fmt::format("{:x}{:08x}", now_seconds(), rd());
}

}  // namespace

TlsReportingService::TlsReportingService(asio::io_context& io, std::function<conf::ConfigPtr()> config,
                                         std::function<DeliveryEngine&()> delivery, queue::MessageQueue& queue,
                                         std::string state_dir)
    : io_(io),
      config_(std::move(config)),
      delivery_(std::move(delivery)),
      queue_(queue),
      state_path_(std::move(state_dir) + "/tls-report-counts"),
      resolver_(std::make_unique<routing::DnsResolver>(io.get_executor(), config_()->dns)),
      timer_(io),
      counts_(count_limits()) {}

void TlsReportingService::start() {
  auto loaded = tlsrpt::load_counts(state_path_, count_limits());
  if (loaded) {
    counts_ = std::move(*loaded);
  } else {
    // A damaged file costs one day's report at most; delivery must not wait for it.
    spdlog::error("tls reporting: {}; starting with no counts", loaded.error());
  }
  const std::int64_t now = now_seconds();
  counts_.roll(now);
  next_send_ = next_send_time(now, true);
  tick();
}

void TlsReportingService::stop() {
  stopped_ = true;
  timer_.cancel();
  if (dirty_) save();
}

void TlsReportingService::record(const tlsrpt::TlsSessionResult& session) {
  counts_.record(session, now_seconds());
  dirty_ = true;
}

void TlsReportingService::count_sessions_of(DeliveryEngine& engine, const conf::Config& config) {
  if (config.tls_reporting.enabled)
    engine.set_tls_sessions([this](const tlsrpt::TlsSessionResult& session) { record(session); });
}

std::int64_t TlsReportingService::next_send_time(std::int64_t now, bool after_restart) {
  const auto& reporting = config_()->tls_reporting;
  std::minstd_rand rng{std::random_device{}()};
  const std::int64_t today = tlsrpt::utc_day(now) * seconds_per_day + reporting.send_hour * 3600;
  // RFC 8460 §5.2: spread the reports over the hour after the chosen time.
  const std::int64_t jitter = std::uniform_int_distribution<std::int64_t>(0, 3599)(rng);
  // After a restart past today's time, yesterday's reports still go (within minutes).
  if (after_restart && now >= today && !counts_.finished(now).empty())
    return now + std::uniform_int_distribution<std::int64_t>(60, 300)(rng);
  return (now < today ? today : today + seconds_per_day) + jitter;
}

void TlsReportingService::tick() {
  if (stopped_) return;
  const std::int64_t now = now_seconds();
  counts_.roll(now);
  for (const auto& [day, domain] : counts_.take_expired()) {
    spdlog::warn("tls reporting: domain={} report of {} dropped: not sent within {} days", domain,
                 health::format_utc(day * seconds_per_day * 1000).substr(0, 10), finished_days_kept);
    dirty_ = true;
  }
  if (dirty_) save();
  if (now >= next_send_) {
    next_send_ = next_send_time(now, false);
    if (config_()->tls_reporting.enabled) (void)send_now(false);
  }
  timer_.expires_after(std::chrono::minutes(1));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

void TlsReportingService::save() {
  dirty_ = false;
  if (auto saved = tlsrpt::save_counts(state_path_, counts_); !saved) {
    dirty_ = true;  // tried again next minute
    spdlog::error("tls reporting: {}", saved.error());
  }
}

std::expected<std::size_t, std::string> TlsReportingService::send_now(bool include_today) {
  if (!config_()->tls_reporting.enabled) return std::unexpected("TLS reporting is off ([tls_reporting] enabled)");
  if (sending_) return std::unexpected("reports are being sent already");
  const std::int64_t now = now_seconds();
  counts_.roll(now);
  auto keys = include_today ? counts_.all() : counts_.finished(now);
  std::erase_if(keys, [this](const auto& key) { return counts_.find(key)->policies.empty(); });
  sending_ = true;
  const std::size_t domains = keys.size();
  asio::co_spawn(io_, send(std::move(keys), now), [this](std::exception_ptr error) {
    sending_ = false;
    if (error) spdlog::error("tls reporting: sending stopped by an internal error");
  });
  return domains;
}

asio::awaitable<void> TlsReportingService::send(std::vector<tlsrpt::DailyCounts::Key> keys, std::int64_t now) {
  const std::int64_t today = tlsrpt::utc_day(now);
  for (const auto& key : keys) {
    const tlsrpt::DomainDay* found = counts_.find(key);
    if (found == nullptr) continue;
    tlsrpt::DomainDay day = *found;
    // Counted from now on: a report of part of today is followed by one of the rest.
    const bool partial = key.first == today;
    if (partial) counts_.restart(key, now + 1);
    else counts_.erase(key);
    dirty_ = true;
    const std::int64_t end = partial ? now : (key.first + 1) * seconds_per_day - 1;
    if (co_await send_one(key.second, day, end)) continue;
    // Not sent: put back for the next run, until the day is too old (take_expired).
    counts_.merge(key, day);
    spdlog::warn("tls reporting: domain={} report kept, tried again at the next run (for up to {} days)", key.second,
                 finished_days_kept);
  }
  if (dirty_) save();
}

asio::awaitable<bool> TlsReportingService::send_one(const std::string& domain, const tlsrpt::DomainDay& day,
                                                    std::int64_t end) {
  const conf::ConfigPtr config = config_();
  const std::string name = "_smtp._tls." + domain;
  auto records = co_await resolver_->lookup_txt_records(name);
  if (!records) {
    // A failed lookup (not "no record"): the domain may well ask for reports.
    spdlog::warn("tls reporting: domain={} report not sent: {} lookup failed: {}", domain, name, records.error().text);
    co_return false;
  }
  // RFC 8460 §3: exactly one v=TLSRPTv1 record, or the domain asks for no reports.
  const auto destinations = tlsrpt::select_rua_record(*records);
  if (!destinations) {
    spdlog::info("tls reporting: domain={} no report: {}: {}", domain, name, destinations.error());
    co_return true;
  }
  const auto& reporting = config->tls_reporting;
  const tlsrpt::ReportInput input{reporting.organization, reporting.contact, config->relay.hostname, domain,
                                  random_token(), day.begin, end};
  const std::string compressed = tlsrpt::gzip(tlsrpt::report_json(input, day));
  if (compressed.empty()) {
    spdlog::error("tls reporting: domain={} cannot compress the report", domain);
    co_return false;
  }
  // Sent when one destination took it (RFC 8460 §5.3: any of them will do).
  bool taken = false;
  std::size_t tried = 0;
  for (const auto& uri : destinations->https) {
    const auto destination = tlsrpt::parse_https_uri(uri);
    if (!destination) {
      spdlog::warn("tls reporting: domain={} report to {} skipped: not an https URI hubrelay can use", domain, uri);
      continue;
    }
    ++tried;
    taken = co_await post_report(domain, uri, *destination, input, compressed) || taken;
  }
  if (!destinations->mailto.empty()) {
    ++tried;
    taken = co_await queue_report(domain, destinations->mailto, input, compressed) || taken;
  }
  if (taken) ++reports_sent_;
  co_return taken || tried == 0;
}

asio::awaitable<bool> TlsReportingService::post_report(const std::string& domain, const std::string& uri,
                                                       const tlsrpt::HttpsDestination& destination,
                                                       const tlsrpt::ReportInput& input,
                                                       const std::string& compressed) {
  // RFC 8460 §5.3.1: the gzip report as the body of a POST; any 2xx answer takes it.
  routing::HttpsRequest request{destination.host, destination.port, destination.target, true,
                                "application/tlsrpt+gzip", compressed};
  const routing::HttpsLimits limits{config_()->mta_sts.ca_file, report_post_timeout, report_answer_limit};
  const auto answer = co_await routing::https_request(io_.get_executor(), *resolver_, std::move(request), limits);
  if (answer.status != routing::HttpsAnswer::Status::ok) {
    spdlog::warn("tls reporting: domain={} report to {} failed: {}", domain, uri, answer.why);
    co_return false;
  }
  if (answer.code < 200 || answer.code > 299) {
    // Redirects are not followed: a report goes only where the domain's record says.
    spdlog::warn("tls reporting: domain={} report to {} refused: HTTP {}", domain, uri, answer.code);
    co_return false;
  }
  spdlog::info("tls reporting: domain={} report posted to {}: HTTP {} (id {})", domain, uri, answer.code,
               tlsrpt::report_id(input));
  co_return true;
}

asio::awaitable<bool> TlsReportingService::queue_report(const std::string& domain,
                                                        const std::vector<std::string>& mailto,
                                                        const tlsrpt::ReportInput& input,
                                                        const std::string& compressed) {
  const conf::ConfigPtr config = config_();
  const auto& reporting = config->tls_reporting;
  const auto now_ms = static_cast<queue::UnixMillis>(now_seconds()) * 1000;
  queue::NewMessage message;
  message.direction = direction_to(*config, mailto.front());
  message.listener = std::string(tls_report_listener);
  message.client_address = "127.0.0.1";
  message.helo = config->relay.hostname;
  message.sender = reporting.from;
  message.recipients = mailto;
  message.body = tlsrpt::report_message({reporting.from, mailto, now_ms, input.unique, config->relay.hostname},
                                        input, compressed);
  message.received_at = now_ms;
  auto committed = co_await commit_message(queue_, std::move(message), now_ms + report_lease_ms);
  if (!committed) {
    spdlog::error("tls reporting: domain={} cannot queue the report: {}", domain, committed.error().message());
    co_return false;
  }
  spdlog::info("tls reporting: domain={} report qid={} queued for {} (id {})", domain,
               queue::format_queue_id(committed->id), fmt::join(mailto, ","), tlsrpt::report_id(input));
  delivery_().submit(std::move(*committed));
  co_return true;
}

}  // namespace relay
