// relay/logging.hpp — spdlog set-up for the daemon and the CLI.
//
// Owns: the process-wide default logger (console on stderr, a file — rotating when
// [log] max_size is set — or syslog), its level and
// line format. Every session line carries session=ID and, once known, qid=ID as
// key=value pairs; AUTH payloads and message bodies are never logged.
#pragma once

#include <string>

#include "conf/config.hpp"

namespace relay {

/// Installs the default logger described by `config`. Returns an error text when the
/// log file cannot be opened (start-up failure).
std::string configure_logging(const conf::LogConfig& config);

}  // namespace relay
