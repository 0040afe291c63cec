// policy/auth_throttle.hpp — slowing down, then locking out, AUTH guessing per client IP.
//
// Owns: a bounded table of recent AUTH failures per client address. After
// `slow_after` failures inside `window`, each further attempt from that address is
// answered only after a growing delay (1 s per extra failure, capped); after
// `lock_after` failures it is refused outright (454 4.7.0) until `lockout` has passed
// since the last failure. A success clears the address.
// Never: reads a clock (time is passed in), sleeps, logs, sees credentials.
// Threading: not thread-safe; one per listener on the io thread.
// Errors: none. Memory: at most `max_entries` addresses; the stalest is evicted first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace policy {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  struct Settings {
    std::uint32_t slow_after = 3;
    std::uint32_t lock_after = 10;
    Clock::duration window = std::chrono::minutes(15);
    Clock::duration lockout = std::chrono::minutes(15);
    Clock::duration max_delay = std::chrono::seconds(5);
    std::size_t max_entries = 10'000;
  };
  struct Verdict {
    bool refused = false;            // locked out: answer 454 without checking
    Clock::duration delay{};         // wait this long before answering
  };

  AuthThrottle() : AuthThrottle(Settings{}) {}
  explicit AuthThrottle(Settings settings) : settings_(settings) {}

  /// Before checking credentials from `address`.
  Verdict check(const std::string& address, Clock::time_point now);
  void failure(const std::string& address, Clock::time_point now);
  void success(const std::string& address);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::uint32_t failures = 0;
    Clock::time_point last{};
  };
  void evict_one();
  Settings settings_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace policy
