// relay/tlsrpt/state_file.hpp — the TLS report counts on disk, in the state directory.
//
// Owns: writing the counts so they survive a restart or a crash — a temporary file,
// written and fsynced, renamed over the old one, the directory fsynced (a reader sees the
// old counts or the new ones, never half) — and reading them back at start.
// Errors: returned as text; a missing file is no error (no counts yet).
#pragma once

#include <expected>
#include <string>

#include "relay/tlsrpt/daily_counts.hpp"

namespace relay::tlsrpt {

/// Largest state file read back; a bigger one is refused (the count limits keep a real
/// one far below this).
inline constexpr std::size_t state_file_limit = 64 * 1024 * 1024;

std::expected<void, std::string> save_counts(const std::string& path, const DailyCounts& counts);
/// The counts in `path`; empty counts when the file does not exist.
std::expected<DailyCounts, std::string> load_counts(const std::string& path, CountLimits limits = {});

}  // namespace relay::tlsrpt
