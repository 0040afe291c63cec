// Tests for queue/pg_store.cpp: the shared queue's leases between nodes, its schema
// guard, spooled bodies moving into the database, a lost connection, and transactions
// whose statements go out without waiting (all or nothing at COMMIT).
#include "queue/pg_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <utility>

#include "queue/message_queue.hpp"
#include "queue/pg_schema.hpp"
#include "queue/spool.hpp"
#include "tests/support/pg_server.hpp"

namespace queue {
namespace {

NewMessage make_message(UnixMillis received_at, std::vector<std::string> recipients, std::string body) {
  NewMessage m;
  m.listener = "inbound";
  m.client_address = "192.0.2.1";
  m.helo = "mx.example.net";
  m.sender = "s@example.net";
  m.recipients = std::move(recipients);
  m.body = std::move(body);
  m.received_at = received_at;
  return m;
}

// One-shot SQL on a connection of its own (inspection, and what an operator might do).
std::string query(const std::string& conninfo, const std::string& sql) {
  PgConnection c(PQconnectdb(conninfo.c_str()));
  PgResult r = exec(c.get(), sql.c_str());
  EXPECT_TRUE(r.ok()) << sql << ": " << r.message();
  return r.ok() && r.rows() > 0 ? std::string(r.text(0, 0)) : std::string();
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = test_support::PgServer::shared();
    if (server_ == nullptr) GTEST_SKIP() << test_support::PgServer::skip_reason();
    conninfo_ = server_->create_database();
    a_ = open("node-a");
    b_ = open("node-b");
    ASSERT_TRUE(a_ && b_);
  }

  std::unique_ptr<PgStore> open(const std::string& node, const Spool* spool = nullptr) {
    auto opened = PgStore::open({conninfo_, node}, spool);
    EXPECT_TRUE(opened) << opened.error();
    return opened ? std::move(*opened) : nullptr;
  }

  static MessageId insert(PgStore& s, NewMessage m, UnixMillis lease_until) {
    EXPECT_FALSE(s.begin());
    auto stored = s.insert(std::move(m), lease_until);
    EXPECT_TRUE(stored) << stored.error().message();
    EXPECT_FALSE(s.commit());
    return stored ? stored->id : 0;
  }

  static std::vector<QueuedMessage> claim(PgStore& s, UnixMillis now, UnixMillis lease_until, std::size_t limit = 100) {
    EXPECT_FALSE(s.begin());
    auto claimed = s.claim_due(now, lease_until, limit);
    EXPECT_TRUE(claimed) << claimed.error().message();
    EXPECT_FALSE(s.commit());
    return claimed ? std::move(*claimed) : std::vector<QueuedMessage>{};
  }

  static std::error_code record(PgStore& s, std::vector<RecipientOutcome> outcomes) {
    FreedFiles freed;
    EXPECT_FALSE(s.begin());
    const std::error_code ec = s.record(outcomes, freed);
    EXPECT_FALSE(s.commit());
    return ec;
  }

  test_support::PgServer* server_ = nullptr;
  std::string conninfo_;
  std::unique_ptr<PgStore> a_;
  std::unique_ptr<PgStore> b_;
};

TEST_F(PgStoreTest, TwoNodesClaimingConcurrentlyNeverGetTheSameRecipient) {
  constexpr int messages = 120;
  ASSERT_FALSE(a_->begin());
  for (int i = 0; i < messages; ++i) ASSERT_TRUE(a_->insert(make_message(i, {"x@a", "y@a"}, "m"), 0));
  ASSERT_FALSE(a_->commit());

  using Claimed = std::set<std::pair<MessageId, std::int32_t>>;
  auto drain = [](PgStore& store) {
    Claimed got;
    // Each round claims at least one message or ends the loop.
    for (int round = 0; round < 2 * messages; ++round) {
      if (store.begin()) break;
      auto claimed = store.claim_due(1'000, 1'000'000, 3);
      if (!claimed || store.commit() || claimed->empty()) break;
      for (const QueuedMessage& m : *claimed) {
        for (const QueuedRecipient& r : m.recipients) EXPECT_TRUE(got.insert({m.id, r.index}).second);
      }
    }
    return got;
  };
  auto from_b = std::async(std::launch::async, drain, std::ref(*b_));
  Claimed by_a = drain(*a_);
  const Claimed by_b = from_b.get();
  // A node may stop early when a round found only messages the other had just taken; what
  // is left is claimed now, alone.
  by_a.merge(drain(*a_));
  for (const auto& r : by_a) EXPECT_FALSE(by_b.contains(r)) << "claimed twice: " << r.first << "/" << r.second;
  EXPECT_EQ(by_a.size() + by_b.size(), 2u * messages);
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM recipients WHERE lease_node = 'node-a'"),
            std::to_string(by_a.size()));
}

TEST_F(PgStoreTest, ExpiredLeaseIsClaimedByTheOtherNodeWhoseOutcomeCounts) {
  const MessageId id = insert(*a_, make_message(1, {"r@x"}, "body"), 10'000);  // a delivers it from memory
  EXPECT_TRUE(claim(*b_, 9'999, 20'000).empty()) << "a's lease still runs";
  auto taken = claim(*b_, 10'000, 20'000);  // a died, say: its lease expired
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(*taken[0].body.data, "body");
  // a's late outcome no longer applies: b holds the recipient now.
  EXPECT_EQ(record(*a_, {{id, 0, RecipientState::delivered, 0, true, "250 a", "h", 11}}), errc::not_found);
  EXPECT_FALSE(record(*b_, {{id, 0, RecipientState::delivered, 0, true, "250 b", "h", 12}}));
  EXPECT_EQ(query(conninfo_, "SELECT last_reply FROM recipients"), "250 b");
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM bodies"), "0");
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM recipients WHERE lease_node IS NOT NULL"), "0");
}

TEST_F(PgStoreTest, ClaimOfAnExpiredLeaseNamesTheNodeThatHeldIt) {
  const MessageId dead = insert(*a_, make_message(1, {"r@x", "s@x"}, "a's"), 10'000);  // a dies with it
  const MessageId deferred = insert(*a_, make_message(2, {"r@x"}, "retry"), 10'000);
  ASSERT_FALSE(record(*a_, {{deferred, 0, RecipientState::pending, 5'000, true, "451 later", "h", 2}}));
  const MessageId own = insert(*b_, make_message(3, {"r@x"}, "b's"), 10'000);  // b's renewals failed, say
  auto taken = claim(*b_, 10'000, 50'000);
  ASSERT_EQ(taken.size(), 3u);
  for (const QueuedMessage& m : taken) {
    if (m.id == dead) {
      EXPECT_EQ(m.lease_expired_for, "node-a");
      EXPECT_EQ(m.recipients.size(), 2u);
    } else {
      EXPECT_TRUE(m.id == deferred || m.id == own) << m.id;
      EXPECT_EQ(m.lease_expired_for, "") << "nobody else's lease ran out on " << m.id;
    }
  }
}

TEST_F(PgStoreTest, RecoverReleasesOnlyThisNodesLeases) {
  const MessageId mine = insert(*a_, make_message(1, {"r@x"}, "a"), 1'000'000);
  const MessageId theirs = insert(*b_, make_message(2, {"r@x"}, "b"), 1'000'000);
  ASSERT_FALSE(a_->begin());
  auto pending = a_->recover(50);
  ASSERT_FALSE(a_->commit());
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, 2u);
  auto due = claim(*a_, 50, 2'000'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, mine);
  EXPECT_EQ(query(conninfo_, "SELECT lease_node FROM recipients WHERE message_id = " + std::to_string(theirs)),
            "node-b");
}

TEST_F(PgStoreTest, RenewedLeasesKeepOtherNodesAwayAndExpireWhenNoLongerRenewed) {
  const MessageId id = insert(*a_, make_message(1, {"r@x", "s@x"}, "m"), 1'000);
  ASSERT_FALSE(record(*a_, {{id, 1, RecipientState::delivered, 0, true, "250", "h", 2}}));
  auto renew = [this](UnixMillis until) {
    EXPECT_FALSE(a_->begin());
    auto renewed = a_->renew_leases(until);
    EXPECT_FALSE(a_->commit());
    EXPECT_TRUE(renewed) << renewed.error().message();
    return renewed.value_or(999);
  };
  EXPECT_EQ(renew(5'000), 1u) << "only the recipient still pending and held";
  EXPECT_EQ(renew(4'000), 0u) << "never shortened";
  EXPECT_TRUE(claim(*b_, 4'999, 10'000).empty());
  ASSERT_EQ(claim(*b_, 5'000, 10'000).size(), 1u) << "a stopped renewing: b takes over";
  EXPECT_EQ(renew(20'000), 0u) << "b's now";
}

// A lease in the database that this process never saw commit (its COMMIT failed in
// doubt: the session answered 451 but the server, or a promoted standby, has the message)
// is no delivery of this process: the heartbeat leaves it to run out, then any node
// delivers the message. Here another store of the same node committed it.
TEST_F(PgStoreTest, LeaseThisProcessNeverSawCommitIsNotRenewed) {
  auto other = open("node-a");
  ASSERT_TRUE(other);
  const MessageId in_doubt = insert(*other, make_message(1, {"r@x"}, "in doubt"), 1'000);
  const MessageId mine = insert(*a_, make_message(2, {"s@x"}, "mine"), 1'000);
  ASSERT_FALSE(a_->begin());
  auto renewed = a_->renew_leases(5'000);
  ASSERT_FALSE(a_->commit());
  EXPECT_EQ(renewed.value_or(999), 1u) << "only the recipient whose lease this process committed";
  auto claimed = claim(*b_, 1'000, 10'000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, in_doubt);
  EXPECT_NE(claimed[0].id, mine);
  // Once recorded, a recipient is no longer renewed either.
  ASSERT_FALSE(record(*a_, {{mine, 0, RecipientState::pending, 9'000, true, "451", "h", 2}}));
  ASSERT_FALSE(a_->begin());
  renewed = a_->renew_leases(20'000);
  ASSERT_FALSE(a_->commit());
  EXPECT_EQ(renewed.value_or(999), 0u);
}

TEST_F(PgStoreTest, DatabaseWithNewerSchemaIsRefused) {
  query(conninfo_, "INSERT INTO schema_version(version, description) VALUES(99, 'from the future')");
  auto opened = PgStore::open({conninfo_, "node-c"});
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().find("schema version 99, newer than this hubrelay supports"), std::string::npos)
      << opened.error();
}

TEST_F(PgStoreTest, SpooledBodyIsReadIntoTheDatabaseAndItsFileRemovedAfterCommit) {
  test_support::TempDir state{"hubrelay-pg-spool"};
  auto spool = Spool::open(state.path().string());
  ASSERT_TRUE(spool) << spool.error();
  auto node = open("node-s", spool->get());
  auto file = (*spool)->create();
  ASSERT_TRUE(file);
  const std::string content = "Old: header\r\n\r\nbody octets\r\n";
  ASSERT_EQ(::write(file->fd.get(), content.data(), content.size()), static_cast<ssize_t>(content.size()));
  NewMessage m = make_message(1, {"r@x"}, "");
  m.body_file = file->name;
  m.body_file_size = content.size();
  m.body_prefix = "New: header\r\n";
  m.body_skip = 13;  // "Old: header\r\n"
  ASSERT_FALSE(node->begin());
  auto stored = node->insert(std::move(m), 0);
  ASSERT_TRUE(stored) << stored.error().message();
  EXPECT_TRUE((*spool)->open_body(file->name)) << "the file stays until COMMIT";
  ASSERT_FALSE(node->commit());
  EXPECT_FALSE((*spool)->open_body(file->name)) << "the body lives in the database now";
  const std::string expected = "New: header\r\n\r\nbody octets\r\n";
  ASSERT_NE(stored->body.data, nullptr);
  EXPECT_EQ(*stored->body.data, expected);
  auto claimed = claim(*b_, 5, 10);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(*claimed[0].body.data, expected);
}

// The server ends the session mid-batch (a restart, a failover): the batch fails with
// errc::unavailable (the session's 451 4.3.0), the next call connects again, and what
// was committed before is all there.
TEST_F(PgStoreTest, LostConnectionFailsTheBatchThenReconnectsWithNothingLost) {
  const MessageId acknowledged = insert(*a_, make_message(1, {"r@x"}, "kept"), 0);
  ASSERT_FALSE(a_->begin());
  ASSERT_TRUE(a_->insert(make_message(2, {"r@x"}, "in flight"), 0));
  query(conninfo_, "SELECT pg_terminate_backend(" + std::to_string(PQbackendPID(a_->connection())) + ")");
  auto failed = a_->insert(make_message(3, {"r@x"}, "after"), 0);
  std::error_code ec = failed ? a_->commit() : failed.error();
  EXPECT_EQ(ec, errc::unavailable) << ec.message();
  a_->rollback();
  EXPECT_FALSE(a_->in_transaction());
  const MessageId next = insert(*a_, make_message(4, {"r@x"}, "next"), 0);
  EXPECT_GT(next, 0);
  auto claimed = claim(*a_, 10, 20);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].id, acknowledged);
  EXPECT_EQ(*claimed[0].body.data, "kept");
  EXPECT_EQ(*claimed[1].body.data, "next");
}

// The same through the queue thread: a commit in the failing batch gets the error, the
// next commit succeeds on a new connection.
TEST_F(PgStoreTest, MessageQueueOverPostgresCommitsAndSurvivesALostConnection) {
  conf::QueueConfig config;
  auto store = open("node-q");
  PGconn* first_connection = store->connection();
  const int backend = PQbackendPID(first_connection);
  auto opened = MessageQueue::open(std::move(store), config);
  ASSERT_TRUE(opened) << opened.error();
  MessageQueue& q = **opened;
  ASSERT_FALSE(q.prepare_ids());
  auto commit = [&q](std::string body) {
    std::promise<std::expected<QueuedMessage, std::error_code>> done;
    auto result = done.get_future();
    NewMessage m = make_message(1, {"r@x"}, std::move(body));
    m.id = q.reserve_id().value_or(0);
    q.commit(std::move(m), 0, [&done](auto r) { done.set_value(std::move(r)); });
    return result.get();
  };
  auto first = commit("one");
  ASSERT_TRUE(first) << first.error().message();
  query(conninfo_, "SELECT pg_terminate_backend(" + std::to_string(backend) + ")");
  auto lost = commit("two");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error(), errc::unavailable);
  auto third = commit("three");
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM messages"), "2");
  // The heartbeat through the queue thread: both stored messages' leases move on.
  std::promise<std::expected<std::size_t, std::error_code>> renewed;
  q.renew_leases(50'000, [&renewed](auto r) { renewed.set_value(r); });
  EXPECT_EQ(renewed.get_future().get().value_or(0), 2u);
  EXPECT_TRUE(claim(*b_, 49'999, 60'000).empty());
}

// After start-up the store reports losing its connection, each distinct reason a
// reconnection fails, and the server it got back, never with the conninfo's password,
// even where the server's message quotes it (here: a database name equal to the password).
TEST_F(PgStoreTest, ConnectionLossAndReconnectionAreReportedWithoutThePassword) {
  const std::string database = conninfo_.substr(conninfo_.rfind('=') + 1);
  std::vector<PgConnectionEvent> events;
  PgSettings settings{conninfo_ + " password=" + database, "node-e", std::chrono::seconds(10), {}};
  settings.on_connection_event = [&events](const PgConnectionEvent& e) { events.push_back(e); };
  auto opened = PgStore::open(std::move(settings));
  ASSERT_TRUE(opened) << opened.error();
  PgStore& store = **opened;
  EXPECT_TRUE(events.empty());
  a_.reset();
  b_.reset();
  const std::string admin = server_->conninfo("postgres");
  const auto rename = [&admin](const std::string& from, const std::string& to) {
    // Terminated sessions leave the database a moment later: a bounded retry.
    for (int attempt = 0; attempt < 100; ++attempt) {
      PgConnection c(PQconnectdb(admin.c_str()));
      exec(c.get(), ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + from + "'").c_str());
      if (exec(c.get(), ("ALTER DATABASE " + from + " RENAME TO " + to).c_str()).ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  ASSERT_TRUE(rename(database, database + "_away"));

  EXPECT_EQ(store.begin(), errc::unavailable);  // the dead session
  EXPECT_EQ(store.begin(), errc::unavailable);  // no such database
  EXPECT_EQ(store.begin(), errc::unavailable);  // the same reason: not reported again
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, PgConnectionEvent::Kind::lost);
  EXPECT_EQ(events[1].kind, PgConnectionEvent::Kind::reconnect_failed);
  EXPECT_NE(events[1].detail.find("does not exist"), std::string::npos) << events[1].detail;

  ASSERT_TRUE(rename(database + "_away", database));
  ASSERT_FALSE(store.begin());
  store.rollback();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kind, PgConnectionEvent::Kind::reconnected);
  EXPECT_EQ(events[2].failed_attempts, 2u);
  EXPECT_NE(events[2].detail.find("127.0.0.1:"), std::string::npos) << events[2].detail;
  for (const PgConnectionEvent& e : events) EXPECT_EQ(e.detail.find(database), std::string::npos) << e.detail;
}

// At start-up too: a server that quotes the password back (as a database name), an
// unreachable one and a malformed conninfo all fail without it.
TEST_F(PgStoreTest, StartUpErrorsNeverHoldThePassword) {
  const std::string secret = "Start0p_secret";
  const std::string server = conninfo_.substr(0, conninfo_.rfind("dbname="));
  for (const std::string& conninfo : {server + "dbname=" + secret + " password=" + secret,
                                      "host=127.0.0.1 port=1 connect_timeout=2 password=" + secret,
                                      "host=127.0.0.1 password=" + secret + " " + secret,
                                      "postgresql://hubrelay:" + secret + "@127.0.0.1:1/x?connect_timeout=2"}) {
    auto opened = PgStore::open({conninfo, "node-s"});
    ASSERT_FALSE(opened) << conninfo;
    EXPECT_EQ(opened.error().find(secret), std::string::npos) << opened.error();
  }
  // The first one did quote it: the server's text is kept, the password cut out.
  auto quoted = PgStore::open({server + "dbname=" + secret + " password=" + secret, "node-s"});
  ASSERT_FALSE(quoted);
  EXPECT_NE(quoted.error().find("database \"********\" does not exist"), std::string::npos) << quoted.error();
}

// The store's connection defaults (timeouts, keepalives, a name naming the node) apply
// unless the administrator's conninfo says otherwise.
TEST_F(PgStoreTest, ConninfoOverridesTheConnectionDefaults) {
  EXPECT_STREQ(PQparameterStatus(a_->connection(), "application_name"), "hubrelay node-a");
  auto option = [](PGconn* c, std::string_view name) {
    std::string value;
    PQconninfoOption* options = PQconninfo(c);
    for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
      if (name == o->keyword && o->val != nullptr) value = o->val;
    }
    PQconninfoFree(options);
    return value;
  };
  EXPECT_EQ(option(a_->connection(), "tcp_user_timeout"), "30000");
  EXPECT_EQ(option(a_->connection(), "connect_timeout"), "10");  // the test conninfo says 10 too
  auto custom = PgStore::open({conninfo_ + " application_name=relay-east", "node-e"});
  ASSERT_TRUE(custom) << custom.error();
  EXPECT_STREQ(PQparameterStatus((*custom)->connection(), "application_name"), "relay-east");
}

// A remote server's reply is bytes; the database's text is UTF-8. An outcome whose reply
// is not must still be recorded (its invalid bytes shown as '?'), not fail the batch.
TEST_F(PgStoreTest, RepliesThatAreNotUtf8AreRecordedReadably) {
  const MessageId id = insert(*a_, make_message(1, {"r@x"}, "b"), 0);
  const std::string reply("451 caf\xE9 \xC3\xA9t\xE9\0!", 15);
  EXPECT_FALSE(record(*a_, {{id, 0, RecipientState::pending, 100, true, reply, "hop", 5}}));
  EXPECT_EQ(query(conninfo_, "SELECT last_reply FROM recipients"), "451 caf? \xC3\xA9t?" "?!");
  EXPECT_EQ(query(conninfo_, "SELECT reply FROM attempts"), "451 caf? \xC3\xA9t?" "?!");
}

// The history names what protected each attempt, as on SQLite; an attempt without a
// session (or a parked note) has NULL there.
TEST_F(PgStoreTest, AttemptsRecordHowTheSessionWasProtected) {
  const MessageId id = insert(*a_, make_message(1, {"r@x", "s@x"}, "b"), 0);
  RecipientOutcome protected_one{id, 0, RecipientState::pending, 100, true, "451 later", "hop", 5};
  protected_one.tls = "dane TLSv1.3";
  RecipientOutcome plain{id, 1, RecipientState::pending, 100, true, "451 later", "hop", 5};
  EXPECT_FALSE(record(*a_, {protected_one, plain}));
  EXPECT_EQ(query(conninfo_, "SELECT string_agg(coalesce(tls, '-'), ',' ORDER BY idx) FROM attempts"),
            "dane TLSv1.3,-");
}

// Inserts with reserved ids go out without waiting for answers: a batch whose one
// statement fails (here: an id stored twice) fails at COMMIT, and nothing of the batch
// is stored; the store then commits the next batch on the same connection.
TEST_F(PgStoreTest, InsertBatchWithOneFailingStatementFailsAtCommitAndStoresNothing) {
  ASSERT_FALSE(a_->begin());
  auto first = a_->reserve_ids(1);
  ASSERT_TRUE(first);
  ASSERT_FALSE(a_->commit());
  ASSERT_FALSE(a_->begin());
  NewMessage one = make_message(1, {"r@x"}, "one");
  one.id = *first;
  NewMessage again = make_message(2, {"s@x"}, "again");
  again.id = *first;
  NewMessage other = make_message(3, {"t@x"}, "other");
  other.id = *first + 1;
  ASSERT_TRUE(a_->insert(std::move(one), 0));
  auto duplicate = a_->insert(std::move(again), 0);  // sent ahead: accepted for now
  std::error_code ec = duplicate ? std::error_code{} : duplicate.error();
  if (!ec) {
    auto third = a_->insert(std::move(other), 0);
    ec = third ? a_->commit() : third.error();
  }
  EXPECT_EQ(ec, errc::internal) << ec.message();
  a_->rollback();
  EXPECT_FALSE(a_->in_transaction());
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM messages"), "0");
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM bodies"), "0");
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM recipients"), "0");
  NewMessage next = make_message(4, {"r@x"}, "next");
  next.id = *first + 2;
  EXPECT_EQ(insert(*a_, std::move(next), 0), *first + 2);
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM messages"), "1");
}

// A failure of a statement sent ahead belongs to its transaction, not to the outcomes
// recorded after it in the same transaction: record() reports nothing (the server
// skipped its UPDATEs), COMMIT fails with the insert's error, and nothing changed.
TEST_F(PgStoreTest, DeferredFailureFailsTheTransactionNotTheOutcomesAfterIt) {
  const MessageId kept = insert(*a_, make_message(1, {"r@x"}, "kept"), 0);
  ASSERT_FALSE(a_->begin());
  NewMessage clash = make_message(2, {"s@x"}, "clash");
  clash.id = kept;
  ASSERT_TRUE(a_->insert(std::move(clash), 0));  // sent ahead: accepted for now
  FreedFiles freed;
  const std::vector<RecipientOutcome> outcomes{{kept, 0, RecipientState::delivered, 10, true, "250 ok", "hop", 5}};
  EXPECT_FALSE(a_->record(outcomes, freed));
  EXPECT_EQ(a_->commit(), errc::internal);
  a_->rollback();
  EXPECT_EQ(query(conninfo_, "SELECT state FROM recipients WHERE message_id = " + std::to_string(kept)), "0");
  EXPECT_EQ(query(conninfo_, "SELECT count(*) FROM attempts"), "0");
  // Run again on their own, the outcomes apply.
  EXPECT_FALSE(record(*a_, outcomes));
  EXPECT_EQ(query(conninfo_, "SELECT state FROM recipients WHERE message_id = " + std::to_string(kept)), "1");
}

// In one transaction, as the queue thread groups them: a message sent ahead, then the
// outcomes of that and an earlier message (one finished, one taken over by another
// node). The UPDATEs see the rows sent before them; history and freed bodies follow.
TEST_F(PgStoreTest, OutcomesInTheTransactionOfAnInsertSeeItAndStayExact) {
  const MessageId earlier = insert(*a_, make_message(1, {"r@x"}, "earlier"), 0);
  ASSERT_EQ(claim(*b_, 1'000, 100'000).size(), 1u);  // node-a's lease ran out: node-b holds it now
  ASSERT_FALSE(a_->begin());
  auto reserved = a_->reserve_ids(1);
  ASSERT_TRUE(reserved);
  NewMessage m = make_message(2, {"x@y", "z@y"}, "now");
  m.id = *reserved;
  ASSERT_TRUE(a_->insert(std::move(m), 0));
  FreedFiles freed;
  const std::vector<RecipientOutcome> outcomes{
      {*reserved, 0, RecipientState::delivered, 10, true, "250 ok", "hop", 5},
      {*reserved, 1, RecipientState::failed, 10, true, "550 no", "hop", 5},
      {earlier, 0, RecipientState::delivered, 10, true, "250 a", "hop", 5}};
  EXPECT_EQ(a_->record(outcomes, freed), errc::not_found);
  ASSERT_FALSE(a_->commit());
  EXPECT_EQ(query(conninfo_, "SELECT string_agg(state::text, ',' ORDER BY message_id, idx) FROM recipients"),
            "0,1,2");
  EXPECT_EQ(query(conninfo_, "SELECT string_agg(reply, ',' ORDER BY ctid) FROM attempts"), "250 ok,550 no");
  EXPECT_EQ(query(conninfo_, "SELECT string_agg(message_id::text, ',') FROM bodies"), std::to_string(earlier));
}

}  // namespace
}  // namespace queue
