// Tests for queue/queue_store.hpp: what MessageQueue relies on, checked against both
// backends (SqliteStore on a temporary file, PgStore on a private PostgreSQL server)
// through the interface only.
#include "queue/pg_store.hpp"
#include "queue/queue_store.hpp"
#include "queue/sqlite_store.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>

namespace queue {
namespace {

enum class Backend { sqlite, postgresql };

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

class QueueStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::sqlite) {
      auto opened = SqliteStore::open(dir_.file("queue.db"));
      ASSERT_TRUE(opened) << opened.error();
      store_ = std::make_unique<SqliteStore>(std::move(*opened));
      return;
    }
    test_support::PgServer* server = test_support::PgServer::shared();
    if (server == nullptr) GTEST_SKIP() << test_support::PgServer::skip_reason();
    auto opened = PgStore::open({server->create_database(), "node-a"});
    ASSERT_TRUE(opened) << opened.error();
    store_ = std::move(*opened);
  }

  MessageId insert(NewMessage m, UnixMillis lease_until) {
    EXPECT_FALSE(store_->begin());
    auto stored = store_->insert(std::move(m), lease_until);
    EXPECT_TRUE(stored) << stored.error().message();
    EXPECT_FALSE(store_->commit());
    return stored ? stored->id : 0;
  }

  std::vector<QueuedMessage> claim(UnixMillis now, UnixMillis lease_until, std::size_t limit = 100) {
    EXPECT_FALSE(store_->begin());
    auto claimed = store_->claim_due(now, lease_until, limit);
    EXPECT_TRUE(claimed) << claimed.error().message();
    EXPECT_FALSE(store_->commit());
    return claimed ? std::move(*claimed) : std::vector<QueuedMessage>{};
  }

  std::error_code record(std::vector<RecipientOutcome> outcomes) {
    EXPECT_FALSE(store_->begin());
    const std::error_code ec = store_->record(outcomes, freed_);
    EXPECT_FALSE(store_->commit());
    return ec;
  }

  std::optional<UnixMillis> next_due() {
    EXPECT_FALSE(store_->begin());
    auto due = store_->next_due();
    EXPECT_FALSE(store_->commit());
    EXPECT_TRUE(due);
    return due.value_or(std::nullopt);
  }

  test_support::TempDir dir_{"hubrelay-contract"};
  std::unique_ptr<QueueStore> store_;
  FreedFiles freed_;
};

TEST_P(QueueStoreContract, InsertThenClaimReturnsEnvelopeRecipientsAndBody) {
  std::string body(100'000, 'x');
  body[0] = '\0';  // bodies are bytes, not text
  NewMessage m = make_message(1'000, {"bob@example.org", "carol@example.org"}, body);
  m.recipient_parameters = {"NOTIFY=NEVER"};
  ASSERT_FALSE(store_->begin());
  auto stored = store_->insert(std::move(m), 0);
  ASSERT_TRUE(stored) << stored.error().message();
  ASSERT_FALSE(store_->commit());
  EXPECT_GT(stored->id, 0);
  ASSERT_EQ(stored->recipients.size(), 2u);
  EXPECT_EQ(stored->recipients[1].address, "carol@example.org");
  ASSERT_NE(stored->body.data, nullptr);
  EXPECT_EQ(*stored->body.data, body);

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
  EXPECT_EQ(q.recipients[0].parameters, "NOTIFY=NEVER");
  EXPECT_EQ(q.recipients[1].parameters, "");
  EXPECT_EQ(q.recipients[0].attempts, 0u);
  ASSERT_NE(q.body.data, nullptr);
  EXPECT_EQ(*q.body.data, body);
  EXPECT_EQ(next_due(), std::optional<UnixMillis>{65'000});
}

TEST_P(QueueStoreContract, LeasedRecipientsAreNotClaimedAgainUntilTheLeaseEnds) {
  insert(make_message(1, {"a@x"}, "body"), 10'000);  // leased by the committing session
  EXPECT_TRUE(claim(9'999, 20'000).empty());
  EXPECT_EQ(claim(10'000, 20'000).size(), 1u);  // lease over: due
  EXPECT_TRUE(claim(10'000, 20'000).empty());
  EXPECT_TRUE(claim(19'999, 30'000).empty());
  EXPECT_EQ(claim(20'000, 30'000).size(), 1u);
}

TEST_P(QueueStoreContract, ClaimTakesOldestFirstUpToLimitAndOnlyDueRecipients) {
  const MessageId newer = insert(make_message(300, {"a@x"}, "3"), 0);
  const MessageId oldest = insert(make_message(100, {"a@x"}, "1"), 0);
  const MessageId middle = insert(make_message(200, {"a@x", "b@x"}, "2"), 0);
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

TEST_P(QueueStoreContract, FinalOutcomesEndDeliveryAndUnknownRecipientsAreReported) {
  const MessageId id = insert(make_message(1, {"a@x", "b@x"}, "hello"), 0);
  ASSERT_FALSE(record({{id, 0, RecipientState::delivered, 0, true, "250 2.0.0 ok", "hop1", 777}}));
  auto rest = claim(1'000, 2'000);
  ASSERT_EQ(rest.size(), 1u) << "partially delivered keeps its body";
  ASSERT_EQ(rest[0].recipients.size(), 1u);
  EXPECT_EQ(rest[0].recipients[0].address, "b@x");
  const std::error_code ec = record({{id, 5, RecipientState::delivered, 0, true, "250", "h", 1},
                                     {id + 100'000, 0, RecipientState::delivered, 0, true, "250", "h", 1},
                                     {id, 1, RecipientState::failed, 0, true, "550 5.1.1 no", "hop2", 778}});
  EXPECT_EQ(ec, errc::not_found);
  EXPECT_TRUE(claim(1'000'000, 2'000'000).empty());
  EXPECT_EQ(next_due(), std::nullopt);
}

TEST_P(QueueStoreContract, RecordCountsAttemptsOnlyWhenAttempted) {
  const MessageId id = insert(make_message(1, {"a@x"}, "hello"), 0);
  ASSERT_FALSE(record({{id, 0, RecipientState::pending, 100, true, "421 busy", "hop1", 5}}));
  ASSERT_FALSE(record({{id, 0, RecipientState::pending, 200, false, "released", "", 0}}));
  EXPECT_EQ(next_due(), std::optional<UnixMillis>{200});
  auto claimed = claim(200, 300);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].recipients.at(0).attempts, 1u);
}

TEST_P(QueueStoreContract, HeldMessagesAreNeitherClaimedNorRecoveredNorDue) {
  NewMessage held = make_message(1, {"a@x"}, "held");
  held.held_reason = "quarantined by the filter";
  insert(std::move(held), 500);
  const MessageId free = insert(make_message(2, {"a@x"}, "free"), 900);
  EXPECT_EQ(next_due(), std::optional<UnixMillis>{900});
  auto claimed = claim(1'000, 5'000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, free);

  ASSERT_FALSE(store_->begin());
  auto pending = store_->recover(2'000);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, 2u);  // held recipients are pending too
  EXPECT_EQ(next_due(), std::optional<UnixMillis>{2'000});
  EXPECT_EQ(claim(2'000, 5'000).size(), 1u);
}

TEST_P(QueueStoreContract, ParkedRecipientsAreReleasedPerRoute) {
  const MessageId a = insert(make_message(1, {"a0@x", "a1@x"}, "a"), 0);
  const MessageId b = insert(make_message(2, {"b0@y"}, "b"), 0);
  auto parked = [](MessageId id, std::int32_t index, std::uint32_t route) {
    RecipientOutcome o{id, index, RecipientState::pending, 1'000'000, false, "451 4.4.1 no usable hop", "", 10};
    o.parked_route = route;
    o.parked_on = "route" + std::to_string(route);
    o.parked_note = "every hop down";
    return o;
  };
  ASSERT_FALSE(record({parked(a, 0, 1), parked(a, 1, 1), parked(b, 0, 2)}));
  auto release = [&](std::uint32_t route, UnixMillis now, std::size_t limit) {
    EXPECT_FALSE(store_->begin());
    auto released = store_->release_parked(route, now, limit);
    EXPECT_FALSE(store_->commit());
    EXPECT_TRUE(released) << released.error().message();
    return released.value_or(999);
  };
  EXPECT_EQ(release(1, 500, 1), 1u);  // the limit holds
  EXPECT_EQ(release(1, 500, 10), 1u);
  EXPECT_EQ(release(1, 500, 10), 0u);
  EXPECT_EQ(next_due(), std::optional<UnixMillis>{500});
  auto due = claim(500, 10'000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, a);
  EXPECT_EQ(release(0, 700, 10), 1u);  // 0: any route (b)
  EXPECT_EQ(claim(700, 800).size(), 1u);
}

TEST_P(QueueStoreContract, ReservedIdsAreNeverGivenTwice) {
  ASSERT_FALSE(store_->begin());
  auto first = store_->reserve_ids(1024);
  auto second = store_->reserve_ids(1024);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(first && second);
  EXPECT_GE(*second, *first + 1024);
  NewMessage reserved = make_message(1, {"a@x"}, "r");
  reserved.id = *first + 7;
  EXPECT_EQ(insert(std::move(reserved), 0), *first + 7);
  const MessageId assigned = insert(make_message(2, {"a@x"}, "n"), 0);
  EXPECT_TRUE(assigned < *first || assigned >= *second + 1024) << assigned;
}

TEST_P(QueueStoreContract, NoticeIsQueuedWithItsOutcomesOnlyWhenAllApplied) {
  const MessageId id = insert(make_message(1, {"a@x"}, "hello"), 0);
  const std::vector<RecipientOutcome> unknown{{id + 100'000, 0, RecipientState::failed, 0, true, "550", "h", 1}};
  const std::vector<RecipientOutcome> failed{{id, 0, RecipientState::failed, 0, true, "550", "h", 1}};
  ASSERT_FALSE(store_->begin());
  auto none = store_->record_with_notice(unknown, make_message(2, {"alice@example.com"}, "report"), 0, freed_);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_FALSE(store_->begin());
  auto notice = store_->record_with_notice(failed, make_message(2, {"alice@example.com"}, "report"), 0, freed_);
  ASSERT_FALSE(store_->commit());
  ASSERT_TRUE(notice && notice->has_value());
  auto claimed = claim(10, 20);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, (*notice)->id);
  EXPECT_EQ(*claimed[0].body.data, "report");
}

TEST_P(QueueStoreContract, RolledBackInsertLeavesNothing) {
  ASSERT_FALSE(store_->begin());
  ASSERT_TRUE(store_->insert(make_message(1, {"a@x"}, "gone"), 0));
  EXPECT_TRUE(store_->in_transaction());
  store_->rollback();
  EXPECT_FALSE(store_->in_transaction());
  EXPECT_EQ(next_due(), std::nullopt);
  EXPECT_TRUE(claim(1'000, 2'000).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueStoreContract, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         [](const auto& info) { return info.param == Backend::sqlite ? "sqlite" : "postgresql"; });

}  // namespace
}  // namespace queue
