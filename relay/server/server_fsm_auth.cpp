// relay/server/server_fsm_auth.cpp — AUTH in the server session (RFC 4954).
//
// The mechanisms' steps are relay/server/sasl; here are when AUTH is allowed, the
// longer line limit of AUTH lines, what each SASL outcome answers, and the hand-over of
// complete credentials to the driver (state authenticating; it calls auth_done()).
#include "conf/ascii.hpp"
#include "relay/server/server_fsm.hpp"

#include <utility>

namespace relay {

// RFC 4954 §4 lets AUTH lines (the command with an initial response, and continuation
// lines) reach 12288 octets, because a SASL token can be long; every other command line
// keeps RFC 5321's 512. The first five octets ("AUTH ") are enough to tell.
std::size_t ServerFsm::command_content_limit(std::string_view head) const noexcept {
  if (sasl_.active()) return limits::max_auth_line - 2;  // a continuation line
  if (settings_.auth && head.size() == 5 && conf::ascii_iequals(head.substr(0, 4), "AUTH") && head[4] == ' ') {
    return limits::max_auth_line - 2;
  }
  return limits::max_command_line - 2;
}

// Plaintext credentials only under TLS, unless the listener allows it for clients on
// its trusted networks (a HUB server on the same LAN that cannot do TLS).
bool ServerFsm::auth_allowed() const noexcept {
  if (tls_) return true;
  return settings_.auth_plaintext_trusted && policy_->trusted(policy::Client{peer_.ip, false});
}

void ServerFsm::on_auth(const Command& command, const CommandContext&, std::string& out) {
  // Check: offered at all, sequence, TLS.
  if (!settings_.auth) return reply(out, ReplyId::command_not_implemented);
  if (state_ == ServerState::awaiting_helo) return error_reply(out, ReplyId::need_helo);
  if (authenticated()) return error_reply(out, ReplyId::auth_already_done);
  if (state_ != ServerState::ready) return error_reply(out, ReplyId::bad_sequence);  // not during a transaction
  if (!auth_allowed()) {
    return error_reply(out, settings_.tls == conf::ListenerTls::off ? ReplyId::command_not_implemented
                                                                    : ReplyId::auth_needs_tls);
  }
  // Syntax: "AUTH mechanism [initial-response]".
  const std::string_view argument = command.argument;
  const auto space = argument.find(' ');
  const auto mechanism = parse_sasl_mechanism(argument.substr(0, space));
  std::string_view initial = space == std::string_view::npos ? std::string_view{} : argument.substr(space + 1);
  while (initial.starts_with(' ')) initial.remove_prefix(1);
  if (!mechanism) return error_reply(out, ReplyId::auth_mechanism_unsupported);
  // Proceed.
  sasl_step(sasl_.start(*mechanism, initial.empty() ? std::nullopt : std::optional(initial)), out);
}

void ServerFsm::on_auth_response(std::string_view line, std::string& out) { sasl_step(sasl_.respond(line), out); }

void ServerFsm::sasl_step(SaslStep step, std::string& out) {
  switch (step.outcome) {
    case SaslOutcome::challenge:
      return reply(out, ReplyId::auth_continue, {step.challenge});
    case SaslOutcome::credentials:
      auth_pending_user_ = step.user;  // the driver takes the request; the name is kept for success
      auth_request_ = AuthRequest{std::move(step.user), std::move(step.password)};
      return enter(ServerState::authenticating);
    case SaslOutcome::cancelled:
      return reply(out, ReplyId::auth_cancelled);
    case SaslOutcome::malformed:
      return error_reply(out, ReplyId::auth_bad_response);
    case SaslOutcome::refused:
      return error_reply(out, ReplyId::auth_failed);
  }
}

AuthRequest ServerFsm::take_auth_request() { return std::exchange(auth_request_, AuthRequest{}); }

void ServerFsm::auth_done(AuthResult result, std::string& out) {
  if (state_ != ServerState::authenticating) return;
  enter(ServerState::ready);
  auth_request_ = AuthRequest{};
  std::string user = std::exchange(auth_pending_user_, {});
  switch (result) {
    case AuthResult::success:
      auth_user_ = std::move(user);
      return reply(out, ReplyId::auth_succeeded);
    case AuthResult::failure:
      return error_reply(out, ReplyId::auth_failed);
    case AuthResult::locked_out:
      return reply(out, ReplyId::auth_locked_out);
  }
}

}  // namespace relay
