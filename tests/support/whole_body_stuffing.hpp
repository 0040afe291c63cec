// tests/support/whole_body_stuffing.hpp — the reference for dot-stuffing a body held whole.
//
// Owns: RFC 5321 §4.5.2 transparency applied to one complete body string, written the
// plainest way (search for CRLF "." and add a dot; a leading "." counts too; CRLF added
// when the body does not end in one; then CRLF "." CRLF). The relay streams bodies in
// chunks (relay/smtp/dot_stuffer.hpp); the tests compare what goes on the wire with this,
// wherever the chunk borders fall. Header-only; test code only.
#pragma once

#include <string>

namespace test_support {

inline std::string whole_body_stuffing(const std::string& body) {
  std::string out;
  std::size_t start = 0;
  if (!body.empty() && body.front() == '.') out += '.';
  for (std::size_t pos = body.find("\r\n.", 0); pos != std::string::npos; pos = body.find("\r\n.", pos + 3)) {
    out.append(body, start, pos + 2 - start);
    out += '.';
    start = pos + 2;
  }
  out.append(body, start);
  if (body.size() < 2 || body.compare(body.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace test_support
