// relay/server/server_fsm.hpp — the SMTP server protocol engine of one session (RFC 5321).
//
// Owns: session and transaction state, the command table and sequencing, limits
// (512-octet command lines, 1000-octet text lines, message size, recipient count,
// error count), pipelining rules (input buffered behind DATA is refused: the client
// must wait for 354), message content via relay/smtp/data_decoder (DATA: only CRLF.CRLF
// ends it — bare LF or bare CR never do) and relay/smtp/bdat_decoder (BDAT), the
// Received: trace header, and every reply the session sends (via relay/smtp/reply_table).
// Files: server_fsm.cpp (framing, command table, envelope), server_fsm_content.cpp
// (DATA, BDAT, STARTTLS), server_fsm_auth.cpp (AUTH over relay/server/sasl),
// server_fsm_policy.cpp (decisions and asynchronous questions).
// Performs no I/O and reads no clock: the driver (relay/server/server_session) feeds bytes and
// the current time and writes out what comes back. Not thread-safe; one per session.
// Errors: protocol violations become replies, never exceptions.
// Standards: RFC 5321, RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 2920 (PIPELINING),
// RFC 2034/3463 (ENHANCEDSTATUSCODES), RFC 3207 (STARTTLS), RFC 3030 (CHUNKING),
// RFC 3461 (DSN parameters, stored per recipient), RFC 6531 (SMTPUTF8 paths), RFC 4954.
// STARTTLS is an effect: the FSM answers 220 and stops in starting_tls; the driver
// drops every buffered byte, does the handshake and calls tls_started() (or closes).
// Policy questions that need I/O (DNSBL, recipient verification) are an effect
// too: the FSM stops in checking_policy, the driver answers with policy_answered().
// Content filters (milters) are asked the same way, in step with the dialogue: connect
// before the banner, HELO at EHLO/HELO, MAIL and each RCPT once our own policy accepted
// them; what their answer means for the dialogue is decided here (filter_answered).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "policy/client_limits.hpp"
#include "policy/listener_policy.hpp"
#include "relay/server/decision_log.hpp"
#include "relay/server/sasl.hpp"
#include "relay/smtp/bdat_decoder.hpp"
#include "relay/smtp/command_parser.hpp"
#include "relay/smtp/data_decoder.hpp"
#include "relay/smtp/header_section_meter.hpp"
#include "relay/smtp/reply_table.hpp"

namespace relay {

enum class ServerState : std::uint8_t {
  greeting,         // before start()
  awaiting_helo,    // banner sent, no EHLO/HELO yet
  ready,            // EHLO/HELO done, no transaction
  in_transaction,   // MAIL accepted, collecting RCPT
  receiving_data,   // after 354, decoding the message
  awaiting_commit,  // message complete, driver is committing it to the queue
  starting_tls,     // 220 to STARTTLS sent: driver discards buffered input and handshakes
  receiving_chunk,  // after BDAT n: taking (or discarding) the n octets of the chunk
  authenticating,   // AUTH credentials complete: driver checks them, then calls auth_done()
  closed,           // QUIT, fatal error or timeout: driver writes pending output and closes
  // A policy question needs I/O (DNSBL lookup, recipient callout): the driver
  // takes it with take_policy_query(), answers with policy_answered(); input waits.
  checking_policy,
};

std::string_view to_string(ServerState s) noexcept;

/// What to do with bare LF / bare CR inside DATA. Neither ever ends the message.
enum class BareLineEndings : std::uint8_t { normalize, reject };

struct ServerSettings {
  std::string hostname;            // our name in the banner, EHLO reply and Received:
  std::string listener;            // listener name, for Received: and logs
  conf::Direction direction = conf::Direction::inbound;
  std::uint64_t max_message_size = 36'700'160;
  std::uint32_t max_recipients = 100;
  std::uint32_t max_errors = 10;
  BareLineEndings bare_line_endings = BareLineEndings::normalize;
  // --- TLS, header cap, AUTH ---
  conf::ListenerTls tls = conf::ListenerTls::off;  // implicit: the session is TLS from the start
  std::uint64_t max_header_size = 64 * 1024;       // header section octets of a message; 0: none
  bool auth = false;                               // offer AUTH PLAIN/LOGIN (RFC 4954)
  bool auth_plaintext_trusted = false;             // ... also without TLS to trusted networks
  // --- Asynchronous policy checks (see PolicyQuery) ---
  bool dnsbl = false;                              // the policy has DNSBL zones
  bool dnsbl_at_connect = false;                   // check before the banner, else at the first RCPT
  bool verify_recipients = false;                  // static list and/or callout for accepted domains
  bool filters = false;                            // content filters: asked at connect, HELO, MAIL, RCPT
};

/// What the FSM asks the driver when it stops in checking_policy. The filter_* kinds
/// are the content filters' envelope stages (relay/server/filter_stage).
enum class PolicyQueryKind : std::uint8_t {
  dnsbl,
  recipient,
  filter_connect,
  filter_helo,
  filter_mail,
  filter_rcpt,
  filter_data,
};

constexpr bool is_filter_query(PolicyQueryKind kind) noexcept { return kind >= PolicyQueryKind::filter_connect; }

struct PolicyQuery {
  PolicyQueryKind kind = PolicyQueryKind::dnsbl;
  policy::IpAddress client;        // canonical client address
  std::string client_text;         // as logged
  std::string sender;              // reverse-path of the transaction ("" before MAIL / null sender)
  std::string recipient;           // recipient queries: the forward-path without <>
  // --- Filter questions ---
  std::string helo;                // the EHLO/HELO argument ("" before one)
  std::string parameters;          // filter_mail / filter_rcpt: the ESMTP parameters as received
  std::string queue_id;            // filter_mail, _rcpt, _data: the message's reserved queue id
};

/// The driver's answer. dnsbl: decision reject(dnsbl_listed) with `zone`, or accept with
/// `header` (tag zones: added after Received: to every message of the session).
/// recipient: accept, reject(recipient_unknown) or defer(recipient_unverified).
struct PolicyAnswer {
  policy::Decision decision;
  std::string zone;
  std::string header;
  std::string reason;  // DNSBL: the listing zone's TXT text, reply-safe; may be ""
  // Filter questions: "" to go on, else the filters' reply (CRLF-ended lines) to the
  // command (connect and HELO: to every later MAIL of the session).
  std::string filter_reply;
  bool filter_closes = false;  // with filter_reply: a 421, the session ends
};

namespace limits {
/// RFC 4954 §4: AUTH lines (command with initial response, and continuation lines) may
/// be up to 12288 octets incl. CRLF; every other command line stays at 512.
inline constexpr std::size_t max_auth_line = 12288;
}  // namespace limits

/// Credentials collected by AUTH, for the driver to check (never logged).
struct AuthRequest {
  std::string user;
  std::string password;
};

enum class AuthResult : std::uint8_t { success, failure, locked_out };

struct Peer {
  std::string address;             // textual IP of the client, "127.0.0.1"
  std::uint16_t port = 0;
  policy::IpAddress ip;            // parsed form for policy checks
};

/// The queue id of a transaction's message, reserved when MAIL is accepted so the
/// Received: header (written before the commit) can name it.
struct ReservedQueueId {
  std::int64_t number = 0;  // what the queue stores (queue::MessageId)
  std::string text;         // as `hubrelay queue show` and the log lines spell it
};

/// A complete message, ready to be committed to the queue.
struct Transaction {
  ReservedQueueId queue_id;             // number 0: none (the driver gives no queue ids)
  std::string helo;
  std::string sender;                   // reverse-path without <>, "" for the null sender
  std::string mail_parameters;          // ESMTP parameters of MAIL FROM as received (BODY=...)
  std::vector<std::string> recipients;  // forward-paths without <>
  std::string body;                     // Received: + unstuffed message, CRLF line endings
  bool eight_bit = false;               // BODY=8BITMIME was given
  bool tls = false;                     // received over TLS (STARTTLS or implicit)
  bool chunked = false;                 // received with BDAT rather than DATA
  std::string auth_user;                // AUTH identity, "" when not authenticated
  // --- DSN / SMTPUTF8 (RFC 3461, RFC 6531) ---
  /// RCPT parameters as received ("NOTIFY=NEVER ORCPT=rfc822;a@b"), same index as recipients.
  std::vector<std::string> recipient_parameters;
  bool smtputf8 = false;                // SMTPUTF8 was given on MAIL (also in mail_parameters)
};

/// Result the driver reports after trying to commit a Transaction.
enum class CommitStatus : std::uint8_t { committed, temporary_failure, storage_full };

class ServerFsm {
 public:
  using SystemTime = std::chrono::system_clock::time_point;

  /// `settings` is copied; `policy` is referenced and must outlive the FSM.
  ServerFsm(const ServerSettings& settings, const policy::ListenerPolicy& policy, Peer peer,
            std::string session_id);

  /// Produces the banner (220) or a refusal (554, then closed) into `out`.
  void start(std::string& out);

  /// Consumes client bytes, appending replies to `out`. Consumes all of `input`
  /// unless it stops early because the state became awaiting_commit or closed;
  /// the caller keeps the unconsumed tail and feeds it again after commit_done().
  /// Partial lines are buffered internally. `now` dates the Received: header.
  /// `input` must be everything the driver has buffered: bytes behind a DATA line in
  /// the same `input` were sent before the 354 (RFC 2920 §3.1 forbids it), so the
  /// session is refused with 554 5.5.0 and closed.
  std::size_t consume(std::string_view input, SystemTime now, std::string& out);

  /// In awaiting_commit: the message to commit. Moves it out. Its body is what the
  /// driver did not take with body_output() (all of it when it took nothing).
  Transaction take_transaction();

  /// The message octets decoded and not taken yet (the first ones begin with the trace
  /// header). A consume() call appends at most its input to them; the driver that moves
  /// them elsewhere (a spool file) after each consume() and clears the string keeps the
  /// FSM's share of a message bounded by one read, however large the message. The FSM
  /// itself does no I/O and never needs them back: the header check is a running meter.
  std::string& body_output() noexcept { return tx_.message.body; }
  /// Which message body is open: a new number at each DATA or first BDAT, 0 when none
  /// (reset, refused, committed). A driver holding octets of body N drops them when
  /// this no longer says N.
  std::uint64_t open_body() const noexcept { return tx_.body_number; }

  /// In awaiting_commit: the driver's commit result; appends the 250/451/452 reply.
  void commit_done(CommitStatus status, std::string_view queue_id, std::string& out);

  /// The per-state timeout expired: appends 421 4.4.2 and closes.
  void timed_out(std::string& out);

  /// The server is shutting down: appends 421 4.3.2 and closes.
  void shutting_down(std::string& out);

  ServerState state() const noexcept { return state_; }
  bool closed() const noexcept { return state_ == ServerState::closed; }
  /// Whether a mail transaction is open (RFC 5321 §3.3: from an accepted MAIL until its
  /// message is committed or refused, or RSET): collecting recipients, asking a policy
  /// question about one, receiving content, or awaiting the commit. Shutdown lets such a
  /// session finish within the grace period; every other session is idle and is closed.
  bool in_transaction() const noexcept {
    switch (state_) {
      case ServerState::in_transaction:
      case ServerState::receiving_data:
      case ServerState::awaiting_commit:
        return true;
      case ServerState::receiving_chunk:  // a refused chunk is dropped in the state it came in
        return !chunk_.discard || chunk_.return_to == ServerState::in_transaction;
      case ServerState::checking_policy:  // connect, HELO and MAIL questions have no transaction yet
        return query_in_transaction();
      default:
        return false;
    }
  }
  /// How long the driver may wait for more input in the current state (RFC 5321 §4.5.3.2).
  std::chrono::seconds read_timeout(const conf::ServerTimeouts& t) const noexcept;

  // Counters the driver reads for metrics and logs.
  std::uint64_t messages_accepted() const noexcept { return messages_accepted_; }

  // --- Additions (not in the first version of this header) ---

  /// Called on every state change with (old, new); the driver logs it at trace level.
  /// The FSM itself never logs.
  using TransitionObserver = std::function<void(ServerState from, ServerState to)>;
  void set_transition_observer(TransitionObserver observer) { observer_ = std::move(observer); }

  /// Error replies counted towards max_errors so far.
  std::uint32_t errors() const noexcept { return errors_; }
  /// Messages refused at the end of DATA (size, bare line endings, long lines).
  std::uint64_t messages_refused() const noexcept { return messages_refused_; }
  /// The reply most recently appended (for the driver's log line), count_ if none yet.
  ReplyId last_reply() const noexcept { return last_reply_; }

  // --- STARTTLS, PROXY peer, early talkers, AUTH ---

  /// In starting_tls: the handshake succeeded. The session returns to the state right
  /// after the banner (RFC 3207 §4.2: all knowledge from before TLS is discarded).
  void tls_started();
  /// In starting_tls: the handshake failed; the session is closed without a reply.
  void tls_failed();
  bool tls_active() const noexcept { return tls_; }
  /// Before start(): the client is `peer` (PROXY protocol: the balancer's client).
  void set_peer(Peer peer) {
    if (state_ == ServerState::greeting) peer_ = std::move(peer);
  }
  const Peer& peer() const noexcept { return peer_; }
  /// The last EHLO/HELO argument ("" before one).
  std::string_view helo() const noexcept { return helo_; }
  /// Early talker: input arrived before the banner was due. Appends 554 5.5.0 and closes.
  void early_talker(std::string& out);

  /// In authenticating: the credentials to check. Moves them out.
  AuthRequest take_auth_request();
  /// In authenticating: the verdict; appends 235, 535 or 454.
  void auth_done(AuthResult result, std::string& out);
  bool authenticated() const noexcept { return !auth_user_.empty(); }
  const std::string& auth_user() const noexcept { return auth_user_; }

  // --- The "ask" effect: policy questions that need I/O ---
  /// In checking_policy: the question to answer. Stays valid until policy_answered().
  const PolicyQuery& take_policy_query() const noexcept { return query_; }
  /// In checking_policy: the answer; appends the reply (banner or 554 at connect; 250,
  /// 550, 554 or 451 at RCPT) and returns to the state before the question (or asks
  /// the next question: a DNSBL pass at RCPT is followed by recipient verification,
  /// an accepted recipient by the content filters).
  void policy_answered(const PolicyAnswer& answer, std::string& out);
  /// The content filters refused the session at connect or HELO: every MAIL gets this
  /// reply ("" when they did not).
  const std::string& filter_refusal() const noexcept { return filter_refusal_; }
  // --- Policy decisions as data, per-client limits ---

  /// Called once per policy evaluation (connect, HELO/EHLO, MAIL, RCPT, end of data),
  /// accepting or not, with the stage, the decision, its reply and the envelope it was
  /// about; the driver logs (relay/server/decision_log) and counts it.
  using DecisionObserver = std::function<void(const PolicyEvent& event)>;
  void set_decision_observer(DecisionObserver observer) { decision_observer_ = std::move(observer); }
  /// The most recent decision and its stage (accept at connect before any).
  policy::Decision last_decision() const noexcept { return last_decision_; }
  PolicyStage last_decision_stage() const noexcept { return last_decision_stage_; }
  /// Before start(): the listener's shared per-client limits and the steady clock they
  /// are read with (injected, so tests control time). Null: no per-client limits.
  void set_client_limits(policy::ClientLimits* limits, std::function<policy::SteadyTime()> clock) {
    limits_ = limits;
    steady_clock_ = std::move(clock);
  }

  // --- Queue ids ---
  /// Where an accepted MAIL gets its message's queue id (injected: the queue reserves
  /// them). nullopt from it: 451 4.3.0, the client retries. Without a source the
  /// Received: header names the session id.
  using QueueIdSource = std::function<std::optional<ReservedQueueId>()>;
  void set_queue_id_source(QueueIdSource source) { queue_ids_ = std::move(source); }

 private:
  // --- Transitions and replies (server_fsm.cpp) ---
  void enter(ServerState next) noexcept;  // the one transition choke point (trace-logged by state name)
  void reply(std::string& out, ReplyId id, std::initializer_list<std::string_view> args = {});
  /// An error reply that counts towards max_errors; may append 421 and close.
  void error_reply(std::string& out, ReplyId id, std::initializer_list<std::string_view> args = {});
  /// A refusal with arguments; 5xx ones count towards max_errors like error_reply().
  void policy_refusal(std::string& out, ReplyId id, std::initializer_list<std::string_view> args = {});
  void close_with(std::string& out, ReplyId id);

  // --- Command lines and the command table (server_fsm.cpp) ---
  /// What a handler gets besides the command: the time (dates Received:) and whether
  /// more client input was already buffered behind this line (RFC 2920 group ends).
  struct CommandContext {
    SystemTime now;
    bool more_input = false;
  };
  using Handler = void (ServerFsm::*)(const Command&, const CommandContext&, std::string&);
  /// One row per verb, like Postfix's smtpd command table.
  struct CommandRule {
    Verb verb = Verb::unknown;
    Handler handler = nullptr;  // null: not offered (502), or unknown (500) when counts_error
    bool before_tls = true;     // allowed on a TLS-required listener before STARTTLS (else 530)
    bool ends_group = false;    // must end a pipelined group: input buffered after it → 554, close
    bool counts_error = false;  // merely sending it counts towards max_errors
  };
  static const CommandRule& rule_for(Verb verb) noexcept;

  std::size_t consume_command_bytes(std::string_view input, SystemTime now, std::string& out);
  void handle_command(std::string_view line, const CommandContext& context, std::string& out);
  /// The line limit (without CRLF) for a command line starting with `head`.
  std::size_t command_content_limit(std::string_view head) const noexcept;

  // --- Session and envelope commands (server_fsm.cpp) ---
  void on_ehlo(const Command& command, const CommandContext& context, std::string& out);
  void on_helo(const Command& command, const CommandContext& context, std::string& out);
  void greet(const Command& command, bool extended, std::string& out);
  /// EHLO/HELO accepted (by the content filters too): the greeting reply.
  void finish_greet(std::string& out);
  void on_mail(const Command& command, const CommandContext& context, std::string& out);
  void on_rcpt(const Command& command, const CommandContext& context, std::string& out);
  void on_rset(const Command& command, const CommandContext& context, std::string& out);
  void on_noop(const Command& command, const CommandContext& context, std::string& out);
  void on_quit(const Command& command, const CommandContext& context, std::string& out);
  void on_vrfy(const Command& command, const CommandContext& context, std::string& out);
  void on_help(const Command& command, const CommandContext& context, std::string& out);
  void reset_transaction() noexcept { tx_ = OpenTransaction{}; }

  // --- Message content: DATA, BDAT, STARTTLS (server_fsm_content.cpp) ---
  void on_data(const Command& command, const CommandContext& context, std::string& out);
  /// DATA accepted (by the content filters too): 354 and the body begins.
  void start_data(SystemTime now, std::string& out);
  std::size_t consume_data_bytes(std::string_view input, std::string& out);
  void finish_data(std::string& out);
  void on_bdat(const Command& command, const CommandContext& context, std::string& out);
  std::size_t consume_chunk_bytes(std::string_view input, std::string& out);
  void finish_chunk(std::string& out);
  /// The message is refused at its end: count it, reset the transaction, reply.
  void refuse_message(ReplyId refusal, std::string& out);
  void begin_body(SystemTime now);
  bool header_over_limit() const noexcept;
  /// Appends decoder output to the body and feeds the client's octets to the header meter.
  void metered(std::size_t before);
  void on_starttls(const Command& command, const CommandContext& context, std::string& out);

  // --- AUTH (server_fsm_auth.cpp) ---
  void on_auth(const Command& command, const CommandContext& context, std::string& out);
  void on_auth_response(std::string_view line, std::string& out);
  void sasl_step(SaslStep step, std::string& out);
  bool auth_allowed() const noexcept;

  // --- Policy decisions and questions (server_fsm_policy.cpp) ---
  enum class DnsblState : std::uint8_t { unchecked, passed, listed };
  void ask(PolicyQuery query);
  void after_rcpt_policy(std::string recipient, std::string& out);
  /// Every RCPT check passed but the recipient rate: take it, decide, reply.
  void accept_recipient(std::string recipient, std::string& out);
  void refuse_recipient(policy::Decision decision, std::string_view recipient, std::string& out);
  void refuse_listed(std::string_view recipient, std::string& out);
  /// The recipient passed every check (the content filters too): take it, reply 250.
  void take_recipient(std::string recipient, std::string& out);
  /// A content filter's answer to a filter_* question (server_fsm_policy.cpp).
  void filter_answered(const PolicyQuery& query, const PolicyAnswer& answer, std::string& out);
  /// A filter's reply to a command; a 5xx counts towards max_errors like error_reply().
  void filter_refused(std::string_view text, std::string& out);
  bool query_in_transaction() const noexcept;
  /// The event of a decision at `stage`, naming the HELO and (RCPT, data) the
  /// transaction's sender; callers add what is being decided about.
  PolicyEvent event_for(PolicyStage stage, policy::Decision decision) const;
  /// Records and reports a decision; its reply is reply_for(decision, stage).
  void decided(PolicyEvent event);
  bool peer_trusted() const noexcept;
  policy::Client client() const { return policy::Client{peer_.ip, authenticated(), auth_user_}; }
  policy::SteadyTime steady_now() const { return steady_clock_ ? steady_clock_() : policy::SteadyTime{}; }

  // --- Session state ---
  ServerState state_ = ServerState::greeting;
  ServerSettings settings_;
  const policy::ListenerPolicy* policy_;
  Peer peer_;
  std::string session_id_;
  TransitionObserver observer_;
  std::uint64_t messages_accepted_ = 0;
  std::uint64_t messages_refused_ = 0;
  std::uint32_t errors_ = 0;
  std::uint64_t bodies_begun_ = 0;  // numbers open_body()
  ReplyId last_reply_ = ReplyId::count_;

  std::string line_;                  // a command line still missing its LF
  bool discarding_line_ = false;      // the current command line is over its limit
  std::string helo_;                  // the last EHLO/HELO argument
  bool esmtp_ = false;                // EHLO (not HELO) was used
  bool tls_ = false;

  SaslExchange sasl_;
  AuthRequest auth_request_;
  std::string auth_user_;
  std::string auth_pending_user_;

  // --- Transaction state: from MAIL to commit or reset; reset is one assignment ---
  struct OpenTransaction {
    Transaction message;          // envelope and body, as they will be committed
    std::string rcpt_parameters;  // DSN parameters of the RCPT being decided (a question may be open)
    bool rcpt_tried = false;      // a RCPT was given, accepted or not (503 vs 554 at DATA)
    bool bdat_started = false;    // a BDAT chunk was accepted: no RCPT or DATA any more
    std::uint64_t body_number = 0;  // open_body(): 0 until DATA or the first BDAT
    SystemTime data_requested{};    // when DATA was given (dates Received: once the filters let it)
    HeaderSectionMeter header;      // the client's header section, measured as it streams
    DataDecoder data;
    BdatDecoder chunks;
  };
  OpenTransaction tx_;

  /// The BDAT command being served (a refused one still has its octets read and dropped).
  struct ChunkCommand {
    std::uint64_t size = 0;       // octets announced (for the 250 reply)
    bool last = false;
    bool discard = false;         // refused: `skip` octets are read and dropped
    std::uint64_t skip = 0;
    ServerState return_to = ServerState::ready;  // state after a discarded chunk
  };
  ChunkCommand chunk_;

  // --- Policy state ---
  PolicyQuery query_;
  bool query_at_connect_ = false;
  DnsblState dnsbl_state_ = DnsblState::unchecked;
  std::string dnsbl_listing_;          // the zone that listed the client, then "; TXT reason" if any
  std::string dnsbl_header_;           // X-Hubrelay-DNSBL for tagged clients
  std::string filter_refusal_;         // the filters refused the session at connect or HELO
  DecisionObserver decision_observer_;
  policy::Decision last_decision_;
  PolicyStage last_decision_stage_ = PolicyStage::connect;
  policy::ClientLimits* limits_ = nullptr;
  std::function<policy::SteadyTime()> steady_clock_;
  policy::ConnectionSlot connection_slot_;  // gives the per-client slot back when the session ends
  QueueIdSource queue_ids_;
};

}  // namespace relay
