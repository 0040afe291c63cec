// tests/queue/spooled_body_test.cpp — messages whose body is a spool file (schema v7-v9):
// stored without a bodies row and claimed with the file's name and size; read back in
// chunks by StoredBodyReader like an inline body; the file unlinked only after the
// COMMIT that made the message final (delivery, administrator delete or bounce); a v6
// database upgrades with its inline bodies untouched; the orphan scan sees both
// directions against the names the store returns; header fields stored beside the file
// (v8, the DKIM-Signature of a spooled message) are read before it by every reader; a
// header section stored beside the file replaces the file's own (v9, skip), for every reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <span>
#include <string>
#include <vector>

#include "queue/sqlite_admin_store.hpp"
#include "queue/body_sync_pool.hpp"
#include "queue/body_writer.hpp"
#include "queue/errc.hpp"
#include "queue/message_queue.hpp"
#include "queue/schema.hpp"
#include "queue/spool.hpp"
#include "queue/spool_scan.hpp"
#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"
#include "queue/stored_body_reader.hpp"
#include "tests/support/spool_body.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

class SpooledBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Spool::open(dir_.path().string(), 0x5eed);
    ASSERT_TRUE(opened) << opened.error();
    spool_ = std::move(*opened);
  }

  SpoolEntry write_body(const std::string& text) { return test_support::write_durable_body(*spool_, text); }

  NewMessage spooled_message(const SpoolEntry& file) {
    NewMessage m;
    m.listener = "inbound";
    m.sender = "alice@example.net";
    m.recipients = {"bob@example.com", "carol@example.com"};
    m.body_file = file.name;
    m.body_file_size = file.size;
    m.received_at = 100;
    return m;
  }

  // Commits `file`'s message through `q`, then records both recipients delivered; returns
  // once the outcome's callback ran.
  void commit_and_deliver(MessageQueue& q, const SpoolEntry& file) {
    std::promise<std::expected<QueuedMessage, std::error_code>> committed;
    q.commit(spooled_message(file), 0, [&](auto result) { committed.set_value(std::move(result)); });
    auto stored = committed.get_future().get();
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_TRUE(on_disk(file.name));
    std::promise<std::error_code> recorded;
    q.record({{stored->id, 0, RecipientState::delivered, 0, true, "250", "h", 1},
              {stored->id, 1, RecipientState::delivered, 0, true, "250", "h", 1}},
             [&](std::error_code ec) { recorded.set_value(ec); });
    EXPECT_FALSE(recorded.get_future().get());
  }

  bool on_disk(const std::string& name) const { return std::filesystem::exists(dir_.path() / "spool" / name); }

  static std::string read_all(const Spool* spool, const StoredBody& body, std::size_t chunk) {
    auto reader = StoredBodyReader::open(spool, body);
    EXPECT_TRUE(reader);
    if (!reader) return {};
    std::string out, buffer(chunk, '\0');
    for (;;) {
      auto n = reader->read(std::span(buffer));
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      out.append(buffer.data(), *n);
    }
    return out;
  }

  // Bounces `id` as the administrator does; returns the message the report was given
  // (the whole of it: RET=FULL reads a spooled body in).
  static std::string bounce(AdminStore& admin, MessageId id) {
    std::string returned;
    auto finished = admin.finish(Selection{.ids = {id}}, RecipientState::failed, "550 5.0.0 bounced", 50,
                                 [&](const QueuedMessage& original, std::span<const RecipientOutcome>) {
                                   returned = original.body.data ? *original.body.data : std::string();
                                   return std::optional<NewMessage>{};
                                 });
    EXPECT_TRUE(finished) << finished.error();
    return returned;
  }

  // Stores two copies of big_ with `prefix` and `skip` (schema v8, v9), then checks that
  // delivery (claimed, read in chunks of any size), `queue show --eml` (AdminStore::body)
  // and a report returning the whole message (the second copy, bounced) read `expected`.
  void expect_every_reader_sees(const std::string& prefix, std::uint64_t skip, const std::string& expected) {
    const SpoolEntry kept = write_body(big_);
    const SpoolEntry bounced = write_body(big_);
    std::vector<MessageId> ids;
    {
      auto store = SqliteStore::open(dir_.file("queue.db"));
      ASSERT_TRUE(store) << store.error();
      ASSERT_FALSE(store->begin());
      for (const SpoolEntry* f : {&kept, &bounced}) {
        NewMessage m = spooled_message(*f);
        m.body_prefix = prefix;
        m.body_skip = skip;
        auto stored = store->insert(std::move(m), 0);
        ASSERT_TRUE(stored);
        EXPECT_EQ(stored->body.prefix, prefix);
        EXPECT_EQ(stored->body.skip, skip);
        EXPECT_EQ(stored->body.size(), expected.size());
        ids.push_back(stored->id);
      }
      ASSERT_FALSE(store->commit());
      ASSERT_FALSE(store->begin());
      auto claimed = store->claim_due(10, 1000, 10);
      ASSERT_FALSE(store->commit());
      ASSERT_TRUE(claimed);
      ASSERT_EQ(claimed->size(), 2u);
      const StoredBody& body = claimed->front().body;
      EXPECT_EQ(body.prefix, prefix);
      EXPECT_EQ(body.skip, skip);
      EXPECT_EQ(read_all(spool_.get(), body, 4096), expected);
      EXPECT_EQ(read_all(spool_.get(), body, 7), expected);  // chunk borders anywhere
      EXPECT_EQ(*load_stored_body(spool_.get(), body), expected);
      auto reader = StoredBodyReader::open(spool_.get(), body);
      ASSERT_TRUE(reader);
      EXPECT_EQ(reader->size(), expected.size());
    }
    auto admin = SqliteAdminStore::open(dir_.file("queue.db"));
    ASSERT_TRUE(admin) << admin.error();
    EXPECT_EQ(*admin->body(ids[0]), expected);
    EXPECT_EQ(bounce(*admin, ids[1]), expected);
  }

  std::int64_t count(SqliteStore& store, const char* sql) {
    auto s = Statement::prepare(store.handle(), sql);
    EXPECT_TRUE(s);
    if (!s || s->step() != SQLITE_ROW) return -1;
    return s->column_int64(0);
  }

  test_support::TempDir dir_{"hubrelay-spooled"};
  std::unique_ptr<Spool> spool_;
  const std::string big_ = std::string("Subject: big\r\n\r\n") + std::string(200 * 1024, 'b') + "\r\n";
};

TEST_F(SpooledBodyTest, StoredWithoutBodyRowClaimedWithNameAndSizeAndReadBackInChunks) {
  auto store = SqliteStore::open(dir_.file("q.db"));
  ASSERT_TRUE(store) << store.error();
  const SpoolEntry file = write_body(big_);
  ASSERT_FALSE(store->begin());
  auto stored = store->insert(spooled_message(file), 0);
  ASSERT_TRUE(stored);
  ASSERT_FALSE(store->commit());
  EXPECT_TRUE(stored->body.spooled());
  EXPECT_EQ(stored->body.file, file.name);
  EXPECT_EQ(stored->body.size(), big_.size());
  EXPECT_EQ(count(*store, "SELECT count(*) FROM bodies"), 0);
  EXPECT_EQ(count(*store, "SELECT size FROM messages"), static_cast<std::int64_t>(big_.size()));

  ASSERT_FALSE(store->begin());
  auto claimed = store->claim_due(10, 1000, 10);
  ASSERT_FALSE(store->commit());
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  const StoredBody& body = claimed->front().body;
  EXPECT_EQ(body.file, file.name);
  EXPECT_EQ(body.file_size, big_.size());
  EXPECT_EQ(read_all(spool_.get(), body, 4096), big_);
  EXPECT_EQ(read_all(spool_.get(), body, 7), big_);  // chunk borders anywhere
  EXPECT_EQ(*load_stored_body(spool_.get(), body), big_);

  // Inline bodies go through the same reader.
  const StoredBody inline_body{std::make_shared<const std::string>("x\r\n"), {}, 0};
  EXPECT_EQ(read_all(nullptr, inline_body, 2), "x\r\n");
  // Spooled without a spool, or a file of another size: an error, never a short body.
  EXPECT_EQ(StoredBodyReader::open(nullptr, body).error(), make_error_code(errc::not_found));
  StoredBody wrong = body;
  wrong.file_size += 1;
  EXPECT_EQ(StoredBodyReader::open(spool_.get(), wrong).error(), make_error_code(errc::io_error));
}

TEST_F(SpooledBodyTest, FinalMessageFreesItsFileOnlyAfterCommitAndKeepsHistory) {
  auto store = SqliteStore::open(dir_.file("q.db"));
  ASSERT_TRUE(store) << store.error();
  const SpoolEntry file = write_body(big_);
  ASSERT_FALSE(store->begin());
  auto stored = store->insert(spooled_message(file), 0);
  ASSERT_TRUE(stored);
  ASSERT_FALSE(store->commit());
  const MessageId id = stored->id;

  FreedFiles freed;
  const RecipientOutcome first{id, 0, RecipientState::delivered, 0, true, "250 ok", "hub", 5};
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->record(std::span(&first, 1), freed));
  ASSERT_FALSE(store->commit());
  EXPECT_TRUE(freed.empty()) << "a recipient is still pending";

  // A rollback keeps the name: nothing may be unlinked for it.
  const RecipientOutcome second{id, 1, RecipientState::failed, 0, true, "550 no", "hub", 6};
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->record(std::span(&second, 1), freed));
  EXPECT_EQ(freed, FreedFiles{file.name});
  store->rollback();
  EXPECT_EQ(count(*store, "SELECT count(*) FROM messages WHERE body_file IS NOT NULL"), 1);

  freed.clear();
  ASSERT_FALSE(store->begin());
  ASSERT_FALSE(store->record(std::span(&second, 1), freed));
  ASSERT_FALSE(store->commit());
  EXPECT_EQ(freed, FreedFiles{file.name});
  EXPECT_EQ(count(*store, "SELECT count(*) FROM messages WHERE body_file IS NOT NULL"), 0);
  EXPECT_EQ(count(*store, "SELECT count(*) FROM messages"), 1) << "the envelope stays as history";
  auto spooled = store->spooled_bodies();
  ASSERT_TRUE(spooled);
  EXPECT_TRUE(spooled->empty());
}

// The queue thread: a batch with a spooled body commits (after fsyncing the spool
// directory); the delivery outcome that makes it final unlinks the file after COMMIT.
TEST_F(SpooledBodyTest, MessageQueueUnlinksTheFileOfAFinalMessage) {
  auto opened = MessageQueue::open(dir_.file("q.db"), conf::QueueConfig{}, spool_.get());
  ASSERT_TRUE(opened) << opened.error();
  const SpoolEntry file = write_body(big_);
  commit_and_deliver(**opened, file);
  EXPECT_FALSE(on_disk(file.name)) << "a final message's body file is unlinked after COMMIT";
}

// With a body sync pool the unlink leaves the queue thread: it waits in the pool's FIFO
// (here behind a task holding the only pool thread), the outcome's callback does not wait
// for it, and it still runs when the pool shuts down.
TEST_F(SpooledBodyTest, MessageQueueUnlinksOnTheBodySyncPool) {
  BodySyncPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.post([released] { released.wait(); });
  auto opened = MessageQueue::open(dir_.file("q.db"), conf::QueueConfig{}, spool_.get(), &pool);
  ASSERT_TRUE(opened) << opened.error();
  const SpoolEntry file = write_body(big_);
  commit_and_deliver(**opened, file);
  EXPECT_TRUE(on_disk(file.name)) << "the unlink waits on the pool, not on the queue thread";
  release.set_value();
  pool.shutdown();
  EXPECT_FALSE(on_disk(file.name)) << "queued unlinks run before the pool stops";
}

TEST_F(SpooledBodyTest, QueueWithoutSpoolRefusesASpooledCommit) {
  auto opened = MessageQueue::open(dir_.file("q.db"), conf::QueueConfig{});
  ASSERT_TRUE(opened) << opened.error();
  std::promise<std::expected<QueuedMessage, std::error_code>> committed;
  (*opened)->commit(spooled_message(write_body(big_)), 0,
                    [&](auto result) { committed.set_value(std::move(result)); });
  auto stored = committed.get_future().get();
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error(), make_error_code(errc::internal));
}

TEST_F(SpooledBodyTest, AdministratorShowsDeletesAndBouncesSpooledMessages) {
  const SpoolEntry kept = write_body(big_);
  const SpoolEntry deleted = write_body(big_ + "deleted\r\n");
  const SpoolEntry bounced = write_body(big_ + "bounced\r\n");
  std::vector<MessageId> ids;
  {
    auto store = SqliteStore::open(dir_.file("queue.db"));
    ASSERT_TRUE(store) << store.error();
    ASSERT_FALSE(store->begin());
    for (const SpoolEntry* f : {&kept, &deleted, &bounced}) ids.push_back(store->insert(spooled_message(*f), 0)->id);
    ASSERT_FALSE(store->commit());
  }
  auto admin = SqliteAdminStore::open(dir_.file("queue.db"));
  ASSERT_TRUE(admin) << admin.error();
  EXPECT_EQ(*admin->body(ids[0]), big_);
  EXPECT_TRUE(admin->show(ids[0])->has_body);

  ASSERT_TRUE(admin->remove(Selection{.ids = {ids[1]}}));
  EXPECT_FALSE(on_disk(deleted.name));

  const std::string returned = bounce(*admin, ids[2]);
  EXPECT_EQ(returned, big_ + "bounced\r\n") << "the report may return the whole spooled message";
  EXPECT_FALSE(on_disk(bounced.name));
  EXPECT_FALSE(admin->show(ids[2])->has_body);
  EXPECT_TRUE(on_disk(kept.name));
}

// Header fields added after the file was written (DKIM-Signature, schema v8) are stored in
// the envelope and read before the file by every reader: delivery, `queue show --eml`
// (AdminStore::body) and a report returning the whole message.
TEST_F(SpooledBodyTest, PrefixFieldsAreReadBeforeTheFile) {
  const std::string prefix = "DKIM-Signature: v=1; d=example.com;\r\n\tb=abc\r\n";
  expect_every_reader_sees(prefix, 0, prefix + big_);
}

// A content filter's edited header section is stored beside the file and replaces the
// file's own header section (`skip` octets, schema v9) for every reader, also after a
// restart; the spool checks still see the file's whole size.
TEST_F(SpooledBodyTest, PrefixReplacesTheSkippedHeaderSectionForEveryReader) {
  const std::string old_head = "Subject: big\r\n\r\n";
  ASSERT_TRUE(big_.starts_with(old_head));
  const std::string head = "DKIM-Signature: v=1; d=example.com;\r\n\tb=abc\r\nSubject: edited\r\nX-Spam: no\r\n\r\n";
  const std::string edited = head + big_.substr(old_head.size());
  expect_every_reader_sees(head, old_head.size(), edited);
  {
    auto store = SqliteStore::open(dir_.file("queue.db"));  // as after a restart
    ASSERT_TRUE(store) << store.error();
    EXPECT_EQ(count(*store, "SELECT max(size) FROM messages"), static_cast<std::int64_t>(big_.size()));
    auto known = store->spooled_bodies();  // what the start-up check compares with the directory
    ASSERT_TRUE(known);
    ASSERT_EQ(known->size(), 1u);  // the other one was bounced
    EXPECT_EQ(known->front().size, big_.size());
    ASSERT_FALSE(store->begin());
    auto claimed = store->claim_due(1000000, 2000000, 10);
    ASSERT_FALSE(store->commit());
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 1u);
    const StoredBody& body = claimed->front().body;
    EXPECT_EQ(body.skip, old_head.size());
    EXPECT_EQ(*load_stored_body(spool_.get(), body), edited);
    EXPECT_EQ(*load_stored_header_section(spool_.get(), body, 1024 * 1024), head);  // RET=HDRS
    auto reader = StoredBodyReader::open(spool_.get(), body);
    ASSERT_TRUE(reader);
    std::string first(head.size() + 5, '\0');
    ASSERT_EQ(reader->read(std::span(first).first(head.size())).value_or(0), head.size());
    ASSERT_EQ(reader->read(std::span(first).subspan(head.size())).value_or(0), 5u);
    EXPECT_EQ(first, edited.substr(0, first.size()));
    reader->rewind();  // the next hop starts over: the prefix, then the file past the skip
    std::string again(first.size(), '\0');
    ASSERT_EQ(reader->read(std::span(again).first(head.size())).value_or(0), head.size());
    ASSERT_EQ(reader->read(std::span(again).subspan(head.size())).value_or(0), 5u);
    EXPECT_EQ(again, first);
    // More to skip than the file has: an error, never a wrapped size.
    StoredBody broken = body;
    broken.skip = body.file_size + 1;
    EXPECT_EQ(StoredBodyReader::open(spool_.get(), broken).error(), make_error_code(errc::io_error));
  }
}

// A database written with schema v8 (header fields before the file, no skip) opens as v9:
// its spooled messages read back exactly as before, their files whole.
TEST_F(SpooledBodyTest, V8DatabaseUpgradesWithItsPrefixedBodies) {
  const std::string path = dir_.file("q.db");
  const std::string prefix = "DKIM-Signature: v=1; d=example.com;\r\n\tb=abc\r\n";
  const SpoolEntry file = write_body(big_);
  {
    auto db = open_connection(path);
    ASSERT_TRUE(db) << db.error();
    auto reached = migrate(db->get(), schema_migrations().first(8));
    ASSERT_TRUE(reached) << reached.error();
    ASSERT_EQ(*reached, 8);
    const std::string insert = "INSERT INTO messages(direction, listener, client_address, helo, sender, mail_parameters, "
                               "received_at, size, body_file, body_prefix) VALUES(0, 'in', '', 'h', 's@x.example', '', "
                               "1, " + std::to_string(file.size) + ", '" + file.name + "', '" + prefix + "')";
    ASSERT_EQ(execute(db->get(), insert.c_str()), SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt) "
                                 "VALUES(1, 0, 'r@y.example', 0, 0, 0)"),
              SQLITE_OK);
  }
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error();
    EXPECT_EQ(schema_version(store->handle()).value_or(-1), latest_schema_version);
    ASSERT_FALSE(store->begin());
    auto claimed = store->claim_due(10, 1000, 10);
    ASSERT_FALSE(store->commit());
    ASSERT_TRUE(claimed);
    ASSERT_EQ(claimed->size(), 1u);
    const StoredBody& body = claimed->front().body;
    EXPECT_EQ(body.prefix, prefix);
    EXPECT_EQ(body.skip, 0u);
    EXPECT_EQ(body.size(), prefix.size() + big_.size());
    EXPECT_EQ(*load_stored_body(spool_.get(), body), prefix + big_);
    EXPECT_EQ(*load_stored_header_section(spool_.get(), body, 1024 * 1024), prefix + "Subject: big\r\n\r\n");
  }
  auto admin = SqliteAdminStore::open(path);
  ASSERT_TRUE(admin) << admin.error();
  EXPECT_EQ(*admin->body(1), prefix + big_);
}

// `queue list`, `queue show`, `queue summary` and the queue bytes gauge report the size
// delivery sends: the prefix fields and the file, not the file alone.
TEST_F(SpooledBodyTest, AdministratorIsShownTheSizeThatIsDelivered) {
  const std::string prefix = "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com;\r\n\tb=abc\r\n";
  const SpoolEntry file = write_body(big_);
  MessageId id = 0;
  {
    auto store = SqliteStore::open(dir_.file("queue.db"));
    ASSERT_TRUE(store) << store.error();
    ASSERT_FALSE(store->begin());
    NewMessage m = spooled_message(file);
    m.body_prefix = prefix;
    id = store->insert(std::move(m), 0)->id;
    ASSERT_FALSE(store->commit());
  }
  const std::uint64_t delivered = prefix.size() + big_.size();
  auto admin = SqliteAdminStore::open(dir_.file("queue.db"));
  ASSERT_TRUE(admin) << admin.error();
  ASSERT_EQ(admin->body(id)->size(), delivered);
  EXPECT_EQ(admin->show(id)->size, delivered);
  const auto listed = admin->list(QueueFilter{}, 0);
  ASSERT_TRUE(listed) << listed.error();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().size, delivered);
  const auto summary = admin->summary_inputs();
  ASSERT_TRUE(summary) << summary.error();
  ASSERT_EQ(summary->size(), 1u);
  EXPECT_EQ(summary->front().size, delivered);
  EXPECT_EQ(admin->depth()->bytes, delivered);
}

// Start-up: the store's names against the directory, both directions.
TEST_F(SpooledBodyTest, OrphanScanAgainstTheStoreBothWays) {
  auto store = SqliteStore::open(dir_.file("q.db"));
  ASSERT_TRUE(store) << store.error();
  const SpoolEntry lost = write_body(big_);
  const SpoolEntry kept = write_body(big_);
  const SpoolEntry orphan = write_body("no envelope\r\n");
  ASSERT_FALSE(store->begin());
  const MessageId lost_id = store->insert(spooled_message(lost), 0)->id;
  ASSERT_TRUE(store->insert(spooled_message(kept), 0));
  ASSERT_FALSE(store->commit());
  ASSERT_EQ(spool_->remove(lost.name), std::error_code());

  auto known = store->spooled_bodies();
  ASSERT_TRUE(known);
  ASSERT_EQ(known->size(), 2u);
  EXPECT_EQ(known->front().id, lost_id);
  std::vector<SpoolEntry> entries;
  for (const auto& b : *known) entries.push_back({b.file, b.size});
  auto removal = remove_orphans(*spool_, entries);
  ASSERT_TRUE(removal);
  EXPECT_EQ(removal->scan.files_without_envelope, std::vector<std::string>{orphan.name});
  EXPECT_EQ(removal->scan.envelopes_without_file, std::vector<std::string>{lost.name});
  EXPECT_FALSE(on_disk(orphan.name));
  EXPECT_TRUE(on_disk(kept.name));
}

// A database written by the previous version (v6) opens as v7 with its inline bodies
// untouched and deliverable; new spooled messages can be added next to them.
TEST_F(SpooledBodyTest, V6DatabaseUpgradesWithItsInlineBodies) {
  const std::string path = dir_.file("q.db");
  {
    auto db = open_connection(path);
    ASSERT_TRUE(db) << db.error();
    auto reached = migrate(db->get(), schema_migrations().first(6));
    ASSERT_TRUE(reached) << reached.error();
    ASSERT_EQ(*reached, 6);
    ASSERT_EQ(execute(db->get(), "INSERT INTO messages(direction, listener, client_address, helo, sender, "
                                 "mail_parameters, received_at, size) VALUES(0, 'in', '', 'h', 's@x.example', '', 1, 5)"),
              SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO bodies(message_id, data) VALUES(1, 'old\r\n')"), SQLITE_OK);
    ASSERT_EQ(execute(db->get(), "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt) "
                                 "VALUES(1, 0, 'r@y.example', 0, 0, 0)"),
              SQLITE_OK);
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error();
  EXPECT_EQ(schema_version(store->handle()).value_or(-1), latest_schema_version);  // v7 and every later step
  ASSERT_FALSE(store->begin());
  ASSERT_TRUE(store->insert(spooled_message(write_body(big_)), 0));
  auto claimed = store->claim_due(10, 1000, 10);
  ASSERT_FALSE(store->commit());
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_FALSE(claimed->at(0).body.spooled());
  ASSERT_NE(claimed->at(0).body.data, nullptr);
  EXPECT_EQ(*claimed->at(0).body.data, "old\r\n");
  EXPECT_TRUE(claimed->at(1).body.spooled());
}

}  // namespace
}  // namespace queue
