// relay/delivery/delivery_engine.hpp — moves queued recipients to next hops.
//
// Owns: splitting a message's recipients by route, picking a hop per delivery
// (routing::HopSelector over the health view), per-hop connection pools with a cap and
// reuse, the retry scanner that claims due recipients from the queue, and recording
// every outcome back into the queue. Failures are classified by relay/outcome; a
// hop-scope failure ejects the hop (health::PassiveEjection) and the same recipients
// are tried on another usable hop in the same pass.
// Threading: everything runs on the one io_context thread; no locks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "conf/config.hpp"
#include "health/hop_health.hpp"
#include "health/passive_ejection.hpp"
#include "health/snapshot.hpp"
#include "queue/message_queue.hpp"
#include "queue/retry_schedule.hpp"
#include "routing/dns_resolver.hpp"
#include "relay/counters.hpp"
#include "routing/hop_selector.hpp"
#include "routing/route_table.hpp"
#include "routing/route_wakeup.hpp"

namespace relay {

struct ClientSettings;

struct DeliveryCounters {
  std::uint64_t attempts = 0;            // transactions started on a hop
  std::uint64_t delivered = 0;           // recipients
  std::uint64_t deferred = 0;            // recipients
  std::uint64_t failed = 0;              // recipients, permanent
  std::uint64_t expired = 0;             // recipients
  std::uint64_t hop_failures = 0;
  std::uint64_t bounces = 0;             // DSNs queued (failure and delay notices)
  std::uint64_t bounces_dropped = 0;     // bounces that expired undelivered
};

class ThroughputRing;

class DeliveryEngine {
 public:
  DeliveryEngine(boost::asio::io_context& io, const conf::Config& config, const routing::RouteTable& routes,
                 queue::MessageQueue& queue);
  ~DeliveryEngine();

  /// Starts the retry scanner.
  void start();
  /// Stops scanning and lets connections finish; in-flight recipients stay leased in the
  /// queue and are recovered on the next start.
  void stop();

  /// Takes a message (fresh from a session, or claimed by the scanner) for delivery now.
  void submit(queue::QueuedMessage message);

  std::size_t in_flight() const noexcept { return in_flight_; }

  // Health (issue 5). `probes`: the monitor's published snapshot, consulted with passive
  // ejection on every routing decision; nullptr (the default) means no probes.
  void set_probes(const health::SnapshotBox* probes) noexcept { probes_ = probes; }
  /// A successful active probe of the hop: clears its passive ejection.
  void probe_succeeded(std::size_t hop) {
    if (ejection_.record_success(hop)) hops_proven_.push_back(hop);
  }
  const health::PassiveEjection& ejection() const noexcept { return ejection_; }
  const DeliveryCounters& counters() const noexcept { return counters_; }

  // Operations (issue 7): per-direction and per-hop counters, hop health, throughput.
  const DirectionCounters& direction_counters(conf::Direction d) const noexcept {
    return by_direction_[static_cast<std::size_t>(d)];
  }
  const HopCounters& hop_counters(std::size_t hop) const noexcept { return hop_counters_[hop]; }
  std::uint32_t hop_connections(std::size_t hop) const noexcept { return hops_[hop].connections; }
  bool hop_ejected(std::size_t hop) const noexcept;
  void set_throughput(ThroughputRing* ring) noexcept { throughput_ = ring; }
  /// Configuration reload (SIGHUP): stop() plus hand every job still waiting for a
  /// connection back to the queue as due now (unattempted), so the engine of the new
  /// configuration delivers it. Transactions in progress finish and record normally.
  void retire();
  /// True once a stopped engine has nothing running: no message in flight, no connection,
  /// no scan pass. Only then may it be destroyed.
  bool idle() const noexcept;

 private:
  struct MessageInFlight;
  struct Job {
    std::shared_ptr<MessageInFlight> message;
    std::size_t route = 0;
    std::vector<std::size_t> recipients;  // positions in message->queued.recipients
    std::vector<std::size_t> tried;       // hops already tried in this pass
    std::string last_failure;             // reply or fault text from the last hop tried
    std::string domain;                   // set when the route has an MX hop: one domain per job
    bool mx_host_failed = false;          // deliver(): the MX host failed, try the next one
    bool forced = false;                  // sent to an unusable hop by when_all_down = "try_anyway"
  };
  struct HopState {
    std::deque<Job> jobs;
    std::uint32_t connections = 0;
    std::deque<boost::asio::steady_timer*> idle;  // connections waiting for work
    std::uint32_t active = 0;                     // transactions running now
  };

  void dispatch(Job job);
  /// Hop health at one instant: probes (paths, own check) and passive ejection. The view
  /// points into the probe snapshot, which the struct holds for as long as it is used.
  struct HealthNow {
    health::SnapshotPtr probes;
    health::HopHealth view;
  };
  HealthNow health_now() const;
  /// Health view of one hop right now.
  bool usable_now(std::size_t hop) const;
  void defer(Job job, std::string reply, bool attempted);
  void finish_job(const Job& job, std::vector<queue::RecipientOutcome> outcomes);
  void record(std::vector<queue::RecipientOutcome> outcomes);
  void hop_failed(std::size_t hop, const std::string& why);
  void spawn_connection(std::size_t hop);
  boost::asio::awaitable<void> run_connection(std::size_t hop);
  boost::asio::awaitable<bool> deliver(class SmtpClient& client, std::size_t hop, Job& job);
  // Routing and delivery additions (issue 4): see delivery_engine.cpp.
  ClientSettings client_settings(std::size_t hop, const std::string& server_name) const;
  std::vector<std::uint32_t> outstanding() const;
  boost::asio::awaitable<void> run_mx(std::size_t hop, Job job);
  boost::asio::awaitable<void> deliver_mx(std::size_t hop, Job& job);
  void notify_sender(const MessageInFlight& message, std::vector<queue::RecipientOutcome> outcomes);
  boost::asio::awaitable<void> commit_bounce(queue::NewMessage bounce, std::vector<queue::RecipientOutcome> outcomes);
  boost::asio::awaitable<void> scan();
  /// Releases what is parked on routes with a hop that came back (see the .cpp).
  boost::asio::awaitable<void> release_woken_routes();
  /// Makes the recipients parked on route index + 1 (0: on any route) due now, in rounds;
  /// a `trial` releases only a few.
  boost::asio::awaitable<void> release_route(std::uint32_t route_tag, bool trial);
  queue::UnixMillis retry_at(queue::UnixMillis now, std::uint32_t attempts);
  double jitter_unit();  // uniform in [0, 1), for the retry schedule's jitter

  boost::asio::io_context& io_;
  const conf::Config& config_;
  const routing::RouteTable& routes_;
  queue::MessageQueue& queue_;
  routing::HopSelector selector_;
  routing::RouteWakeup wakeup_;
  std::vector<std::size_t> hops_proven_;  // ejected hops a delivery or check found alive since the last scan
  health::PassiveEjection ejection_;
  queue::RetrySchedule retry_;
  std::vector<HopState> hops_;
  std::size_t in_flight_ = 0;
  DeliveryCounters counters_;
  boost::asio::steady_timer scan_timer_;
  bool stopped_ = false;
  std::minstd_rand jitter_rng_{std::random_device{}()};
  const health::SnapshotBox* probes_ = nullptr;
  std::unique_ptr<routing::DnsResolver> resolver_;
  std::vector<bool> route_has_mx_;                      // per route index
  std::set<std::pair<queue::MessageId, std::int32_t>> delay_notified_;  // this run; the queue keeps it (v4)
  // Delivered to a hop without DSN while NOTIFY had SUCCESS: a "relayed" notice is due
  // (RFC 3461 §4.1). Filled by deliver(), consumed by notify_sender() for the same outcome.
  std::set<std::pair<queue::MessageId, std::int32_t>> relayed_notice_;
  std::array<DirectionCounters, 2> by_direction_{};
  std::vector<HopCounters> hop_counters_;
  ThroughputRing* throughput_ = nullptr;
  bool scanning_ = false;
  DirectionCounters& direction(conf::Direction d) noexcept { return by_direction_[static_cast<std::size_t>(d)]; }
};

}  // namespace relay
