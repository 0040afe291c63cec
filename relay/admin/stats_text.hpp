// relay/admin/stats_text.hpp — the hop table `hubrelay stats` prints, read from /api/status.
//
// Owns: turning the hops of an /api/status document (relay/admin/metrics.cpp writes it)
// back into text: one line per hop with its state in the one vocabulary of
// health::hop_states (usable, path down, check down, suspended, ejected until ...), the same words
// as the status page, /metrics and `hubrelay health`, and its attempt counts; then a section
// with each hop's concurrency window over max_connections and its throttling replies.
// Never: fetches anything (the CLI does) or decides a state (it copies the daemon's).
// Pure. Errors: a sentence when the document is not an /api/status one.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace relay::metrics {

/// "HOP  STATE  CONNECTIONS  ATTEMPTS  FAILURES" and one line per hop of `status_json`.
std::expected<std::string, std::string> hop_table(std::string_view status_json);

}  // namespace relay::metrics
