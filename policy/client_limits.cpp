// policy/client_limits.cpp — token buckets and the per-client table of one listener.
//
// Why continuous refill rather than fixed windows: a fixed window lets a client send 2N
// across a window boundary; a bucket of N refilled at N/period never allows more than
// N + elapsed*N/period, and a client that pauses gets its full burst back.
// Why the idle test is "buckets full and no connection": such an entry behaves exactly
// like a new one, so dropping it loses nothing; that keeps memory proportional to the
// clients active within one period, not to every address ever seen.
#include "policy/client_limits.hpp"

#include <algorithm>
#include <utility>

namespace policy {
namespace {

RateSpec rate_of(const conf::ListenerConfig::Rate& rate) { return RateSpec{rate.count, rate.period}; }

// At most this many idle entries are examined per call, so one call stays O(1).
constexpr int sweep_per_call = 2;

}  // namespace

double TokenBucket::tokens(const RateSpec& rate, SteadyTime now) const noexcept {
  const double capacity = rate.count;
  if (!used_) return capacity;
  const auto elapsed = std::chrono::duration<double, std::milli>(now - updated_).count();
  if (elapsed <= 0) return tokens_;
  return std::min(capacity, tokens_ + elapsed * capacity / static_cast<double>(rate.period.count()));
}

bool TokenBucket::try_take(const RateSpec& rate, SteadyTime now) noexcept {
  if (!rate.enabled()) return true;
  const double available = tokens(rate, now);
  // Time never runs backwards for a steady clock; should it, keep the later stamp.
  if (!used_ || now > updated_) updated_ = now;
  used_ = true;
  tokens_ = available;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool TokenBucket::full(const RateSpec& rate, SteadyTime now) const noexcept {
  return !used_ || !rate.enabled() || tokens(rate, now) >= static_cast<double>(rate.count);
}

LimitSettings LimitSettings::from(const conf::ListenerConfig& listener) {
  LimitSettings settings;
  settings.max_connections_per_client = listener.max_connections_per_client;
  settings.connection_rate = rate_of(listener.connection_rate);
  settings.message_rate = rate_of(listener.message_rate);
  settings.recipient_rate = rate_of(listener.recipient_rate);
  settings.exempt_trusted = listener.limits_exempt_trusted;
  return settings;
}

// --- ConnectionSlot ---------------------------------------------------------------------

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), address_(other.address_) {}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = other.address_;
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() { release(); }

void ConnectionSlot::release() noexcept {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(address_);
}

// --- ClientLimits -----------------------------------------------------------------------

std::size_t ClientLimits::Hash::operator()(const IpAddress& a) const noexcept {
  std::size_t h = a.v4 ? 1469598103934665603ULL : 1099511628211ULL;  // FNV-1a
  for (const auto b : a.bytes) h = (h ^ b) * 1099511628211ULL;
  return h;
}

bool ClientLimits::idle(const Entry& entry, SteadyTime now) const noexcept {
  return entry.connections == 0 && entry.connection_bucket.full(settings_.connection_rate, now) &&
         entry.message_bucket.full(settings_.message_rate, now) &&
         entry.recipient_bucket.full(settings_.recipient_rate, now);
}

ClientLimits::Entry& ClientLimits::touch(const IpAddress& client, SteadyTime now) {
  // Forget idle entries at the cold end first (amortised sweep, bounded per call).
  for (int i = 0; i < sweep_per_call && !lru_.empty(); ++i) {
    const auto it = entries_.find(lru_.back());
    if (lru_.back() == client || it == entries_.end() || !idle(it->second, now)) break;
    lru_.pop_back();
    entries_.erase(it);
  }
  if (auto it = entries_.find(client); it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  // Over the cap: drop the least recently used entries that hold no connection. Entries
  // holding one are skipped; there are at most max_connections of them.
  if (entries_.size() >= settings_.max_tracked_clients) {
    auto cursor = lru_.end();
    while (cursor != lru_.begin() && entries_.size() >= settings_.max_tracked_clients) {
      --cursor;
      const auto it = entries_.find(*cursor);
      if (it != entries_.end() && it->second.connections == 0) {
        entries_.erase(it);
        cursor = lru_.erase(cursor);
      }
    }
  }
  lru_.push_front(client);
  Entry& entry = entries_[client];
  entry.lru = lru_.begin();
  return entry;
}

Decision ClientLimits::admit(const IpAddress& client, bool trusted, SteadyTime now, ConnectionSlot& slot) {
  slot.release();
  if (!settings_.any() || exempt(trusted)) return Decision::accept();
  Entry& entry = touch(client, now);
  if (settings_.max_connections_per_client != 0 && entry.connections >= settings_.max_connections_per_client) {
    return Decision::defer(Reason::too_many_connections);
  }
  if (!entry.connection_bucket.try_take(settings_.connection_rate, now)) {
    return Decision::defer(Reason::connection_rate_exceeded);
  }
  ++entry.connections;
  slot.owner_ = this;
  slot.address_ = client;
  return Decision::accept();
}

void ClientLimits::release(const IpAddress& client) noexcept {
  const auto it = entries_.find(client);
  // Clamped: a connection admitted before a reload enabled the limits was never counted.
  if (it != entries_.end() && it->second.connections > 0) --it->second.connections;
}

Decision ClientLimits::take(const IpAddress& client, bool trusted, SteadyTime now, const RateSpec& rate,
                            TokenBucket Entry::*bucket, Reason reason) {
  if (!rate.enabled() || exempt(trusted)) return Decision::accept();
  Entry& entry = touch(client, now);
  if (!(entry.*bucket).try_take(rate, now)) return Decision::defer(reason);
  return Decision::accept();
}

Decision ClientLimits::take_message(const IpAddress& client, bool trusted, SteadyTime now) {
  return take(client, trusted, now, settings_.message_rate, &Entry::message_bucket, Reason::message_rate_exceeded);
}

Decision ClientLimits::take_recipient(const IpAddress& client, bool trusted, SteadyTime now) {
  return take(client, trusted, now, settings_.recipient_rate, &Entry::recipient_bucket,
              Reason::recipient_rate_exceeded);
}

std::uint32_t ClientLimits::connections(const IpAddress& client) const noexcept {
  const auto it = entries_.find(client);
  return it == entries_.end() ? 0 : it->second.connections;
}

}  // namespace policy
