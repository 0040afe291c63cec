// relay/lease_renewal.hpp — keeps this relay's leases on a shared queue alive.
//
// Owns: a timer that renews every lease this node holds on the PostgreSQL queue every
// third of the lease time (at least a second apart), so a long delivery keeps its
// messages while a dead node's go to the others once its leases ran out. The lease time
// is read on every round from the configuration in force (a reload may change it). A
// failed renewal is logged; the next round tries again.
// Threading: the io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "conf/config.hpp"
#include "queue/message_queue.hpp"

namespace relay {

class LeaseRenewal {
 public:
  /// `config` gives the configuration in force (it changes on reload).
  LeaseRenewal(boost::asio::io_context& io, queue::MessageQueue& queue, std::function<conf::ConfigPtr()> config);

  /// Starts the rounds (only on a shared queue: a SQLite queue's leases end with the process).
  void start();
  /// Stops the rounds; a renewal already handed to the queue still completes.
  void stop();

 private:
  void schedule();

  boost::asio::steady_timer timer_;
  queue::MessageQueue& queue_;
  std::function<conf::ConfigPtr()> config_;
};

}  // namespace relay
