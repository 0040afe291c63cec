// Tests for queue/sqlite_store.cpp: the synchronous SQL core, one transaction at a time.
#include "queue/sqlite_store.hpp"
#include "tests/support/store_fixture.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace queue {
namespace {

NewMessage make_message(UnixMillis received_at, std::vector<std::string> recipients, std::string body) {
  NewMessage m;
  m.direction = conf::Direction::outbound;
  m.listener = "outbound";
  m.client_address = "10.0.0.9";
  m.helo = "hub1.example.com";
  m.sender = "alice@example.com";
  m.mail_parameters = "BODY=8BITMIME";
  m.recipients = std::move(recipients);
  m.body = std::move(body);
  m.received_at = received_at;
  return m;
}

std::int64_t count(sqlite3* db, const char* sql) {
  auto s = Statement::prepare(db, sql);
  if (!s) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    return -1;
  }
  ResetOnExit reset(*s);
  if (s->step() != SQLITE_ROW) return -1;
  return s->column_int64(0);
}

class SqliteStoreTest : public test_support::StoreTest {
 protected:
  sqlite3* db() const { return store_->handle(); }
};

TEST_F(SqliteStoreTest, InsertKeepsBodyWithoutCopyAndClaimReturnsEverything) {
  std::string body(100'000, 'x');
  const char* const body_bytes = body.data();
  NewMessage m = make_message(1'000, {"bob@example.org", "carol@example.org"}, std::move(body));
  ASSERT_FALSE(store_->begin());
  auto stored = store_->insert(std::move(m), 0);
  ASSERT_TRUE(stored) << stored.error().message();
  ASSERT_FALSE(store_->commit());
  EXPECT_GT(stored->id, 0);
  EXPECT_EQ(stored->body.data->data(), body_bytes) << "body was copied";
  ASSERT_EQ(stored->recipients.size(), 2u);
  EXPECT_EQ(stored->recipients[1].index, 1);
  EXPECT_EQ(stored->recipients[1].address, "carol@example.org");
  EXPECT_EQ(stored->sender, "alice@example.com");

  const auto claimed = claim(5'000, 65'000);
  ASSERT_EQ(claimed.size(), 1u);
  const QueuedMessage& q = claimed[0];
  EXPECT_EQ(q.id, stored->id);
  EXPECT_EQ(q.direction, conf::Direction::outbound);
  EXPECT_EQ(q.listener, "outbound");
  EXPECT_EQ(q.sender, "alice@example.com");
  EXPECT_EQ(q.mail_parameters, "BODY=8BITMIME");
  EXPECT_EQ(q.received_at, 1'000);
  ASSERT_EQ(q.recipients.size(), 2u);
  EXPECT_EQ(q.recipients[0].index, 0);
  EXPECT_EQ(q.recipients[0].address, "bob@example.org");
  EXPECT_EQ(q.recipients[0].attempts, 0u);
  ASSERT_NE(q.body.data, nullptr);
  EXPECT_EQ(*q.body.data, std::string(100'000, 'x'));
  EXPECT_EQ(count(db(), "SELECT size FROM messages"), 100'000);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE next_attempt = 65000"), 2);
}

TEST_F(SqliteStoreTest, LeasedRecipientsAreNotClaimedAgainUntilTheLeaseEnds) {
  insert(make_message(1, {"a@x"}, "body"), 10'000);  // leased by the committing session
  EXPECT_TRUE(claim(9'999, 20'000).empty());
  EXPECT_EQ(claim(10'000, 20'000).size(), 1u);  // lease over: due
  EXPECT_TRUE(claim(10'000, 20'000).empty());
  EXPECT_TRUE(claim(19'999, 30'000).empty());
  EXPECT_EQ(claim(20'000, 30'000).size(), 1u);
}

TEST_F(SqliteStoreTest, ClaimTakesOldestFirstUpToLimitAndOnlyDueRecipients) {
  const MessageId newer = insert(make_message(300, {"a@x"}, "3"), 0);
  const MessageId oldest = insert(make_message(100, {"a@x"}, "1"), 0);
  const MessageId middle = insert(make_message(200, {"a@x", "b@x"}, "2"), 0);
  // b@x of the middle message is not due yet.
  ASSERT_FALSE(record({{middle, 1, RecipientState::pending, 50'000, true, "451 later", "hop1", 10}}));

  auto first = claim(1'000, 60'000, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, oldest);
  EXPECT_EQ(first[1].id, middle);
  ASSERT_EQ(first[1].recipients.size(), 1u);
  EXPECT_EQ(first[1].recipients[0].address, "a@x");
  auto second = claim(1'000, 60'000, 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, newer);
  EXPECT_TRUE(claim(1'000, 60'000, 2).empty());
  EXPECT_TRUE(claim(1'000, 60'000, 0).empty());

  auto later = claim(50'000, 60'000, 10);
  ASSERT_EQ(later.size(), 1u);
  ASSERT_EQ(later[0].recipients.size(), 1u);
  EXPECT_EQ(later[0].recipients[0].address, "b@x");
  EXPECT_EQ(later[0].recipients[0].attempts, 1u);
}

TEST_F(SqliteStoreTest, DeliveredMessageLosesBodyButKeepsHistory) {
  const MessageId id = insert(make_message(1, {"a@x", "b@x"}, "hello"), 0);
  ASSERT_FALSE(record({{id, 0, RecipientState::delivered, 0, true, "250 2.0.0 ok", "hop1", 777}}));
  EXPECT_EQ(count(db(), "SELECT count(*) FROM bodies"), 1) << "partially delivered keeps its body";
  ASSERT_FALSE(record({{id, 1, RecipientState::failed, 0, true, "550 5.1.1 no such user", "hop2", 778}}));
  EXPECT_EQ(count(db(), "SELECT count(*) FROM bodies"), 0);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE state = 1 AND attempts = 1 AND "
                        "last_reply = '250 2.0.0 ok' AND hop = 'hop1' AND updated_at = 777"),
            1);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE state = 2 AND hop = 'hop2'"), 1);
  EXPECT_TRUE(claim(1'000'000, 2'000'000).empty());
}

TEST_F(SqliteStoreTest, RecordCountsAttemptsOnlyWhenAttempted) {
  const MessageId id = insert(make_message(1, {"a@x"}, "hello"), 0);
  ASSERT_FALSE(record({{id, 0, RecipientState::pending, 100, true, "421 busy", "hop1", 5}}));
  ASSERT_FALSE(record({{id, 0, RecipientState::pending, 200, false, "released", "", 0}}));
  EXPECT_EQ(count(db(), "SELECT attempts FROM recipients"), 1);
  EXPECT_EQ(count(db(), "SELECT next_attempt FROM recipients"), 200);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE hop IS NULL AND updated_at IS NULL"), 1);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM bodies"), 1);
}

TEST_F(SqliteStoreTest, RecordOfUnknownRecipientReportsNotFoundAndAppliesTheRest) {
  const MessageId id = insert(make_message(1, {"a@x"}, "hello"), 0);
  const std::error_code ec = record({{id, 5, RecipientState::delivered, 0, true, "250", "h", 1},
                                     {id + 100, 0, RecipientState::delivered, 0, true, "250", "h", 1},
                                     {id, 0, RecipientState::delivered, 0, true, "250", "h", 1}});
  EXPECT_EQ(ec, errc::not_found);
  EXPECT_EQ(count(db(), "SELECT state FROM recipients"), 1);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM bodies"), 0);
}

TEST_F(SqliteStoreTest, HeldMessagesAreNeitherClaimedNorRecoveredNorDue) {
  const MessageId held = insert(make_message(1, {"a@x"}, "held"), 500);
  const MessageId free = insert(make_message(2, {"a@x"}, "free"), 900);
  ASSERT_EQ(execute(db(), ("UPDATE messages SET held = 1 WHERE id = " + std::to_string(held)).c_str()), SQLITE_OK);

  ASSERT_FALSE(store_->begin());
  auto due = store_->next_due();
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, std::optional<UnixMillis>{900});

  auto claimed = claim(1'000, 5'000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, free);

  ASSERT_FALSE(store_->begin());
  auto pending = store_->recover(2'000);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, 2u);  // held recipients are pending too
  EXPECT_EQ(count(db(), ("SELECT next_attempt FROM recipients WHERE message_id = " + std::to_string(held)).c_str()),
            500);
  EXPECT_EQ(count(db(), ("SELECT next_attempt FROM recipients WHERE message_id = " + std::to_string(free)).c_str()),
            2'000);
}

// Schema v5: recipients that found no usable hop wait on their route and are released
// per route, never while leased, and never once they left the pending state.
TEST_F(SqliteStoreTest, ParkedRecipientsAreReleasedPerRouteAndNeverWhileLeased) {
  const MessageId a = insert(make_message(1, {"a0@x", "a1@x"}, "a"), 0);
  const MessageId b = insert(make_message(2, {"b0@y"}, "b"), 0);
  const MessageId c = insert(make_message(3, {"c0@z"}, "c"), 0);
  auto parked = [](MessageId id, std::int32_t index, std::uint32_t route) {
    RecipientOutcome o{id, index, RecipientState::pending, 1'000'000, false, "451 4.4.1 no usable hop", "", 10};
    o.parked_route = route;
    return o;
  };
  ASSERT_FALSE(record({parked(a, 0, 1), parked(a, 1, 1), parked(b, 0, 2), parked(c, 0, 1)}));
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE parked = 1"), 3);
  // c0 is claimed by its own timer (leased) while still marked parked.
  ASSERT_EQ(execute(db(), ("UPDATE recipients SET leased = 1 WHERE message_id = " + std::to_string(c)).c_str()),
            SQLITE_OK);

  auto release = [&](std::uint32_t route, UnixMillis now, std::size_t limit) {
    EXPECT_FALSE(store_->begin());
    auto released = store_->release_parked(route, now, limit);
    EXPECT_FALSE(store_->commit());
    EXPECT_TRUE(released) << released.error().message();
    return released.value_or(999);
  };
  EXPECT_EQ(release(1, 500, 1), 1u);  // the limit holds
  EXPECT_EQ(release(1, 500, 10), 1u);  // the rest of route 1, not the leased one
  EXPECT_EQ(release(1, 500, 10), 0u);
  EXPECT_EQ(count(db(), ("SELECT count(*) FROM recipients WHERE next_attempt = 500 AND parked = 0 AND message_id = " +
                         std::to_string(a)).c_str()),
            2);
  EXPECT_EQ(count(db(), ("SELECT next_attempt FROM recipients WHERE message_id = " + std::to_string(b)).c_str()),
            1'000'000);  // another route: still parked
  EXPECT_EQ(count(db(), ("SELECT next_attempt FROM recipients WHERE message_id = " + std::to_string(c)).c_str()),
            1'000'000);
  EXPECT_EQ(release(0, 600, 10), 1u);  // 0: any route (b); c is still leased
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE parked <> 0"), 1);

  // A final outcome (or any outcome without parked_route) clears the mark.
  ASSERT_FALSE(record({{c, 0, RecipientState::delivered, 0, true, "250 ok", "h", 11}}));
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE parked <> 0"), 0);
  // Start-up recovery unparks too: everything pending is due then anyway.
  ASSERT_FALSE(record({parked(b, 0, 2)}));
  ASSERT_FALSE(store_->begin());
  ASSERT_TRUE(store_->recover(700));
  ASSERT_FALSE(store_->commit());
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients WHERE parked <> 0"), 0);
}

TEST_F(SqliteStoreTest, NextDueIsEmptyWithoutPendingRecipients) {
  ASSERT_FALSE(store_->begin());
  auto due = store_->next_due();
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(due);
  EXPECT_FALSE(due->has_value());
}

// SQLITE_FULL, produced deterministically with a page limit: the insert fails part-way
// (envelope written, body not), and the rollback must leave no trace of it.
TEST_F(SqliteStoreTest, StorageFullFailsTheInsertAndLeavesNothingHalfStored) {
  insert(make_message(1, {"a@x"}, "small"), 0);
  const std::int64_t pages = count(db(), "PRAGMA page_count");
  ASSERT_GT(pages, 0);
  ASSERT_EQ(execute(db(), ("PRAGMA max_page_count = " + std::to_string(pages + 1)).c_str()), SQLITE_OK);

  ASSERT_FALSE(store_->begin());
  auto stored = store_->insert(make_message(2, {"a@x", "b@x"}, std::string(1 << 20, 'y')), 0);
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error(), errc::storage_full) << stored.error().message();
  store_->rollback();
  EXPECT_FALSE(store_->in_transaction());

  EXPECT_EQ(count(db(), "SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM bodies"), 1);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM recipients"), 1);

  // The store stays usable once space is back.
  ASSERT_EQ(execute(db(), "PRAGMA max_page_count = 1073741823"), SQLITE_OK);
  insert(make_message(3, {"a@x"}, std::string(1 << 20, 'z')), 0);
  EXPECT_EQ(count(db(), "SELECT count(*) FROM messages"), 2);
}

TEST_F(SqliteStoreTest, OpensWithWalAndFullSync) {
  auto s = Statement::prepare(db(), "PRAGMA journal_mode");
  ASSERT_TRUE(s);
  {
    ResetOnExit reset(*s);
    ASSERT_EQ(s->step(), SQLITE_ROW);
    EXPECT_EQ(s->column_text(0), "wal");
  }
  EXPECT_EQ(count(db(), "PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(count(db(), "PRAGMA foreign_keys"), 1);
}

}  // namespace
}  // namespace queue
