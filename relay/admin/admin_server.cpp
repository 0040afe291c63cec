// relay/admin/admin_server.cpp — the admin HTTP endpoint's Beast driver and daemon backend.
#include "relay/admin/admin_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "relay/delivery/queue_bridge.hpp"
#include "queue/admin_store_open.hpp"
#include "relay/admin/queue_actions.hpp"
#include "relay/admin/queue_format.hpp"
#include "health/spawn_log.hpp"
#include "relay/tracking/search.hpp"
#include "relay/tracking/writer.hpp"

namespace relay {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The endpoint is for a scraper and an admin's browser, not for load.
constexpr std::size_t max_connections = 16;
constexpr unsigned max_requests_per_connection = 100;
constexpr auto read_timeout = std::chrono::seconds(10);
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024;  // a queue action may list many ids

}  // namespace

// --- backend -----------------------------------------------------------------------------

std::expected<queue::AdminStore*, std::string> DaemonAdminBackend::store() {
  if (!store_) {
    const auto now = std::chrono::steady_clock::now();
    if (now < reopen_after_) return std::unexpected(open_error_);
    auto opened = queue::open_admin_store(queue_, state_dir_);
    if (!opened) {
      reopen_after_ = now + queue::unreachable_queue_pause;
      open_error_ = opened.error();
      return std::unexpected(opened.error());
    }
    store_ = std::move(*opened);
  }
  return store_.get();
}

metrics::Snapshot DaemonAdminBackend::snapshot() {
  metrics::Snapshot s = snapshot_();
  auto st = store();
  if (!st) {
    s.depth_error = st.error();
    return s;
  }
  auto d = (*st)->depth();
  if (!d) {
    s.depth_error = d.error();
    return s;
  }
  const auto age = [&](queue::UnixMillis oldest) {
    return oldest == 0 ? 0.0 : std::max(0.0, static_cast<double>(s.now_unix * 1000 - oldest) / 1000.0);
  };
  auto& depth = s.depth.emplace();
  for (std::size_t i = 0; i < depth.size(); ++i) {
    const queue::DepthCounts& from = d->directions[i];
    metrics::Depth& to = depth[i];
    to.queued_messages = from.queued_messages;
    to.deferred_messages = from.deferred_messages;
    to.held_messages = from.held_messages;
    to.queued_recipients = from.queued_recipients;
    to.deferred_recipients = from.deferred_recipients;
    to.held_recipients = from.held_recipients;
    to.oldest_queued_seconds = age(from.oldest_queued);
    to.oldest_deferred_seconds = age(from.oldest_deferred);
    to.oldest_held_seconds = age(from.oldest_held);
    to.bytes = from.bytes;
  }
  return s;
}

std::expected<std::string, std::string> DaemonAdminBackend::queue_list(const admin::Query& query) {
  queue_format::Options options;
  for (const auto& [k, v] : query)
    if (k != "token") options[k] = v;
  auto filter = queue_format::filter_from(options);
  if (!filter) return std::unexpected(filter.error());
  auto st = store();
  if (!st) return std::unexpected(st.error());
  const auto now = unix_now_ms();
  auto rows = (*st)->list(*filter, now);
  if (!rows) return std::unexpected(rows.error());
  std::string out;
  for (const auto& m : *rows) out += queue_format::message_json(m, now) + "\n";
  return out;
}

std::expected<std::string, admin::QueueError> DaemonAdminBackend::queue_show(std::string_view id_text) {
  const auto id = queue::parse_queue_id(id_text);
  if (!id) return std::unexpected(admin::QueueError{400, "bad request: not a queue id (hexadecimal, as in queue list)"});
  auto st = store();
  if (!st) return std::unexpected(admin::QueueError{500, st.error()});
  auto shown = (*st)->show(*id);
  if (!shown) {
    // AdminStore::show: "no message with queue id ..." for an unknown id, else a queue error.
    const bool unknown = shown.error().starts_with("no message");
    return std::unexpected(admin::QueueError{unknown ? 404 : 500, shown.error()});
  }
  return queue_format::message_json(*shown, unix_now_ms());
}

std::expected<std::string, std::string> DaemonAdminBackend::queue_summary() {
  auto st = store();
  if (!st) return std::unexpected(st.error());
  auto inputs = (*st)->summary_inputs();
  if (!inputs) return std::unexpected(inputs.error());
  return queue_format::summary_text(queue::summarize(*inputs, unix_now_ms()));
}

std::expected<admin::QueueActionResult, admin::ApiError> DaemonAdminBackend::queue_action(
    const admin::QueueAction& action, std::string_view who) {
  if (!config_) return std::unexpected(admin::ApiError{503, "internal", "the daemon is still starting"});
  auto st = store();
  if (!st) return std::unexpected(admin::ApiError{500, "internal", st.error()});
  return admin::run_queue_action(**st, *config_(), action, who, unix_now_ms());
}

std::expected<admin::HopActionResult, admin::ApiError> DaemonAdminBackend::hop_action(const admin::HopAction& action,
                                                                                     std::string_view who) {
  if (!hops_) return std::unexpected(admin::ApiError{503, "internal", "the daemon is still starting"});
  return hops_(action, who);
}

std::expected<admin::PathActionResult, admin::ApiError> DaemonAdminBackend::path_action(
    const admin::PathAction& action, std::string_view who) {
  if (!paths_) return std::unexpected(admin::ApiError{503, "internal", "the daemon is still starting"});
  return paths_(action, who);
}

std::expected<std::size_t, admin::ApiError> DaemonAdminBackend::tls_reports_send(bool include_today,
                                                                                 std::string_view who) {
  if (!tls_reports_) return std::unexpected(admin::ApiError{503, "internal", "the daemon is still starting"});
  auto sent = tls_reports_(include_today);
  if (!sent) return std::unexpected(admin::ApiError{409, "conflict", sent.error()});
  spdlog::info("admin: TLS reports for {} domain(s) sent now{} by {}", *sent, include_today ? " (today included)" : "",
               who);
  return *sent;
}

std::string DaemonAdminBackend::tracking_dir() { return config_ ? config_()->tracking.dir : std::string(); }

std::expected<std::vector<tracking::Record>, admin::ApiError> DaemonAdminBackend::tracking_search(
    const admin::TrackingSearch& search) {
  return tracking::search(search.dir, search.request.query, search.request.options);
}

// --- driver ------------------------------------------------------------------------------

struct AdminServer::State {
  State(asio::io_context& io_context, const conf::AdminConfig& admin_config, admin::Backend& admin_backend)
      : io(io_context), config(admin_config), backend(admin_backend), acceptor(io_context) {}
  asio::io_context& io;
  // Tracking searches read (and index) files: one thread keeps them off the io_context
  // thread; a second search waits for the first.
  asio::thread_pool searches{1};
  conf::AdminConfig config;
  admin::Backend& backend;
  tcp::acceptor acceptor;
  std::size_t connections = 0;
  bool closed = false;
};

namespace {

http::response<http::string_body> to_beast(const admin::Response& r, unsigned version, bool keep_alive, bool head) {
  http::response<http::string_body> response{static_cast<http::status>(r.status), version};
  response.set(http::field::server, "hubrelay");
  response.set(http::field::content_type, r.content_type);
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  if (r.challenge) response.set(http::field::www_authenticate, "Bearer realm=\"hubrelay\"");
  response.keep_alive(keep_alive);
  response.body() = head ? std::string() : r.body;
  response.prepare_payload();
  if (head) response.content_length(r.body.size());
  return response;
}

// The answer to a tracking search, found on the search thread; the awaiting coroutine
// resumes on its own executor. Only the search and the backend travel there, never the
// connection state. Not a coroutine itself, so the lambda may own the search.
asio::awaitable<admin::Response> answer_off_thread(asio::thread_pool& pool, admin::TrackingSearch search,
                                                   admin::Backend& backend) {
  return asio::co_spawn(
      pool,
      [search = std::move(search), &backend]() -> asio::awaitable<admin::Response> {
        co_return admin::answer_tracking(search, backend);
      },
      asio::use_awaitable);
}

asio::awaitable<void> serve_connection(std::shared_ptr<AdminServer::State> state, tcp::socket socket) {
  beast::error_code endpoint_error;
  const auto peer = socket.remote_endpoint(endpoint_error);
  const std::string remote = endpoint_error ? std::string("?") : peer.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (unsigned served = 0; served < max_requests_per_connection && !state->closed; ++served) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    stream.expires_after(read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec != http::error::end_of_stream) spdlog::debug("admin connection: read failed: {}", ec.message());
      break;
    }
    const auto& request = parser.get();
    admin::Request req{std::string(request.method_string()), std::string(request.target()),
                       std::string(request[http::field::authorization]), request.body(), remote,
                       tracking::now_ms()};
    auto routed = admin::route(req, state->config.token, state->backend);
    admin::Response answer;
    if (auto* search = std::get_if<admin::TrackingSearch>(&routed)) {
      answer = co_await answer_off_thread(state->searches, std::move(*search), state->backend);
    } else {
      answer = std::get<admin::Response>(std::move(routed));
    }
    const bool keep_alive = request.keep_alive() && served + 1 < max_requests_per_connection;
    auto response = to_beast(answer, request.version(), keep_alive, req.method == "HEAD");
    stream.expires_after(read_timeout);
    auto [wec, written] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<AdminServer::State> state) {
  while (!state->closed && state->acceptor.is_open()) {
    auto [ec, socket] = co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || state->closed) co_return;
    if (ec) {
      spdlog::warn("admin endpoint: accept failed: {}", ec.message());
      asio::steady_timer pause(state->io, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (state->connections >= max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++state->connections;
    asio::co_spawn(state->io, serve_connection(state, std::move(socket)), [state](std::exception_ptr e) {
      --state->connections;
      if (e) spdlog::warn("admin connection ended by an exception: {}", health::exception_text(e));
    });
  }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, const conf::AdminConfig& config, admin::Backend& backend)
    : state_(std::make_shared<State>(io, config, backend)) {}

AdminServer::~AdminServer() { close(); }

std::string AdminServer::bind() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(state_->config.listen.address, ec);
  if (ec) return "admin listen address " + state_->config.listen.address + ": " + ec.message();
  const tcp::endpoint endpoint(address, state_->config.listen.port);
  state_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) state_->acceptor.bind(endpoint, ec);
  if (!ec) state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return "cannot listen on admin " + state_->config.listen.address + ":" +
           std::to_string(state_->config.listen.port) + ": " + ec.message();
  }
  if (!address.is_loopback())
    spdlog::warn("admin endpoint on non-loopback {}; protect it with [admin] token and a firewall",
                 state_->config.listen.address);
  return {};
}

void AdminServer::start() {
  asio::co_spawn(state_->io, accept_loop(state_), health::log_escaped("admin endpoint"));
  spdlog::info("admin endpoint listening on http://{}:{}/", state_->config.listen.address, state_->config.listen.port);
}

void AdminServer::set_token(std::string token) { state_->config.token = std::move(token); }

void AdminServer::close() {
  state_->closed = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  // A search still running finishes now, while the io_context it answers to exists; one
  // not started is dropped (its connection is closing with the daemon).
  state_->searches.stop();
  state_->searches.join();
}

}  // namespace relay
