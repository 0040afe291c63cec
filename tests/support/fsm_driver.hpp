// tests/support/fsm_driver.hpp — drives one ServerFsm the way relay/server/server_session
// does, for the FSM tests and the server_fsm fuzz entry.
//
// Owns: buffering client bytes, handing them to consume() (line by line, or everything
// buffered at once), answering the FSM's effects (commit, AUTH verdict, policy question)
// when the test gave an answer for them, and collecting the replies. An effect without
// an answer stops the driver there, with the unconsumed input kept in pending(), so the
// test can look at the FSM mid-way and answer itself (then resume()). STARTTLS always
// stops: what is pending then is what the real driver throws away.
// Header-only and free of GoogleTest, so the fuzzer can use it too.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/server/server_fsm.hpp"

namespace test_support {

/// How pending input is handed to ServerFsm::consume().
enum class Feed : std::uint8_t {
  /// At most one line (through its LF) per call: a client that waits for each reply.
  /// Replies are the same as for a pipelining client, except that nothing is ever
  /// buffered behind a DATA line, so the 354 rule never trips.
  by_line,
  /// Everything pending in one call, as the session driver does with what it has read:
  /// a client that wrote it all at once.
  as_written,
};

class FsmDriver {
 public:
  using SystemTime = std::chrono::system_clock::time_point;

  explicit FsmDriver(relay::ServerFsm& fsm, SystemTime now = {}) : fsm_(fsm), now_(now) {}

  // --- Answers to effects; unset means "stop and let the test answer" ---
  std::optional<relay::CommitStatus> auto_commit;
  /// The queue id of the n-th commit (1-based).
  std::function<std::string(std::size_t)> queue_id = [](std::size_t n) { return "Q" + std::to_string(n); };
  std::function<relay::AuthResult(const relay::AuthRequest&)> on_auth;
  std::function<relay::PolicyAnswer(const relay::PolicyQuery&)> on_query;

  /// start(): the banner (or refusal), after answering a question at connect if set.
  std::string start() {
    std::string out;
    fsm_.start(out);
    run(Feed::as_written, out);
    return out;
  }

  /// Buffers `bytes` and feeds what it can; returns the replies this produced.
  std::string send(std::string_view bytes, Feed feed = Feed::by_line) {
    pending_.append(bytes);
    return resume(feed);
  }

  /// Feeds pending input again, e.g. after the test answered an effect itself.
  std::string resume(Feed feed = Feed::by_line) {
    std::string out;
    run(feed, out);
    return out;
  }

  /// Commits the transaction the FSM stopped with (auto_commit unset) and continues.
  std::string commit(relay::CommitStatus status = relay::CommitStatus::committed,
                     std::optional<std::string> id = std::nullopt, Feed feed = Feed::by_line) {
    std::string out;
    if (fsm_.state() != relay::ServerState::awaiting_commit) return out;
    committed_.push_back(fsm_.take_transaction());
    fsm_.commit_done(status, id ? *id : queue_id(committed_.size()), out);
    run(feed, out);
    return out;
  }

  relay::ServerFsm& fsm() { return fsm_; }
  std::string& pending() { return pending_; }
  std::vector<relay::Transaction>& committed() { return committed_; }
  const std::vector<relay::Transaction>& committed() const { return committed_; }
  /// consume() took nothing in a state that reads input (a broken FSM).
  bool stalled() const { return stalled_; }

 private:
  static bool reads_input(relay::ServerState s) {
    using S = relay::ServerState;
    return s == S::awaiting_helo || s == S::ready || s == S::in_transaction || s == S::receiving_data ||
           s == S::receiving_chunk;
  }

  // Bounded: every pass consumes input or answers an effect, and every effect answer
  // leaves its state; the bound only guards a broken FSM.
  void run(Feed feed, std::string& out) {
    const std::size_t bound = 4 * pending_.size() + 64;
    for (std::size_t pass = 0; pass < bound && !fsm_.closed(); ++pass) {
      switch (fsm_.state()) {
        case relay::ServerState::awaiting_commit:
          if (!auto_commit) return;
          committed_.push_back(fsm_.take_transaction());
          fsm_.commit_done(*auto_commit, queue_id(committed_.size()), out);
          continue;
        case relay::ServerState::authenticating:
          if (!on_auth) return;
          fsm_.auth_done(on_auth(fsm_.take_auth_request()), out);
          continue;
        case relay::ServerState::checking_policy: {
          if (!on_query) return;
          const relay::PolicyAnswer answer = on_query(fsm_.take_policy_query());
          fsm_.policy_answered(answer, out);
          continue;
        }
        default:
          break;
      }
      if (pending_.empty() || !reads_input(fsm_.state())) return;
      std::string_view view = pending_;
      if (feed == Feed::by_line) view = view.substr(0, view.find('\n') + 1);  // npos + 1 == 0: all
      if (view.empty()) view = pending_;
      const std::size_t used = fsm_.consume(view, now_, out);
      if (used == 0 || used > view.size()) {
        stalled_ = reads_input(fsm_.state());
        return;
      }
      pending_.erase(0, used);
    }
  }

  relay::ServerFsm& fsm_;
  SystemTime now_;
  std::string pending_;
  std::vector<relay::Transaction> committed_;
  bool stalled_ = false;
};

}  // namespace test_support
