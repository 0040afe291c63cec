// health/http_judge.cpp — HTTP request text and response verdict for health checks.
#include "health/http_judge.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace health {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

/// At most 60 characters of `text`, control bytes shown as '?': enough to recognise what
/// answered (an SMTP banner, a TLS alert) without copying a binary blob into a report.
std::string excerpt(std::string_view text) {
  std::string out(text.substr(0, 60));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f) c = '?';
  return out;
}

}  // namespace

std::string http_request(const conf::CheckConfig& check) {
  // HTTP/1.0: no chunked bodies, the server closes after the response (RFC 9112 §9.3).
  const bool default_port = check.port == (check.kind == conf::CheckKind::https ? 443 : 80);
  std::string host = check.host.find(':') != std::string::npos ? "[" + check.host + "]" : check.host;
  if (!default_port) host += ":" + std::to_string(check.port);
  return "GET " + check.url_path + " HTTP/1.0\r\nHost: " + host +
         "\r\nUser-Agent: hubrelay-health\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

std::optional<int> parse_status_line(std::string_view line) {
  // "HTTP/" DIGIT "." DIGIT SP 3DIGIT, then the end or SP reason-phrase. Servers that drop
  // the SP before an empty reason are common, so the line may end after the code.
  if (line.size() < 12 || !line.starts_with("HTTP/") || !digit(line[5]) || line[6] != '.' || !digit(line[7]) ||
      line[8] != ' ' || !digit(line[9]) || !digit(line[10]) || !digit(line[11]))
    return std::nullopt;
  if (line.size() > 12 && line[12] != ' ') return std::nullopt;
  return (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
}

HttpVerdict judge_http(std::string_view response, std::span<const std::uint16_t> expect_status,
                       std::string_view body_contains) {
  const std::string_view first = response.substr(0, response.find("\r\n"));
  const auto status = parse_status_line(first);
  if (!status) {
    if (response.empty()) return {ProbeStatus::bad_response, "empty response"};
    return {ProbeStatus::bad_response, fmt::format("not an HTTP response: \"{}\"", excerpt(first))};
  }
  if (std::ranges::find(expect_status, *status) == expect_status.end())
    return {ProbeStatus::http_status_mismatch, fmt::format("{} (expected {})", *status, fmt::join(expect_status, ", "))};
  if (!body_contains.empty()) {
    const auto body_start = response.find("\r\n\r\n");
    const std::string_view body = body_start == std::string_view::npos ? std::string_view{} : response.substr(body_start + 4);
    if (body.find(body_contains) == std::string_view::npos)
      return {ProbeStatus::http_body_mismatch, fmt::format("\"{}\" not found (status {})", body_contains, *status)};
  }
  return {ProbeStatus::protocol_ok, fmt::format("status {}", *status)};
}

}  // namespace health
