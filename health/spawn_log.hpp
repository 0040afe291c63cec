// health/spawn_log.hpp — what a co_spawn completion handler says about an escaped exception.
//
// Owns: exception_text() (what() of an exception_ptr, or a fixed phrase for a non-standard
// exception) and log_escaped(), the completion handler every detached coroutine of the
// daemon is spawned with, so an exception that escapes a coroutine is logged with its
// what() instead of being swallowed (asio::detached) or logged without its reason.
// In health/ beside health/deadline for the same reason: the lowest layer with coroutines;
// relay's daemon, sessions and delivery use it too (relay may depend on health).
// Never: rethrows; performs I/O other than the log line. Threading: any thread.
#pragma once

#include <exception>
#include <spdlog/spdlog.h>
#include <string>
#include <utility>

namespace health {

/// what() of the exception in `e`; "an exception not derived from std::exception"
/// otherwise, and "" for a null pointer.
inline std::string exception_text(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& caught) {
    return caught.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

/// A co_spawn completion handler for a coroutine returning void: logs "<task> ended by an
/// exception: <what>" at `level` when one escaped, and nothing otherwise.
/// Usage: asio::co_spawn(io, run(), log_escaped("delivery scanner", spdlog::level::critical));
inline auto log_escaped(std::string task, spdlog::level::level_enum level = spdlog::level::err) {
  return [task = std::move(task), level](std::exception_ptr e) {
    if (e) spdlog::log(level, "{} ended by an exception: {}", task, exception_text(e));
  };
}

}  // namespace health
