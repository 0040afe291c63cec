// Tests for the per-recipient history (schema v6): every delivery attempt keeps the real
// hop (name and address) and the real reply or fault; a park (no usable hop) is its own
// "parked" row naming the route, is not counted as an attempt and keeps the last real
// error; an administrator's bounce of a recipient being delivered stands, and the
// delivery's own outcome and report are dropped (one DSN); a v5 database upgrades.
// Schema v10: each attempt says what protected its session; parks and attempts without
// a session say nothing, and a v9 database's rows read as unknown.
#include <gtest/gtest.h>

#include "queue/sqlite_admin_store.hpp"
#include "queue/schema.hpp"
#include "queue/sqlite_handle.hpp"
#include "tests/support/store_fixture.hpp"

namespace queue {
namespace {

class AttemptHistoryTest : public test_support::StoreTest {
 protected:
  MessageId add(UnixMillis received) {
    NewMessage m;
    m.direction = conf::Direction::outbound;
    m.listener = "outbound";
    m.client_address = "127.0.0.1";
    m.helo = "hub";
    m.sender = "alice@example.com";
    m.recipients = {"bob@dead.example"};
    m.body = "Subject: t\r\n\r\nbody\r\n";
    m.received_at = received;
    return insert(std::move(m), received + 3'600'000);  // leased, as a fresh commit is
  }
  SqliteAdminStore admin() {
    auto a = SqliteAdminStore::open(db_path());
    EXPECT_TRUE(a) << a.error();
    return std::move(*a);
  }
  std::size_t messages() {
    auto a = admin();
    auto all = a.list(QueueFilter{.state = StateFilter::all}, 0);
    return all ? all->size() : 0;
  }
  static NewMessage report() {
    NewMessage dsn;
    dsn.direction = conf::Direction::inbound;
    dsn.listener = "bounce";
    dsn.recipients = {"alice@example.com"};
    dsn.body = "Subject: Undelivered\r\n\r\nreport\r\n";
    dsn.received_at = 5000;
    return dsn;
  }
};

constexpr const char* refused = "451 4.4.1 Connection to next hop failed: connect to 127.0.0.1:2603 failed: "
                                "Connection refused";

TEST_F(AttemptHistoryTest, AParkKeepsTheLastRealErrorAndIsNoAttempt) {
  const MessageId id = add(1000);
  // Pass 1: the hop refused the connection, no other hop: tried once, then parked.
  RecipientOutcome first{id, 0, RecipientState::pending, 90'000, true, refused, "upstream", 2000};
  first.parked_route = 1;
  first.parked_on = "internet";
  first.parked_note = "451 4.4.1 No healthy next hop available (route internet: upstream ejected)";
  first.hop_address = "127.0.0.1:2603";
  ASSERT_FALSE(record({first}));
  // Pass 2 (a trial release): still no usable hop, parked again without an attempt.
  RecipientOutcome again{id, 0, RecipientState::pending, 190'000, false, "", "", 3000};
  again.parked_route = 1;
  again.parked_on = "internet";
  again.parked_note = "451 4.4.1 No healthy next hop available (route internet: upstream ejected)";
  ASSERT_FALSE(record({again}));

  auto a = admin();
  auto shown = a.show(id);
  ASSERT_TRUE(shown) << shown.error();
  const RecipientView& r = shown->recipients.at(0);
  EXPECT_EQ(r.attempts, 1u);            // real tries only
  EXPECT_EQ(r.last_reply, refused);     // not wiped by the park
  EXPECT_EQ(r.hop, "upstream");
  EXPECT_EQ(r.parked_on, "internet");
  EXPECT_EQ(r.parked_since, 2000);      // the first park of this wait
  EXPECT_EQ(r.parked_reason, again.parked_note);  // the latest park's text
  EXPECT_EQ(shown->state(), "deferred");
  ASSERT_EQ(shown->attempts.size(), 3u);  // attempt, park, park: newest last
  EXPECT_EQ(shown->attempts[0].kind, AttemptKind::delivery);
  EXPECT_EQ(shown->attempts[0].hop, "upstream");
  EXPECT_EQ(shown->attempts[0].address, "127.0.0.1:2603");
  EXPECT_EQ(shown->attempts[0].reply, refused);
  EXPECT_EQ(shown->attempts[1].kind, AttemptKind::parked);
  EXPECT_EQ(shown->attempts[2].kind, AttemptKind::parked);
  EXPECT_EQ(shown->attempts[2].at, 3000);
  EXPECT_NE(shown->attempts[2].reply.find("route internet"), std::string::npos);

  // A later real attempt ends the park.
  ASSERT_FALSE(record({RecipientOutcome{id, 0, RecipientState::delivered, 0, true, "250 2.0.0 ok", "upstream", 4000}}));
  auto done = a.show(id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->recipients.at(0).parked_on, "");
  EXPECT_EQ(done->recipients.at(0).parked_since, 0);
  EXPECT_EQ(done->recipients.at(0).parked_reason, "");
  EXPECT_EQ(done->recipients.at(0).attempts, 2u);
}

TEST_F(AttemptHistoryTest, EachAttemptKeepsWhatProtectedItsSession) {
  const MessageId id = add(1000);
  // Deferred over plaintext, parked, retried over DANE and delivered.
  RecipientOutcome deferred{id, 0, RecipientState::pending, 90'000, true, "451 4.3.0 try later", "direct", 2000};
  deferred.tls = "none";
  deferred.parked_route = 1;
  deferred.parked_on = "internet";
  deferred.parked_note = "451 4.4.1 No healthy next hop available (route internet: direct ejected)";
  ASSERT_FALSE(record({deferred}));
  RecipientOutcome delivered{id, 0, RecipientState::delivered, 0, true, "250 2.0.0 ok", "direct", 3000};
  delivered.tls = "dane TLSv1.3 TLS_AES_256_GCM_SHA384";
  ASSERT_FALSE(record({delivered}));

  auto a = admin();
  auto shown = a.show(id);
  ASSERT_TRUE(shown) << shown.error();
  ASSERT_EQ(shown->attempts.size(), 3u);
  EXPECT_EQ(shown->attempts[0].tls, "none");
  EXPECT_EQ(shown->attempts[1].kind, AttemptKind::parked);
  EXPECT_EQ(shown->attempts[1].tls, "");  // a park opened no session
  EXPECT_EQ(shown->attempts[2].tls, "dane TLSv1.3 TLS_AES_256_GCM_SHA384");
  auto raw = Statement::prepare(store_->handle(), "SELECT count(*) FROM attempts WHERE tls IS NULL");
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->step(), SQLITE_ROW);
  EXPECT_EQ(raw->column_int64(0), 1);  // the park's row: NULL, not ''
}

TEST_F(AttemptHistoryTest, AnAdministratorsBounceDuringDeliveryGivesOneReportOnly) {
  const MessageId id = add(1000);  // leased to delivery: a transaction is in flight
  auto a = admin();
  std::size_t composed = 0;
  const NoticeComposer compose = [&](const QueuedMessage&, std::span<const RecipientOutcome>) {
    ++composed;
    return std::optional<NewMessage>(report());
  };
  auto bounced = a.finish({{id}}, RecipientState::failed, "550 5.0.0 bounced by administrator", 2000, compose);
  ASSERT_TRUE(bounced) << bounced.error();
  EXPECT_EQ(bounced->notices, 1u);
  EXPECT_EQ(messages(), 2u);  // the original and the administrator's report

  // The delivery in flight now ends with a permanent failure and its own report.
  const RecipientOutcome failed{id, 0, RecipientState::failed, 0, true, "550 5.1.1 no such user", "upstream", 3000};
  ASSERT_FALSE(store_->begin());
  auto stored = store_->record_with_notice(std::span(&failed, 1), report(), 3000, freed_);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(stored) << stored.error().message();
  EXPECT_FALSE(stored->has_value());  // no second report
  EXPECT_EQ(composed, 1u);
  EXPECT_EQ(messages(), 2u);
  auto shown = a.show(id);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->recipients.at(0).last_reply, "550 5.0.0 bounced by administrator");  // the admin's outcome
  EXPECT_EQ(shown->recipients.at(0).attempts, 0u);
  ASSERT_EQ(shown->attempts.size(), 1u);
  EXPECT_EQ(shown->attempts[0].kind, AttemptKind::administrator);
}

TEST_F(AttemptHistoryTest, ARecipientStillPendingGetsTheDeliverysReport) {
  const MessageId id = add(1000);
  const RecipientOutcome failed{id, 0, RecipientState::failed, 0, true, "550 5.1.1 no such user", "upstream", 3000};
  ASSERT_FALSE(store_->begin());
  auto stored = store_->record_with_notice(std::span(&failed, 1), report(), 3000, freed_);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(stored) << stored.error().message();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->sender, "");
  EXPECT_EQ(messages(), 2u);
}

TEST(SchemaV6, AV5DatabaseUpgradesAndKeepsItsHistory) {
  test_support::TempDir dir{"hubrelay-schema-v6"};
  const std::string path = dir.file("q.db");
  {
    auto db = open_connection(path);
    ASSERT_TRUE(db) << db.error();
    auto reached = migrate(db->get(), schema_migrations().first(5));
    ASSERT_TRUE(reached) << reached.error();
    ASSERT_EQ(*reached, 5);
    ASSERT_EQ(execute(db->get(), "INSERT INTO messages(direction, listener, client_address, helo, sender, "
                                 "mail_parameters, received_at, size) VALUES(1, 'out', '', 'h', 's@x.example', '', 1, 4)"),
              SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt, "
                                 "last_reply, parked) VALUES(1, 0, 'r@y.example', 0, 0, 5, '451 4.4.1 old', 1)"),
              SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO attempts(message_id, idx, at, hop, state, reply) "
                                 "VALUES(1, 0, 2, 'up', 0, '451 4.4.1 old')"),
              SQLITE_OK);
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error();
  EXPECT_EQ(schema_version(store->handle()).value_or(-1), latest_schema_version);
  auto a = SqliteAdminStore::open(path);
  ASSERT_TRUE(a) << a.error();
  auto shown = a->show(1);
  ASSERT_TRUE(shown) << shown.error();
  ASSERT_EQ(shown->attempts.size(), 1u);
  EXPECT_EQ(shown->attempts[0].kind, AttemptKind::delivery);
  EXPECT_EQ(shown->attempts[0].address, "");
  EXPECT_EQ(shown->recipients.at(0).parked_on, "");  // parked before names were kept
  EXPECT_EQ(shown->attempts[0].tls, "");  // written before attempts said what protected them
}

}  // namespace
}  // namespace queue
