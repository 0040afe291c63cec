// tests/queue/schema_upgrade_test.cpp — the per-recipient columns added after v2:
// v3 (DSN parameters, RFC 3461): a v2 database opens, keeps its rows (with parameters
// ''), and stays deliverable; new messages store and return per-recipient parameters
// through insert and claim_due (the recovery and retry paths read them back from disk).
// v4 (delay notice sent): stored with an outcome, sticky, read back after a restart.
#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "queue/schema.hpp"
#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("hubrelay-schema-v3") {}
};

// The one message due at `now`, read from `path` by a store opened
// afresh (as after a restart); a test failure and nullopt unless exactly one is due.
std::optional<QueuedMessage> the_message_due_after_restart(const std::string& path, UnixMillis now) {
  auto store = SqliteStore::open(path);
  if (!store) {
    ADD_FAILURE() << store.error();
    return std::nullopt;
  }
  auto claimed = store->claim_due(now, 1000, 10);
  EXPECT_TRUE(claimed);
  EXPECT_EQ(claimed ? claimed->size() : 0u, 1u);
  if (!claimed || claimed->size() != 1) return std::nullopt;
  return std::move(claimed->front());
}

TEST(SchemaV3, V2DatabaseOpensAndKeepsItsRows) {
  TempDir dir;
  const std::string path = dir.file("q.db");
  {
    auto db = open_connection(path);
    ASSERT_TRUE(db) << db.error();
    // Exactly what a v2 hubrelay created: the first two migrations only.
    const auto all = schema_migrations();
    ASSERT_GE(all.size(), 3u);
    auto reached = migrate(db->get(), all.first(2));
    ASSERT_TRUE(reached) << reached.error();
    ASSERT_EQ(*reached, 2);
    ASSERT_EQ(execute(db->get(), "INSERT INTO messages(direction, listener, client_address, helo, sender, "
                                 "mail_parameters, received_at, size) VALUES(0, 'in', '', 'h', 's@x.example', "
                                 "'BODY=8BITMIME', 1, 4)"),
              SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO bodies(message_id, data) VALUES(1, 'x\r\n')"), SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt) "
                                 "VALUES(1, 0, 'r@y.example', 0, 2, 0)"),
              SQLITE_OK);
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error();
  EXPECT_EQ(schema_version(store->handle()).value_or(-1), latest_schema_version);
  auto claimed = store->claim_due(10, 1000, 10);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  const QueuedMessage& m = claimed->front();
  EXPECT_EQ(m.sender, "s@x.example");
  ASSERT_EQ(m.recipients.size(), 1u);
  EXPECT_EQ(m.recipients[0].address, "r@y.example");
  EXPECT_EQ(m.recipients[0].attempts, 2u);
  EXPECT_EQ(m.recipients[0].parameters, "");
  EXPECT_FALSE(m.recipients[0].delay_notified);  // v4 default for rows from before
}

TEST(SchemaV3, RecipientParametersRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("q.db");
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error();
    NewMessage message;
    message.sender = "s@x.example";
    message.mail_parameters = "RET=HDRS ENVID=e1";
    message.recipients = {"a@y.example", "b@y.example", "c@y.example"};
    // Shorter than recipients: the rest get "".
    message.recipient_parameters = {"NOTIFY=NEVER", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2B1@y.example"};
    message.body = "x\r\n";
    message.received_at = 1;
    auto stored = store->insert(std::move(message), 5);
    ASSERT_TRUE(stored);
    ASSERT_EQ(stored->recipients.size(), 3u);
    EXPECT_EQ(stored->recipients[0].parameters, "NOTIFY=NEVER");
    EXPECT_EQ(stored->recipients[2].parameters, "");
  }
  // As after a restart: read back from disk once the lease has passed.
  const auto m = the_message_due_after_restart(path, 100);
  ASSERT_TRUE(m);
  const auto& r = m->recipients;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].parameters, "NOTIFY=NEVER");
  EXPECT_EQ(r[1].parameters, "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2B1@y.example");
  EXPECT_EQ(r[2].parameters, "");
  EXPECT_EQ(m->mail_parameters, "RET=HDRS ENVID=e1");
}

}  // namespace
}  // namespace queue

namespace queue {
namespace {

// Schema v4: a recipient's "delay notice sent" survives a restart and is never cleared
// by a later outcome that does not send one.
TEST(SchemaV4, DelayNoticeFlagIsStoredAndSticks) {
  TempDir dir;
  const std::string path = dir.file("q.db");
  MessageId id = 0;
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error();
    NewMessage message;
    message.sender = "s@x.example";
    message.recipients = {"a@y.example", "b@y.example"};
    message.body = "x\r\n";
    message.received_at = 1;
    auto stored = store->insert(std::move(message), 5);
    ASSERT_TRUE(stored);
    id = stored->id;
    EXPECT_FALSE(stored->recipients[0].delay_notified);
    RecipientOutcome noticed{.id = id, .index = 0, .state = RecipientState::pending, .next_attempt = 10};
    noticed.delay_notified = true;
    const RecipientOutcome plain{.id = id, .index = 1, .state = RecipientState::pending, .next_attempt = 10};
    FreedFiles freed;
    std::vector<RecipientOutcome> outcomes{noticed, plain};
    ASSERT_FALSE(store->record(outcomes, freed));
    // A later attempt without a notice keeps the flag.
    std::vector<RecipientOutcome> later{RecipientOutcome{.id = id, .index = 0, .state = RecipientState::pending,
                                                        .next_attempt = 20}};
    ASSERT_FALSE(store->record(later, freed));
  }
  const auto m = the_message_due_after_restart(path, 100);
  ASSERT_TRUE(m);
  const auto& r = m->recipients;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].delay_notified);
  EXPECT_FALSE(r[1].delay_notified);
}

}  // namespace
}  // namespace queue
