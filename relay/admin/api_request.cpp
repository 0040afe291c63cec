// relay/admin/api_request.cpp — the admin API's mutation requests and answers as JSON.
#include "relay/admin/api_request.hpp"

#include <exception>
#include <set>

#include "health/json_reader.hpp"
#include "health/report.hpp"
#include "queue/queue_query.hpp"

namespace relay::admin {
namespace {

ApiError bad_json(std::string why) { return ApiError{400, "bad_json", "request body is not valid JSON: " + std::move(why)}; }
ApiError unknown_field(std::string_view where, std::string_view key) {
  return ApiError{400, "unknown_field", "unknown field \"" + std::string(key) + "\" in " + std::string(where)};
}
ApiError bad_request(std::string message) { return ApiError{400, "bad_request", std::move(message)}; }

// An empty body is an empty object: POST /api/hops/H/resume needs nothing.
std::string_view or_empty_object(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos ? std::string_view("{}") : body;
}

// Reads one object member by member with `field`, which returns an error for a bad or
// unknown member; the reader's own failures (and its exceptions on absurd numbers or
// escapes) are bad JSON. Nothing may follow the object.
template <class Field>
std::optional<ApiError> read_object(std::string_view body, Field&& field) {
  std::optional<ApiError> failure;
  try {
    health::JsonReader reader(or_empty_object(body));
    const bool ok = reader.object([&](const std::string& key) {
      failure = field(reader, key);
      return !failure.has_value();
    });
    if (failure) return failure;
    if (!ok || !reader.at_end()) return bad_json("expected one JSON object");
  } catch (const std::exception& e) {
    return bad_json(e.what());
  }
  return std::nullopt;
}

std::optional<ApiError> read_bool(health::JsonReader& reader, std::string_view key, bool& out) {
  const auto value = reader.boolean();
  if (!value) return bad_request("\"" + std::string(key) + "\" must be true or false");
  out = *value;
  return std::nullopt;
}

std::optional<ApiError> read_string(health::JsonReader& reader, std::string_view key, std::string& out) {
  auto value = reader.string();
  if (!value) return bad_request("\"" + std::string(key) + "\" must be a string");
  out = std::move(*value);
  return std::nullopt;
}

const std::set<std::string_view>& filter_keys() {
  static const std::set<std::string_view> keys{"state", "direction", "listener", "sender", "recipient",
                                               "domain", "hop", "older", "newer"};
  return keys;
}

}  // namespace

std::expected<QueueAction, ApiError> parse_queue_action(std::string_view action, std::string_view body) {
  QueueAction out;
  out.action = std::string(action);
  auto failure = read_object(body, [&](health::JsonReader& reader, const std::string& key) -> std::optional<ApiError> {
    if (key == "dry_run") return read_bool(reader, key, out.dry_run);
    if (key == "all") return read_bool(reader, key, out.all);
    if (key == "report" && out.action == "delete") return read_bool(reader, key, out.report);
    if (key == "domain" && out.action == "retry") return read_string(reader, key, out.domain);
    if (key == "ids") {
      bool ok = reader.eat('[');
      if (ok && !reader.eat(']')) {
        do {
          auto id = reader.string();
          if (!id) return bad_request("\"ids\" must be an array of queue id strings");
          out.ids.push_back(std::move(*id));
        } while (reader.eat(','));
        ok = reader.eat(']');
      }
      if (!ok) return bad_request("\"ids\" must be an array of queue id strings");
      return std::nullopt;
    }
    if (key == "filter") {
      auto& filter = out.filter.emplace();
      std::optional<ApiError> inner;
      const bool ok = reader.object([&](const std::string& name) {
        if (!filter_keys().contains(name)) inner = unknown_field("filter", name);
        else if (auto value = reader.string()) filter[name] = std::move(*value);
        else inner = bad_request("filter \"" + name + "\" must be a string");
        return !inner;
      });
      if (inner) return inner;
      if (!ok) return bad_request("\"filter\" must be an object");
      return std::nullopt;
    }
    return unknown_field("the request", key);
  });
  if (failure) return std::unexpected(std::move(*failure));
  const int chosen = (out.ids.empty() ? 0 : 1) + (out.all ? 1 : 0) + (out.filter ? 1 : 0) + (out.domain.empty() ? 0 : 1);
  if (chosen != 1)
    return std::unexpected(bad_request("name the messages with exactly one of \"ids\", \"filter\"" +
                                       std::string(out.action == "retry" ? ", \"domain\"" : "") + " or \"all\": true"));
  if (out.filter && out.filter->empty())
    return std::unexpected(bad_request("an empty \"filter\" would select everything; say \"all\": true"));
  if (out.all && (out.action == "bounce" || out.action == "expire"))
    return std::unexpected(bad_request(out.action + " of all messages is refused: name them by ids or a filter"));
  return out;
}

namespace {

// "duration": "30m" or a number of seconds, read as text for parse_age_ms.
std::optional<ApiError> read_duration(health::JsonReader& reader, std::optional<std::string>& out) {
  if (auto text = reader.string()) {
    out = std::move(*text);
  } else if (auto seconds = reader.integer()) {
    out = std::to_string(*seconds) + "s";
  } else {
    return bad_request("\"duration\" must be a string such as \"30m\" or a number of seconds");
  }
  return std::nullopt;
}

std::expected<std::int64_t, ApiError> duration_seconds(const std::optional<std::string>& duration) {
  if (!duration) return std::unexpected(bad_request("\"duration\" is required (\"90s\", \"30m\", \"2h\", \"1d\")"));
  const auto ms = queue::parse_age_ms(*duration);
  if (!ms || *ms < 1000 || *ms / 1000 > max_suspension_seconds)
    return std::unexpected(bad_request("\"duration\" must be from 1s to 7d, such as \"30m\"; got \"" + *duration + "\""));
  return *ms / 1000;
}

}  // namespace

std::expected<HopAction, ApiError> parse_hop_action(std::string_view hop, bool suspend, std::string_view body) {
  HopAction out{std::string(hop), suspend, 0, {}};
  std::optional<std::string> duration;
  auto failure = read_object(body, [&](health::JsonReader& reader, const std::string& key) -> std::optional<ApiError> {
    if (key == "reason") return read_string(reader, key, out.reason);
    if (key == "duration" && suspend) return read_duration(reader, duration);
    return unknown_field("the request", key);
  });
  if (failure) return std::unexpected(std::move(*failure));
  if (!suspend) return out;
  const auto seconds = duration_seconds(duration);
  if (!seconds) return std::unexpected(seconds.error());
  out.seconds = *seconds;
  return out;
}

std::expected<PathAction, ApiError> parse_path_action(std::string_view path, bool release, std::string_view body) {
  PathAction out{std::string(path), release, false, 0, {}};
  std::optional<std::string> duration, state;
  auto failure = read_object(body, [&](health::JsonReader& reader, const std::string& key) -> std::optional<ApiError> {
    if (key == "reason") return read_string(reader, key, out.reason);
    if (key == "duration" && !release) return read_duration(reader, duration);
    if (key == "state" && !release) return read_string(reader, key, state.emplace());
    return unknown_field("the request", key);
  });
  if (failure) return std::unexpected(std::move(*failure));
  if (release) return out;
  if (state != "up" && state != "down") return std::unexpected(bad_request("\"state\" must be \"down\" or \"up\""));
  out.up = state == "up";
  const auto seconds = duration_seconds(duration);
  if (!seconds) return std::unexpected(seconds.error());
  out.seconds = *seconds;
  return out;
}

std::string to_json(const QueueActionResult& r) {
  std::string ids;
  for (const auto& id : r.ids) ids += (ids.empty() ? "" : ",") + health::json_string(id);
  return "{\"action\":" + health::json_string(r.action) + ",\"dry_run\":" + (r.dry_run ? "true" : "false") +
         ",\"matched\":" + std::to_string(r.matched) + ",\"messages\":" + std::to_string(r.messages) +
         ",\"recipients\":" + std::to_string(r.recipients) + ",\"notices\":" + std::to_string(r.notices) +
         ",\"ids\":[" + ids + "]}\n";
}

std::string to_json(const HopActionResult& r) {
  return "{\"hop\":" + health::json_string(r.hop) + ",\"state\":" + health::json_string(r.state) +
         ",\"suspended_until\":" + std::to_string(r.suspended_until) + ",\"reason\":" + health::json_string(r.reason) +
         "}\n";
}

std::string to_json(const PathActionResult& r) {
  return "{\"path\":" + health::json_string(r.path) + ",\"state\":" + health::json_string(r.state) +
         ",\"forced_until\":" + std::to_string(r.forced_until) + ",\"reason\":" + health::json_string(r.reason) + "}\n";
}

std::string error_json(const ApiError& error) {
  return "{\"error\":{\"code\":" + health::json_string(error.code) + ",\"message\":" +
         health::json_string(error.message) + "}}\n";
}

}  // namespace relay::admin
