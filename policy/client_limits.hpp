// policy/client_limits.hpp — per-client connection, message and recipient limits of a listener.
//
// Owns: TokenBucket (N tokens, refilled continuously at N per period) and ClientLimits,
// the table of client addresses one listener's sessions share: concurrent connections
// per address, and connection / message (MAIL) / recipient (RCPT) token buckets.
// Over a limit the answer is Decision::defer(reason); relay/smtp/reply_table turns it into
// 421 4.7.0 (connect, then close) or 451 4.7.1 (MAIL/RCPT).
// Memory is bounded: an entry whose buckets are full again and that holds no connection
// carries no information and is dropped (checked at the LRU end on every call), and the
// table never holds more than max_tracked_clients idle-capable entries (least recently
// used ones without a connection are forgotten first; entries holding a connection are
// never dropped, and those are bounded by the listener's max_connections).
// Time is injected (steady clock values passed in); performs no I/O, reads no clock.
// Threading: NOT thread-safe. hubrelay runs one io_context thread (relay/daemon.cpp
// io_context(1)), so all sessions of a listener call it from that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "conf/config.hpp"
#include "policy/decision.hpp"
#include "policy/ip_address.hpp"

namespace policy {

using SteadyTime = std::chrono::steady_clock::time_point;

/// "count per period"; count 0: unlimited.
struct RateSpec {
  std::uint32_t count = 0;
  std::chrono::milliseconds period{0};
  bool enabled() const noexcept { return count != 0 && period.count() > 0; }
};

class TokenBucket {
 public:
  /// Takes one token if there is one. A bucket never used before is full.
  bool try_take(const RateSpec& rate, SteadyTime now) noexcept;
  /// True when the bucket holds `rate.count` tokens at `now` (so it can be forgotten).
  bool full(const RateSpec& rate, SteadyTime now) const noexcept;
  /// Tokens available at `now` (for tests and diagnostics).
  double tokens(const RateSpec& rate, SteadyTime now) const noexcept;

 private:
  bool used_ = false;
  double tokens_ = 0;
  SteadyTime updated_{};
};

struct LimitSettings {
  std::uint32_t max_connections_per_client = 0;  // 0: none
  RateSpec connection_rate;
  RateSpec message_rate;
  RateSpec recipient_rate;
  bool exempt_trusted = true;
  std::size_t max_tracked_clients = 65'536;

  static LimitSettings from(const conf::ListenerConfig& listener);
  bool any() const noexcept {
    return max_connections_per_client != 0 || connection_rate.enabled() || message_rate.enabled() ||
           recipient_rate.enabled();
  }
};

class ClientLimits;

/// A counted connection; gives its slot back when destroyed. Move-only.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot();
  bool held() const noexcept { return owner_ != nullptr; }
  void release() noexcept;

 private:
  friend class ClientLimits;
  ClientLimits* owner_ = nullptr;
  IpAddress address_;
};

class ClientLimits {
 public:
  explicit ClientLimits(LimitSettings settings = {}) : settings_(settings) {}
  ClientLimits(const ClientLimits&) = delete;
  ClientLimits& operator=(const ClientLimits&) = delete;

  /// Configuration reload: new limits apply to what is tracked already (bucket levels
  /// and connection counts are kept, so a SIGHUP does not reset a client's allowance).
  void configure(const LimitSettings& settings) noexcept { settings_ = settings; }
  const LimitSettings& settings() const noexcept { return settings_; }

  /// A new connection from `client`: concurrency first (defer too_many_connections),
  /// then the connection rate (defer connection_rate_exceeded). On accept, `slot`
  /// holds the connection until it is destroyed or released.
  Decision admit(const IpAddress& client, bool trusted, SteadyTime now, ConnectionSlot& slot);
  /// A MAIL command that policy accepted: defer(message_rate_exceeded) when the bucket is empty.
  Decision take_message(const IpAddress& client, bool trusted, SteadyTime now);
  /// A RCPT that policy accepted: defer(recipient_rate_exceeded) when the bucket is empty.
  Decision take_recipient(const IpAddress& client, bool trusted, SteadyTime now);

  std::size_t tracked() const noexcept { return entries_.size(); }
  std::uint32_t connections(const IpAddress& client) const noexcept;

 private:
  friend class ConnectionSlot;
  struct Hash {
    std::size_t operator()(const IpAddress& a) const noexcept;
  };
  struct Entry {
    std::uint32_t connections = 0;
    TokenBucket connection_bucket;
    TokenBucket message_bucket;
    TokenBucket recipient_bucket;
    std::list<IpAddress>::iterator lru;
  };

  bool exempt(bool trusted) const noexcept { return trusted && settings_.exempt_trusted; }
  Entry& touch(const IpAddress& client, SteadyTime now);
  bool idle(const Entry& entry, SteadyTime now) const noexcept;
  void release(const IpAddress& client) noexcept;
  Decision take(const IpAddress& client, bool trusted, SteadyTime now, const RateSpec& rate,
                TokenBucket Entry::*bucket, Reason reason);

  LimitSettings settings_;
  std::unordered_map<IpAddress, Entry, Hash> entries_;
  std::list<IpAddress> lru_;  // front: most recently used
};

}  // namespace policy
