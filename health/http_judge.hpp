// health/http_judge.hpp — the HTTP side of an http/https check, without the sockets.
//
// Owns: the HTTP/1.0 GET request a check sends, the status-line parser, and the verdict
// on a complete response (status among expect_status, body holds body_contains).
// Never: performs I/O; takes bytes, returns values (health/http_probe.cpp moves them).
// Standards: RFC 9112 §4 (status line), §9.3 (HTTP/1.0: the server closes after the
// response, so the whole response is what was read until EOF); RFC 9110 §7.2 (Host).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "health/probe_status.hpp"

namespace health {

/// The request for `check`: GET url_path, Host with the port when it is not the scheme's.
std::string http_request(const conf::CheckConfig& check);

/// The status code of an HTTP/1.x status line ("HTTP/1.1 200 OK", "HTTP/1.0 204"), or
/// nullopt when `line` (without CRLF) is not one: HTTP-version SP 3DIGIT [SP reason].
std::optional<int> parse_status_line(std::string_view line);

struct HttpVerdict {
  ProbeStatus status = ProbeStatus::bad_response;  // protocol_ok when acceptable
  std::string detail;                               // "status 200", "503 (expected 200)"
};

/// Judges a complete response (status line, headers, body).
HttpVerdict judge_http(std::string_view response, std::span<const std::uint16_t> expect_status,
                       std::string_view body_contains);

}  // namespace health
