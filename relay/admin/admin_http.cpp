// relay/admin/admin_http.cpp — the admin endpoint's request handler: request in, response out.
#include "relay/admin/admin_http.hpp"

#include <fmt/format.h>

#include <optional>
#include <set>

namespace relay::admin {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  // Length is not secret enough to hide; the content is compared without early exit.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Response text(int status, std::string body) { return Response{status, "text/plain; charset=utf-8", std::move(body)}; }

Response json(std::string body) { return Response{200, "application/json", std::move(body)}; }

Response json_error(const ApiError& error) {
  Response r{error.status, "application/json", error_json(error)};
  r.challenge = error.status == 401;
  return r;
}

bool bearer_matches(std::string_view token, std::string_view authorization) {
  constexpr std::string_view bearer = "Bearer ";
  return !token.empty() && authorization.size() > bearer.size() && authorization.substr(0, bearer.size()) == bearer &&
         equal_constant_time(authorization.substr(bearer.size()), token);
}

// --- the writable API ------------------------------------------------------------------
// POST only; the token must come as a header (never ?token=, which ends up in logs and
// browser history), and there is no writable API without a token at all.

const std::set<std::string_view>& queue_actions() {
  static const std::set<std::string_view> names{"retry", "hold", "release", "delete", "bounce", "expire"};
  return names;
}

// "/api/queue/hold" → "hold"; "/api/hops/H/suspend" → {"H", "suspend"}; nullopt otherwise.
std::optional<std::string_view> queue_action_of(std::string_view path) {
  constexpr std::string_view prefix = "/api/queue/";
  if (!path.starts_with(prefix)) return std::nullopt;
  const auto name = path.substr(prefix.size());
  if (!queue_actions().contains(name)) return std::nullopt;
  return name;
}

// "/api/hops/H/suspend" with prefix "/api/hops/" and verbs suspend/resume → {"H", "suspend"}.
std::optional<std::pair<std::string_view, std::string_view>> named_action_of(std::string_view path,
                                                                             std::string_view prefix,
                                                                             std::string_view verb_a,
                                                                             std::string_view verb_b) {
  if (!path.starts_with(prefix)) return std::nullopt;
  const auto rest = path.substr(prefix.size());
  const auto slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  const auto verb = rest.substr(slash + 1);
  if (verb != verb_a && verb != verb_b) return std::nullopt;
  return std::pair{rest.substr(0, slash), verb};
}

auto hop_action_of(std::string_view path) { return named_action_of(path, "/api/hops/", "suspend", "resume"); }
// POST: send the TLS reports now (relay/tls_reporting_service).
constexpr std::string_view tls_reports_send_path = "/api/tls-reports/send";

auto path_action_of(std::string_view path) { return named_action_of(path, "/api/paths/", "force", "release"); }

std::string who(const Request& request) {
  return "api client=" + (request.remote.empty() ? std::string("?") : request.remote);
}

Response mutation(const Request& request, std::string_view path, std::string_view token, Backend& backend) {
  if (request.method != "POST")
    return json_error({405, "method_not_allowed", "use POST for " + std::string(path)});
  if (token.empty())
    return json_error({403, "forbidden", "the writable admin API is off: set [admin] token_file"});
  if (!bearer_matches(token, request.authorization))
    return json_error({401, "unauthorized", "send Authorization: Bearer <the token of [admin] token_file>"});
  if (const auto action = queue_action_of(path)) {
    auto parsed = parse_queue_action(*action, request.body);
    if (!parsed) return json_error(parsed.error());
    auto done = backend.queue_action(*parsed, who(request));
    return done ? json(to_json(*done)) : json_error(done.error());
  }
  if (const auto forced = path_action_of(path)) {
    auto parsed = parse_path_action(forced->first, forced->second == "release", request.body);
    if (!parsed) return json_error(parsed.error());
    auto done = backend.path_action(*parsed, who(request));
    return done ? json(to_json(*done)) : json_error(done.error());
  }
  if (path == tls_reports_send_path) {
    // Body {"include_today": true} or nothing: the finished days only.
    const bool include_today = request.body.find("\"include_today\"") != std::string::npos &&
                               request.body.find("true") != std::string::npos;
    auto done = backend.tls_reports_send(include_today, who(request));
    if (!done) return json_error(done.error());
    return json(fmt::format("{{\"domains\":{},\"include_today\":{}}}", *done, include_today));
  }
  const auto [hop, verb] = *hop_action_of(path);
  auto parsed = parse_hop_action(hop, verb == "suspend", request.body);
  if (!parsed) return json_error(parsed.error());
  auto done = backend.hop_action(*parsed, who(request));
  return done ? json(to_json(*done)) : json_error(done.error());
}

}  // namespace

std::pair<std::string, Query> split_target(std::string_view target) {
  const auto mark = target.find('?');
  std::pair<std::string, Query> out{decode(target.substr(0, mark)), {}};
  if (mark == std::string_view::npos) return out;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    out.second[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
  }
  return out;
}

bool authorized(std::string_view token, std::string_view authorization, const Query& query) {
  if (token.empty()) return true;
  if (bearer_matches(token, authorization)) return true;
  const auto it = query.find("token");
  return it != query.end() && equal_constant_time(it->second, token);
}

Response answer_tracking(const TrackingSearch& search, Backend& backend) {
  auto found = backend.tracking_search(search);
  if (!found) return json_error(found.error());
  return json(tracking_json(std::move(*found), search.limit));
}

Response handle(const Request& request, std::string_view token, Backend& backend) {
  auto routed = route(request, token, backend);
  if (auto* search = std::get_if<TrackingSearch>(&routed)) return answer_tracking(*search, backend);
  return std::get<Response>(std::move(routed));
}

std::variant<Response, TrackingSearch> route(const Request& request, std::string_view token, Backend& backend) {
  const auto [path, query] = split_target(request.target);
  // Message tracking search: a read like GET /api/queue (the token, when one is set, as a
  // header or ?token=), answered in JSON, errors included; the search itself reads files.
  if (path == "/api/tracking") {
    if (!authorized(token, request.authorization, query))
      return json_error({401, "unauthorized", "send Authorization: Bearer <the token of [admin] token_file>"});
    if (request.method != "GET" && request.method != "HEAD")
      return json_error({405, "method_not_allowed", "use GET for /api/tracking"});
    auto search = tracking_search_of(query, backend.tracking_dir(), request.now_ms);
    if (!search) return json_error(search.error());
    if (search->dir.empty()) return json_error({503, "internal", "the daemon is still starting"});
    return std::move(*search);
  }
  if (queue_action_of(path) || hop_action_of(path) || path_action_of(path) || path == tls_reports_send_path)
    return mutation(request, path, token, backend);
  if (!authorized(token, request.authorization, query)) {
    Response r = text(401, "401 unauthorized: send Authorization: Bearer <[admin] token>\n");
    r.challenge = true;
    return r;
  }
  constexpr std::string_view one_message = "/api/queue/";
  const bool message_path = path.starts_with(one_message) && path != "/api/queue/summary";
  const bool known = path == "/" || path == "/status" || path == "/metrics" || path == "/api/status" ||
                     path == "/api/queue" || path == "/api/queue/summary" || path == "/api/openapi.json" || message_path;
  if (!known)
    return text(404, "404 not found: try /, /metrics, /api/status, /api/queue, /api/queue/summary, /api/queue/ID, "
                     "/api/tracking, /api/openapi.json\n");
  if (request.method != "GET" && request.method != "HEAD") return text(405, "405 method not allowed: GET only\n");

  if (path == "/metrics") {
    return Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics::format_prometheus(backend.snapshot())};
  }
  if (path == "/api/openapi.json") return json(openapi_json());
  if (path == "/api/status") {
    return Response{200, "application/json", metrics::format_status_json(backend.snapshot())};
  }
  if (message_path) {
    auto shown = backend.queue_show(std::string_view(path).substr(one_message.size()));
    if (!shown) return text(shown.error().status, std::to_string(shown.error().status) + " " + shown.error().text + "\n");
    return Response{200, "application/json", std::move(*shown) + "\n"};
  }
  if (path == "/api/queue" || path == "/api/queue/summary") {
    auto result = path == "/api/queue" ? backend.queue_list(query) : backend.queue_summary();
    if (!result) return text(400, "400 bad request: " + result.error() + "\n");
    return Response{200, path == "/api/queue" ? "application/x-ndjson" : "text/plain; charset=utf-8",
                    std::move(*result)};
  }
  // The queue section lists the oldest deferred messages; an unreadable queue shows in
  // the depth table already, so the list is just left empty then.
  const auto waiting = backend.queue_list(Query{{"state", "deferred"}, {"limit", "20"}});
  return Response{200, "text/html; charset=utf-8",
                  status_page(metrics::format_status_json(backend.snapshot()), waiting.value_or(std::string()))};
}

}  // namespace relay::admin
