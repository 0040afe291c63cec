// queue/errc.hpp — error codes of the queue, as a std::error_code category.
//
// Owns: the mapping of SQLite (and PostgreSQL) failures onto what the SMTP side must answer:
// storage_full → 452 4.3.1, everything else → 451 4.3.0. Performs no I/O.
#pragma once

#include <system_error>

namespace queue {

enum class errc {
  storage_full = 1,   // SQLITE_FULL, ENOSPC
  io_error,           // SQLITE_IOERR and other disk faults
  busy,               // SQLITE_BUSY/LOCKED beyond the busy timeout
  corrupt,            // SQLITE_CORRUPT/NOTADB
  closed,             // the queue is shutting down
  not_found,          // no such message
  internal,           // anything else (a bug)
  unavailable,        // a database server cannot be reached, or is read-only (a standby)
};

const std::error_category& queue_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), queue_category()}; }

}  // namespace queue

template <>
struct std::is_error_code_enum<queue::errc> : std::true_type {};
