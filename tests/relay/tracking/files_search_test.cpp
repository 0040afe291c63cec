// Tests of relay/tracking files, writer and search against a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "relay/tracking/block_filter.hpp"
#include "relay/tracking/files.hpp"
#include "relay/tracking/search.hpp"
#include "relay/tracking/writer.hpp"

namespace relay::tracking {
namespace {
namespace fs = std::filesystem;

class TrackingDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hubrelay-tracking-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Record message(int n, UnixMillis time, Event event = Event::queue) {
  Record r;
  r.time = time;
  r.event = event;
  r.queue_id = "Q" + std::to_string(n);
  r.message_id = "m" + std::to_string(n) + "@test";
  r.sender = "s" + std::to_string(n % 10) + "@senders.example";
  r.recipients = {"r" + std::to_string(n) + "@dom" + std::to_string(n % 7) + ".example"};
  r.client = "192.0.2." + std::to_string(n % 200);
  return r;
}

TEST(TrackingFiles, NamesSortByDayAndSequence) {
  EXPECT_EQ(file_name(0, 0), "tracking-19700101-000.jsonl");
  EXPECT_EQ(file_name(20'000, 12), "tracking-20241004-012.jsonl");
  EXPECT_EQ(day_of(86'400'000), 1);
  EXPECT_EQ(day_of(86'399'999), 0);
}

TEST_F(TrackingDir, AppendRotatesBySizeAndByDay) {
  const UnixMillis day1 = 20'000LL * 86'400'000;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(append_records(dir_, {message(i, day1 + i)}, day1 + i, 1000));
  ASSERT_TRUE(append_records(dir_, {message(99, day1 + 86'400'000)}, day1 + 86'400'000, 1000));
  const auto files = list_files(dir_);
  ASSERT_GT(files.size(), 3u);
  EXPECT_EQ(files.back().day, 20'001);
  EXPECT_EQ(files.back().sequence, 0u);
  for (const auto& f : files) EXPECT_LE(fs::file_size(f.path), 1000u + 400u) << f.path;
  Query all;
  EXPECT_EQ(search(dir_, all).size(), 51u);
}

TEST_F(TrackingDir, RetentionDeletesOldFilesOnly) {
  const UnixMillis now = 20'000LL * 86'400'000;
  ASSERT_TRUE(append_records(dir_, {message(1, now)}, now, 0));
  ASSERT_TRUE(append_records(dir_, {message(2, now + 86'400'000)}, now + 86'400'000, 0));
  auto files = list_files(dir_);
  ASSERT_EQ(files.size(), 2u);
  fs::last_write_time(files[0].path, fs::file_time_type::clock::now() - std::chrono::hours(24 * 40));
  EXPECT_EQ(apply_retention(dir_, std::chrono::hours(24 * 30), {}), 1u);
  files = list_files(dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].day, 20'001);
}

TEST_F(TrackingDir, SearchUsesTheIndexAndFindsTheSameAsAScan) {
  const UnixMillis t0 = 20'000LL * 86'400'000;
  std::vector<Record> batch;
  for (int i = 0; i < 3 * static_cast<int>(block_records) + 100; ++i) batch.push_back(message(i, t0 + i));
  ASSERT_TRUE(append_records(dir_, batch, t0, 0));

  Query q;
  q.recipient = "r5000@dom2.example";  // 5000 % 7 == 2
  SearchStats first;
  auto found = search(dir_, q, {}, &first);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].queue_id, "Q5000");
  EXPECT_EQ(first.blocks_indexed, 3u);
  EXPECT_TRUE(fs::exists(list_files(dir_)[0].path.string() + ".idx"));

  SearchStats second;
  found = search(dir_, q, {}, &second);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(second.blocks_indexed, 0u);
  EXPECT_EQ(second.blocks, 3u);
  EXPECT_LE(second.blocks_read, 2u);           // the one that holds it, perhaps one false positive
  EXPECT_LT(second.records_parsed, 2 * block_records + 200);

  // Domain, sender, client, Message-ID and time range, each against a plain count.
  q = {};
  q.recipient = "dom3.example";
  std::size_t expected = 0;
  for (const auto& r : batch) expected += r.recipients[0].ends_with("@dom3.example");
  EXPECT_EQ(search(dir_, q).size(), expected);
  q = {};
  q.message_id = "<m77@test>";
  found = search(dir_, q);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].queue_id, "Q77");
  q = {};
  q.since = t0 + 100;
  q.until = t0 + 200;
  EXPECT_EQ(search(dir_, q).size(), 100u);
  q = {};
  q.client = "192.0.2.3";
  q.sender = "s3@senders.example";
  expected = 0;
  for (const auto& r : batch) expected += r.client == "192.0.2.3" && *r.sender == "s3@senders.example";
  EXPECT_EQ(search(dir_, q).size(), expected);
}

TEST_F(TrackingDir, AMessageStoryGathersEveryRecordOfItsQueueId) {
  const UnixMillis t0 = 20'000LL * 86'400'000;
  Record deferred = message(7, t0 + 10, Event::defer);
  deferred.message_id.clear();
  deferred.hop = "a";
  Record delivered = message(7, t0 + 20, Event::deliver);
  delivered.message_id.clear();
  delivered.hop = "b";
  ASSERT_TRUE(append_records(dir_, {message(7, t0), message(8, t0 + 1), deferred, delivered}, t0, 0));
  Query q;
  q.message_id = "m7@test";
  auto found = search(dir_, q);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[1].hop, "a");
  EXPECT_EQ(found[2].event, Event::deliver);
  q.events = {Event::deliver};
  EXPECT_EQ(search(dir_, q).size(), 1u);
  q = {};
  q.recipient = "r7@dom0.example";
  q.events = {Event::queue};
  SearchOptions whole;
  whole.whole_messages = true;
  EXPECT_EQ(search(dir_, q, whole).size(), 3u);
}

TEST_F(TrackingDir, ACutLastLineIsSkipped) {
  const UnixMillis t0 = 20'000LL * 86'400'000;
  ASSERT_TRUE(append_records(dir_, {message(1, t0)}, t0, 0));
  {
    std::ofstream cut(list_files(dir_)[0].path, std::ios::app);
    cut << "{\"time\":\"1970-01";
  }
  EXPECT_EQ(search(dir_, {}).size(), 1u);
}

TEST_F(TrackingDir, TheWriterWritesEveryRecordWhole) {
  {
    auto writer = Writer::start({dir_, 0, std::chrono::hours(24)});
    ASSERT_TRUE(writer) << writer.error();
    for (int i = 0; i < 10'000; ++i) (*writer)->emit(message(i, now_ms()));
  }
  const auto files = list_files(dir_);
  ASSERT_FALSE(files.empty());
  std::ifstream in(files.back().path);
  std::string line;
  std::size_t lines = 0;
  while (std::getline(in, line)) {
    ASSERT_TRUE(parse_record(line)) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 10'000u);
}

}  // namespace
}  // namespace relay::tracking
