// relay/daemon.cpp — the `serve` subcommand: the daemon's composition root.
#include "relay/daemon.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <iostream>
#include <list>
#include <map>
#include <spdlog/spdlog.h>

#include "conf/load.hpp"
#include "relay/admin/admin_server.hpp"
#include "relay/admin/hop_actions.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "relay/dkim/key_ring.hpp"
#include "relay/dkim/signing_pool.hpp"
#include "relay/health_service.hpp"
#include "relay/lease_renewal.hpp"
#include "relay/queue_opening.hpp"
#include "relay/tls_reporting_service.hpp"
#include "relay/server/listener.hpp"
#include "relay/server/milter_link.hpp"
#include "relay/logging.hpp"
#include "relay/privileges.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "queue/body_sync_pool.hpp"
#include "queue/spool.hpp"
#include "relay/server/tls_context.hpp"
#include "relay/server/verification.hpp"
#include "health/spawn_log.hpp"
#include "relay/throughput_ring.hpp"
#include "relay/tracking/writer.hpp"
#include "relay/version.hpp"
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
  settings.filters = !listener.milters.empty();  // asked in step with the dialogue (filter_stage)
  return settings;
}

// One configuration's immutable world: what sessions accepted under it and the delivery
// engine built from it use. A SIGHUP builds a new Generation; sessions already running
// keep the one they started with (their references stay valid because old generations
// are only destroyed when no session exists and their engine is idle).
struct Generation {
  conf::ConfigPtr config;
  routing::RouteTable routes;
  std::list<ListenerContext> contexts;  // stable addresses for sessions
  std::unique_ptr<DeliveryEngine> delivery;
  std::unique_ptr<SessionServices> services;
  dkim::SignerPtr signer;  // the [dkim.NAME] keys, read again on every reload
};

// Builds everything of a Generation that can fail without side effects: routes and
// compiled policies. The engine and services are added by the caller.
// `client_limits` keeps each listener's per-client limits table across reloads.
std::expected<std::unique_ptr<Generation>, std::string> compile(
    conf::ConfigPtr config_ptr, std::map<std::string, ListenerCounters>& counters,
    std::map<std::string, std::shared_ptr<policy::ClientLimits>>& client_limits) {
  auto generation = std::make_unique<Generation>();
  generation->config = std::move(config_ptr);
  const conf::Config& config = *generation->config;
  auto routes = routing::RouteTable::build(config);
  if (!routes) return std::unexpected("routes: " + routes.error());
  generation->routes = std::move(*routes);
  auto signer = dkim::load_signer(config);
  if (!signer) {
    std::string text;
    for (const auto& d : signer.error()) text += (text.empty() ? "" : "; ") + d.to_string();
    return std::unexpected(text);
  }
  generation->signer = std::move(*signer);
  for (const auto& listener : config.listeners) {
    const conf::PolicyConfig* policy_config = config.find_policy(listener.policy);
    policy::ListenerPolicy policy;  // closed unless a policy is configured
    if (policy_config) {
      policy::ListenerFacts facts{listener.direction, config.relay.hostname, {}};
      for (const auto& bind : listener.bind) facts.addresses.push_back(bind.address);
      auto compiled = policy::ListenerPolicy::compile(*policy_config, config.relay.accepted_domains, facts);
      if (!compiled) return std::unexpected("policy " + listener.policy + ": " + compiled.error());
      policy = std::move(*compiled);
    }
    std::shared_ptr<TlsContext> tls;  // loaded again on every reload: new certificates take effect
    if (listener.tls != conf::ListenerTls::off) {
      auto loaded = TlsContext::load_server(listener.tls_certificate, listener.tls_key);
      if (!loaded) return std::unexpected("listener " + listener.name + ": " + loaded.error());
      tls = std::move(*loaded);
    }
    generation->contexts.push_back(ListenerContext{listener, settings_for(config, listener), std::move(policy),
                                                   counters[listener.name], std::move(tls), {}});
    if (policy_config) {  // DNSBL and recipient verification
      auto verification =
          ListenerVerification::build(config, *policy_config, generation->routes, listener.direction);
      if (!verification) return std::unexpected("policy " + listener.policy + ": " + verification.error());
      auto& context = generation->contexts.back();
      context.verification = std::move(*verification);
      if (context.verification) {
        context.settings.dnsbl = context.verification->dnsbl();
        context.settings.dnsbl_at_connect = context.verification->dnsbl_at_connect();
        context.settings.verify_recipients = context.verification->verify_recipients();
      }
    }
    if (const auto limits = policy::LimitSettings::from(listener); limits.any()) {  // per-client limits
      auto& shared = client_limits[listener.name];
      // New limits take effect when the generation does (reload commit below): a reload
      // that fails later must leave the running limits alone.
      if (!shared) shared = std::make_shared<policy::ClientLimits>(limits);
      generation->contexts.back().client_limits = shared;
    }
    if (listener.auth && !generation->contexts.back().policy.has_auth_users()) {
      spdlog::warn("listener {}: auth = true but policy {} has no auth_users; every AUTH will fail", listener.name,
                   listener.policy);
    }
  }
  return generation;
}

// Adds a generation's delivery counters into running totals (per direction, per hop name).
void accumulate(const Generation& g, std::array<DirectionCounters, 2>& directions,
                std::map<std::string, HopCounters>& hops) {
  for (std::size_t d = 0; d < 2; ++d) directions[d] += g.delivery->direction_counters(static_cast<conf::Direction>(d));
  for (std::size_t h = 0; h < g.config->hops.size(); ++h) hops[g.config->hops[h].name] += g.delivery->hop_counters(h);
}

std::string bind_key(const conf::ListenerConfig& listener) {
  std::string key;
  for (const auto& b : listener.bind) key += b.address + ":" + std::to_string(b.port) + " ";
  return key;
}

}  // namespace

int serve(conf::ConfigPtr config_ptr) {
  if (auto error = configure_logging(config_ptr->log); !error.empty()) return fail(error);
  const conf::Config& first_config = *config_ptr;
  // Which relay this is and where its queue lives, fixed at start (a reload keeps them).
  const std::string node = first_config.queue.node;
  const conf::QueueBackend queue_backend = first_config.queue.backend;
  spdlog::info("hubrelay {} starting: node={} queue={}", build::version, node, conf::to_string(queue_backend));
  const bool shared_queue = queue_backend == conf::QueueBackend::postgresql;

  std::error_code fs_error;
  std::filesystem::create_directories(first_config.relay.state_dir, fs_error);
  if (fs_error) return fail("cannot create state directory " + first_config.relay.state_dir + ": " + fs_error.message());

  // Bodies over [queue] inline_body_max live in state_dir/spool. Declared before the
  // io_context: handlers and session frames destroyed with it may still hold a body file
  // (BodyWriter, FinishedBody), which unlinks itself through the spool.
  auto spool_opened = queue::Spool::open(first_config.relay.state_dir);
  if (!spool_opened) return fail(spool_opened.error());
  std::unique_ptr<queue::Spool> spool = std::move(*spool_opened);

  // Tracking records (relay/tracking): the writer thread outlives everything that emits
  // (sessions, engines, the io_context's handlers), so it is declared before them; it
  // starts once privileges are dropped, so its files belong to the relay's user.
  std::unique_ptr<tracking::Writer> tracking_writer;

  // The io_context outlives the queue (the queue posts its last completions to it while
  // it drains in its destructor) and every generation (their engines own timers that
  // must be destroyed before the io_context): declared first, destroyed last.
  asio::io_context io(1);

  // Listener counters outlive generations: a reload does not reset /metrics.
  std::map<std::string, ListenerCounters> listener_counters;
  std::map<std::string, std::shared_ptr<policy::ClientLimits>> client_limits;  // survive reloads
  auto compiled = compile(config_ptr, listener_counters, client_limits);
  if (!compiled) return fail(compiled.error());
  std::unique_ptr<Generation> current = std::move(*compiled);
  std::list<std::unique_ptr<Generation>> retired;

  // The state directory (and so the queue) cannot move on reload: it is fixed at start.
  const std::string state_dir = first_config.relay.state_dir;
  const std::string db_path = (std::filesystem::path(state_dir) / "queue.db").string();
  // Its threads post their results to `io`: declared after it, so joined before it goes.
  // The pool's size is fixed at start.
  queue::BodySyncPool body_sync(first_config.queue.body_sync_threads);
  // DKIM signatures are computed here, off the I/O thread ([dkim] threads, default 2: two
  // threads sign ~2000 RSA-2048 messages a second, more than one core's sessions accept).
  const std::uint32_t signing_threads = first_config.dkim_signing.threads;
  dkim::SigningPool signing(signing_threads);
  // Delivered bodies are unlinked on the flush pool, not on the queue thread.
  auto opened = open_queue(first_config, db_path, *spool, body_sync);
  if (!opened) return fail(opened.error());
  std::unique_ptr<queue::MessageQueue> message_queue = std::move(*opened);
  // Before any listener: a body being written has no envelope yet and would look orphaned.
  if (auto error = recover_bodies(first_config, db_path, *spool); !error.empty()) return fail(error);
  auto recovered = message_queue->recover(unix_now_ms());
  if (!recovered) return fail("queue recovery failed: " + recovered.error().message());
  // Sessions name a message's queue id in its Received: header before the commit.
  if (const auto ec = message_queue->prepare_ids()) return fail("queue ids: " + ec.message());
  const std::string queue_name = shared_queue ? "postgresql (" + first_config.queue.pg_conninfo_file + ")" : db_path;
  spdlog::info("queue {} opened; {} pending recipients recovered", queue_name, *recovered);

  ThroughputRing throughput;
  SessionRegistry sessions;
  // Adds a generation's delivery engine and session services; returns an error text, or
  // "" on success. The engine's constructor creates its c-ares resolver and throws when
  // c-ares cannot be initialised (a start-up error by the resolver's contract): the
  // exception stops here, so a reload reports it instead of letting it out of io.run().
  // TLS reporting (RFC 8460): counts from every generation's engine, reports through the
  // engine in force.
  TlsReportingService tls_reporting(io, [&] { return current->config; },
                                    [&]() -> DeliveryEngine& { return *current->delivery; }, *message_queue, state_dir);
  const auto attach = [&](Generation& g) -> std::string {
    try {
      g.delivery = std::make_unique<DeliveryEngine>(io, *g.config, g.routes, *message_queue);
    } catch (const std::exception& e) {
      return std::string("delivery engine: ") + e.what();
    }
    g.delivery->set_throughput(&throughput);
    g.delivery->set_spool(spool.get());
    g.services = std::make_unique<SessionServices>(SessionServices{*message_queue, *g.delivery, sessions, *g.config});
    g.services->throughput = &throughput;
    g.services->spool = spool.get();
    g.services->body_sync = &body_sync;
    g.services->signer = g.signer;
    g.services->signing = &signing;
    g.services->tracking = tracking_writer.get();
    g.delivery->set_tracking(tracking_writer.get());
    tls_reporting.count_sessions_of(*g.delivery, *g.config);
    return {};
  };
  if (auto error = attach(*current); !error.empty()) return fail(error);

  std::uint64_t session_counter = 0;
  // Keyed by listener name; a listener whose bind addresses change is replaced.
  std::map<std::string, std::unique_ptr<Listener>> listeners;
  for (auto& context : current->contexts) {
    auto listener = std::make_unique<Listener>(io, context, *current->services, session_counter);
    if (auto error = listener->bind(); !error.empty()) return fail(error);
    listeners[context.config.name] = std::move(listener);
  }

  // Totals of generations already freed (see the reaper below).
  std::array<DirectionCounters, 2> reaped_directions{};
  std::map<std::string, HopCounters> reaped_hops;
  std::uint64_t reaped_record_failures = 0;

  // Admin endpoint: bound with the listeners, before privileges are dropped.
  const auto started_unix = unix_now_ms() / 1000;
  const HealthService* health_for_admin = nullptr;  // set once the health service exists (below)
  const auto snapshot = [&]() {
    metrics::Snapshot s;
    s.now_unix = unix_now_ms() / 1000;
    s.started_unix = started_unix;
    s.node = node;
    s.queue_backend = conf::to_string(queue_backend);
    s.draining = sessions.draining();
    const conf::Config& config = *current->config;
    for (const auto& listener : config.listeners)
      s.listeners.push_back({listener.name, listener.direction, listener_counters[listener.name]});
    // Counters of retired (and already freed) engines still count: a reload must never
    // make a Prometheus counter go down.
    s.directions = reaped_directions;
    std::map<std::string, HopCounters> hop_totals = reaped_hops;
    for (const auto& g : retired) accumulate(*g, s.directions, hop_totals);
    accumulate(*current, s.directions, hop_totals);
    for (const auto& g : retired) s.delivery_in_flight += g->delivery->in_flight();
    s.delivery_in_flight += current->delivery->in_flight();
    s.delivery_record_failures = reaped_record_failures + current->delivery->outcome_write_failures();
    for (const auto& g : retired) s.delivery_record_failures += g->delivery->outcome_write_failures();
    s.tls_reports_sent = tls_reporting.reports_sent();
    // One state per hop, by the function that writes health.json (see HealthService).
    const auto states = health_for_admin ? health_for_admin->hop_states() : std::vector<health::HopState>{};
    for (std::size_t h = 0; h < config.hops.size(); ++h) {  // only hops still configured
      metrics::Hop hop;
      hop.name = config.hops[h].name;
      const auto state = std::ranges::find(states, hop.name, &health::HopState::name);
      hop.state = state != states.end() ? *state : health::HopState{hop.name};
      hop.counters = hop_totals[hop.name];
      hop.connections = current->delivery->hop_connections(h);
      hop.window = current->delivery->hop_window(h);
      hop.max_connections = config.hops[h].max_connections;
      hop.tls = config.hops[h].tls;
      hop.paths = config.hops[h].paths;
      for (const auto& g : retired)
        for (std::size_t k = 0; k < g->config->hops.size(); ++k)
          if (g->config->hops[k].name == hop.name) hop.connections += g->delivery->hop_connections(k);
      s.hops.push_back(std::move(hop));
    }
    if (health_for_admin) s.paths = metrics_paths(health_for_admin->snapshot().get());
    for (const auto& milter : config.milters) {
      const auto& states = milter_health().states();
      const auto state = states.find(milter.name);
      metrics::Milter m{milter.name, milter.address};
      if (state != states.end()) {
        m.up = state->second.up;
        m.failures = state->second.failures;
        m.last_error = state->second.last_error;
      }
      s.milters.push_back(std::move(m));
    }
    const auto q = message_queue->counters();
    s.commit = {q.transactions, q.messages_committed, q.largest_batch, q.commit_micros_total};
    for (std::size_t d = 0; d < 2; ++d) {
      const auto dir = static_cast<conf::Direction>(d);
      for (std::size_t f = 0; f < 2; ++f) {
        const auto series = ThroughputRing::series(dir, static_cast<ThroughputRing::Flow>(f));
        auto& rates = f == 0 ? s.rates[d].in : s.rates[d].out;
        rates = {throughput.rate(series, s.now_unix, 60), throughput.rate(series, s.now_unix, 300),
                 throughput.rate(series, s.now_unix, 900)};
        s.series[d][f] = throughput.window(series, s.now_unix);
      }
    }
    return s;
  };
  DaemonAdminBackend admin_backend(snapshot, first_config.queue, state_dir);
  std::unique_ptr<AdminServer> admin_server;
  if (first_config.admin.enabled) {
    admin_server = std::make_unique<AdminServer>(io, first_config.admin, admin_backend);
    if (auto error = admin_server->bind(); !error.empty()) return fail(error);
  }
  if (!first_config.relay.user.empty()) {
    if (auto error = drop_privileges(first_config.relay.user, state_dir); !error.empty()) return fail(error);
    spdlog::info("running as user {}", first_config.relay.user);
  }

  if (first_config.tracking.enabled) {
    auto writer = tracking::Writer::start({first_config.tracking.dir, first_config.tracking.max_file_size,
                                           first_config.tracking.retention});
    if (!writer) return fail(writer.error());
    tracking_writer = std::move(*writer);
    current->services->tracking = tracking_writer.get();
    current->delivery->set_tracking(tracking_writer.get());
    spdlog::info("tracking records in {}", first_config.tracking.dir);
  }

  for (auto& [name, listener] : listeners) listener->start();
  if (admin_server) admin_server->start();
  current->delivery->start();
  // Probes and alerts. A reload gives them the new paths and hop list.
  HealthService health_service(io, current->config, *message_queue, *current->delivery);
  health_service.start();
  health_for_admin = &health_service;
  tls_reporting.start();
  admin_backend.attach_tls_reports([&](bool include_today) { return tls_reporting.send_now(include_today); });
  // The writable admin API: queue actions need the configuration in force (sender
  // reports); hop actions go to the current generation's engine and read back the hop's
  // state as health.json and /metrics show it.
  admin_backend.attach([&] { return current->config; },
                       [&](const admin::HopAction& action, std::string_view who) {
                         return admin::run_hop_action(*current->config, *current->delivery,
                                                      [&] { return health_service.hop_states(); }, action, who);
                       },
                       [&](const admin::PathAction& action, std::string_view who) {
                         return admin::run_path_action(health_service.monitor(), action, who);
                       });

  // Old generations are freed once nothing can refer to them: no session at all (a
  // session may belong to any generation) and their engine idle.
  asio::steady_timer reaper(io);
  std::function<void()> reap = [&] {
    reaper.expires_after(std::chrono::seconds(1));
    reaper.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (sessions.size() == 0) {
        std::erase_if(retired, [&](const std::unique_ptr<Generation>& g) {
          if (!g->delivery->idle()) return false;
          accumulate(*g, reaped_directions, reaped_hops);
          reaped_record_failures += g->delivery->outcome_write_failures();
          return true;
        });
      }
      if (!retired.empty()) reap();
    });
  };

  // On a shared queue this node's leases are renewed while it works on them; the lease
  // time is the current generation's.
  LeaseRenewal lease_renewal(io, *message_queue, [&] { return current->config; });
  if (shared_queue) lease_renewal.start();

  const auto reload = [&] {
    const std::string path = current->config->source_file;
    auto loaded = conf::load_file(path);
    if (!loaded) {
      for (const auto& d : loaded.error()) spdlog::error("reload: {}", d.to_string());
      spdlog::error("SIGHUP: {} has {} problem(s); running configuration kept", path, loaded.error().size());
      return;
    }
    conf::ConfigPtr next = *loaded;
    const bool queue_moved = next->queue.node != node || next->queue.backend != queue_backend;
    if (next->relay.state_dir != state_dir || queue_moved) {
      if (next->relay.state_dir != state_dir)
        spdlog::warn("reload: [relay] state_dir changes only on restart; still using {}", state_dir);
      if (queue_moved)
        spdlog::warn("reload: [queue] node and backend change only on restart; still node={} queue={}", node,
                     conf::to_string(queue_backend));
      // Everything of the new generation keeps the running state_dir: the health state
      // files (health.json, health.txt) stay beside queue.db, where the CLI finds both.
      auto pinned = std::make_shared<conf::Config>(*next);
      pinned->relay.state_dir = state_dir;
      pinned->queue.node = node;
      pinned->queue.backend = queue_backend;
      next = std::move(pinned);
    }
    if (next->dkim_signing.threads != signing_threads) {
      spdlog::warn("reload: [dkim] threads changes only on restart; still signing on {} threads", signing_threads);
    }
    auto built = compile(next, listener_counters, client_limits);
    if (!built) {
      spdlog::error("SIGHUP: {}; running configuration kept", built.error());
      return;
    }
    std::unique_ptr<Generation> fresh = std::move(*built);
    if (auto error = attach(*fresh); !error.empty()) {
      spdlog::error("SIGHUP: {}; running configuration kept", error);
      return;
    }
    // Bind new and moved listeners first, so a failure leaves everything as it was.
    std::map<std::string, std::unique_ptr<Listener>> added;
    for (auto& context : fresh->contexts) {
      auto it = listeners.find(context.config.name);
      if (it != listeners.end() && bind_key(it->second->context().config) == bind_key(context.config)) continue;
      auto listener = std::make_unique<Listener>(io, context, *fresh->services, session_counter);
      if (auto error = listener->bind(); !error.empty()) {
        spdlog::error("SIGHUP: {}; running configuration kept", error);
        return;  // `added` closes its acceptors
      }
      added[context.config.name] = std::move(listener);
    }
    // Commit: retarget kept listeners, close removed or moved ones, start new ones.
    for (auto it = listeners.begin(); it != listeners.end();) {
      const auto context = std::ranges::find(fresh->contexts, it->first, [](const ListenerContext& c) {
        return c.config.name;
      });
      if (context == fresh->contexts.end() || added.contains(it->first)) {
        spdlog::info("reload: listener {} closed", it->first);
        it->second->close();
        it = listeners.erase(it);
      } else {
        it->second->retarget(*context, *fresh->services);
        ++it;
      }
    }
    for (auto& [name, listener] : added) {
      listener->start();
      listeners[name] = std::move(listener);
    }
    // Suspended hops stay suspended (an administrator's word outlives a reload).
    for (const auto& hop : admin::carry_hop_suspensions(*current->config, *current->delivery, *fresh->config,
                                                        *fresh->delivery))
      spdlog::info("reload: hop {} stays suspended", hop);
    current->delivery->retire();
    const bool was_reaping = !retired.empty();
    retired.push_back(std::move(current));
    current = std::move(fresh);
    for (auto& context : current->contexts) {
      if (context.client_limits) context.client_limits->configure(policy::LimitSettings::from(context.config));
    }
    current->delivery->start();
    health_service.reload(current->config, *current->delivery);
    if (admin_server) admin_server->set_token(current->config->admin.token);
    if (!was_reaping) reap();
    spdlog::info("SIGHUP: configuration reloaded from {}: {} listener(s), {} route(s), {} hop(s)", path,
                 current->config->listeners.size(), current->config->routes.size(), current->config->hops.size());
  };

  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set hup_signal(io, SIGHUP);
  std::function<void()> watch_hup = [&] {
    hup_signal.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP received: reloading configuration");
      reload();
      watch_hup();
    });
  };
  watch_hup();

  // Shutdown. The first SIGTERM/SIGINT stops accepting, closes idle sessions at once
  // (421 4.3.2) and gives sessions inside a transaction drain_grace to finish; then the
  // rest get 421. A second signal during the drain closes every connection at once:
  // what was not committed was never acknowledged, and leased recipients are
  // recovered on restart, so the queue stays consistent.
  const auto on_second_signal = [&](boost::system::error_code ec, int signal_number) {
    if (ec) return;
    spdlog::warn("second signal: stopping now (signal {})", signal_number);
    sessions.close_all();
  };
  stop_signals.async_wait([&](boost::system::error_code ec, int signal_number) {
    if (ec) return;
    spdlog::info("signal {} received: draining (grace {}s)", signal_number, drain_grace.count());
    hup_signal.cancel();
    for (auto& [name, listener] : listeners) listener->close();
    if (admin_server) admin_server->close();
    sessions.drain();
    stop_signals.async_wait(on_second_signal);
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
          spdlog::info("all sessions closed; stopping delivery");
          current->delivery->stop();
          for (auto& g : retired) g->delivery->stop();
          reaper.cancel();
          lease_renewal.stop();
          health_service.stop();
          tls_reporting.stop();
          // Let connections to hops say QUIT; leased recipients are recovered on restart.
          timer.expires_after(std::chrono::milliseconds(500));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          stop_signals.cancel();
          io.stop();
        },
        health::log_escaped("drain", spdlog::level::critical));
  });

  spdlog::info("hubrelay {} ready: node={} queue={}: {} listener(s), {} route(s), {} hop(s)", build::version, node,
               conf::to_string(queue_backend), first_config.listeners.size(), first_config.routes.size(),
               first_config.hops.size());
  io.run();
  message_queue.reset();  // drains outstanding queue work while io is still alive
  spdlog::info("hubrelay stopped");
  return 0;
}

}  // namespace relay
