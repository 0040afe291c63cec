// health/hook.cpp — the alert hook child process (see the header).
#include "health/hook.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace health {
namespace asio = boost::asio;

namespace {
constexpr std::size_t max_output = 64 * 1024;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

asio::awaitable<HookResult> run_hook(std::string program, std::vector<std::pair<std::string, std::string>> environment,
                                     std::chrono::milliseconds timeout) {
  HookResult result;
  // Everything the child needs is built before fork().
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool overridden = std::ranges::any_of(
        environment, [&](const auto& kv) { return entry.starts_with(kv.first + "="); });
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : environment) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::array<char*, 2> argv{program.data(), nullptr};

  std::array<int, 2> pipe_fds{-1, -1};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    co_return result;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    co_return result;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent: no race with the child's own call
  ::close(pipe_fds[1]);

  const auto ex = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor out(ex, pipe_fds[0]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer limit(ex);
  limit.expires_at(deadline);
  limit.async_wait([&out, &result, pid](boost::system::error_code ec) {
    if (ec) return;
    result.timed_out = true;
    ::kill(-pid, SIGKILL);
    boost::system::error_code ignored;
    out.close(ignored);
  });
  std::array<char, 4096> chunk{};
  for (;;) {
    const auto [ec, n] = co_await out.async_read_some(asio::buffer(chunk), use_tuple);
    if (ec) break;  // EOF (child closed its output) or the time limit closed it
    if (result.output.size() < max_output) result.output.append(chunk.data(), std::min(n, max_output - result.output.size()));
  }
  // Reap without blocking the io_context: poll for the exit until the limit, then kill.
  int status = 0;
  asio::steady_timer poll(ex);
  pid_t done = 0;
  for (int i = 0; i < 100000 && (done = ::waitpid(pid, &status, WNOHANG)) == 0; ++i) {
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      done = ::waitpid(pid, &status, 0);  // SIGKILL cannot be ignored: returns promptly
      break;
    }
    poll.expires_after(std::chrono::milliseconds(20));
    co_await poll.async_wait(use_tuple);
  }
  limit.cancel();
  // The limit handler may still be queued: let it run (it sees operation_aborted) before
  // `out` and `result` go away.
  poll.expires_after(std::chrono::milliseconds(0));
  co_await poll.async_wait(use_tuple);
  if (done == pid) {
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.exit_status = -WTERMSIG(status);
  }
  result.ok = !result.timed_out && result.exit_status == 0;
  if (result.exit_status == 127 && result.output.empty()) result.error = "cannot execute " + program;
  co_return result;
}

}  // namespace health
