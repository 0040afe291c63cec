// relay/tracking/files.hpp — the tracking directory: file names, which file to append to,
// retention.
//
// Owns: the names of tracking files ("tracking-YYYYMMDD-NNN.jsonl": the UTC day of their
// first record and a sequence within the day, so names sort in time order) and of their
// index files (".idx" beside), listing them in order, choosing the file a writer appends
// to (today's newest while it is under the size limit, else the next), appending whole
// records with one write(2) (O_APPEND, so the daemon and a queue command can append to
// the same file without interleaving a record), and deleting files past retention.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "relay/tracking/record.hpp"

namespace relay::tracking {

struct TrackingFile {
  std::filesystem::path path;
  std::int32_t day = 0;       // days since the epoch (UTC) of its name
  std::uint32_t sequence = 0;
};

/// Days since the epoch of a UTC time.
std::int32_t day_of(UnixMillis time) noexcept;
std::string file_name(std::int32_t day, std::uint32_t sequence);
/// The tracking files of `dir`, oldest first; none when it does not exist.
std::vector<TrackingFile> list_files(const std::filesystem::path& dir);
/// The file to append to at `now`: today's newest under `max_size`, else a new name.
TrackingFile file_for_append(const std::filesystem::path& dir, UnixMillis now, std::uint64_t max_size);

/// Writes `bytes` (whole records) with as few write(2) calls as the kernel allows:
/// one, unless it writes short. Errors as errno text.
std::expected<void, std::string> write_all(int fd, std::string_view bytes);

/// Appends whole records to the current file of `dir` (created with the directory when
/// needed): for commands that run beside the daemon (queue hold, release, delete).
std::expected<void, std::string> append_records(const std::filesystem::path& dir, const std::vector<Record>& records,
                                                UnixMillis now, std::uint64_t max_size);

/// Deletes tracking files (and their indexes) last written before `now - retention`,
/// never `keep` (the file being written). Returns how many went.
std::size_t apply_retention(const std::filesystem::path& dir, std::chrono::hours retention,
                            const std::filesystem::path& keep);

}  // namespace relay::tracking
