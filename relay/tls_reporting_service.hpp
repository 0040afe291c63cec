// relay/tls_reporting_service.hpp — TLS reporting (RFC 8460) in the running daemon.
//
// Owns: the session counts of the current and previous UTC day (relay/tlsrpt/daily_counts)
// fed by the delivery engine; saving them in the state directory (at most once a minute
// when they changed, and at stop) and loading them at start; once a day, after
// [tls_reporting] send_hour UTC plus a random delay of up to an hour, one report per
// policy domain of the finished day: the domain's _smtp._tls TXT records are looked up
// (exactly one v=TLSRPTv1 record, RFC 8460 §3) and the gzip report is queued as a mail
// message to its mailto: addresses, delivered like any other mail (sessions carrying a
// report are not counted: relay/delivery), and POSTed to its https: addresses (§5.3.1,
// routing/https_request). A report no destination took (the lookup failed, every upload
// failed) is put back and tried again at the next run, for up to seven days after the
// day it covers. An administrator can send at once (the admin API), the day so far
// included.
// Never: follows an https: redirect.
// Threading: the io_context thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "queue/message_queue.hpp"
#include "relay/tlsrpt/daily_counts.hpp"
#include "relay/tlsrpt/report.hpp"
#include "relay/tlsrpt/rua_record.hpp"
#include "routing/dns_resolver.hpp"

namespace relay {

class DeliveryEngine;

class TlsReportingService {
 public:
  /// `config` and `delivery` give the generation in force (they change on reload).
  TlsReportingService(boost::asio::io_context& io, std::function<conf::ConfigPtr()> config,
                      std::function<DeliveryEngine&()> delivery, queue::MessageQueue& queue, std::string state_dir);

  /// Loads the saved counts and starts the minute timer.
  void start();
  /// Saves the counts and stops the timer.
  void stop();

  /// Counts one session (the delivery engine's sink).
  void record(const tlsrpt::TlsSessionResult& session);
  /// Makes `engine` count its sessions here when `config` enables [tls_reporting]
  /// (each generation's engine, so counts from retired engines still arrive).
  void count_sessions_of(DeliveryEngine& engine, const conf::Config& config);

  /// Sends the reports of finished days now (and of today so far with `include_today`).
  /// Returns the number of policy domains that will be reported on, or an error text.
  std::expected<std::size_t, std::string> send_now(bool include_today);

  std::uint64_t reports_sent() const noexcept { return reports_sent_; }

 private:
  void tick();
  void save();
  boost::asio::awaitable<void> send(std::vector<tlsrpt::DailyCounts::Key> keys, std::int64_t now);
  /// One domain's report to every destination its record names. False: not sent (the
  /// record's lookup failed, or no destination took it), to be tried again.
  boost::asio::awaitable<bool> send_one(const std::string& domain, const tlsrpt::DomainDay& day, std::int64_t end);
  boost::asio::awaitable<bool> post_report(const std::string& domain, const std::string& uri,
                                           const tlsrpt::HttpsDestination& destination,
                                           const tlsrpt::ReportInput& input, const std::string& compressed);
  boost::asio::awaitable<bool> queue_report(const std::string& domain, const std::vector<std::string>& mailto,
                                            const tlsrpt::ReportInput& input, const std::string& compressed);
  std::int64_t next_send_time(std::int64_t now, bool after_restart);

  boost::asio::io_context& io_;
  std::function<conf::ConfigPtr()> config_;
  std::function<DeliveryEngine&()> delivery_;
  queue::MessageQueue& queue_;
  std::string state_path_;
  std::unique_ptr<routing::DnsResolver> resolver_;
  boost::asio::steady_timer timer_;
  tlsrpt::DailyCounts counts_;
  bool dirty_ = false;
  bool sending_ = false;
  bool stopped_ = false;
  std::int64_t next_send_ = 0;
  std::uint64_t reports_sent_ = 0;
};

}  // namespace relay
