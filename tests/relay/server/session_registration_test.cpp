// tests/relay/server/session_registration_test.cpp — a session's registry entry and
// sessions_active count are undone however its coroutine ends.
//
// A coroutine shaped like relay/server/server_session (a socket, then the registration
// that points at it) is spawned the way the listener spawns sessions; it ends normally
// or by an escaping exception. Either way the registry must be empty afterwards (drain
// waits for size() == 0 and cancels every registered socket) and sessions_active back
// to 0; the completion handler sees the exception's what() (health/spawn_log.hpp).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <stdexcept>
#include <string>

#include "relay/server/listener_context.hpp"
#include "health/spawn_log.hpp"

namespace {

namespace asio = boost::asio;
using relay::ListenerCounters;
using relay::SessionRegistration;
using relay::SessionRegistry;

struct Observed {
  std::size_t registered_inside = 0;
  std::uint64_t active_inside = 0;
};

asio::awaitable<void> session(asio::io_context& io, SessionRegistry& registry, ListenerCounters& counters,
                              Observed& observed, bool fail) {
  asio::ip::tcp::socket socket(io);
  SessionRegistration registration(registry, counters, 7, socket);
  observed.registered_inside = registry.size();
  observed.active_inside = counters.sessions_active;
  if (fail) throw std::runtime_error("session failed");
  co_return;
}

std::string run_session(SessionRegistry& registry, ListenerCounters& counters, Observed& observed, bool fail) {
  asio::io_context io;
  std::string escaped = "handler not called";
  asio::co_spawn(io, session(io, registry, counters, observed, fail),
                 [&](std::exception_ptr e) { escaped = health::exception_text(e); });
  io.run();
  return escaped;
}

TEST(SessionRegistrationTest, NormalEndAndEscapingExceptionBothUnregister) {
  const struct {
    bool fail;
    std::string escaped;
  } cases[] = {{false, ""}, {true, "session failed"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.fail ? "exception" : "normal end");
    SessionRegistry registry;
    ListenerCounters counters;
    Observed observed;
    EXPECT_EQ(run_session(registry, counters, observed, c.fail), c.escaped);
    EXPECT_EQ(observed.registered_inside, 1u);
    EXPECT_EQ(observed.active_inside, 1u);
    EXPECT_EQ(registry.size(), 0u);  // drain waits for 0: it would wait forever
    EXPECT_EQ(counters.sessions_active, 0u);
    registry.interrupt_all();  // nothing left to cancel: no dangling socket pointer
  }
}

TEST(SpawnLogTest, ExceptionText) {
  EXPECT_EQ(health::exception_text(nullptr), "");
  EXPECT_EQ(health::exception_text(std::make_exception_ptr(std::logic_error("broken invariant"))),
            "broken invariant");
  EXPECT_EQ(health::exception_text(std::make_exception_ptr(42)), "an exception not derived from std::exception");
}

}  // namespace
