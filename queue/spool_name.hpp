// queue/spool_name.hpp — the names of message body files in the spool directory.
//
// Owns: the name format "<instance>-<sequence>" (16 + 1 + 16 lower-case hex digits) and
// recognising a name when the directory is listed.
// A name exists from DATA/BDAT on, long before the message has a SQLite id (given at
// COMMIT), so it cannot be the id. It is unique across restarts without persisting a
// counter or trusting the clock: the instance part is 64 random bits drawn once per
// process (Spool::open), the sequence counts up within the process. Two processes share
// an instance with probability 2^-64; even then O_CREAT|O_EXCL refuses the clash and the
// writer takes the next name, so a body is never overwritten. A persisted counter would
// cost a durable write per reservation, and time-based names repeat when the clock steps
// back (NTP, a restored VM snapshot).
// Never: performs I/O or draws randomness (Spool draws the instance and counts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace queue {

namespace limits {
inline constexpr std::size_t spool_name_length = 33;  // 16 hex, '-', 16 hex
}  // namespace limits

/// "<instance>-<sequence>" in the canonical form.
std::string format_spool_name(std::uint64_t instance, std::uint64_t sequence);

/// True for a name format_spool_name() can produce: anything else in the directory (a
/// stray file, an editor's backup) is not a body and is left alone by the orphan scan.
bool is_spool_name(std::string_view name) noexcept;

}  // namespace queue
