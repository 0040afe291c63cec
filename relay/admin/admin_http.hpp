// relay/admin/admin_http.hpp — the admin endpoint's request handler: request in, response out.
//
// Owns: routing of the admin HTTP API (GET /metrics, /api/status, /api/queue,
// /api/queue/summary, /api/queue/ID, /api/tracking, /api/openapi.json, / and /status for the status page;
// POST /api/queue/ACTION, /api/hops/HOP/suspend|resume, /api/paths/PATH/force|release), bearer-token checking ([admin]
// token_file; compared in constant time; every mutation needs the token, sent as a header),
// and method/404 answers (JSON errors for the writable API: relay/admin/api_request.hpp).
// Never: touches sockets (relay/admin/admin_server.cpp is the Beast driver) or reads the queue
// itself — everything it shows comes from the AdminBackend, so tests use a fake.
// A tracking search reads files: route() hands it back as a TrackingSearch for the driver
// to run off the I/O thread (answer_tracking); handle() runs it in line.
// Threading: called on the io_context thread. Errors: HTTP status codes, never throws.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "relay/admin/api_request.hpp"
#include "relay/admin/metrics.hpp"
#include "relay/admin/tracking_api.hpp"

namespace relay::admin {

struct Request {
  std::string method;                      // "GET"
  std::string target;                      // "/api/queue?state=held&limit=10"
  std::string authorization;               // the Authorization header, "" if absent
  std::string body{};                      // the request body (JSON for mutations)
  std::string remote{};                    // the client's address, for the audit line
  std::int64_t now_ms = 0;                 // when it arrived (Unix ms): relative times count from here
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  bool challenge = false;                  // add WWW-Authenticate: Bearer
};

using Query = std::map<std::string, std::string, std::less<>>;

/// Why /api/queue/ID has no answer: 400 (not a queue id), 404 (no such message), 500.
struct QueueError {
  int status = 400;
  std::string text;
};

/// What the handler needs from the daemon.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual metrics::Snapshot snapshot() = 0;
  /// JSON lines of queued messages matching `query` (same keys as `hubrelay queue list`
  /// options: state, direction, listener, sender, recipient, domain, hop, older, newer,
  /// limit, offset), or an error text for a 400.
  virtual std::expected<std::string, std::string> queue_list(const Query& query) = 0;
  virtual std::expected<std::string, std::string> queue_summary() = 0;
  /// One message as `hubrelay queue show ID --json` prints it: envelope, recipients (last
  /// real error, park) and the whole history.
  virtual std::expected<std::string, QueueError> queue_show(std::string_view id) = 0;
  /// A queue mutation (or its dry run) through relay/admin/queue_actions, audited as `who`.
  virtual std::expected<QueueActionResult, ApiError> queue_action(const QueueAction& action, std::string_view who) = 0;
  /// Suspends or resumes a hop of the running daemon, audited as `who`.
  virtual std::expected<HopActionResult, ApiError> hop_action(const HopAction& action, std::string_view who) = 0;
  /// Forces a health path of the running daemon UP or DOWN, or releases it, audited as `who`.
  virtual std::expected<PathActionResult, ApiError> path_action(const PathAction& action, std::string_view who) = 0;
  /// [tracking] dir of the running configuration ("" while the daemon is starting).
  virtual std::string tracking_dir() = 0;
  /// The records `search` finds (relay/tracking/search, the code `hubrelay track` runs),
  /// oldest first. Thread safety: called off the I/O thread, at most one at a time; it
  /// must use nothing but its argument and the files.
  virtual std::expected<std::vector<tracking::Record>, ApiError> tracking_search(const TrackingSearch& search) = 0;
  /// Sends the TLS reports (RFC 8460) of finished days now, today's counts so far too with
  /// `include_today`; the number of domains reported on. Off unless the daemon says so.
  virtual std::expected<std::size_t, ApiError> tls_reports_send(bool /*include_today*/, std::string_view /*who*/) {
    return std::unexpected(ApiError{503, "internal", "TLS reporting is not running"});
  }
};

/// Splits "path?a=1&b=%20x" into the path and decoded parameters (last one wins).
std::pair<std::string, Query> split_target(std::string_view target);

/// True when `authorization` is "Bearer <token>" (constant-time compare), or the query
/// carries token=<token> (for the status page opened in a browser), or token is empty.
bool authorized(std::string_view token, std::string_view authorization, const Query& query);

/// The answer to `request`, or the tracking search it asks for (to be answered with
/// answer_tracking, off the I/O thread).
std::variant<Response, TrackingSearch> route(const Request& request, std::string_view token, Backend& backend);

/// Runs a checked tracking search through the backend and answers it as JSON.
Response answer_tracking(const TrackingSearch& search, Backend& backend);

/// route() with a tracking search answered in line.
Response handle(const Request& request, std::string_view token, Backend& backend);

/// The OpenAPI 3.1 description of every endpoint above (GET /api/openapi.json).
const std::string& openapi_json();

/// The status page: self-contained HTML with inline CSS and JS (no external assets), with
/// the status JSON embedded; the script draws the throughput charts as inline SVG.
/// `waiting_lines`: /api/queue JSON lines of deferred messages, shown in the queue section
/// with each recipient's last error and park ("" when unavailable).
std::string status_page(const std::string& status_json, const std::string& waiting_lines = {});

}  // namespace relay::admin
