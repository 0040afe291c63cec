// Tests of queue/spool, queue/spool_name, queue/body_writer, queue/body_reader and
// queue/body_sync_pool against a real directory: names, chunked writes, abandon, finish
// and sync, reading back, and that nothing leaks a descriptor.
#include "queue/spool.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "queue/body_reader.hpp"
#include "queue/body_sync_pool.hpp"
#include "queue/body_writer.hpp"
#include "queue/errc.hpp"
#include "queue/spool_name.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

namespace fs = std::filesystem;

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

// Deterministic, line-shaped octets: every position distinct enough to catch a
// misplaced or repeated chunk.
std::string message_of(std::size_t size) {
  std::string text;
  text.reserve(size);
  for (std::size_t i = 0; text.size() < size; ++i) {
    text += "line " + std::to_string(i) + " of the body\r\n";
  }
  text.resize(size);
  return text;
}

std::unique_ptr<Spool> open_spool(const test_support::TempDir& dir, std::uint64_t instance = 0x1234) {
  auto spool = Spool::open(dir.path().string(), instance);
  EXPECT_TRUE(spool.has_value()) << spool.error();
  return spool ? std::move(*spool) : nullptr;
}

// Finishes `writer` and reads its file back whole ("" with a test failure if either fails).
std::string finish_and_read(const Spool& spool, BodyWriter& writer) {
  auto body = writer.finish();
  EXPECT_TRUE(body.has_value());
  if (!body) return {};
  auto back = read_whole_body(spool, body->name());
  EXPECT_TRUE(back.has_value());
  return back ? *back : std::string();
}

// One complete body holding `text`, not yet synced or released.
FinishedBody store_body(Spool& spool, std::string_view text) {
  auto writer = BodyWriter::create(spool);
  EXPECT_TRUE(writer.has_value());
  if (!writer) return {};
  EXPECT_FALSE(writer->append(text));
  auto body = writer->finish();
  EXPECT_TRUE(body.has_value());
  return body ? std::move(*body) : FinishedBody();
}

std::vector<std::string> files_in(const Spool& spool) {
  auto entries = spool.list();
  EXPECT_TRUE(entries.has_value());
  std::vector<std::string> names;
  if (entries) {
    for (auto& entry : *entries) names.push_back(std::move(entry.name));
  }
  return names;
}

// --- names and the directory ------------------------------------------------------------

TEST(SpoolName, FormatsAndRecognisesItsOwnNamesOnly) {
  EXPECT_EQ(format_spool_name(0x00ab, 0x10), "00000000000000ab-0000000000000010");
  EXPECT_TRUE(is_spool_name(format_spool_name(~0ULL, 0)));
  EXPECT_FALSE(is_spool_name(""));
  EXPECT_FALSE(is_spool_name("00000000000000ab-000000000000001"));    // short
  EXPECT_FALSE(is_spool_name("00000000000000AB-0000000000000010"));   // upper case
  EXPECT_FALSE(is_spool_name("00000000000000ab_0000000000000010"));   // separator
  EXPECT_FALSE(is_spool_name("../../../queue.db-00000000000000001"));  // not hex
}

TEST(Spool, CreatesThePrivateDirectoryOnce) {
  test_support::TempDir dir("spool");
  {
    auto spool = open_spool(dir);
    ASSERT_TRUE(spool);
    EXPECT_EQ(spool->path(), (dir.path() / "spool").string());
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "spool").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Reopening an existing directory works and narrows wider modes.
  ASSERT_EQ(::chmod((dir.path() / "spool").c_str(), 0755), 0);
  ASSERT_TRUE(open_spool(dir));
  ASSERT_EQ(::stat((dir.path() / "spool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(Spool, OpenFailsWithTextWhenStateDirIsMissing) {
  test_support::TempDir dir("spool");
  auto spool = Spool::open((dir.path() / "absent").string(), 1);
  ASSERT_FALSE(spool.has_value());
  EXPECT_NE(spool.error().find("mkdir"), std::string::npos);
}

TEST(Spool, NamesAreUniqueAcrossTwoRestarts) {
  test_support::TempDir dir("spool");
  std::vector<std::string> names;
  // Two "processes" in turn; the second gets the same instance (the 2^-64 case) to
  // show O_EXCL moves it past the names the first one left.
  for (int restart = 0; restart < 2; ++restart) {
    auto spool = open_spool(dir, 0x42);
    ASSERT_TRUE(spool);
    for (int i = 0; i < 3; ++i) names.push_back(store_body(*spool, "x").release());
  }
  std::ranges::sort(names);
  EXPECT_EQ(std::ranges::unique(names).begin(), names.end());
  // And with different instances (the normal case) the names differ from the first.
  auto a = open_spool(dir, 1);
  auto b = open_spool(dir, 2);
  auto fa = a->create();
  auto fb = b->create();
  ASSERT_TRUE(fa && fb);
  EXPECT_NE(fa->name, fb->name);
  EXPECT_EQ(files_in(*a).size(), names.size() + 2);
}

TEST(Spool, DefaultOpenDrawsARandomInstance) {
  test_support::TempDir first("spool");
  test_support::TempDir second("spool");
  auto a = Spool::open(first.path().string());
  auto b = Spool::open(second.path().string());
  ASSERT_TRUE(a && b);
  auto fa = (*a)->create();
  auto fb = (*b)->create();
  ASSERT_TRUE(fa && fb);
  EXPECT_NE(fa->name, fb->name);
}

TEST(Spool, RemoveIsIdempotentAndRefusesForeignNames) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  auto file = spool->create();
  ASSERT_TRUE(file);
  EXPECT_FALSE(spool->remove(file->name));
  EXPECT_FALSE(spool->remove(file->name));  // gone already: still success
  EXPECT_EQ(spool->remove("../queue.db"), std::errc::invalid_argument);
  EXPECT_TRUE(files_in(*spool).empty());
  EXPECT_FALSE(spool->sync_directory());
}

TEST(Spool, ListSkipsForeignEntries) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  auto file = spool->create();
  ASSERT_TRUE(file);
  std::ofstream(dir.path() / "spool" / "README").put('x');
  fs::create_directory(dir.path() / "spool" / "lost+found");
  EXPECT_EQ(files_in(*spool), std::vector<std::string>{file->name});
}

TEST(Spool, ErrorsMapOntoTheQueueReplies) {
  EXPECT_EQ(to_queue_error(std::error_code(ENOSPC, std::system_category())), errc::storage_full);
  EXPECT_EQ(to_queue_error(std::error_code(EDQUOT, std::system_category())), errc::storage_full);
  EXPECT_EQ(to_queue_error(std::error_code(EIO, std::system_category())), errc::io_error);
  EXPECT_EQ(to_queue_error(errc::closed), errc::closed);
  EXPECT_FALSE(to_queue_error({}));
}

// --- writing ----------------------------------------------------------------------------

TEST(BodyWriter, ChunksBiggerThanTheBufferArriveInOrder) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  const std::string message = message_of(1'000'003);
  auto writer = BodyWriter::create(*spool, 4096);
  ASSERT_TRUE(writer);
  // Chunk sizes below, equal to and above the buffer, including empty ones.
  const std::size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 10000, 65536, 3};
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < message.size(); ++i) {
    const std::size_t n = std::min(sizes[i % std::size(sizes)], message.size() - pos);
    ASSERT_FALSE(writer->append(std::string_view(message).substr(pos, n)));
    pos += n;
    EXPECT_EQ(writer->size(), pos);
    EXPECT_LT(writer->pending().size(), 4096u);  // the buffer stays bounded
  }
  EXPECT_TRUE(finish_and_read(*spool, *writer) == message);

  // A decoder appends into the writer's own buffer (no copy), then flush_if_full().
  auto decoded = BodyWriter::create(*spool, 8192);
  ASSERT_TRUE(decoded);
  for (std::size_t at = 0; at < message.size(); at += 1500) {
    decoded->pending().append(std::string_view(message).substr(at, 1500));
    ASSERT_FALSE(decoded->flush_if_full());
    EXPECT_LT(decoded->pending().size(), 8192u);
  }
  EXPECT_TRUE(finish_and_read(*spool, *decoded) == message);
}

TEST(BodyWriter, TraceHeaderFirstThenTheMessage) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  auto writer = BodyWriter::create(*spool);
  ASSERT_TRUE(writer);
  ASSERT_FALSE(writer->append("Received: from a\r\n\tby b; Fri, 4 Dec 2026 19:00:00 +0000\r\n"));
  ASSERT_FALSE(writer->append("Subject: x\r\n\r\nbody\r\n"));
  EXPECT_EQ(finish_and_read(*spool, *writer), "Received: from a\r\n\tby b; Fri, 4 Dec 2026 19:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n");
}

TEST(BodyWriter, AbandonAndDropRemoveTheFile) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  {
    auto writer = BodyWriter::create(*spool, 16);
    ASSERT_TRUE(writer);
    ASSERT_FALSE(writer->append(message_of(100)));  // some of it on disk already
    EXPECT_EQ(files_in(*spool).size(), 1u);
    writer->abandon();  // RSET, 552
    EXPECT_TRUE(files_in(*spool).empty());
    writer->abandon();  // idempotent
    EXPECT_EQ(writer->append("more"), std::errc::bad_file_descriptor);
  }
  {
    auto writer = BodyWriter::create(*spool);  // client gone: dropped mid-message
    ASSERT_TRUE(writer);
    ASSERT_FALSE(writer->append("half a message"));
    BodyWriter moved = std::move(*writer);  // moving hands ownership on, not twice
    EXPECT_EQ(files_in(*spool).size(), 1u);
  }
  EXPECT_TRUE(files_in(*spool).empty());
}

TEST(BodyWriter, UncommittedFinishedBodyIsRemovedCommittedOneKept) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  std::string kept;
  {
    FinishedBody a = store_body(*spool, "a");
    FinishedBody b = store_body(*spool, "b");
    EXPECT_EQ(files_in(*spool).size(), 2u);
    kept = b.release();  // b's envelope committed; a's commit failed (4xx)
  }
  EXPECT_EQ(files_in(*spool), std::vector<std::string>{kept});
}

// A write that fails (here EFBIG under a file size limit, standing in for ENOSPC) is
// returned, stays returned, and finish() then removes the file instead of handing it on.
TEST(BodyWriter, WriteErrorIsStickyAndFinishRemovesTheFile) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 10'000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto writer = BodyWriter::create(*spool, 4096);
  std::error_code first;
  for (int i = 0; i < 10 && !first; ++i) first = writer->append(message_of(4096));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(first, std::errc::file_too_large);
  EXPECT_EQ(writer->append("x"), first);
  EXPECT_EQ(writer->error(), first);
  EXPECT_EQ(to_queue_error(first), errc::io_error);
  auto body = writer->finish();
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(body.error(), first);
  EXPECT_TRUE(files_in(*spool).empty());
}

// --- syncing ----------------------------------------------------------------------------

TEST(BodySyncPool, SyncsFinishedBodiesAndReportsThem) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<FinishedBody> done;
  std::vector<std::error_code> errors;
  constexpr int messages = 8;
  {
    BodySyncPool pool(3);
    for (int i = 0; i < messages; ++i) {
      FinishedBody body = store_body(*spool, message_of(10'000 + i));
      EXPECT_FALSE(body.synced());
      pool.submit(std::move(body), [&](FinishedBody synced, std::error_code ec) {
        std::lock_guard lock(mutex);
        done.push_back(std::move(synced));
        errors.push_back(ec);
        cv.notify_one();
      });
    }
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done.size() == messages; }));
  }
  for (const auto& ec : errors) EXPECT_FALSE(ec) << ec.message();
  for (const auto& body : done) EXPECT_TRUE(body.synced());
  EXPECT_EQ(files_in(*spool).size(), std::size_t{messages});
  EXPECT_FALSE(spool->sync_directory());
  for (auto& body : done) static_cast<void>(body.release());
  done.clear();
  EXPECT_EQ(files_in(*spool).size(), std::size_t{messages});
}

TEST(BodySyncPool, ShutdownRunsQueuedWorkThenRefusesNewWork) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  BodySyncPool pool(1);
  std::atomic<int> synced{0};
  for (int i = 0; i < 5; ++i) {
    pool.submit(store_body(*spool, "x"), [&](FinishedBody, std::error_code ec) {
      if (!ec) ++synced;
    });
  }
  pool.shutdown();
  EXPECT_EQ(synced.load(), 5);
  EXPECT_TRUE(files_in(*spool).empty());  // nobody released them: all removed
  std::optional<std::error_code> refused;
  pool.submit(store_body(*spool, ""), [&](FinishedBody, std::error_code ec) { refused = ec; });
  ASSERT_TRUE(refused.has_value());  // at once, on this thread
  EXPECT_EQ(*refused, errc::closed);
  pool.shutdown();  // idempotent
}

// --- reading ----------------------------------------------------------------------------

TEST(BodyReader, ChunksEqualTheInputByteForByte) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  const std::string message = message_of(300'007);
  FinishedBody body = store_body(*spool, message);
  auto reader = BodyReader::open(*spool, body.name());
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->size(), message.size());
  for (int pass = 0; pass < 2; ++pass) {  // the second pass is the next hop
    std::string back;
    std::array<char, 7000> chunk{};
    for (int reads = 0; reads < 1000; ++reads) {
      auto n = reader->read(chunk);
      ASSERT_TRUE(n);
      if (*n == 0) break;
      back.append(chunk.data(), *n);
    }
    EXPECT_TRUE(back == message) << "pass " << pass;
    reader->rewind();
  }
}

TEST(BodyReader, MissingBodyIsReportedNotThrown) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  auto reader = BodyReader::open(*spool, format_spool_name(9, 9));
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(BodyReader::open(*spool, "../queue.db").error(), std::errc::invalid_argument);
}

TEST(BodyReader, HeaderSectionStopsAtTheFirstEmptyLine) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  auto store = [&](const std::string& text) { return store_body(*spool, text).release(); };
  // The empty line straddles the 4096-octet read chunk.
  const std::string long_header = "X-Pad: " + std::string(4085, 'p') + "\r\n";
  ASSERT_EQ(long_header.size(), 4094u);
  EXPECT_EQ(*read_header_section(*spool, store(long_header + "\r\nbody\r\n"), 100'000), long_header + "\r\n");
  EXPECT_EQ(*read_header_section(*spool, store("A: 1\r\n\r\nbody\r\n\r\n"), 100'000), "A: 1\r\n\r\n");
  EXPECT_EQ(*read_header_section(*spool, store("\r\nbody only\r\n"), 100'000), "\r\n");
  EXPECT_EQ(*read_header_section(*spool, store("A: 1\r\nB: 2\r\n"), 100'000), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(*read_header_section(*spool, store("A: 1\r\nB: 2\r\n\r\n"), 5), "A: 1\r");
}

// --- descriptors ------------------------------------------------------------------------

TEST(Spool, NothingLeaksADescriptor) {
  test_support::TempDir dir("spool");
  const std::size_t before = open_descriptors();
  {
    auto spool = open_spool(dir);
    BodySyncPool pool(2);
    std::atomic<int> pending{0};
    for (int i = 0; i < 20; ++i) {
      auto writer = BodyWriter::create(*spool, 1024);
      ASSERT_TRUE(writer);
      ASSERT_FALSE(writer->append(message_of(5000)));
      if (i % 4 == 0) continue;  // dropped: abandoned
      auto body = writer->finish();
      ASSERT_TRUE(body);
      auto reader = BodyReader::open(*spool, body->name());
      ASSERT_TRUE(reader);
      if (i % 4 == 1) continue;  // finished, never synced, dropped
      ++pending;
      pool.submit(std::move(*body), [&](FinishedBody, std::error_code) { --pending; });
    }
    pool.shutdown();
    EXPECT_EQ(pending.load(), 0);
    ASSERT_TRUE(read_whole_body(*spool, spool->create()->name));
    ASSERT_TRUE(spool->list());
  }
  EXPECT_EQ(open_descriptors(), before);
}

// Coalesced directory fsyncs: a file waits for a flush begun after its creation; one flush
// covers every file created before it began.
TEST(Spool, DirectoryTicketsAreCoveredByLaterFlushesOnly) {
  test_support::TempDir dir("spool");
  auto spool = open_spool(dir);
  auto first = spool->create();
  auto second = spool->create();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->directory_ticket, 1u);
  EXPECT_EQ(second->directory_ticket, 1u) << "no flush began in between: the same one covers both";
  EXPECT_FALSE(spool->sync_directory_for(second->directory_ticket));
  EXPECT_FALSE(spool->sync_directory_for(first->directory_ticket));  // done already
  auto third = spool->create();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->directory_ticket, 2u) << "created after flush 1 began: needs the next";
  EXPECT_FALSE(spool->sync_directory_for(third->directory_ticket));
}

}  // namespace
}  // namespace queue
