// relay/server/filter_stage.hpp — a session's content filters (milters), in step with
// the SMTP dialogue.
//
// Owns: one relay/milter::Conversation and one MilterLink per filter of the listener,
// kept for the whole SMTP session and reused across its transactions (abort between
// them); the envelope stages as the FSM asks them (relay/server/server_fsm: connect
// before the banner, HELO, MAIL and each RCPT after our own policy accepted them, DATA
// at the DATA command), each filter in order until one refuses, the answer being the
// FSM's to turn into the reply; then, over the finished message before it is committed,
// DATA for a message sent with BDAT, the headers, end of headers, the body in chunks of at most 64 KiB (a spooled body is read from its file
// with queue/body_reader, never loaded whole) and end of message, for every filter still
// interested in the message; applying each filter's modifications to the message
// (headers, body and envelope) before the next filter and the commit: for a spooled
// body, a changed header section goes in the envelope (NewMessage::body_prefix,
// replacing the file's first body_skip octets) and the file is left alone; only a
// replaced body is written to a new spool file; each filter's default action when it
// is down, times out, misbehaves or closes, at the stage where that happens; the log
// line and counters of each filter decision.
// A filter that failed is connected again (connect and HELO replayed) at the next MAIL.
// Threading: the session's coroutine; not thread-safe. Errors: never thrown; a filter
// failure is a verdict (its default action).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "queue/body_writer.hpp"
#include "queue/message.hpp"
#include "relay/counters.hpp"
#include "relay/server/content_changes.hpp"
#include "relay/server/server_fsm.hpp"

namespace queue {
class Spool;
}  // namespace queue

namespace relay {

/// What the session knows that filters are told (macros, connect and HELO stages).
struct FilterFacts {
  std::string hostname;        // j: our name
  std::string listener;        // {daemon_name}
  std::string client_address;  // {client_addr}
  std::uint16_t client_port = 0;
  std::string local_address;   // {if_addr}
  std::string tls_version;     // {tls_version}, "" without TLS
  std::string cipher;          // {cipher}
  std::string auth_user;       // {auth_authen}
  std::string queue_id;        // i
};

struct FilterVerdict {
  enum class Kind : std::uint8_t { pass, refuse, discard, quarantine, shutdown };
  Kind kind = Kind::pass;
  std::string reply;   // refuse and shutdown: the SMTP reply, CRLF-ended lines
  std::string milter;  // the filter that decided ("" for pass)
  std::string reason;  // quarantine: the filter's reason
  ContentChanges changed;  // pass and quarantine: what the filters' edits changed
};

/// Answers the client for a verdict that stores nothing (refuse: the filter's reply;
/// discard: 250 as if queued; shutdown: 421 and the session closes) and ends the FSM's
/// transaction. False for pass and quarantine: the message is committed.
bool answer_unstored(const FilterVerdict& verdict, ServerFsm& fsm, std::string_view queue_id, std::string& out);

class FilterStage {
 public:
  struct Outcome;  // one filter's answer at one stage (filter_stage.cpp)

  /// `spool` may be null (every body inline). A spooled body is never reached without
  /// a body sync pool: the session refuses it before the filters run, and the commit
  /// flushes the file a filter rewrote as it does a received one.
  FilterStage(const boost::asio::any_io_executor& executor, const conf::Config& config,
              const conf::ListenerConfig& listener, ListenerCounters& counters, std::string session_id,
              queue::Spool* spool);
  ~FilterStage();
  FilterStage(const FilterStage&) = delete;
  FilterStage& operator=(const FilterStage&) = delete;

  bool enabled() const noexcept { return !filters_.empty(); }

  /// Answers the FSM's filter question (connect, HELO, MAIL, RCPT, DATA): each filter in
  /// order until one refuses (its reply) or shuts down (a 421 that closes).
  boost::asio::awaitable<PolicyAnswer> answer(const PolicyQuery& query, const FilterFacts& facts);

  /// Runs the content and end of message (DATA first after BDAT) through every filter
  /// still interested in `message` (body inline, or in `file`), in order, applying their
  /// modifications; stops at the first that refuses, discards or shuts down. A discard at MAIL, RCPT or
  /// DATA discards the message here.
  boost::asio::awaitable<FilterVerdict> check(queue::NewMessage& message, std::optional<queue::FinishedBody>& file,
                                              const FilterFacts& facts);

  /// The session ends: quit to every filter still connected.
  boost::asio::awaitable<void> close();

 private:
  struct Filter;
  struct Edits;
  /// Negotiation, connect and (when `helo` is not empty) HELO on a filter not started:
  /// a decided outcome, or nullopt to go on.
  boost::asio::awaitable<std::optional<Outcome>> start(Filter& filter, const FilterFacts& facts,
                                                       const std::string& helo);
  boost::asio::awaitable<Outcome> run_envelope(Filter& filter, const PolicyQuery& query, const FilterFacts& facts);
  boost::asio::awaitable<Outcome> run_content(Filter& filter, const queue::NewMessage& message,
                                              const std::optional<queue::FinishedBody>& file, const FilterFacts& facts);
  boost::asio::awaitable<std::expected<Edits, std::string>> apply_edits(Filter& filter, queue::NewMessage& message,
                                                                        std::optional<queue::FinishedBody>& file);
  /// A failed filter: closed, marked down, its default action taken; a working one marked up.
  void settle(Filter& filter, Outcome& outcome, const FilterFacts& facts);
  /// The log line and counter of one filter decision.
  void record(const Filter& filter, const Outcome& outcome);

  boost::asio::any_io_executor executor_;
  std::string listener_;
  ListenerCounters& counters_;
  std::string session_id_;
  queue::Spool* spool_;
  std::vector<std::unique_ptr<Filter>> filters_;
};

}  // namespace relay
