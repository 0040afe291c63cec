// health/hook.hpp — runs the administrator's alert hook program ([alerts] hook).
//
// Owns: one child process per alert: argv = { program }, the parent's environment plus
// the HUBRELAY_* variables, stdout and stderr captured (first 64 KiB) for the log, a
// hard time limit (SIGKILL to the child's process group when exceeded), and reaping.
// Never: runs a shell, blocks the io_context (the exit is polled), or throws.
// Threading: caller's executor. fork() happens in a multi-threaded process, so the child
// only calls async-signal-safe functions (setpgid, dup2, execve, _exit).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace health {

struct HookResult {
  bool ok = false;          // exited with status 0 in time
  bool timed_out = false;
  int exit_status = -1;     // exit code, or -signal
  std::string output;       // stdout+stderr, truncated
  std::string error;        // why it could not be started
};

boost::asio::awaitable<HookResult> run_hook(std::string program,
                                            std::vector<std::pair<std::string, std::string>> environment,
                                            std::chrono::milliseconds timeout);

}  // namespace health
