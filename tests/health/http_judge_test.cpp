// tests/health/http_judge_test.cpp — the HTTP check's status-line parser, response
// verdict and request text, as got/want tables.
#include "health/http_judge.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using health::ProbeStatus;

TEST(HttpJudge, StatusLine) {
  struct Case {
    std::string_view line;
    std::optional<int> want;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK", 200},
      {"HTTP/1.0 204", 204},               // no reason phrase, no trailing SP
      {"HTTP/1.1 404 ", 404},              // empty reason phrase
      {"HTTP/1.1 503 Service Unavailable", 503},
      {"HTTP/1.1 999 Odd", 999},
      {"HTTP/2 200", std::nullopt},        // not HTTP/1.x
      {"HTTP/1.1 20", std::nullopt},       // short code
      {"HTTP/1.1 2000 OK", std::nullopt},  // long code
      {"HTTP/1.1 abc OK", std::nullopt},
      {"HTTP/1.1  200 OK", std::nullopt},  // two spaces
      {"http/1.1 200 OK", std::nullopt},   // the version is case-sensitive (RFC 9112 §2.3)
      {"HTTP/x.1 200 OK", std::nullopt},
      {"SSH-2.0-OpenSSH_9.2", std::nullopt},
      {"220 mail.example ESMTP", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(health::parse_status_line(c.line), c.want) << c.line;
}

TEST(HttpJudge, Verdict) {
  struct Case {
    std::string response;
    std::vector<std::uint16_t> expect;
    std::string body_contains;
    ProbeStatus status;
    std::string detail;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", {200}, "", ProbeStatus::protocol_ok, "status 200"},
      {"HTTP/1.0 204\r\n\r\n", {200, 204}, "", ProbeStatus::protocol_ok, "status 204"},
      {"HTTP/1.1 503 Busy\r\n\r\n", {200}, "", ProbeStatus::http_status_mismatch, "503 (expected 200)"},
      {"HTTP/1.1 200 OK\r\n\r\n", {301, 302}, "", ProbeStatus::http_status_mismatch, "200 (expected 301, 302)"},
      {"HTTP/1.1 200 OK\r\n\r\nstatus: hubrelay-ok\n", {200}, "hubrelay-ok", ProbeStatus::protocol_ok, "status 200"},
      {"HTTP/1.1 200 OK\r\n\r\nstatus: degraded\n", {200}, "hubrelay-ok", ProbeStatus::http_body_mismatch,
       "\"hubrelay-ok\" not found (status 200)"},
      // The text in a header is not the body.
      {"HTTP/1.1 200 OK\r\nX-Note: hubrelay-ok\r\n\r\n", {200}, "hubrelay-ok", ProbeStatus::http_body_mismatch,
       "\"hubrelay-ok\" not found (status 200)"},
      {"HTTP/1.1 200 OK\r\n", {200}, "x", ProbeStatus::http_body_mismatch, "\"x\" not found (status 200)"},
      // The status is judged before the body.
      {"HTTP/1.1 500 Oops\r\n\r\nhubrelay-ok", {200}, "hubrelay-ok", ProbeStatus::http_status_mismatch,
       "500 (expected 200)"},
      {"220 mail.example ESMTP\r\n", {200}, "", ProbeStatus::bad_response,
       "not an HTTP response: \"220 mail.example ESMTP\""},
      {std::string("\x16\x03\x01\x00\x02\r\n", 7), {200}, "", ProbeStatus::bad_response,
       "not an HTTP response: \"?????\""},
      {"", {200}, "", ProbeStatus::bad_response, "empty response"},
  };
  for (const auto& c : cases) {
    const auto got = health::judge_http(c.response, c.expect, c.body_contains);
    EXPECT_EQ(got.status, c.status) << c.response;
    EXPECT_EQ(got.detail, c.detail) << c.response;
  }
}

TEST(HttpJudge, RequestNamesTheHostAndANonDefaultPort) {
  conf::CheckConfig check;
  check.kind = conf::CheckKind::http;
  check.host = "health.example";
  check.port = 80;
  check.url_path = "/health";
  EXPECT_EQ(health::http_request(check),
            "GET /health HTTP/1.0\r\nHost: health.example\r\nUser-Agent: hubrelay-health\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n");
  check.kind = conf::CheckKind::https;
  check.host = "::1";
  check.port = 8443;
  EXPECT_NE(health::http_request(check).find("\r\nHost: [::1]:8443\r\n"), std::string::npos);
  check.port = 443;
  EXPECT_NE(health::http_request(check).find("\r\nHost: [::1]\r\n"), std::string::npos);
}

}  // namespace
