// tests/queue/admin_store_cases.hpp — AdminStore behaviour both backends must show.
//
// Owns: the fixture (a daemon-side QueueStore writing the queue as the daemon does, and
// an AdminStore opened on the same queue) and the behaviour cases: list filters, show
// with attempts, hold/release/retry leave leased recipients alone, delete cascades,
// bounce/expire finish pending recipients and queue the sender's report once in the same
// transaction (body freed), summary and depth figures, unknown ids change nothing.
// Each test binary includes this once and instantiates AdminStoreBehaviour with its
// backend: SQLite in queue_tests (tests/queue/admin_store_test.cpp), PostgreSQL in
// queue_pg_tests (tests/queue_pg/pg_admin_store_test.cpp).
// Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "queue/admin_store.hpp"
#include "queue/errc.hpp"
#include "queue/queue_store.hpp"

namespace queue {

/// One backend under test: the daemon's writer and a way to open the operator's store.
struct AdminBackend {
  virtual ~AdminBackend() = default;
  virtual QueueStore& writer() = 0;
  virtual std::expected<std::unique_ptr<AdminStore>, std::string> open_admin() = 0;
};

/// Makes a fresh backend per test; null with `skip` set when it cannot run here.
using AdminBackendFactory = std::function<std::unique_ptr<AdminBackend>(std::string& skip)>;

class AdminStoreBehaviour : public ::testing::TestWithParam<AdminBackendFactory> {
 public:
  static NewMessage message(std::vector<std::string> rcpts, UnixMillis received,
                            conf::Direction d = conf::Direction::outbound) {
    NewMessage m;
    m.direction = d;
    m.listener = d == conf::Direction::outbound ? "outbound" : "inbound";
    m.client_address = "127.0.0.1";
    m.helo = "hub";
    m.sender = "alice@example.com";
    m.recipients = std::move(rcpts);
    m.body = "Subject: t\r\n\r\nbody\r\n";
    m.received_at = received;
    return m;
  }
 protected:
  void SetUp() override {
    std::string skip;
    backend_ = GetParam()(skip);
    if (!backend_) GTEST_SKIP() << skip;
  }
  QueueStore& writer() { return backend_->writer(); }

  // Each in its own transaction, as the daemon's queue writer does it.
  MessageId insert(NewMessage m, UnixMillis lease_until) {
    EXPECT_FALSE(writer().begin());
    auto stored = writer().insert(std::move(m), lease_until);
    EXPECT_TRUE(stored) << stored.error().message();
    EXPECT_FALSE(writer().commit());
    return stored ? stored->id : 0;
  }
  std::vector<QueuedMessage> claim(UnixMillis now, UnixMillis lease_until) {
    EXPECT_FALSE(writer().begin());
    auto claimed = writer().claim_due(now, lease_until, 100);
    EXPECT_TRUE(claimed) << claimed.error().message();
    EXPECT_FALSE(writer().commit());
    return claimed ? std::move(*claimed) : std::vector<QueuedMessage>{};
  }
  std::error_code record(std::vector<RecipientOutcome> outcomes) {
    EXPECT_FALSE(writer().begin());
    const std::error_code ec = writer().record(outcomes, freed_);
    EXPECT_FALSE(writer().commit());
    return ec;
  }
  MessageId add(std::vector<std::string> rcpts, UnixMillis received, conf::Direction d = conf::Direction::outbound) {
    return insert(message(std::move(rcpts), received, d), received + 3'600'000);  // leased, as a fresh commit is
  }
  /// A message whose delivery lease ran out at `received` (its relay stopped before an
  /// outcome): pending and nobody's. A fresh commit's lease runs on, and a shared queue's
  /// administrator may not finish what a node still holds (tests/queue_pg: lease tests).
  MessageId add_waiting(std::vector<std::string> rcpts, UnixMillis received) {
    return insert(message(std::move(rcpts), received), received);
  }
  void outcome(MessageId id, int idx, RecipientState s, UnixMillis next, std::string reply, std::string hop) {
    EXPECT_FALSE(record({RecipientOutcome{id, idx, s, next, true, std::move(reply), std::move(hop), next}}));
  }
  std::unique_ptr<AdminStore> admin() {
    auto a = backend_->open_admin();
    EXPECT_TRUE(a) << a.error();
    return a ? std::move(*a) : nullptr;
  }
  std::size_t due_now(UnixMillis now) { return claim(now, now + 3'600'000).size(); }

  std::unique_ptr<AdminBackend> backend_;
  FreedFiles freed_;
};

namespace admin_store_cases {

TEST_P(AdminStoreBehaviour, ListShowsDeferredStateAndLastReply) {
  const MessageId id = add({"bob@dead.example"}, 1000);
  outcome(id, 0, RecipientState::pending, 5000, "451 4.4.1 hop unreachable", "up-a");
  auto a = admin();
  auto rows = a->list(QueueFilter{}, 2000);
  ASSERT_TRUE(rows) << rows.error();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].state(), "deferred");
  EXPECT_EQ((*rows)[0].recipients[0].last_reply, "451 4.4.1 hop unreachable");
  EXPECT_FALSE((*rows)[0].recipients[0].leased);

  QueueFilter by_domain;
  by_domain.domain = "other.example";
  EXPECT_TRUE(a->list(by_domain, 2000)->empty());
  by_domain.domain = "DEAD.example";
  EXPECT_EQ(a->list(by_domain, 2000)->size(), 1u);

  auto shown = a->show(id);
  ASSERT_TRUE(shown) << shown.error();
  ASSERT_EQ(shown->attempts.size(), 1u);
  EXPECT_EQ(shown->attempts[0].hop, "up-a");
  EXPECT_FALSE(a->show(id + 100));
  EXPECT_EQ(*a->body(id), "Subject: t\r\n\r\nbody\r\n");
}

TEST_P(AdminStoreBehaviour, HoldKeepsAMessageFromClaimsAndReleaseMakesItDue) {
  const MessageId id = add({"bob@x.example"}, 1000);
  outcome(id, 0, RecipientState::pending, 1'000'000, "451 later", "up-a");
  auto a = admin();
  auto held = a->hold({{id}});
  ASSERT_TRUE(held) << held.error();
  EXPECT_EQ(held->messages, 1u);
  EXPECT_EQ(a->list(QueueFilter{.state = StateFilter::held}, 0)->size(), 1u);
  EXPECT_EQ(due_now(2'000'000), 0u);  // due by time, but held
  auto released = a->release({{id}}, 3000);
  ASSERT_TRUE(released);
  EXPECT_EQ(released->recipients, 1u);
  EXPECT_EQ(due_now(3000), 1u);
}

TEST_P(AdminStoreBehaviour, MessageCommittedHeldIsNeverClaimedUntilReleased) {
  // A content filter's quarantine: held in the commit itself, so neither the delivery
  // scan nor a crash before a later update can send it.
  NewMessage m;
  m.direction = conf::Direction::inbound;
  m.listener = "inbound";
  m.sender = "alice@example.com";
  m.recipients = {"bob@x.example", "carol@x.example"};
  m.body = "Subject: t\r\n\r\nbody\r\n";
  m.received_at = 1000;
  m.held_reason = "quarantined by milter clamav: Eicar found";
  const MessageId id = insert(std::move(m), 1000 + 3'600'000);
  EXPECT_EQ(due_now(10'000'000), 0u) << "a held message is never due";
  auto a = admin();
  auto rows = a->list(QueueFilter{.state = StateFilter::held}, 2000);
  ASSERT_TRUE(rows) << rows.error();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].recipients[0].last_reply, "quarantined by milter clamav: Eicar found");
  EXPECT_FALSE((*rows)[0].recipients[0].leased);
  ASSERT_TRUE(a->release({{id}}, 3000));
  EXPECT_EQ(due_now(3000), 1u);
}

TEST_P(AdminStoreBehaviour, RetryNeverTouchesALeasedRecipient) {
  const MessageId leased = add({"a@x.example"}, 1000);   // fresh: leased to delivery
  const MessageId waiting = add({"b@y.example"}, 1000);
  outcome(waiting, 0, RecipientState::pending, 1'000'000, "451 later", "up-a");
  auto a = admin();
  auto r = a->retry(Selection{.all = true}, 2000);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->recipients, 1u);
  EXPECT_EQ(due_now(2000), 1u);
  (void)leased;
}

TEST_P(AdminStoreBehaviour, RetryByDomainOnlyMovesThatDomain) {
  const MessageId id = add({"a@x.example", "b@y.example"}, 1000);
  outcome(id, 0, RecipientState::pending, 1'000'000, "451", "h");
  outcome(id, 1, RecipientState::pending, 1'000'000, "451", "h");
  auto a = admin();
  auto r = a->retry(Selection{.domain = "Y.example"}, 2000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->recipients, 1u);
}

// A quoted local part may hold an '@': the domain is what follows the LAST one, as routing
// (conf::domain_of) reads it, so list, retry and summary put the message where it goes.
TEST_P(AdminStoreBehaviour, DomainIsAfterTheLastAtLikeRouting) {
  const MessageId id = add({"\"a@b\"@Example.COM"}, 1000);
  outcome(id, 0, RecipientState::pending, 1'000'000, "451", "h");
  auto a = admin();
  QueueFilter by_domain;
  by_domain.domain = "example.com";
  auto listed = a->list(by_domain, 2000);
  ASSERT_TRUE(listed) << listed.error();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, id);
  by_domain.domain = "b\"@example.com";
  EXPECT_TRUE(a->list(by_domain, 2000)->empty());

  auto in = a->summary_inputs();
  ASSERT_TRUE(in) << in.error();
  ASSERT_EQ(in->size(), 1u);
  EXPECT_EQ((*in)[0].domain, "example.com");

  auto r = a->retry(Selection{.domain = "example.com"}, 2000);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->recipients, 1u);
  EXPECT_EQ(due_now(2000), 1u);
}

TEST_P(AdminStoreBehaviour, UnknownIdChangesNothing) {
  const MessageId id = add({"a@x.example"}, 1000);
  auto a = admin();
  auto r = a->hold({{id, id + 50}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find(format_queue_id(id + 50)), std::string::npos);
  EXPECT_EQ(a->list(QueueFilter{.state = StateFilter::held}, 0)->size(), 0u);
}

TEST_P(AdminStoreBehaviour, DeleteCascadesAndDaemonRecordOfItIsNotFound) {
  const MessageId id = add({"a@x.example", "b@x.example"}, 1000);
  auto a = admin();
  auto r = a->remove({{id}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->messages, 1u);
  EXPECT_EQ(r->recipients, 2u);
  EXPECT_TRUE(a->list(QueueFilter{.state = StateFilter::all}, 0)->empty());
  // The daemon finishing its delivery afterwards: not_found, nothing re-created.
  const RecipientOutcome o{id, 0, RecipientState::delivered, 0, true, "250 ok", "h", 5};
  ASSERT_FALSE(writer().begin());
  EXPECT_EQ(writer().record(std::span(&o, 1), freed_), make_error_code(errc::not_found));
  ASSERT_FALSE(writer().commit());
  EXPECT_TRUE(a->list(QueueFilter{.state = StateFilter::all}, 0)->empty());
}

// A composer that reports nothing (a null sender, NOTIFY=NEVER: relay::sender_notice).
inline std::optional<NewMessage> no_report(const QueuedMessage&, std::span<const RecipientOutcome>) { return std::nullopt; }

TEST_P(AdminStoreBehaviour, BounceAndExpireFinishPendingRecipients) {
  const MessageId b = add_waiting({"a@x.example"}, 1000);
  const MessageId e = add_waiting({"a@x.example"}, 1000);
  auto a = admin();
  ASSERT_TRUE(a->finish({{b}}, RecipientState::failed, "550 5.0.0 deleted by administrator", 2000, no_report));
  ASSERT_TRUE(a->finish({{e}}, RecipientState::expired, "4.4.7 expired by administrator", 2000, no_report));
  auto failed = a->list(QueueFilter{.state = StateFilter::failed}, 0);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].recipients[0].last_reply, "550 5.0.0 deleted by administrator");
  // The report (none here) was queued in the same transaction: nothing needs the body.
  EXPECT_FALSE((*failed)[0].has_body);
  EXPECT_EQ(a->list(QueueFilter{.state = StateFilter::expired}, 0)->size(), 1u);
  EXPECT_TRUE(a->list(QueueFilter{}, 0)->empty());
}

TEST_P(AdminStoreBehaviour, BounceQueuesTheSendersReportOnceAndFreesTheBody) {
  const MessageId id = add_waiting({"a@x.example", "b@y.example", "c@y.example"}, 1000);
  outcome(id, 0, RecipientState::delivered, 0, "250 ok", "up-a");
  outcome(id, 1, RecipientState::pending, 90'000, "451 4.4.1 hop unreachable", "up-b");
  std::size_t calls = 0;
  const NoticeComposer compose = [&](const QueuedMessage& original, std::span<const RecipientOutcome> finished) {
    ++calls;
    EXPECT_EQ(original.sender, "alice@example.com");
    EXPECT_TRUE(original.body.data && original.body.data->starts_with("Subject: t"));  // for the DSN's returned content
    EXPECT_EQ(original.recipients.size(), 2u);                               // the pending ones only
    EXPECT_EQ(finished.size(), 2u);
    EXPECT_EQ(finished[0].index, 1);
    EXPECT_EQ(finished[0].hop, "up-b");  // last hop tried, for the DSN's Remote-MTA
    EXPECT_EQ(finished[0].reply, "550 5.0.0 bounced by administrator");
    EXPECT_EQ(finished[1].state, RecipientState::failed);
    NewMessage dsn;
    dsn.direction = conf::Direction::outbound;
    dsn.listener = "bounce";
    dsn.recipients = {original.sender};  // from the null sender
    dsn.body = "Subject: Undelivered\r\n\r\nreport\r\n";
    dsn.received_at = 5000;
    return std::optional<NewMessage>(std::move(dsn));
  };
  auto a = admin();
  auto r = a->finish({{id}}, RecipientState::failed, "550 5.0.0 bounced by administrator", 5000, compose);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->messages, 1u);
  EXPECT_EQ(r->recipients, 2u);
  EXPECT_EQ(r->notices, 1u);
  auto original = a->show(id);
  ASSERT_TRUE(original);
  EXPECT_FALSE(original->has_body);  // nothing pending: freed like after the last delivery
  // The report is a pending message from <> to the sender, not leased, due now: the
  // daemon's scanner claims it like any due message.
  auto pending = a->list(QueueFilter{}, 5000);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].sender, "");
  EXPECT_EQ((*pending)[0].recipients[0].address, "alice@example.com");
  EXPECT_FALSE((*pending)[0].recipients[0].leased);
  EXPECT_EQ(due_now(5000), 1u);
  // Again (or expire after bounce): nothing pending, nothing composed, no second report.
  auto again = a->finish({{id}}, RecipientState::expired, "451 4.4.7 expired by administrator", 6000, compose);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->messages, 0u);
  EXPECT_EQ(again->notices, 0u);
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(a->list(QueueFilter{.state = StateFilter::all}, 0)->size(), 2u);
}

TEST_P(AdminStoreBehaviour, NoReportForANullSenderStillFreesTheBody) {
  const MessageId id = add_waiting({"a@x.example"}, 1000);
  auto a = admin();
  auto r = a->finish({{id}}, RecipientState::failed, "550 5.0.0 bounced by administrator", 2000, no_report);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->recipients, 1u);
  EXPECT_EQ(r->notices, 0u);
  EXPECT_EQ(a->list(QueueFilter{.state = StateFilter::all}, 0)->size(), 1u);  // no message added
  EXPECT_FALSE(a->show(id)->has_body);
}

TEST_P(AdminStoreBehaviour, SummaryAndDepthCountPendingOnly) {
  const MessageId one = add({"a@x.example", "b@x.example", "c@y.example"}, 1000);
  const MessageId two = add({"a@x.example"}, 1000);
  outcome(two, 0, RecipientState::delivered, 0, "250 ok", "h");
  auto a = admin();
  auto in = a->summary_inputs();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->size(), 2u);  // (one, x.example), (one, y.example)
  const auto rows = summarize(*in, 2000);
  EXPECT_EQ(rows[0].total, 2u);
  ASSERT_TRUE(a->hold({{one}}));
  auto d = a->depth();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->held_messages, 1u);
  EXPECT_EQ(d->held_recipients, 3u);
  EXPECT_EQ(d->queued_messages, 0u);
  EXPECT_EQ(d->oldest_held, 1000);
}

}  // namespace admin_store_cases
}  // namespace queue
