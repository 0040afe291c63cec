// relay/milter/conversation.hpp — the MTA side of one filter connection, as a pure state
// machine: one per SMTP session and filter, reused across its transactions.
//
// Owns: option negotiation (the actions the filter asks for must be ones we offer; the
// steps it skips are not sent, the steps it does not answer are not waited for), the
// command packets for each stage with the stage's macros, what each filter packet means
// at the stage it answers (a verdict, progress, a modification allowed by the negotiated
// actions at end of message only), and what is left of the filter's interest: accept at
// connect or HELO ends it for the session, a verdict for the message ends it for the
// transaction, skip ends the body. Anything out of order or malformed fails the
// conversation; from then on the caller applies the filter's default action.
// Use: each stage call returns a Request (bytes to write, whether a reply is awaited);
// when one is awaited the driver feeds every packet it reads to receive() until the
// outcome is decided or failed. Never performs I/O; never throws.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/milter/macros.hpp"
#include "relay/milter/packet.hpp"
#include "relay/milter/reply.hpp"

namespace relay::milter {

enum class Stage : std::uint8_t { negotiate, connect, helo, mail, rcpt, data, header, eoh, body, eom };
std::string_view to_string(Stage stage) noexcept;

struct Request {
  std::string bytes;          // "" when the filter skips the stage
  bool await_reply = false;
};

struct Negotiated {
  std::uint32_t version = 0;
  std::uint32_t actions = 0;
  std::uint32_t steps = 0;
  std::array<std::optional<std::vector<std::string>>, macro_stage_count> symbol_lists;
};

/// The MTA's negotiation packet (version 6, every action, every step it honours).
std::string negotiation_packet();
std::expected<Negotiated, std::string> parse_negotiation(const Packet& packet);

struct ConnectInfo {
  std::string client_name;     // "[192.0.2.1]" when there is no verified name
  std::string client_address;  // textual IP
  std::uint16_t client_port = 0;
  bool ipv6 = false;
};

struct Outcome {
  enum class Status : std::uint8_t { waiting, decided, failed };
  Status status = Status::waiting;
  ReplyKind verdict = ReplyKind::continue_;  // when decided
  std::string reply;                         // reply_code: the SMTP reply (CRLF-ended lines)
  std::string error;                         // when failed
  bool progress = false;                     // the packet was a progress note
};

class Conversation {
 public:
  /// `macros`: the names to send per stage (the configured lists).
  explicit Conversation(MacroLists macros) : macros_(std::move(macros)) {}

  Request negotiate();
  Request connect(const ConnectInfo& info, const MacroValues& values);
  Request helo(std::string_view name, const MacroValues& values);
  Request mail(std::string_view sender, std::span<const std::string> arguments, const MacroValues& values);
  Request rcpt(std::string_view recipient, std::span<const std::string> arguments, const MacroValues& values);
  Request data(const MacroValues& values);
  /// `value` as it follows the colon, leading whitespace removed, line ends as in the message.
  Request header(std::string_view name, std::string_view value);
  Request end_of_headers(const MacroValues& values);
  /// At most body_chunk_max octets.
  Request body(std::string_view chunk);
  Request end_of_message(const MacroValues& values);
  /// The transaction ends without end of message (RSET, refusal, next MAIL): the abort
  /// packet when the filter saw this message begin, else "". Never answered.
  std::string abort();
  /// Closing the connection: the quit packet ("" when it already failed).
  std::string quit();

  /// A packet read from the filter while a reply is awaited.
  Outcome receive(const Packet& packet);
  /// The driver saw the filter fail (timeout, closed, framing): no more requests.
  void fail() noexcept { failed_ = true; awaiting_ = false; }

  bool failed() const noexcept { return failed_; }
  bool awaiting() const noexcept { return awaiting_; }
  Stage stage() const noexcept { return stage_; }
  const Negotiated& negotiated() const noexcept { return negotiated_; }
  /// Nothing more for this session / this transaction / this body.
  bool session_done() const noexcept { return failed_ || session_done_; }
  bool message_done() const noexcept { return session_done() || message_done_; }
  bool wants_body() const noexcept;
  /// Modifications and the quarantine request received at end of message, in order.
  const std::vector<Reply>& modifications() const noexcept { return modifications_; }

 private:
  Request send(Stage stage, char code, std::string data, std::uint32_t skip_bit, std::uint32_t no_reply_bit,
               MacroStage macro_stage, const MacroValues* values);
  bool allowed(ReplyKind kind) const noexcept;

  MacroLists macros_;
  Negotiated negotiated_;
  Stage stage_ = Stage::negotiate;
  bool negotiated_done_ = false;
  bool awaiting_ = false;
  bool failed_ = false;
  bool session_done_ = false;
  bool message_done_ = false;
  bool message_open_ = false;   // MAIL (or a later stage) was sent: abort is due unless EOM ended it
  bool body_skipped_ = false;
  std::vector<Reply> modifications_;
};

}  // namespace relay::milter
