// relay/server/listener_context.hpp — what every session of one listener shares.
//
// Owns: a listener's compiled settings, its policy and its counters (one set per
// listener, so inbound and outbound throughput are seen separately, the edge deployment
// of docs/deployment.md); the registry of live sessions used to drain them on shutdown;
// and the RAII registration that keeps one session in it (and in sessions_active) for
// exactly the session's lifetime.
// Threading: all of it lives on the single io_context thread; no locking.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "conf/config.hpp"
#include "policy/auth_throttle.hpp"
#include "policy/client_limits.hpp"
#include "policy/listener_policy.hpp"
#include "relay/counters.hpp"  // ListenerCounters
#include "relay/server/server_fsm.hpp"

namespace queue {
class MessageQueue;
class Spool;
class BodySyncPool;
}  // namespace queue

namespace relay::dkim {
class Signer;
class SigningPool;
}  // namespace relay::dkim

namespace relay::tracking {
class Writer;
}

namespace relay {

class DeliveryEngine;
class ListenerVerification;
class TlsContext;
class ThroughputRing;

struct ListenerContext {
  conf::ListenerConfig config;
  ServerSettings settings;
  policy::ListenerPolicy policy;
  /// Shared across configuration reloads (owned by the server, keyed by listener name),
  /// so counters and sessions_active survive a SIGHUP.
  ListenerCounters& counters;
  /// Set when the listener has tls != "off". Sessions copy the pointer, so
  /// a reload may replace it without disturbing running sessions.
  std::shared_ptr<TlsContext> tls;
  /// AUTH failures per client address of this listener.
  policy::AuthThrottle auth_throttle;
  /// DNSBL and recipient verification services; nullptr when the policy has none.
  std::shared_ptr<ListenerVerification> verification = nullptr;
  /// Per-client connection/message/recipient limits, shared by every session of
  /// the listener and kept across reloads (the server owns them by listener name and
  /// re-configures them). Null when the listener sets no per-client limit.
  std::shared_ptr<policy::ClientLimits> client_limits;
};

/// Live sessions, so shutdown can end them in order: idle ones at once, the ones inside
/// a transaction after the grace period, all of them on a second signal.
class SessionRegistry {
 public:
  void add(std::uint64_t id, boost::asio::ip::tcp::socket* socket) { sessions_[id] = Entry{socket, false}; }
  void remove(std::uint64_t id) { sessions_.erase(id); }
  /// The session is (or no longer is) blocked waiting for a command with no transaction
  /// open: the wait drain() interrupts.
  void set_idle(std::uint64_t id, bool idle) {
    if (auto it = sessions_.find(id); it != sessions_.end()) it->second.idle = idle;
  }
  std::size_t size() const noexcept { return sessions_.size(); }
  bool draining() const noexcept { return draining_; }
  /// Shutdown begins: interrupts every session waiting idle, which answers 421 4.3.2 and
  /// closes. A session inside a transaction goes on; each session checks draining()
  /// before it waits again and closes with 421 as soon as it has no transaction open.
  void drain() {
    draining_ = true;
    for (auto& [id, entry] : sessions_)
      if (entry.idle) cancel(*entry.socket);
  }
  /// The grace period is over: interrupts every session's pending I/O; each session
  /// then answers 421 4.3.2 and closes.
  void interrupt_all() {
    draining_ = true;
    for (auto& [id, entry] : sessions_) cancel(*entry.socket);
  }
  /// Stop now (a second signal): closes every connection without a reply, so no session
  /// waits on its client any more. A message not yet committed was never acknowledged.
  void close_all() {
    draining_ = true;
    for (auto& [id, entry] : sessions_) {
      boost::system::error_code ignored;
      entry.socket->close(ignored);
    }
  }

 private:
  struct Entry {
    boost::asio::ip::tcp::socket* socket;
    bool idle;
  };
  static void cancel(boost::asio::ip::tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.cancel(ignored);
  }
  std::unordered_map<std::uint64_t, Entry> sessions_;
  bool draining_ = false;
};

/// One live session's entry in the registry and in its listener's sessions_active. The
/// destructor undoes both however the session ends — normally or by an exception that
/// escapes its coroutine — so the registry never keeps a pointer to a destroyed socket
/// (which interrupt_all() would cancel) and a drain never waits for a session that is gone.
/// Declare it after the socket it points to, so it is destroyed first.
class SessionRegistration {
 public:
  SessionRegistration(SessionRegistry& registry, ListenerCounters& counters, std::uint64_t id,
                      boost::asio::ip::tcp::socket& socket)
      : registry_(registry), counters_(counters), id_(id) {
    registry_.add(id_, &socket);
    ++counters_.sessions_active;
  }
  ~SessionRegistration() {
    --counters_.sessions_active;
    registry_.remove(id_);
  }
  SessionRegistration(const SessionRegistration&) = delete;
  SessionRegistration& operator=(const SessionRegistration&) = delete;
  /// See SessionRegistry::set_idle().
  void set_idle(bool idle) { registry_.set_idle(id_, idle); }

 private:
  SessionRegistry& registry_;
  ListenerCounters& counters_;
  std::uint64_t id_;
};

struct SessionServices {
  queue::MessageQueue& queue;
  DeliveryEngine& delivery;
  SessionRegistry& sessions;
  const conf::Config& config;
  ThroughputRing* throughput = nullptr;  // Per-direction in/out ring, may be null
  // Bodies over [queue] inline_body_max go to spool files, fdatasync'd on the pool before
  // their commit; null: every body stays inline.
  queue::Spool* spool = nullptr;
  queue::BodySyncPool* body_sync = nullptr;
  // DKIM: the generation's keys and the daemon's signing threads; either null: no signing.
  std::shared_ptr<const dkim::Signer> signer;
  dkim::SigningPool* signing = nullptr;
  // Message tracking records (relay/tracking); null: tracking is off.
  tracking::Writer* tracking = nullptr;
};

}  // namespace relay
