// Tests for queue/message_queue.cpp that need a child process: SIGKILL while committing
// (nothing acknowledged may be lost), and a real disk error in the middle of a group
// commit (the commit fails, nothing is half stored, other callers are unaffected).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <semaphore>

#include "queue/errc.hpp"
#include "queue/message_queue.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

using namespace std::chrono_literals;

// One temporary directory per test, removed afterwards.
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("hubrelay-crash") {}
};

std::string body_for(std::int64_t seq) {
  return "X-Seq: " + std::to_string(seq) + "\r\n\r\n" +
         std::string(4096 + static_cast<std::size_t>(seq % 1000), static_cast<char>('a' + seq % 26));
}

NewMessage message_for(std::int64_t seq, std::size_t body_size = 0) {
  NewMessage m;
  m.listener = "inbound";
  m.sender = "s" + std::to_string(seq) + "@example.net";
  m.recipients = {"r" + std::to_string(seq) + "@example.org"};
  m.body = body_size == 0 ? body_for(seq) : std::string(body_size, 'B');
  m.received_at = seq;
  return m;
}

void write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

struct Ack {
  std::int64_t id;   // > 0, or -(error value) when the commit failed
  std::int64_t seq;
};

// Child: commits up to 2000 messages, at most 32 in flight, and reports each one only
// from its commit callback — the moment a session would answer 250.
[[noreturn]] void run_committer(const std::string& path, int report_fd) {
  auto opened = MessageQueue::open(path, conf::QueueConfig{});
  if (!opened) _exit(2);
  std::unique_ptr<MessageQueue> q = std::move(*opened);
  std::counting_semaphore<32> in_flight(32);
  for (std::int64_t seq = 0; seq < 2000; ++seq) {
    if (!in_flight.try_acquire_for(30s)) _exit(4);
    q->commit(message_for(seq), 1'000'000, [report_fd, seq, &in_flight](auto result) {
      const Ack ack{result ? result->id : -result.error().value(), seq};
      write_all(report_fd, &ack, sizeof ack);  // 16 bytes < PIPE_BUF: atomic
      in_flight.release();
    });
  }
  q.reset();
  _exit(0);
}

std::string read_body(sqlite3* db, std::int64_t id, bool& found) {
  sqlite3_stmt* s = nullptr;
  std::string body;
  found = false;
  if (sqlite3_prepare_v2(db, "SELECT b.data FROM bodies b JOIN messages m ON m.id = b.message_id WHERE m.id = ?1",
                         -1, &s, nullptr) == SQLITE_OK) {
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
      found = true;
      body.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)),
                  static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    }
  }
  sqlite3_finalize(s);
  return body;
}

std::int64_t scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    value = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  return value;
}

std::string integrity(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  return result;
}

/// Forks a child running `body(path, write end of a pipe)`; `body` never returns. The
/// parent gets the child's pid (-1 on failure) and the read end.
struct Child {
  pid_t pid = -1;
  int read_fd = -1;
};

Child spawn_child(const std::string& path, void (*body)(const std::string&, int)) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    body(path, fds[1]);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return {};
  }
  return {pid, fds[0]};
}

TEST(MessageQueueCrash, EveryAcknowledgedMessageSurvivesSigkill) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  const auto [child, read_fd] = spawn_child(path, run_committer);
  ASSERT_GE(child, 0);

  // Kill after 300 acknowledgements (mid-way through 2000) or after 10 s, whichever first.
  std::vector<Ack> acks;
  std::string buffer;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool eof = false;
  auto read_some = [&](int timeout_ms) {
    pollfd p{read_fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return;
    char chunk[4096];
    const ssize_t n = read(read_fd, chunk, sizeof chunk);
    if (n <= 0) {
      eof = true;
      return;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
    while (buffer.size() >= sizeof(Ack)) {
      Ack ack;
      std::memcpy(&ack, buffer.data(), sizeof ack);
      acks.push_back(ack);
      buffer.erase(0, sizeof ack);
    }
  };
  while (!eof && acks.size() < 300 && std::chrono::steady_clock::now() < deadline) read_some(100);
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  // Acknowledgements already in the pipe were given before the kill: they count too.
  for (int i = 0; i < 1000 && !eof; ++i) read_some(0);
  close(read_fd);
  if (WIFEXITED(status)) {
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child failed before the kill";
  }

  ASSERT_FALSE(acks.empty()) << "child acknowledged nothing";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  for (const Ack& ack : acks) {
    ASSERT_GT(ack.id, 0) << "commit of seq " << ack.seq << " failed with error " << -ack.id;
    bool found = false;
    const std::string body = read_body(db, ack.id, found);
    ASSERT_TRUE(found) << "acknowledged message " << ack.id << " (seq " << ack.seq << ") lost";
    EXPECT_EQ(body, body_for(ack.seq)) << "message " << ack.id;
  }
  EXPECT_EQ(integrity(db), "ok");
  const std::int64_t stored = scalar(db, "SELECT count(*) FROM messages");
  EXPECT_GE(stored, static_cast<std::int64_t>(acks.size()));
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM messages m WHERE NOT EXISTS "
                       "(SELECT 1 FROM bodies b WHERE b.message_id = m.id)"),
            0)
      << "a message without its body was committed";
  sqlite3_close(db);

  // Start-up after the crash: every stored recipient becomes due again.
  auto reopened = MessageQueue::open(path, conf::QueueConfig{});
  ASSERT_TRUE(reopened) << reopened.error();
  auto pending = (*reopened)->recover(5);
  ASSERT_TRUE(pending) << pending.error().message();
  EXPECT_EQ(static_cast<std::int64_t>(*pending), stored);
}

// Report of the disk-error child, written as one block.
struct DiskErrorReport {
  int first_ok = 0;
  int big_error_is_queue = 0;
  int big_error = 0;
  int next_due_ok = 0;
  int claimed = -1;
  int later_ok = 0;
  int before_ok = 0;
};

// Child: a file size limit makes the WAL write of one big message fail for real
// (EFBIG → SQLITE_IOERR_WRITE or SQLITE_FULL) in a batch it shares with other jobs.
[[noreturn]] void run_disk_error(const std::string& path, int report_fd) {
  signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
  DiskErrorReport report;
  auto opened = MessageQueue::open(path, conf::QueueConfig{});
  if (!opened) _exit(2);
  std::unique_ptr<MessageQueue> q = std::move(*opened);
  const rlimit limit{1 << 20, 1 << 20};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(5);

  using CommitResult = std::expected<QueuedMessage, std::error_code>;
  std::promise<CommitResult> first;
  q->commit(message_for(1), 0, [&first](CommitResult r) { first.set_value(std::move(r)); });
  report.first_ok = first.get_future().get().has_value();

  // Hold the queue thread in a callback until the big commit and two reads are queued,
  // so all three share the next transaction.
  std::promise<void> entered, release;
  std::promise<CommitResult> before;
  q->commit(message_for(2), 0, [&entered, &release, &before](CommitResult r) {
    entered.set_value();
    release.get_future().wait_for(30s);
    before.set_value(std::move(r));
  });
  if (entered.get_future().wait_for(30s) != std::future_status::ready) _exit(6);
  std::promise<CommitResult> big;
  std::promise<std::expected<std::optional<UnixMillis>, std::error_code>> due;
  std::promise<std::expected<std::vector<QueuedMessage>, std::error_code>> claim;
  NewMessage huge = message_for(3, 3 << 20);
  huge.sender = "big@example.net";
  q->commit(std::move(huge), 0, [&big](CommitResult r) { big.set_value(std::move(r)); });
  q->next_due([&due](auto r) { due.set_value(std::move(r)); });
  q->claim_due(10, 20, 10, [&claim](auto r) { claim.set_value(std::move(r)); });
  release.set_value();

  report.before_ok = before.get_future().get().has_value();
  auto big_result = big.get_future().get();
  if (!big_result) {
    report.big_error_is_queue = &big_result.error().category() == &queue_category();
    report.big_error = big_result.error().value();
  }
  report.next_due_ok = due.get_future().get().has_value();
  auto claimed = claim.get_future().get();
  report.claimed = claimed ? static_cast<int>(claimed->size()) : -1;

  std::promise<CommitResult> later;
  q->commit(message_for(4), 0, [&later](CommitResult r) { later.set_value(std::move(r)); });
  report.later_ok = later.get_future().get().has_value();
  q.reset();
  write_all(report_fd, &report, sizeof report);
  _exit(0);
}

TEST(MessageQueueCrash, DiskErrorFailsTheCommitAndStoresNothingOfIt) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  const auto [child, read_fd] = spawn_child(path, run_disk_error);
  ASSERT_GE(child, 0);
  DiskErrorReport report;
  std::size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (got < sizeof report && std::chrono::steady_clock::now() < deadline) {
    pollfd p{read_fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(read_fd, reinterpret_cast<char*>(&report) + got, sizeof report - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(read_fd);
  if (got < sizeof report) kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child died";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(got, sizeof report);

  EXPECT_TRUE(report.first_ok);
  EXPECT_TRUE(report.before_ok);
  EXPECT_TRUE(report.big_error_is_queue) << "big commit did not fail with a queue error";
  const auto big_error = static_cast<errc>(report.big_error);
  EXPECT_TRUE(big_error == errc::io_error || big_error == errc::storage_full)
      << make_error_code(big_error).message();
  EXPECT_TRUE(report.next_due_ok) << "a read sharing the failed batch must be retried alone";
  EXPECT_EQ(report.claimed, 2) << "the claim sharing the failed batch must be retried alone";
  EXPECT_TRUE(report.later_ok) << "the queue must keep working after the error";

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  EXPECT_EQ(integrity(db), "ok");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM messages"), 3);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM bodies"), 3);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM recipients"), 3);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM messages WHERE sender = 'big@example.net'"), 0);
  sqlite3_close(db);
}

}  // namespace
}  // namespace queue
