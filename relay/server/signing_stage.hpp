// relay/server/signing_stage.hpp — DKIM signing of a finished message before its commit.
//
// Owns: for one session, the signing of each message accepted on a listener whose
// direction some [dkim.NAME] key signs: after the content filters (they may change headers
// and body) and before the commit, so the stored message is the signed one. The header
// section and body hashes are computed while the body streams in (observe(), beside the
// spooler's drain: the header section is kept, the body only hashed); what a content
// filter changed is computed again from the message as the filters left it: a replaced
// body hashed again (a spooled one read from its file in chunks), a changed header
// section read again on its own (for a spooled body, the section a filter put in the
// envelope, body_prefix, in place of the file's first body_skip octets). The signing pool signs off the I/O thread
// (relay/dkim/signing_pool); the DKIM-Signature fields then go first in the message: an
// inline body gets them prepended; a spooled body keeps its file and the fields go in the
// envelope before any fields already there (NewMessage::body_prefix), which every reader of the stored message sends
// before the file (queue/stored_body_reader): no copy of the body. They come before our
// Received: field, the order a later hop's trace fields take too (each hop adds its
// fields on top); Received: is not signed, so either order verifies.
// Counts signatures and failures into the listener's counters.
// Errors: never refuse the mail: a failure (a key that cannot sign, an unreadable spool
// file, a header section over the cap, the pool closed) commits the message unsigned,
// counted and logged at error level against each key it cost ([dkim.NAME], d=, s=): the
// keys the plan picks on the header section as it arrived (a filter may have changed it
// since), or, when it was never seen, every key of the listener's direction.
// Threading: the session's coroutine; not thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <expected>
#include <system_error>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "queue/body_writer.hpp"
#include "queue/message.hpp"
#include "relay/counters.hpp"
#include "relay/dkim/key_ring.hpp"
#include "relay/server/content_changes.hpp"

namespace queue {
class Spool;
}  // namespace queue
namespace relay::dkim {
class SigningPool;
}  // namespace relay::dkim

namespace relay {

class SigningStage {
 public:
  /// `signer` or `pool` null: nothing is signed. `spool` may be null (every body inline).
  SigningStage(dkim::SignerPtr signer, dkim::SigningPool* pool, conf::Direction direction, ListenerCounters& counters,
               std::string session_id, queue::Spool* spool);
  ~SigningStage();
  SigningStage(const SigningStage&) = delete;
  SigningStage& operator=(const SigningStage&) = delete;

  /// True when some key signs this listener's mail.
  bool enabled() const noexcept { return enabled_; }

  /// Before each BodySpooler::drain(): `pending` is the FSM's body output, `open_body`
  /// ServerFsm::open_body(). Feeds the octets not seen yet; a new body number starts a
  /// new message.
  void observe(const std::string& pending, std::uint64_t open_body);
  /// After the drain: what is left of `pending` (all of it, or nothing once spooled) has
  /// been fed.
  void drained(const std::string& pending) noexcept { fed_ = pending.size(); }

  /// Signs `message` (body inline, or in `file`) and stores the fields first in it.
  /// `body_number` is the body's open_body(); `changed`: what the content filters changed,
  /// so what streamed in is not what is stored there: a replaced body is read and hashed
  /// again, a changed header section read again (the body hash that streamed stays).
  /// Returns the signatures added, "d/s/algorithm" joined by commas ("" for none).
  boost::asio::awaitable<std::string> sign(queue::NewMessage& message, std::optional<queue::FinishedBody>& file,
                                           std::uint64_t body_number, ContentChanges changed);

  class Splitter;

 private:
  std::expected<std::string, std::error_code> read_header_section(const queue::NewMessage& message,
                                                                  const std::optional<queue::FinishedBody>& file) const;
  void fail(std::string_view domain, std::string_view selector, std::string_view reason, std::string_view detail);
  /// The whole message is unsigned: `header` is its header section as it arrived (null:
  /// not seen).
  void fail_message(std::string_view reason, std::string_view detail, const std::string* header);

  dkim::SignerPtr signer_;
  dkim::SigningPool* pool_;
  conf::Direction direction_;
  ListenerCounters& counters_;
  std::string session_id_;
  queue::Spool* spool_;
  bool enabled_ = false;
  std::unique_ptr<Splitter> streamed_;  // the body streaming in (null: none)
  std::uint64_t streamed_body_ = 0;     // its open_body() number
  std::size_t fed_ = 0;                 // octets at the start of the pending output fed already
};

}  // namespace relay
