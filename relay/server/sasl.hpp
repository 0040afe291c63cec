// relay/server/sasl.hpp — the server side of SASL PLAIN and LOGIN exchanges (RFC 4954).
//
// Owns: the mechanism names we offer, the challenge/response steps of each mechanism,
// base64 decoding of responses ("=" is an empty response, "*" cancels), and taking a
// PLAIN message apart (RFC 4616: [authzid] NUL authcid NUL passwd).
// Never: checks credentials (the driver does, after the FSM stops in authenticating),
// decides replies or sequencing (relay/server/server_fsm maps each outcome to a reply),
// performs I/O or logs. Not thread-safe; one per session.
// Errors: outcomes, never exceptions. Acting for another identity (authzid != authcid)
// is not supported and is refused like a wrong password.
// Standards: RFC 4954 (AUTH), RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay {

enum class SaslMechanism : std::uint8_t { plain, login };

/// The mechanism named `name` (any letter case), or nullopt for one we do not offer.
std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) noexcept;

enum class SaslOutcome : std::uint8_t {
  challenge,    // send 334 with `challenge`; the next line is a response
  credentials,  // complete: `user` and `password` are to be checked
  cancelled,    // the client sent "*"
  malformed,    // not base64, or not the shape the mechanism needs
  refused,      // well-formed but unacceptable (empty authcid, authzid != authcid)
};

struct SaslStep {
  SaslOutcome outcome = SaslOutcome::malformed;
  std::string_view challenge;  // base64 text for 334 (static storage)
  std::string user;
  std::string password;
};

class SaslExchange {
 public:
  /// Starts `mechanism`. `initial`: the initial response of the AUTH command, if any.
  SaslStep start(SaslMechanism mechanism, std::optional<std::string_view> initial);
  /// The client's next line while active().
  SaslStep respond(std::string_view line);
  /// A response is awaited: the next line belongs to the exchange, not the command loop.
  bool active() const noexcept { return step_ != Step::none; }
  /// Ends the exchange without an outcome (over-long line, TLS restart).
  void abandon() noexcept;

 private:
  enum class Step : std::uint8_t { none, plain, login_user, login_password };
  SaslStep challenge(Step next, std::string_view text) noexcept;

  Step step_ = Step::none;
  std::string login_user_;
};

}  // namespace relay
