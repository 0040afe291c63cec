// relay/delivery/delivery_engine.hpp — moves queued recipients to next hops.
//
// Owns: splitting a message's recipients by route, picking a hop per delivery
// (routing::HopSelector over the health view), per-hop connection pools with a cap and
// reuse, the retry scanner that claims due recipients from the queue, and recording
// every outcome back into the queue and into the exported counters (DirectionCounters,
// HopCounters: each outcome counted once, in finish_job). What a hop's replies mean is
// the judge's (relay/client/judge); the engine applies that verdict in one place
// (apply_verdict): a hop failure ejects the hop (health::PassiveEjection), is kept as the
// hop's last error (hop_failure, for the state files), is logged once with the work it hit,
// and the same recipients are tried on another usable hop in the same pass. An outcome
// the queue cannot write (disk full) is held in memory and written again with backoff
// (unwritten_outcomes), so its recipient is neither locked for the whole lease nor
// delivered twice while the daemon runs. Every outcome
// carries the hop and address of its attempt and the real reply or fault; a recipient
// parked for want of a usable hop carries the route and each hop's state (park_note).
// Files: delivery_engine.cpp (lifecycle, submit, dispatch, defer, finish, notices),
// delivery_engine_pool.cpp (connection pools), delivery_engine_verdict.cpp (one
// transaction and its verdict), delivery_engine_mx.cpp (direct MX delivery),
// delivery_engine_scan.cpp (retry scanner, parked-route release), delivery_engine_waived.cpp
// (sessions for messages that waive a smart host's TLS requirement).
// Threading: everything runs on the one io_context thread; no locks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "conf/config.hpp"
#include "health/hop_health.hpp"
#include "health/hop_suspension.hpp"
#include "relay/delivery/concurrency_window.hpp"
#include "relay/delivery/rate_bucket.hpp"
#include "relay/delivery/session_slots.hpp"
#include "health/passive_ejection.hpp"
#include "health/snapshot.hpp"
#include "queue/message_queue.hpp"
#include "queue/spool.hpp"
#include "queue/retry_schedule.hpp"
#include "routing/dns_resolver.hpp"
#include "routing/mta_sts_source.hpp"
#include "relay/client/client_stream.hpp"
#include "relay/client/ehlo_capabilities.hpp"
#include "relay/client/judge.hpp"
#include "relay/counters.hpp"
#include "relay/delivery/unwritten_outcomes.hpp"
#include "relay/tlsrpt/session_result.hpp"
#include "routing/hop_selector.hpp"
#include "routing/route_table.hpp"
#include "routing/route_wakeup.hpp"

namespace relay::tracking {
class Writer;
}

namespace relay {

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

  /// Messages in memory: being delivered, or holding an outcome the queue could not
  /// write yet (each such write keeps a slot, so held outcomes stay bounded by
  /// max_in_flight).
  std::size_t in_flight() const noexcept { return in_flight_; }
  /// Failed attempts to write delivery outcomes (and the reports on them) since start.
  std::uint64_t outcome_write_failures() const noexcept { return unwritten_.failures_total(); }

  // Health. `probes`: the monitor's published snapshot, consulted with passive
  // ejection on every routing decision; nullptr (the default) means no probes.
  void set_probes(const health::SnapshotBox* probes) noexcept { probes_ = probes; }
  /// A successful active probe of the hop: clears its passive ejection.
  void probe_succeeded(std::size_t hop) {
    if (ejection_.record_success(hop)) hops_proven_.push_back(hop);
  }
  const health::PassiveEjection& ejection() const noexcept { return ejection_; }
  /// A hop's most recent failure as the engine saw it (connect, TLS, protocol, the hop's
  /// own refusal): what it was and when (Unix ms; 0: none since start). The health
  /// service shows it in the state files within a second (health::EjectionReport).
  struct HopFailure {
    std::string text;
    queue::UnixMillis at = 0;
    std::uint64_t count = 0;  // failures since start: tells a reader something changed
  };
  const HopFailure& hop_failure(std::size_t hop) const noexcept { return hop_failures_[hop]; }

  // Operations: per-direction and per-hop counters, hop health, throughput.
  const DirectionCounters& direction_counters(conf::Direction d) const noexcept {
    return by_direction_[static_cast<std::size_t>(d)];
  }
  const HopCounters& hop_counters(std::size_t hop) const noexcept { return hop_counters_[hop]; }
  std::uint32_t hop_connections(std::size_t hop) const noexcept { return hops_[hop].connections; }
  /// The hop's concurrency window now: sessions it may have (relay/delivery/concurrency_window).
  std::uint32_t hop_window(std::size_t hop) const noexcept { return hops_[hop].window.limit(); }
  /// Reply-asked suspensions (suspend_on): the state files show them.
  const health::HopSuspension& suspension() const noexcept { return suspension_; }
  /// An administrator's suspension of `hop` (the admin API): like a reply-asked one, the
  /// hop takes no work until then; its waiting work moves off as soon as a connection
  /// looks at it. resume_hop() is false when the hop was not suspended.
  void suspend_hop(std::size_t hop, std::chrono::steady_clock::time_point until, std::string reason) {
    suspension_.set(hop, until, std::move(reason));
  }
  bool resume_hop(std::size_t hop) { return suspension_.resume(hop, std::chrono::steady_clock::now()); }
  void set_throughput(ThroughputRing* ring) noexcept { throughput_ = ring; }
  /// Where delivery's tracking records go (relay/delivery/delivery_tracking); null: off.
  void set_tracking(tracking::Writer* writer) noexcept { tracking_ = writer; }
  /// Where the TLS outcome of each session to an MX host of a tls = "auto"/"dane" hop
  /// goes (TLS reporting, RFC 8460); empty: not reported.
  using TlsSessionSink = std::function<void(const tlsrpt::TlsSessionResult&)>;
  void set_tls_sessions(TlsSessionSink sink) { tls_sessions_ = std::move(sink); }
  /// The spool holding bodies too large to stay inline (it outlives the engine); without
  /// one a spooled message cannot be read and its delivery fails as a local fault.
  void set_spool(const queue::Spool* spool) noexcept { spool_ = spool; }
  /// Configuration reload (SIGHUP): stop() plus hand every job still waiting for a
  /// connection back to the queue as due now (unattempted), so the engine of the new
  /// configuration delivers it. Transactions in progress finish and record normally.
  void retire();
  /// True once a stopped engine has nothing running: no message in flight, no connection,
  /// no scan pass, no held outcome. Only then may it be destroyed; destroyed with outcomes
  /// still held (the daemon exits), it logs their queue ids: their recipients are tried
  /// again after the restart, which repeats a delivery that had succeeded.
  bool idle() const noexcept;

 private:
  struct MessageInFlight;
  static constexpr std::size_t no_hop = static_cast<std::size_t>(-1);
  struct Job {
    std::shared_ptr<MessageInFlight> message;
    std::size_t route = 0;
    std::vector<std::size_t> recipients;  // positions in message->queued.recipients
    std::vector<std::size_t> tried;       // hops already tried in this pass
    std::string last_failure;             // reply or fault text from the last hop tried
    std::string domain;                   // set when the route has an MX hop: one domain per job
    bool forced = false;                  // sent to an unusable hop by when_all_down = "try_anyway"
    std::uint8_t throttled = 0;           // times a hop throttled it back into its queue this pass
    std::size_t last_hop = no_hop;        // the hop that gave last_failure (no_hop: none this pass)
    std::string last_hop_address;         // its address:port
    std::optional<TlsUsed> last_tls;      // what protected its session (nullopt: no session)
  };
  /// A job done with this pass: its recipients' outcomes, and those due a "relayed"
  /// notice (delivered to a hop without DSN while NOTIFY had SUCCESS, RFC 3461 §4.1).
  struct Finished {
    std::shared_ptr<MessageInFlight> message;
    std::vector<queue::RecipientOutcome> outcomes;
    std::vector<std::int32_t> relayed;
    std::optional<TlsUsed> tls;           // what protected the session that decided them
  };
  /// What a step left to do: jobs to route (again) and jobs finished. run() drains it.
  struct Work {
    std::vector<Job> jobs;
    std::vector<Finished> finished;
    void add(Work more);
  };
  struct HopState {
    std::deque<Job> jobs;
    std::uint32_t connections = 0;                // sessions open or opening: pooled and own
    std::deque<Job> own;                          // waiting for a session of their own (waives_hop_tls)
    std::deque<boost::asio::steady_timer*> idle;  // connections waiting for work
    std::uint32_t active = 0;                     // transactions running now
    // Upstream limits (delivery_engine_limits.cpp).
    ConcurrencyWindow window{1};          // connections allowed now (max: max_connections)
    RateBucket message_rate;              // max_message_rate
    RateBucket connection_rate;           // max_connection_rate
    bool connect_held = false;                    // a held-back connection is waiting for its time
    std::chrono::steady_clock::time_point paused_until{};  // no transaction starts before (a throttle)
    std::uint32_t refusals_in_row = 0;            // sessions refused by a throttle since one opened
    SessionSlots slots;                           // pooled and own sessions share the window
  };

  /// The one loop over work: routes every job (routing may finish it or yield more work)
  /// and finishes every finished job. Nothing here recurses into it.
  void run(Work work);
  /// Sends `job` to a hop (queued on its pool, or an MX delivery spawned), or finishes it
  /// when no hop is usable or the engine is stopped.
  std::optional<Finished> route(Job job);
  /// Hop health at one instant: probes (paths, own check) and passive ejection. The view
  /// points into the probe snapshot, which the struct holds for as long as it is used.
  struct HealthNow {
    health::SnapshotPtr probes;
    health::HopHealth view;
  };
  HealthNow health_now() const;
  /// Health view of one hop right now.
  bool usable_now(std::size_t hop) const;
  /// Whether the route of `job` has a hop left to try now besides those it tried.
  bool other_hops_remain(const Job& job) const;
  Finished defer(Job job, std::string reply, bool attempted);
  void finish_job(Finished finished);
  queue::QueuedMessage with_body_for_notice(const queue::QueuedMessage& queued) const;
  void record(std::vector<queue::RecipientOutcome> outcomes);
  /// Writes `outcomes` (recorded_at set); a failed write is held and tried again until
  /// it is written or the queue closes.
  boost::asio::awaitable<void> write_outcomes(std::vector<queue::RecipientOutcome> outcomes);
  /// After the `failures`-th failed write (`ec`) of `outcomes`: holds them on the first
  /// failure (logged once per outage) and waits the backoff. Returns false when the write
  /// is given up (the queue is closed: shutting down); `outcomes` must outlive the call.
  boost::asio::awaitable<bool> retry_write(const std::vector<queue::RecipientOutcome>& outcomes,
                                           std::uint32_t failures, std::error_code ec);
  /// Held `outcomes` were written: frees their slot; logs the end of the outage once.
  void held_written(const std::vector<queue::RecipientOutcome>& outcomes);
  /// Charges `hop` a failure (passive ejection; counted as a failed attempt of class
  /// `failure_class` unless empty), remembers it as the hop's last error and logs it once with the number of
  /// recipients and messages it hit (`in_hand`: the job whose transaction failed, if any);
  /// returns the jobs waiting for it, to go elsewhere, each carrying the failure.
  std::deque<Job> eject(std::size_t hop, std::string_view failure_class, const std::string& why,
                        const Job* in_hand = nullptr);
  /// `job` after its connection to `hop` failed with `why`: that failure is its attempt.
  Job dialled(Job job, std::size_t hop, const std::string& why) const;
  /// "451 4.4.1 No healthy next hop available (route R: a ejected until T, last error: …)":
  /// why a job of `route` is parked, with each hop's state, for the queue's history.
  std::string park_note(std::size_t route) const;
  /// The configured "host:port" of a hop, for history rows when no connection was made.
  std::string hop_address(std::size_t hop) const;
  /// Opens a pooled session of `hop`; false when max_connection_rate holds it back.
  bool spawn_connection(std::size_t hop);
  // --- upstream limits (delivery_engine_limits.cpp) ---
  /// Sets each hop's window and rate buckets from its configuration.
  void init_limits();
  /// Opens what `hop`'s free slots are for now (relay/delivery/session_slots): pooled
  /// sessions for its queued work, sessions of their own for waiting waived messages.
  /// Called whenever work arrives, a session ends, a hold ends or the window grows.
  void open_sessions(std::size_t hop);
  /// Takes a connection token of `hop` (max_connection_rate); false when over the rate: a
  /// session is then opened later (hold_connection), not refused.
  bool take_connection_token(std::size_t hop);
  /// Opens a connection later (after `wait`): connection rate or a throttled hop.
  void hold_connection(std::size_t hop, std::chrono::steady_clock::duration wait);
  /// Waits on `timer` for a hop's limits; stop() cancels every such wait.
  boost::asio::awaitable<void> limit_wait(boost::asio::steady_timer& timer);
  /// Waits for a message token of `hop` (max_message_rate); counts the time held back.
  boost::asio::awaitable<void> pace_message(std::size_t hop);
  /// Feeds one transaction's outcome to the hop's window and suspend_on rules; true when
  /// the hop throttled us (the failure is not the hop's health: no ejection). Work
  /// waiting for a hop that got suspended goes into `moved`.
  bool feedback(std::size_t hop, const Transcript& transcript, const Verdict& verdict, std::deque<Job>& moved);
  /// After a throttling reply that left every recipient of `job` to retry: the job goes
  /// back to the front of the hop's queue and the hop pauses briefly, instead of a
  /// deferral (a few times per job; then the normal retry). True when it did.
  bool hold_throttled(std::size_t hop, Job& job, const Verdict& verdict);
  /// A session refused at connect (banner/EHLO) by a throttle or a suspend_on match: true
  /// when it was one (the caller then neither ejects nor fails the work); `moved` as above.
  bool refused_by_limit(std::size_t hop, const Transcript& opened, std::deque<Job>& moved);
  /// A reply line matched one of the hop's suspend_on rules: suspend it; work waiting
  /// for it goes into `moved` carrying the reply. True when it matched.
  bool suspend_if_asked(std::size_t hop, const std::string& reply, std::deque<Job>& moved);
  boost::asio::awaitable<void> run_connection(std::size_t hop);
  /// One transaction of `job` on a pooled connection, judged and applied; returns what is left to do.
  /// `proves_hop`: a success clears the hop's ejection (not so on a session that waived
  /// the hop's TLS demand: the hop's own sessions may still fail).
  boost::asio::awaitable<Work> deliver(class SmtpClient& client, std::size_t hop, Job job, bool proves_hop = true);
  /// Sends `job`'s message on `client` and reports what the hop said.
  boost::asio::awaitable<Transcript> transact(class SmtpClient& client, std::size_t hop, const Job& job);
  /// Recipients the hop cannot take, known before sending (SMTPUTF8, SIZE): finished.
  std::optional<Finished> refuse_unsendable(const HopCapabilities& capabilities, std::size_t hop, const Job& job);
  /// A REQUIRETLS message on a session that cannot carry it (relay/smtp/require_tls):
  /// the 5.7.30 reply line, logged; nullopt when the session may carry the job.
  std::optional<std::string> requiretls_unmet(const class SmtpClient& client, std::size_t hop, const Job& job) const;
  /// `job`'s recipients failed with `reply` (permanent, reported to the sender).
  Finished failed_before_sending(std::size_t hop, const Job& job, const std::string& reply) const;
  /// Whether `job` waives `hop`'s TLS requirement ("TLS-Required: No" on a hop with
  /// tls = "required" or "verify"): it then goes on a session of its own.
  bool waives_hop_tls(const Job& job, std::size_t hop) const;
  /// For a job that waives TLS demands, when no hop is usable: a hop it waives that is
  /// out only for a passive ejection (most often its TLS demand failing) is picked.
  std::optional<std::size_t> pick_waiving(const Job& job, const HealthNow& health, const std::vector<std::uint32_t>& load);
  /// One session with `hop` under opportunistic TLS for such a job; it holds one of the
  /// hop's session slots like a pooled session (open_sessions starts it).
  boost::asio::awaitable<void> run_waived(std::size_t hop, Job job);
  /// The one place a verdict is applied: outcomes, counters, health, and where the
  /// recipients left to retry go.
  /// `throttled`: the hop limited us (feedback): a hop failure then ejects nothing.
  /// `job.last_tls`: what protected the session, logged and recorded with each outcome.
  Work apply_verdict(std::size_t hop, Job job, const Verdict& verdict, bool hop_has_dsn, const std::string& address,
                     bool throttled = false, bool proves_hop = true);
  std::vector<std::uint32_t> outstanding() const;
  boost::asio::awaitable<void> run_mx(std::size_t hop, Job job);
  boost::asio::awaitable<Work> deliver_mx(std::size_t hop, Job job);
  /// Hands one MX session's TLS outcome to the sink (relay/delivery/delivery_engine_tls_report).
  void report_tls_session(std::size_t hop, const Job& job, std::optional<tlsrpt::TlsSessionResult> session);
  void notify_sender(const MessageInFlight& message, std::vector<queue::RecipientOutcome> outcomes,
                     const std::vector<std::int32_t>& relayed);
  boost::asio::awaitable<void> commit_bounce(queue::NewMessage bounce, std::vector<queue::RecipientOutcome> outcomes);
  boost::asio::awaitable<void> scan();
  /// Releases what is parked on routes with a hop that came back (see the .cpp).
  boost::asio::awaitable<void> release_woken_routes();
  /// Makes the recipients parked on route index + 1 (0: on any route) due now, in rounds;
  /// a `trial` (of the hops named in `trial_hops`, for the log) releases only a few.
  boost::asio::awaitable<void> release_route(std::uint32_t route_tag, bool trial, std::string trial_hops = {});
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
  const health::PassiveEjection no_ejection_;  // never charged: health without passive ejection
  health::HopSuspension suspension_;
  std::size_t limit_timers_ = 0;  // hold_connection timers running
  std::vector<boost::asio::steady_timer*> limit_waits_;  // every wait for a hop's limits: stop() cancels them
  queue::RetrySchedule retry_;
  std::vector<HopState> hops_;
  std::size_t in_flight_ = 0;
  boost::asio::steady_timer scan_timer_;
  bool stopped_ = false;
  std::minstd_rand jitter_rng_{std::random_device{}()};
  const health::SnapshotBox* probes_ = nullptr;
  std::unique_ptr<routing::DnsResolver> resolver_;
  std::unique_ptr<routing::MtaStsSource> mta_sts_;       // MTA-STS policies (auto, mta-sts hops)
  std::vector<bool> route_has_mx_;                      // per route index
  std::set<std::pair<queue::MessageId, std::int32_t>> delay_notified_;  // this run; the queue keeps it (v4)
  std::array<DirectionCounters, 2> by_direction_{};
  std::vector<HopCounters> hop_counters_;
  std::vector<HopFailure> hop_failures_;
  ThroughputRing* throughput_ = nullptr;
  tracking::Writer* tracking_ = nullptr;
  TlsSessionSink tls_sessions_;
  UnwrittenOutcomes unwritten_;
  const queue::Spool* spool_ = nullptr;
  bool scanning_ = false;
  DirectionCounters& direction(conf::Direction d) noexcept { return by_direction_[static_cast<std::size_t>(d)]; }
};

}  // namespace relay
