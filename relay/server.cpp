// relay/server.cpp — the `serve` subcommand: the daemon's composition root.
#include "relay/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <iostream>
#include <list>
#include <spdlog/spdlog.h>

#include "relay/delivery_engine.hpp"
#include "relay/health_service.hpp"
#include "relay/listener.hpp"
#include "relay/logging.hpp"
#include "relay/queue_bridge.hpp"
#include "relay/tls_context.hpp"
#include "routing/route_table.hpp"

namespace relay {
namespace asio = boost::asio;

namespace {

constexpr auto drain_grace = std::chrono::seconds(10);
constexpr auto drain_poll = std::chrono::milliseconds(100);

int fail(const std::string& why) {
  spdlog::critical("{}", why);
  std::cerr << "hubrelay: " << why << "\n";
  return 1;
}

ServerSettings settings_for(const conf::Config& config, const conf::ListenerConfig& listener) {
  ServerSettings settings;
  settings.hostname = config.relay.hostname;
  settings.listener = listener.name;
  settings.direction = listener.direction;
  settings.max_message_size = listener.max_message_size;
  settings.max_recipients = listener.max_recipients;
  settings.max_errors = listener.max_errors;
  settings.tls = listener.tls;
  settings.bare_line_endings = listener.reject_bare_line_endings ? BareLineEndings::reject : BareLineEndings::normalize;
  settings.max_header_size = listener.max_header_size;
  settings.auth = listener.auth;
  settings.auth_plaintext_trusted = listener.auth_plaintext_trusted;
  return settings;
}

}  // namespace

int serve(conf::ConfigPtr config_ptr) {
  const conf::Config& config = *config_ptr;
  if (auto error = configure_logging(config.log); !error.empty()) return fail(error);

  std::error_code fs_error;
  std::filesystem::create_directories(config.relay.state_dir, fs_error);
  if (fs_error) return fail("cannot create state directory " + config.relay.state_dir + ": " + fs_error.message());

  auto routes = routing::RouteTable::build(config);
  if (!routes) return fail("routes: " + routes.error());

  std::list<ListenerContext> contexts;  // stable addresses for sessions
  for (const auto& listener : config.listeners) {
    const conf::PolicyConfig* policy_config = config.find_policy(listener.policy);
    policy::ListenerPolicy policy;  // closed unless a policy is configured
    if (policy_config) {
      auto compiled = policy::ListenerPolicy::compile(*policy_config, config.relay.accepted_domains);
      if (!compiled) return fail("policy " + listener.policy + ": " + compiled.error());
      policy = std::move(*compiled);
    }
    std::shared_ptr<TlsContext> tls;
    if (listener.tls != conf::ListenerTls::off) {
      auto loaded = TlsContext::load_server(listener.tls_certificate, listener.tls_key);
      if (!loaded) return fail("listener " + listener.name + ": " + loaded.error());
      tls = std::move(*loaded);
    }
    contexts.push_back(ListenerContext{listener, settings_for(config, listener), std::move(policy), {}, std::move(tls), {}});
    if (listener.auth && !contexts.back().policy.has_auth_users()) {
      spdlog::warn("listener {}: auth = true but policy {} has no auth_users; every AUTH will fail", listener.name,
                   listener.policy);
    }
  }

  // The io_context outlives the queue: the queue posts its last completions to it while
  // it drains in its destructor.
  asio::io_context io(1);
  const std::string db_path = (std::filesystem::path(config.relay.state_dir) / "queue.db").string();
  auto opened = queue::MessageQueue::open(db_path, config.queue);
  if (!opened) return fail("queue " + db_path + ": " + opened.error());
  std::unique_ptr<queue::MessageQueue> message_queue = std::move(*opened);
  auto recovered = message_queue->recover(unix_now_ms());
  if (!recovered) return fail("queue recovery failed: " + recovered.error().message());
  spdlog::info("queue {} opened; {} pending recipients recovered", db_path, *recovered);

  DeliveryEngine delivery(io, config, *routes, *message_queue);
  SessionRegistry sessions;
  SessionServices services{*message_queue, delivery, sessions, config};
  std::uint64_t session_counter = 0;
  std::list<Listener> listeners;
  for (auto& context : contexts) {
    auto& listener = listeners.emplace_back(io, context, services, session_counter);
    if (auto error = listener.bind(); !error.empty()) return fail(error);
  }
  for (auto& listener : listeners) listener.start();
  delivery.start();
  HealthService health_service(io, config, *message_queue, delivery);  // probes, alerts (issue 5)
  health_service.start();

  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set hup_signal(io, SIGHUP);
  std::function<void()> watch_hup = [&] {
    hup_signal.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      spdlog::warn("SIGHUP received: configuration reload is not supported yet; running configuration kept");
      watch_hup();
    });
  };
  watch_hup();

  stop_signals.async_wait([&](boost::system::error_code ec, int signal_number) {
    if (ec) return;
    spdlog::info("signal {} received: draining (grace {}s)", signal_number, drain_grace.count());
    hup_signal.cancel();
    for (auto& listener : listeners) listener.close();
    sessions.set_draining();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer timer(io);
          const auto deadline = std::chrono::steady_clock::now() + drain_grace;
          bool interrupted = false;
          while (sessions.size() > 0) {
            if (!interrupted && std::chrono::steady_clock::now() >= deadline) {
              sessions.interrupt_all();  // the rest get 421 4.3.2
              interrupted = true;
            }
            timer.expires_after(drain_poll);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          }
          delivery.stop();
          health_service.stop();
          // Let connections to hops say QUIT; leased recipients are recovered on restart.
          timer.expires_after(std::chrono::milliseconds(500));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          io.stop();
        },
        asio::detached);
  });

  spdlog::info("hubrelay {} ready: {} listener(s), {} route(s), {} hop(s)", "0.1.0", config.listeners.size(),
               config.routes.size(), config.hops.size());
  io.run();
  message_queue.reset();  // drains outstanding queue work while io is still alive
  spdlog::info("hubrelay stopped");
  return 0;
}

}  // namespace relay
