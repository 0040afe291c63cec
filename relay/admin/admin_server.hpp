// relay/admin/admin_server.hpp — the admin HTTP endpoint's Beast driver and daemon backend.
//
// Owns: the [admin] listen socket, one coroutine per connection (bounded parser, read
// timeout, keep-alive up to a request cap, at most max_connections at once), and the
// admin::Backend of the running daemon: a metrics snapshot from the caller's function,
// completed with queue depth and the queue API read through a queue::AdminStore (a
// second SQLite connection, WAL keeping its short reads off the writer's path, or a
// connection of its own to the shared PostgreSQL queue; both read on the io thread, so
// an unreachable database is not retried for queue::unreachable_queue_pause).
// Queue mutations run relay/admin/queue_actions (the code `hubrelay queue` runs) on that
// store; hop and path actions go to the functions the daemon attaches (relay/admin/hop_actions).
// Tracking searches (GET /api/tracking) read files: they run on the endpoint's own search
// thread, one at a time, and the answer is written back on the io_context thread.
// Never: decides what a request means (relay/admin/admin_http.cpp does).
// Threading: the io_context thread. Errors: bind() returns text for the start-up log;
// per-connection failures are logged at debug and close that connection only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "queue/admin_store.hpp"
#include "relay/admin/admin_http.hpp"
#include "relay/admin/metrics.hpp"

namespace relay {

class DaemonAdminBackend : public admin::Backend {
 public:
  /// The queue views and depth figures read the queue `queue` names (state_dir/queue.db
  /// or the shared PostgreSQL database), opened on first use (queue/admin_store_open).
  DaemonAdminBackend(std::function<metrics::Snapshot()> snapshot, conf::QueueConfig queue, std::string state_dir)
      : snapshot_(std::move(snapshot)), queue_(std::move(queue)), state_dir_(std::move(state_dir)) {}
  metrics::Snapshot snapshot() override;
  std::expected<std::string, std::string> queue_list(const admin::Query& query) override;
  std::expected<std::string, std::string> queue_summary() override;
  std::expected<std::string, admin::QueueError> queue_show(std::string_view id) override;
  std::expected<admin::QueueActionResult, admin::ApiError> queue_action(const admin::QueueAction& action,
                                                                       std::string_view who) override;
  std::expected<admin::HopActionResult, admin::ApiError> hop_action(const admin::HopAction& action,
                                                                   std::string_view who) override;

  std::expected<admin::PathActionResult, admin::ApiError> path_action(const admin::PathAction& action,
                                                                     std::string_view who) override;
  std::string tracking_dir() override;
  std::expected<std::size_t, admin::ApiError> tls_reports_send(bool include_today, std::string_view who) override;
  using TlsReportsSend = std::function<std::expected<std::size_t, std::string>(bool include_today)>;
  /// The running daemon's TLS reporting (relay/tls_reporting_service).
  void attach_tls_reports(TlsReportsSend send) { tls_reports_ = std::move(send); }
  std::expected<std::vector<tracking::Record>, admin::ApiError> tracking_search(
      const admin::TrackingSearch& search) override;

  using HopActions = std::function<std::expected<admin::HopActionResult, admin::ApiError>(const admin::HopAction&,
                                                                                         std::string_view who)>;
  using PathActions = std::function<std::expected<admin::PathActionResult, admin::ApiError>(const admin::PathAction&,
                                                                                           std::string_view who)>;
  /// The daemon's current configuration (sender reports of queue actions), its hop control
  /// (the engine of the current generation) and its path control (the health monitor);
  /// set once they exist.
  void attach(std::function<conf::ConfigPtr()> config, HopActions hops, PathActions paths) {
    config_ = std::move(config);
    hops_ = std::move(hops);
    paths_ = std::move(paths);
  }

 private:
  std::expected<queue::AdminStore*, std::string> store();
  std::function<metrics::Snapshot()> snapshot_;
  conf::QueueConfig queue_;
  std::string state_dir_;
  std::unique_ptr<queue::AdminStore> store_;
  // A queue that could not be opened is not tried again before this (each try may wait
  // out a database's connect timeout on the I/O thread); open_error_ says why meanwhile.
  std::chrono::steady_clock::time_point reopen_after_{};
  std::string open_error_;
  std::function<conf::ConfigPtr()> config_;
  HopActions hops_;
  PathActions paths_;
  TlsReportsSend tls_reports_;
};

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, const conf::AdminConfig& config, admin::Backend& backend);
  ~AdminServer();
  /// Binds [admin] listen; returns an error text ("" on success).
  std::string bind();
  void start();
  void close();
  /// The token of a reloaded configuration ([admin] token_file is read again on SIGHUP).
  void set_token(std::string token);

  struct State;  // public only so the connection coroutines in the .cpp can name it

 private:
  std::shared_ptr<State> state_;
};

}  // namespace relay
