// relay/daemon.hpp — the `serve` subcommand: the daemon's composition root.
//
// Owns: start-up order (logging, state directory, queue open and crash recovery, route
// table, policies, listeners, delivery engine), the io_context, signal handling
// (SIGTERM/SIGINT: stop accepting, give sessions a grace period, answer 421 to the rest,
// exit with the queue consistent; SIGHUP: load and validate the file, on success swap in a
// new configuration generation — new sessions use it, running ones keep theirs, listeners
// added/removed, the old delivery engine retired — on failure log and keep the old one),
// the admin endpoint, privilege drop after binding, and shutdown order (the queue drains
// before the io_context is destroyed).
// Errors: start-up failures are printed and give exit status 1.
#pragma once

#include "conf/config.hpp"

namespace relay {

/// Runs the daemon until it is told to stop. Returns the process exit status.
int serve(conf::ConfigPtr config);

}  // namespace relay
