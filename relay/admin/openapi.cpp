// relay/admin/openapi.cpp — the OpenAPI 3.1 description of the admin endpoint.
//
// Owns: /api/openapi.json, one operation (with operationId) per method and path that
// relay/admin/admin_http.cpp answers, and the schemas of their request and response bodies.
// The e2e tests (tests/e2e/test_admin_api.py) validate real responses against it, so a
// field added to an answer without being described here fails there.
// Pure: a constant document.
#include "relay/admin/admin_http.hpp"

namespace relay::admin {
namespace {

constexpr std::string_view document = R"json({
  "openapi": "3.1.0",
  "info": {
    "title": "hubrelay admin API",
    "version": "1",
    "description": "Read-only views (metrics, status, queue, message tracking) and the writable admin API (queue actions, hop suspension). Mutations need Authorization: Bearer <the token of [admin] token_file>; see docs/metrics.md."
  },
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "description": "[admin] token_file; compared in constant time"}
    },
    "schemas": {
      "Error": {
        "type": "object", "additionalProperties": false, "required": ["error"],
        "properties": {"error": {"type": "object", "additionalProperties": false, "required": ["code", "message"],
          "properties": {
            "code": {"type": "string", "enum": ["bad_json", "unknown_field", "bad_request", "unauthorized", "forbidden", "not_found", "conflict", "method_not_allowed", "internal"]},
            "message": {"type": "string"}}}}
      },
      "QueueActionRequest": {
        "type": "object", "additionalProperties": false,
        "description": "Exactly one of ids, filter, all (and for retry: domain).",
        "properties": {
          "ids": {"type": "array", "items": {"type": "string", "pattern": "^(0x)?[0-9A-Fa-f]+$"}},
          "filter": {"type": "object", "additionalProperties": false, "minProperties": 1,
            "properties": {
              "state": {"type": "string", "enum": ["queued", "deferred", "held", "delivered", "failed", "expired", "all"]},
              "direction": {"type": "string", "enum": ["inbound", "outbound"]},
              "listener": {"type": "string"}, "sender": {"type": "string"}, "recipient": {"type": "string"},
              "domain": {"type": "string"}, "hop": {"type": "string"},
              "older": {"type": "string", "description": "age such as 90s, 15m, 2h, 3d"},
              "newer": {"type": "string"}}},
          "all": {"type": "boolean"},
          "domain": {"type": "string", "description": "retry only"},
          "report": {"type": "boolean", "description": "delete only: send the sender a DSN"},
          "dry_run": {"type": "boolean", "description": "count the selected messages, change nothing"}
        }
      },
      "QueueActionResult": {
        "type": "object", "additionalProperties": false,
        "required": ["action", "dry_run", "matched", "messages", "recipients", "notices", "ids"],
        "properties": {
          "action": {"type": "string"}, "dry_run": {"type": "boolean"},
          "matched": {"type": "integer", "minimum": 0}, "messages": {"type": "integer", "minimum": 0},
          "recipients": {"type": "integer", "minimum": 0}, "notices": {"type": "integer", "minimum": 0},
          "ids": {"type": "array", "items": {"type": "string"}}
        }
      },
      "HopSuspendRequest": {
        "type": "object", "additionalProperties": false, "required": ["duration"],
        "properties": {
          "duration": {"oneOf": [{"type": "string", "pattern": "^[0-9]+[smhd]?$"}, {"type": "integer", "minimum": 1}]},
          "reason": {"type": "string"}
        }
      },
      "ReasonOnlyRequest": {"type": "object", "additionalProperties": false, "properties": {"reason": {"type": "string"}}},
      "TlsReportsSendRequest": {"type": "object", "additionalProperties": false, "properties": {"include_today": {"type": "boolean"}}},
      "TlsReportsSendResult": {
        "type": "object", "additionalProperties": false, "required": ["domains", "include_today"],
        "properties": {"domains": {"type": "integer", "minimum": 0}, "include_today": {"type": "boolean"}}
      },
      "HopActionResult": {
        "type": "object", "additionalProperties": false, "required": ["hop", "state", "suspended_until", "reason"],
        "properties": {
          "hop": {"type": "string"}, "state": {"type": "string"},
          "suspended_until": {"type": "integer", "minimum": 0, "description": "Unix seconds; 0 when not suspended"},
          "reason": {"type": "string"}
        }
      },
      "PathForceRequest": {
        "type": "object", "additionalProperties": false, "required": ["state", "duration"],
        "properties": {
          "state": {"type": "string", "enum": ["down", "up"]},
          "duration": {"oneOf": [{"type": "string", "pattern": "^[0-9]+[smhd]?$"}, {"type": "integer", "minimum": 1}]},
          "reason": {"type": "string"}
        }
      },
      "PathActionResult": {
        "type": "object", "additionalProperties": false, "required": ["path", "state", "forced_until", "reason"],
        "properties": {
          "path": {"type": "string"}, "state": {"type": "string", "enum": ["UP", "DOWN", ""]},
          "forced_until": {"type": "integer", "minimum": 0, "description": "Unix seconds; 0 when not forced"},
          "reason": {"type": "string"}
        }
      },
      "QueuedMessage": {
        "type": "object", "additionalProperties": false,
        "required": ["id", "state", "direction", "listener", "client", "helo", "sender", "parameters", "received_at", "age_seconds", "size", "held", "body_stored", "recipients"],
        "properties": {
          "id": {"type": "string", "pattern": "^[0-9A-F]+$"},
          "state": {"type": "string", "enum": ["queued", "deferred", "held", "delivered", "failed", "expired"]},
          "direction": {"type": "string", "enum": ["inbound", "outbound"]},
          "listener": {"type": "string"}, "client": {"type": "string"}, "helo": {"type": "string"},
          "sender": {"type": "string", "description": "\"\" for the null sender"}, "parameters": {"type": "string"},
          "received_at": {"type": "string"}, "age_seconds": {"type": "integer", "minimum": 0},
          "size": {"type": "integer", "minimum": 0}, "held": {"type": "boolean"}, "body_stored": {"type": "boolean"},
          "recipients": {"type": "array", "items": {"$ref": "#/components/schemas/QueuedRecipient"}},
          "attempts": {"type": "array", "items": {"$ref": "#/components/schemas/Attempt"}}
        }
      },
      "QueuedRecipient": {
        "type": "object", "additionalProperties": false,
        "required": ["address", "state", "attempts", "in_delivery", "next_attempt", "last_reply", "hop", "parked_on", "parked_since", "parked_reason"],
        "properties": {
          "address": {"type": "string"}, "state": {"type": "string"}, "attempts": {"type": "integer", "minimum": 0},
          "in_delivery": {"type": "boolean"}, "next_attempt": {"type": ["string", "null"]},
          "last_reply": {"type": ["string", "null"]}, "hop": {"type": ["string", "null"]},
          "parked_on": {"type": ["string", "null"]}, "parked_since": {"type": ["string", "null"]},
          "parked_reason": {"type": ["string", "null"]}, "parameters": {"type": "string"},
          "lease_node": {"type": "string", "description": "shared queue: the node delivering this recipient"},
          "lease_until": {"type": "string", "description": "shared queue: when that node's lease runs out"}
        }
      },
      "Attempt": {
        "type": "object", "additionalProperties": false, "required": ["recipient", "at", "hop", "address", "kind", "state", "reply"],
        "properties": {
          "recipient": {"type": "integer", "minimum": 0}, "at": {"type": "string"}, "hop": {"type": ["string", "null"]},
          "address": {"type": ["string", "null"]}, "tls": {"type": "string", "description": "what protected the session: none, opportunistic, verified or dane, then TLS protocol and cipher; absent when no session was opened"}, "kind": {"type": "string"}, "state": {"type": "string"}, "reply": {"type": "string"}
        }
      },
      "TrackingRecord": {
        "type": "object", "additionalProperties": false, "required": ["time", "event"],
        "description": "one tracking record, as in the tracking files (docs/tracking.md); absent fields are left out",
        "properties": {
          "time": {"type": "string"},
          "event": {"type": "string", "enum": ["receive", "reject", "queue", "filter", "deliver", "defer", "bounce", "expire", "dsn", "hold", "release", "delete", "drop"]},
          "queue_id": {"type": "string"}, "message_id": {"type": "string"}, "sender": {"type": "string"},
          "recipients": {"type": "array", "items": {"type": "string"}}, "size": {"type": "integer", "minimum": 0},
          "direction": {"type": "string"}, "listener": {"type": "string"}, "client": {"type": "string"}, "helo": {"type": "string"},
          "stage": {"type": "string"}, "reason": {"type": "string"}, "hop": {"type": "string"}, "remote": {"type": "string"},
          "reply": {"type": "string"}, "attempt": {"type": "integer", "minimum": 1},
          "tls_protocol": {"type": "string"}, "tls_cipher": {"type": "string"}, "dkim": {"type": "string"}, "latency_ms": {"type": "integer"},
          "actor": {"type": "string"}
        }
      },
      "TrackingAnswer": {
        "type": "object", "additionalProperties": false, "required": ["count", "limit", "truncated", "records"],
        "properties": {
          "count": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1},
          "truncated": {"type": "boolean", "description": "more records matched: these are the newest limit of them"},
          "records": {"type": "array", "items": {"$ref": "#/components/schemas/TrackingRecord"}, "description": "oldest first"}
        }
      },
      "Status": {
        "type": "object", "required": ["now", "started", "hops", "directions", "node", "queue_backend"],
        "properties": {
          "now": {"type": "integer"}, "started": {"type": "integer"}, "draining": {"type": "boolean"},
          "version": {"type": "string"},
          "node": {"type": "string", "description": "this relay's name ([queue] node)"},
          "queue_backend": {"type": "string", "enum": ["sqlite", "postgresql"], "description": "where the queue lives ([queue] backend)"},
          "directions": {"type": "object"}, "listeners": {"type": "array"},
          "hops": {"type": "array", "items": {"type": "object", "required": ["name", "state"],
            "properties": {"name": {"type": "string"}, "state": {"type": "string"}, "suspended_until": {"type": "integer"}}}}
        }
      }
    },
    "responses": {
      "BadRequest": {"description": "bad JSON, an unknown field or a bad value", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "no or wrong bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "no [admin] token_file: the writable API is off", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "unknown queue id or hop", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "the request conflicts with the current state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "MethodNotAllowed": {"description": "use POST", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "QueueActionDone": {"description": "what was selected and changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueueActionResult"}}}},
      "PathActionDone": {"description": "the path's state afterwards", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PathActionResult"}}}},
      "HopActionDone": {"description": "the hop's state afterwards", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HopActionResult"}}}},
      "TlsReportsSent": {"description": "how many domains' reports are being sent", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TlsReportsSendResult"}}}}
    }
  },
  "paths": {
    "/metrics": {"get": {"operationId": "getMetrics", "summary": "Prometheus metrics",
      "responses": {"200": {"description": "text exposition format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/api/status": {"get": {"operationId": "getStatus", "summary": "status document (the status page's data)",
      "responses": {"200": {"description": "status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}}},
    "/api/openapi.json": {"get": {"operationId": "getOpenApi", "summary": "this document",
      "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}}}}}},
    "/api/queue": {"get": {"operationId": "listQueue", "summary": "queued messages, one JSON object per line (each a QueuedMessage)",
      "parameters": [
        {"name": "state", "in": "query", "schema": {"type": "string"}}, {"name": "direction", "in": "query", "schema": {"type": "string"}},
        {"name": "listener", "in": "query", "schema": {"type": "string"}}, {"name": "sender", "in": "query", "schema": {"type": "string"}},
        {"name": "recipient", "in": "query", "schema": {"type": "string"}}, {"name": "domain", "in": "query", "schema": {"type": "string"}},
        {"name": "hop", "in": "query", "schema": {"type": "string"}}, {"name": "older", "in": "query", "schema": {"type": "string"}},
        {"name": "newer", "in": "query", "schema": {"type": "string"}}, {"name": "limit", "in": "query", "schema": {"type": "integer"}},
        {"name": "offset", "in": "query", "schema": {"type": "integer"}}, {"name": "after", "in": "query", "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "JSON lines", "content": {"application/x-ndjson": {"schema": {"type": "string"}, "x-line-schema": {"$ref": "#/components/schemas/QueuedMessage"}}}},
        "400": {"description": "bad filter", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/api/queue/summary": {"get": {"operationId": "getQueueSummary", "summary": "pending recipients by domain and age (qshape)",
      "responses": {"200": {"description": "table", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/api/queue/{id}": {"get": {"operationId": "getQueuedMessage", "summary": "one message with its history",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "the message", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueuedMessage"}}}},
        "400": {"description": "not a queue id", "content": {"text/plain": {"schema": {"type": "string"}}}},
        "404": {"description": "no such message", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/api/tracking": {"get": {"operationId": "searchTracking", "summary": "message tracking records (the search of hubrelay track); needs the token when [admin] token_file is set, as a header or ?token=",
      "security": [{}, {"bearer": []}],
      "parameters": [
        {"name": "message_id", "in": "query", "schema": {"type": "string"}, "description": "with or without <>; finds every record of the message"},
        {"name": "sender", "in": "query", "schema": {"type": "string"}, "description": "address, domain, *pattern* or <>"},
        {"name": "recipient", "in": "query", "schema": {"type": "string"}},
        {"name": "queue_id", "in": "query", "schema": {"type": "string"}, "description": "comma-separated"},
        {"name": "client", "in": "query", "schema": {"type": "string"}},
        {"name": "event", "in": "query", "schema": {"type": "string"}, "description": "comma-separated event names"},
        {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "30m, 2h, 3d, 1w or a UTC time 2026-12-04T10:00:00"},
        {"name": "until", "in": "query", "schema": {"type": "string"}},
        {"name": "by_message", "in": "query", "schema": {"type": "string", "enum": ["1", "true", "yes", "0", "false", "no"]}, "description": "every record of each message found"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}}],
      "responses": {
        "200": {"description": "the newest matching records, oldest first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TrackingAnswer"}}}},
        "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
        "405": {"$ref": "#/components/responses/MethodNotAllowed"},
        "503": {"description": "the daemon is still starting", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
POST_OPERATIONS
    "/": {"get": {"operationId": "getStatusPage", "summary": "the status page (HTML; ?token= for a browser)",
      "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/status": {"get": {"operationId": "getStatusPageAlias", "summary": "the status page",
      "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}}
  }
}
)json";

// The writable operations share their shape (POST, bearer security, a JSON request, the
// JSON answers and errors); only these columns differ.
struct PostOperation {
  std::string_view path, operation_id, summary;
  std::string_view parameter;      // the path template's name, "" for none
  std::string_view request;        // schema name of the body
  bool body_required;
  std::string_view done;           // response name of the 200 answer
  bool conflict;                   // 409 is a possible answer
};
constexpr PostOperation post_operations[] = {
    {"/api/queue/hold", "holdMessages", "hold messages (no delivery until released)", "", "QueueActionRequest", true, "QueueActionDone", true},
    {"/api/queue/release", "releaseMessages", "release held messages, due now", "", "QueueActionRequest", true, "QueueActionDone", true},
    {"/api/queue/retry", "retryMessages", "make pending recipients due now", "", "QueueActionRequest", true, "QueueActionDone", true},
    {"/api/queue/delete", "deleteMessages", "delete messages (report: true sends the sender a DSN)", "", "QueueActionRequest", true, "QueueActionDone", true},
    {"/api/queue/bounce", "bounceMessages", "fail pending recipients and send the sender a DSN", "", "QueueActionRequest", true, "QueueActionDone", true},
    {"/api/queue/expire", "expireMessages", "expire pending recipients and send the sender a DSN", "", "QueueActionRequest", true, "QueueActionDone", true},
    {"/api/hops/{hop}/suspend", "suspendHop", "suspend a hop for a duration (no new connections; its work goes to other hops or waits)", "hop", "HopSuspendRequest", true, "HopActionDone", false},
    {"/api/hops/{hop}/resume", "resumeHop", "end a hop's suspension now", "hop", "ReasonOnlyRequest", false, "HopActionDone", true},
    {"/api/paths/{path}/force", "forcePath", "force a health path UP or DOWN for a duration (maintenance now: no checks, no alerts)", "path", "PathForceRequest", true, "PathActionDone", false},
    {"/api/paths/{path}/release", "releasePath", "end a path's force now; its checks decide again", "path", "ReasonOnlyRequest", false, "PathActionDone", true},
    {"/api/tls-reports/send", "sendTlsReports", "send the TLS reports (RFC 8460) of finished days now; include_today: today's counts so far too", "", "TlsReportsSendRequest", false, "TlsReportsSent", true},
};

std::string post_paths() {
  std::string out;
  const auto answer = [](std::string_view status, std::string_view name) {
    return "\"" + std::string(status) + "\": {\"$ref\": \"#/components/responses/" + std::string(name) + "\"}";
  };
  for (const auto& op : post_operations) {
    out += "    \"" + std::string(op.path) + "\": {\"post\": {\"operationId\": \"" + std::string(op.operation_id) +
           "\", \"summary\": \"" + std::string(op.summary) + "\", \"security\": [{\"bearer\": []}],\n";
    if (!op.parameter.empty())
      out += "      \"parameters\": [{\"name\": \"" + std::string(op.parameter) +
             "\", \"in\": \"path\", \"required\": true, \"schema\": {\"type\": \"string\"}}],\n";
    out += "      \"requestBody\": {\"required\": " + std::string(op.body_required ? "true" : "false") +
           ", \"content\": {\"application/json\": {\"schema\": {\"$ref\": \"#/components/schemas/" +
           std::string(op.request) + "\"}}}},\n      \"responses\": {" + answer("200", op.done) + ", " +
           answer("400", "BadRequest") + ", " + answer("401", "Unauthorized") + ", " + answer("403", "Forbidden") + ", " +
           answer("404", "NotFound") + ", " + answer("405", "MethodNotAllowed") +
           (op.conflict ? ", " + answer("409", "Conflict") : std::string()) + "}}},\n";
  }
  return out;
}

}  // namespace

const std::string& openapi_json() {
  static const std::string text = [] {
    std::string doc(document);
    constexpr std::string_view marker = "POST_OPERATIONS\n";
    doc.replace(doc.find(marker), marker.size(), post_paths());
    return doc;
  }();
  return text;
}

}  // namespace relay::admin
