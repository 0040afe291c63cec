// tests/support/fsm_fixture.hpp — what every ServerFsm test needs around the FSM itself.
//
// Owns: the example listener policy the FSM tests share (192.0.2.0/24 trusted, example.com
// accepted), compiling a policy with a test failure instead of an exception, a Peer for an
// address literal, and reading replies back out of the FSM's output: every complete line,
// or the code (and enhanced status) of each reply (a multi-line reply counts once, by its
// last line).
// Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "policy/listener_policy.hpp"
#include "relay/server/server_fsm.hpp"

namespace test_support {

inline policy::ListenerPolicy compile_policy(const conf::PolicyConfig& config) {
  auto compiled = policy::ListenerPolicy::compile(config, {});
  EXPECT_TRUE(compiled.has_value()) << (compiled ? "" : compiled.error());
  return compiled ? std::move(*compiled) : policy::ListenerPolicy{};
}

/// 192.0.2.0/24 trusted, example.com accepted from anyone.
inline policy::ListenerPolicy example_policy() {
  conf::PolicyConfig config;
  config.name = "test";
  config.trusted_networks = {"192.0.2.0/24"};
  config.accepted_domains = {"example.com"};
  return compile_policy(config);
}

inline relay::Peer peer_at(const char* ip, std::uint16_t port = 0) {
  relay::Peer p;
  p.address = ip;
  p.port = port;
  p.ip = policy::IpAddress::parse(ip).value_or(policy::IpAddress{});
  return p;
}

/// Every complete CRLF-terminated line of `out`, without the CRLF.
inline std::vector<std::string> reply_lines(const std::string& out) {
  std::vector<std::string> result;
  std::size_t start = 0;
  while (start < out.size()) {
    const auto end = out.find("\r\n", start);
    if (end == std::string::npos) break;
    result.push_back(out.substr(start, end - start));
    start = end + 2;
  }
  return result;
}

/// The three-digit code of every line that ends a reply, in order.
inline std::vector<int> reply_codes(const std::string& out) {
  std::vector<int> result;
  for (const std::string& line : reply_lines(out)) {
    if (line.size() >= 3 && (line.size() == 3 || line[3] == ' ')) result.push_back(std::stoi(line.substr(0, 3)));
  }
  return result;
}

/// A reply's code and its enhanced status ("" when the reply has none).
struct ReplyCode {
  int code;
  std::string enhanced;
  friend bool operator==(const ReplyCode&, const ReplyCode&) = default;
  friend std::ostream& operator<<(std::ostream& os, const ReplyCode& c) { return os << c.code << " " << c.enhanced; }
};

/// The code and enhanced status of the final line of each reply in `out`. Output that
/// does not end in CRLF, or a line too short to hold a code, is a test failure.
inline std::vector<ReplyCode> reply_code_pairs(const std::string& out) {
  if (!out.empty() && !out.ends_with("\r\n")) ADD_FAILURE() << "reply output does not end in CRLF: " << out;
  std::vector<ReplyCode> codes;
  for (const std::string& line : reply_lines(out)) {
    if (line.size() < 3) {
      ADD_FAILURE() << "short reply line: " << line;
      continue;
    }
    if (line.size() > 3 && line[3] == '-') continue;
    ReplyCode c{std::stoi(line.substr(0, 3)), ""};
    if (line.size() > 9 && line[5] == '.' && (line[4] == '2' || line[4] == '4' || line[4] == '5')) {
      const auto space = line.find(' ', 4);
      c.enhanced = line.substr(4, space == std::string::npos ? std::string::npos : space - 4);
    }
    codes.push_back(c);
  }
  return codes;
}

}  // namespace test_support
