// relay/cli/health_cli.hpp — `hubrelay health` and `hubrelay alert test`.
//
// Owns: printing the health report the daemon writes (state_dir/health.{txt,json}) and
// saying when it is missing or stale, and queueing a test alert straight into the queue
// database (composed and routed by relay/delivery/notices, like a real alert); the
// running daemon's scanner delivers it.
// Exit status: 0 done, 1 operational failure (no report, queue error), 2 not configured.
#pragma once

#include "conf/config.hpp"

namespace relay {

/// `hubrelay health [--json]`: exit 0 when printed, 1 when the file is missing.
int print_health(const conf::Config& config, bool json);
/// `hubrelay alert test`: commits a test alert into the queue; exit 0 when queued.
int send_test_alert(const conf::Config& config);

}  // namespace relay
