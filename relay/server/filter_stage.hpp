// relay/server/filter_stage.hpp — a session's content filters (milters) at the commit.
//
// Owns: one relay/milter::Conversation and one MilterLink per filter of the listener,
// kept for the whole SMTP session and reused across its transactions (abort between
// them); running the chain over a finished message before it is committed: connect and
// HELO once per session, then MAIL, each RCPT, DATA, the headers, end of headers, the
// body in chunks of at most 64 KiB (a spooled body is read from its file with
// queue/body_reader, never loaded whole) and end of message; applying each filter's
// modifications to the message (headers, body — rewritten to a new spool file when the
// body is spooled — and envelope) before the next filter and the commit; each filter's
// default action when it is down, times out, misbehaves or closes; the log line and
// counters of each filter decision.
// A refusal at connect or HELO refuses every later message of the session too.
// Threading: the session's coroutine; not thread-safe. Errors: never thrown; a filter
// failure is a verdict (its default action).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "queue/body_writer.hpp"
#include "queue/message.hpp"
#include "relay/counters.hpp"
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
};

/// Answers the client for a verdict that stores nothing (refuse: the filter's reply;
/// discard: 250 as if queued; shutdown: 421 and the session closes) and ends the FSM's
/// transaction. False for pass and quarantine: the message is committed.
bool answer_unstored(const FilterVerdict& verdict, ServerFsm& fsm, std::string_view queue_id, std::string& out);

class FilterStage {
 public:
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

  /// Runs every filter over `message` (body inline, or in `file`), in order, applying
  /// their modifications; stops at the first that refuses, discards or shuts down.
  boost::asio::awaitable<FilterVerdict> check(queue::NewMessage& message, std::optional<queue::FinishedBody>& file,
                                              const FilterFacts& facts);

  /// The session ends: quit to every filter still connected.
  boost::asio::awaitable<void> close();

 private:
  struct Filter;
  struct Outcome;
  boost::asio::awaitable<Outcome> run_filter(Filter& filter, queue::NewMessage& message,
                                             const std::optional<queue::FinishedBody>& file, const FilterFacts& facts);
  boost::asio::awaitable<std::optional<std::string>> apply_edits(Filter& filter, queue::NewMessage& message,
                                                                 std::optional<queue::FinishedBody>& file,
                                                                 std::optional<std::string>& quarantine);

  boost::asio::any_io_executor executor_;
  std::string listener_;
  ListenerCounters& counters_;
  std::string session_id_;
  queue::Spool* spool_;
  std::vector<std::unique_ptr<Filter>> filters_;
};

}  // namespace relay
