// tests/relay/delivery/spool_recovery_test.cpp — start-up reconciliation of the spool:
// an envelope whose body file is missing or short was never acknowledged (the 250 waits
// for the body's flush and the envelope's COMMIT, which run in parallel), so it is
// removed from the queue silently: no failed recipients, no report to the sender. A
// complete body keeps its message; a file no envelope names is deleted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "queue/admin_store.hpp"
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

  auto admin = queue::AdminStore::open(dir_.file("queue.db"));
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
