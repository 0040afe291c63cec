// relay/server/sasl.cpp — PLAIN and LOGIN step by step.
//
// One response line is decoded per step. A failed step always ends the exchange, so a
// client cannot stay in it with garbage; the FSM decides what each outcome costs.
#include "conf/ascii.hpp"
#include "relay/server/sasl.hpp"

#include <utility>

#include "policy/base64.hpp"
#include "relay/smtp/command_parser.hpp"

namespace relay {
namespace {

constexpr std::string_view login_username_prompt = "VXNlcm5hbWU6";  // "Username:"
constexpr std::string_view login_password_prompt = "UGFzc3dvcmQ6";  // "Password:"

// RFC 4954 §4: "=" is an empty response.
std::optional<std::string> decode_response(std::string_view text) {
  if (text == "=") return std::string();
  return policy::base64_decode(text);
}

SaslStep outcome(SaslOutcome o) { return SaslStep{.outcome = o}; }

// RFC 4616 §2: [authzid] NUL authcid NUL passwd, exactly two NULs.
SaslStep plain_message(std::string_view text) {
  const auto first = text.find('\0');
  const auto second = first == std::string_view::npos ? first : text.find('\0', first + 1);
  if (second == std::string_view::npos || text.find('\0', second + 1) != std::string_view::npos) {
    return outcome(SaslOutcome::malformed);
  }
  const std::string_view authzid = text.substr(0, first);
  const std::string_view authcid = text.substr(first + 1, second - first - 1);
  if (authcid.empty() || (!authzid.empty() && authzid != authcid)) return outcome(SaslOutcome::refused);
  return SaslStep{.outcome = SaslOutcome::credentials,
                  .user = std::string(authcid),
                  .password = std::string(text.substr(second + 1))};
}

}  // namespace

std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) noexcept {
  if (conf::ascii_iequals(name, "PLAIN")) return SaslMechanism::plain;
  if (conf::ascii_iequals(name, "LOGIN")) return SaslMechanism::login;
  return std::nullopt;
}

SaslStep SaslExchange::challenge(Step next, std::string_view text) noexcept {
  step_ = next;
  return SaslStep{.outcome = SaslOutcome::challenge, .challenge = text};
}

SaslStep SaslExchange::start(SaslMechanism mechanism, std::optional<std::string_view> initial) {
  const Step first = mechanism == SaslMechanism::plain ? Step::plain : Step::login_user;
  if (!initial) return challenge(first, mechanism == SaslMechanism::plain ? "" : login_username_prompt);
  step_ = first;  // the initial response answers the first, unsent challenge
  return respond(*initial);
}

SaslStep SaslExchange::respond(std::string_view line) {
  const Step step = step_;
  step_ = Step::none;
  if (line == "*") {  // RFC 4954 §4: the client gave up
    login_user_.clear();
    return outcome(SaslOutcome::cancelled);
  }
  auto decoded = decode_response(line);
  if (!decoded) return outcome(SaslOutcome::malformed);
  switch (step) {
    case Step::plain:
      return plain_message(*decoded);
    case Step::login_user:
      if (decoded->empty() || decoded->find('\0') != std::string::npos) return outcome(SaslOutcome::malformed);
      login_user_ = std::move(*decoded);
      return challenge(Step::login_password, login_password_prompt);
    case Step::login_password:
      return SaslStep{.outcome = SaslOutcome::credentials,
                      .user = std::exchange(login_user_, {}),
                      .password = std::move(*decoded)};
    case Step::none:
      break;
  }
  return outcome(SaslOutcome::malformed);
}

void SaslExchange::abandon() noexcept {
  step_ = Step::none;
  login_user_.clear();
}

}  // namespace relay
