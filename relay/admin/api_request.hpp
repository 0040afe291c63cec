// relay/admin/api_request.hpp — the admin API's mutation requests and answers as JSON.
//
// Owns: reading the JSON bodies of the writable admin API (queue actions by id, by filter
// or all, with dry_run; hop suspend/resume) into typed requests, refusing malformed JSON
// and unknown fields; and writing the typed results and the JSON error document
// {"error":{"code":...,"message":...}} with its HTTP status.
// Never: performs an action (the Backend does; relay/admin/queue_actions.cpp for the queue).
// Pure: text in, values out. Errors: ApiError (status, code, message), never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::admin {

/// An answer that is not a success: HTTP status, a stable code for programs, a message for people.
struct ApiError {
  int status = 400;
  std::string code;  // bad_json, unknown_field, bad_request, unauthorized, forbidden, not_found, conflict, internal
  std::string message;
};

/// hold / release / retry / delete / bounce of queued messages; the same words as `hubrelay queue`.
struct QueueAction {
  std::string action;                    // retry, hold, release, delete, bounce, expire
  std::vector<std::string> ids;          // queue ids as shown by queue list
  bool all = false;
  std::string domain;                    // retry only: the pending recipients of one domain
  /// Filter keys of GET /api/queue (state, direction, listener, sender, recipient, domain,
  /// hop, older, newer): the messages it lists are the ones acted on.
  std::optional<std::map<std::string, std::string, std::less<>>> filter;
  bool dry_run = false;                  // count what would be acted on, change nothing
  bool report = false;                   // delete: send the sender a DSN (queue delete --bounce)
};

struct QueueActionResult {
  std::string action;
  bool dry_run = false;
  std::size_t matched = 0;               // messages selected
  std::size_t messages = 0, recipients = 0, notices = 0;  // what changed (0 on a dry run)
  std::vector<std::string> ids;          // the selected queue ids (by filter or listed)
};

/// Suspend a hop for `seconds` (Exchange's Suspend-Queue), or resume it.
struct HopAction {
  std::string hop;
  bool suspend = true;
  std::int64_t seconds = 0;
  std::string reason;
};

struct HopActionResult {
  std::string hop;
  std::string state;                     // the hop's state afterwards, as health.json says it
  std::int64_t suspended_until = 0;      // Unix seconds; 0 when not suspended
  std::string reason;
};

/// Force a health path UP or DOWN for `seconds` (maintenance now), or release it.
struct PathAction {
  std::string path;
  bool release = false;
  bool up = false;                       // forced UP; else DOWN
  std::int64_t seconds = 0;
  std::string reason;
};

struct PathActionResult {
  std::string path;
  std::string state;                     // "up" or "down" afterwards
  std::int64_t forced_until = 0;         // Unix seconds; 0 when not forced
  std::string reason;
};

std::expected<QueueAction, ApiError> parse_queue_action(std::string_view action, std::string_view body);
/// `suspend`: body {"duration": "30m" | seconds, "reason": "..."}; resume takes {} or nothing.
std::expected<HopAction, ApiError> parse_hop_action(std::string_view hop, bool suspend, std::string_view body);

/// `release` false: body {"state": "down" | "up", "duration": ..., "reason": ...}.
std::expected<PathAction, ApiError> parse_path_action(std::string_view path, bool release, std::string_view body);

std::string to_json(const QueueActionResult& result);
std::string to_json(const PathActionResult& result);
std::string to_json(const HopActionResult& result);
std::string error_json(const ApiError& error);

/// The longest suspension the API grants (a week): past that, change the configuration.
inline constexpr std::int64_t max_suspension_seconds = 7 * 24 * 3600;

}  // namespace relay::admin
