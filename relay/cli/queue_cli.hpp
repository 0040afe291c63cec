// relay/cli/queue_cli.hpp — the `hubrelay queue ...` and `hubrelay stats` subcommands.
//
// Owns: argument parsing for queue list|show|retry|hold|release|delete|bounce|expire|
// summary and stats, the audit log line of every queue mutation (who: uid and user
// name; what; result) written to the daemon's configured log (file or syslog) or stderr,
// and exit statuses (0 ok, 1 no such message / queue or admin endpoint error, 2 usage:
// unknown option, missing or malformed value, bad queue id, or a configuration error).
// The queue commands work on the queue [queue] names directly (queue::AdminStore: the
// node's state_dir/queue.db or the shared PostgreSQL database), so they work the same
// whether the daemon runs or not; their mutations run relay/admin/queue_actions,
// the code the admin API runs. `stats` asks the running daemon's admin endpoint ([admin]
// listen) for /api/status through relay/cli/admin_cli's admin_call.
// Never: talks SMTP or changes the configuration.
// Threading: single-threaded, run from main().
#pragma once

#include <string>
#include <vector>

namespace relay {

/// `words`: everything after "queue" (the queue command, its options, --config, --help).
int queue_cli_main(const std::vector<std::string>& words, const std::string& default_config);

/// `hubrelay stats`: per-direction throughput over the last 1, 5 and 15 minutes.
int stats_main(const std::vector<std::string>& words, const std::string& default_config);

}  // namespace relay
