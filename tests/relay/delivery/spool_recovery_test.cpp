// tests/relay/delivery/spool_recovery_test.cpp — start-up reconciliation of the spool:
// an envelope whose body file is missing or short was never acknowledged (the 250 waits
// for the body's flush and the envelope's COMMIT, which run in parallel), so it is
// removed from the queue silently: no failed recipients, no report to the sender. A
// complete body keeps its message; a file no envelope names is deleted. A message that was
// already tried was acknowledged: its lost body fails it with 5.3.0 and a report.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "queue/sqlite_admin_store.hpp"
#include "queue/body_writer.hpp"
#include "queue/spool.hpp"
#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"
#include "relay/delivery/spool_recovery.hpp"
#include "tests/support/spool_body.hpp"
#include "tests/support/temp_dir.hpp"

namespace relay {
namespace {

class SpoolRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = queue::Spool::open(dir_.path().string(), 0x5eed);
    ASSERT_TRUE(opened) << opened.error();
    spool_ = std::move(*opened);
  }

  queue::SpoolEntry write_body(const std::string& text) { return test_support::write_durable_body(*spool_, text); }

  queue::MessageId commit_envelope(queue::SqliteStore& store, const queue::SpoolEntry& file) {
    queue::NewMessage m;
    m.listener = "inbound";
    m.sender = "alice@example.net";
    m.recipients = {"bob@example.com"};
    m.body_file = file.name;
    m.body_file_size = file.size;
    m.received_at = 100;
    EXPECT_FALSE(store.begin());
    auto stored = store.insert(std::move(m), 0);
    EXPECT_TRUE(stored);
    EXPECT_FALSE(store.commit());
    return stored ? stored->id : 0;
  }

  std::int64_t count(const char* sql) {
    auto store = queue::SqliteStore::open(dir_.file("queue.db"));
    EXPECT_TRUE(store);
    if (!store) return -1;
    auto s = queue::Statement::prepare(store->handle(), sql);
    EXPECT_TRUE(s);
    if (!s || s->step() != SQLITE_ROW) return -1;
    return s->column_int64(0);
  }

  std::filesystem::path spool_path(const std::string& name) const { return dir_.path() / "spool" / name; }

  test_support::TempDir dir_;
  std::unique_ptr<queue::Spool> spool_;
  const std::string body_ = std::string(100 * 1024, 'b') + "\r\n";
};

TEST_F(SpoolRecoveryTest, EnvelopeWithoutDurableBodyIsRemovedWithoutReport) {
  queue::MessageId kept = 0, missing = 0, short_body = 0;
  queue::SpoolEntry kept_file, short_file;
  {
    auto store = queue::SqliteStore::open(dir_.file("queue.db"));
    ASSERT_TRUE(store) << store.error();
    kept_file = write_body(body_);
    kept = commit_envelope(*store, kept_file);
    const queue::SpoolEntry lost = write_body(body_);
    missing = commit_envelope(*store, lost);
    ASSERT_FALSE(spool_->remove(lost.name));  // the crash took the file's name
    short_file = write_body(body_);
    short_body = commit_envelope(*store, short_file);
    std::filesystem::resize_file(spool_path(short_file.name), 4096);  // the crash took its tail
  }
  const std::string orphan = "0123456789abcdef-0000000000000001";
  std::ofstream(spool_path(orphan)) << "no envelope names me\r\n";

  auto recovered = recover_spool(conf::Config{}, dir_.file("queue.db"), *spool_, 1000);
  ASSERT_TRUE(recovered) << recovered.error();
  EXPECT_EQ(recovered->orphans_removed, 1u);
  EXPECT_EQ(recovered->never_acknowledged, 2u);

  auto admin = queue::SqliteAdminStore::open(dir_.file("queue.db"));
  ASSERT_TRUE(admin) << admin.error();
  EXPECT_TRUE(admin->show(kept));
  EXPECT_FALSE(admin->show(missing)) << "a message never acknowledged stays in the queue";
  EXPECT_FALSE(admin->show(short_body)) << "a message never acknowledged stays in the queue";
  // Nothing was failed and nothing was reported: the sender never got a 250 for them.
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM recipients WHERE state <> 0"), 0);
  EXPECT_TRUE(std::filesystem::exists(spool_path(kept_file.name)));
  EXPECT_FALSE(std::filesystem::exists(spool_path(short_file.name)));
  EXPECT_FALSE(std::filesystem::exists(spool_path(orphan)));
}

TEST_F(SpoolRecoveryTest, LostBodyOfATriedMessageFailsItWithAReport) {
  queue::MessageId tried = 0;
  {
    auto store = queue::SqliteStore::open(dir_.file("queue.db"));
    ASSERT_TRUE(store) << store.error();
    const queue::SpoolEntry file = write_body(body_);
    tried = commit_envelope(*store, file);
    // One delivery attempt in its history: its 250 was sent before the crash.
    auto s = queue::Statement::prepare(store->handle(),
                                       "INSERT INTO attempts(message_id, idx, at, hop, state, reply) "
                                       "VALUES (?1, 0, 500, 'hub', 1, '451 4.4.1 try later')");
    ASSERT_TRUE(s);
    s->bind(1, tried);
    ASSERT_EQ(s->step(), SQLITE_DONE);
    ASSERT_FALSE(spool_->remove(file.name));  // removed by hand afterwards
  }
  auto recovered = recover_spool(conf::Config{}, dir_.file("queue.db"), *spool_, 1000);
  ASSERT_TRUE(recovered) << recovered.error();
  EXPECT_EQ(recovered->never_acknowledged, 0u);
  EXPECT_EQ(recovered->bodies_lost, 1u);
  EXPECT_EQ(recovered->reports, 1u) << "the sender is told";
  auto admin = queue::SqliteAdminStore::open(dir_.file("queue.db"));
  ASSERT_TRUE(admin) << admin.error();
  auto shown = admin->show(tried);
  ASSERT_TRUE(shown) << "an acknowledged message never leaves the queue silently";
  EXPECT_EQ(count("SELECT count(*) FROM recipients WHERE last_reply LIKE '550 5.3.0%'"), 1);
}

TEST_F(SpoolRecoveryTest, NothingToDoLeavesTheQueueAlone) {
  {
    auto store = queue::SqliteStore::open(dir_.file("queue.db"));
    ASSERT_TRUE(store) << store.error();
    commit_envelope(*store, write_body(body_));
  }
  auto recovered = recover_spool(conf::Config{}, dir_.file("queue.db"), *spool_, 1000);
  ASSERT_TRUE(recovered) << recovered.error();
  EXPECT_EQ(recovered->orphans_removed, 0u);
  EXPECT_EQ(recovered->never_acknowledged, 0u);
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 1);
}

}  // namespace
}  // namespace relay
