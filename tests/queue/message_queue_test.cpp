// Tests for queue/message_queue.cpp: the queue thread, group commit, leases, recovery,
// callbacks only after COMMIT, shutdown. Crash and disk-error tests that need a child
// process are in message_queue_crash_test.cpp.
#include "queue/message_queue.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "queue/errc.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

using namespace std::chrono_literals;

// Every wait in this file is bounded; a queue that never answers fails loudly instead of
// hanging the test run. No assertion depends on how long anything took.
constexpr auto wait_limit = 60s;

// One temporary directory per test, removed afterwards.
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("hubrelay-queue") {}
};

template <typename T>
T await(std::future<T>& future) {
  if (future.wait_for(wait_limit) != std::future_status::ready) {
    std::fprintf(stderr, "queue callback did not arrive within the limit\n");
    std::abort();
  }
  return future.get();
}

// A callback that fulfils a promise; the promise is shared so a late callback is harmless.
template <typename T>
struct Pending {
  std::shared_ptr<std::promise<T>> promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  auto callback() {
    return [p = promise](T value) { p->set_value(std::move(value)); };
  }
  T get() { return await(future); }
};

using CommitResult = std::expected<QueuedMessage, std::error_code>;
using ClaimResult = std::expected<std::vector<QueuedMessage>, std::error_code>;
using DueResult = std::expected<std::optional<UnixMillis>, std::error_code>;

NewMessage make_message(int n, std::vector<std::string> recipients = {"bob@example.org"}) {
  NewMessage m;
  m.direction = conf::Direction::inbound;
  m.listener = "inbound";
  m.client_address = "192.0.2.7";
  m.helo = "mx.example.net";
  m.sender = "sender" + std::to_string(n) + "@example.net";
  m.recipients = std::move(recipients);
  m.body = "Subject: message " + std::to_string(n) + "\r\n\r\n" + std::string(2000 + n, 'b');
  m.received_at = 1'000 + n;
  return m;
}

std::unique_ptr<MessageQueue> open_queue(const std::string& path, std::uint32_t max_batch = 512,
                                         std::chrono::milliseconds outcome_wait = MessageQueue::default_outcome_wait) {
  conf::QueueConfig config;
  config.group_commit_max_batch = max_batch;
  auto opened = MessageQueue::open(path, config, nullptr, nullptr, outcome_wait);
  if (!opened) {
    ADD_FAILURE() << opened.error();
    return nullptr;
  }
  return std::move(*opened);
}

CommitResult commit(MessageQueue& q, NewMessage m, UnixMillis lease_until) {
  Pending<CommitResult> done;
  q.commit(std::move(m), lease_until, done.callback());
  return done.get();
}

ClaimResult claim(MessageQueue& q, UnixMillis now, UnixMillis lease_until, std::size_t limit = 100) {
  Pending<ClaimResult> done;
  q.claim_due(now, lease_until, limit, done.callback());
  return done.get();
}

std::error_code record(MessageQueue& q, std::vector<RecipientOutcome> outcomes) {
  Pending<std::error_code> done;
  q.record(std::move(outcomes), done.callback());
  return done.get();
}

DueResult next_due(MessageQueue& q) {
  Pending<DueResult> done;
  q.next_due(done.callback());
  return done.get();
}

// A second, independent connection: sees only what was committed.
std::int64_t count_committed(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  std::int64_t result = -1;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    result = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return result;
}

TEST(MessageQueue, CommittedMessageSurvivesCloseAndReopen) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  NewMessage m = make_message(1, {"bob@example.org", "carol@example.org"});
  const std::string body = m.body;
  const char* const body_bytes = m.body.data();
  MessageId id = 0;
  {
    auto q = open_queue(path);
    ASSERT_TRUE(q);
    auto stored = commit(*q, std::move(m), 1'000'000);
    ASSERT_TRUE(stored) << stored.error().message();
    id = stored->id;
    EXPECT_GT(id, 0);
    ASSERT_NE(stored->body.data, nullptr);
    EXPECT_EQ(stored->body.data->data(), body_bytes) << "the body must move, not be copied";
    ASSERT_EQ(stored->recipients.size(), 2u);
    EXPECT_EQ(stored->recipients[0].index, 0);
    EXPECT_EQ(stored->recipients[1].index, 1);
    EXPECT_EQ(stored->recipients[1].address, "carol@example.org");
    EXPECT_EQ(stored->received_at, 1'001);
  }
  auto q = open_queue(path);
  ASSERT_TRUE(q);
  auto due = next_due(*q);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, std::optional<UnixMillis>{1'000'000});
  auto claimed = claim(*q, 1'000'000, 2'000'000);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  const QueuedMessage& back = claimed->front();
  EXPECT_EQ(back.id, id);
  EXPECT_EQ(back.sender, "sender1@example.net");
  EXPECT_EQ(back.listener, "inbound");
  EXPECT_EQ(back.direction, conf::Direction::inbound);
  ASSERT_EQ(back.recipients.size(), 2u);
  EXPECT_EQ(back.recipients[1].address, "carol@example.org");
  ASSERT_NE(back.body.data, nullptr);
  EXPECT_EQ(*back.body.data, body);
}

TEST(MessageQueue, RecoveryMakesLeasedRecipientsDue) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  constexpr UnixMillis far_lease = 10'000'000'000'000;
  {
    auto q = open_queue(path);
    ASSERT_TRUE(q);
    ASSERT_TRUE(commit(*q, make_message(1, {"a@x", "b@x"}), far_lease));
    ASSERT_TRUE(commit(*q, make_message(2), 5'000));
    // Simulates a crash mid-delivery: message 2 was claimed, never recorded.
    auto claimed = claim(*q, 5'000, far_lease);
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->size(), 1u);
  }
  auto q = open_queue(path);
  ASSERT_TRUE(q);
  auto before = claim(*q, 7'000, 8'000);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->empty()) << "leases survive a restart until recover()";

  auto pending = q->recover(7'000);
  ASSERT_TRUE(pending) << pending.error().message();
  EXPECT_EQ(*pending, 3u);
  auto due = next_due(*q);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, std::optional<UnixMillis>{7'000});
  auto after = claim(*q, 7'000, 8'000);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].recipients.size(), 2u);
}

TEST(MessageQueue, ClaimNeverHandsOutALeasedRecipientTwice) {
  TempDir dir;
  auto q = open_queue(dir.file("queue.db"));
  ASSERT_TRUE(q);
  constexpr int messages = 40;
  for (int n = 0; n < messages; ++n) ASSERT_TRUE(commit(*q, make_message(n, {"a@x", "b@x"}), 0));

  // Eight claimers at once, from four threads: the claims may share a transaction, and
  // still each (message, recipient) goes to exactly one of them.
  std::vector<Pending<ClaimResult>> claims(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&q, &claims, t] {
      for (int k = 0; k < 2; ++k) q->claim_due(100, 60'000, 7, claims[static_cast<std::size_t>(t * 2 + k)].callback());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::pair<MessageId, std::int32_t>> seen;
  std::size_t handed_out = 0;
  for (auto& c : claims) {
    auto result = c.get();
    ASSERT_TRUE(result) << result.error().message();
    for (const QueuedMessage& m : *result) {
      for (const QueuedRecipient& r : m.recipients) {
        EXPECT_TRUE(seen.insert({m.id, r.index}).second) << "recipient handed out twice: " << m.id << "/" << r.index;
        ++handed_out;
      }
    }
  }
  EXPECT_EQ(handed_out, 2u * messages);
  auto again = claim(*q, 59'999, 120'000);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto expired_lease = claim(*q, 60'000, 120'000);
  ASSERT_TRUE(expired_lease);
  EXPECT_EQ(expired_lease->size(), static_cast<std::size_t>(messages));
}

TEST(MessageQueue, RecordDeletesBodyOnlyWhenNoRecipientIsPending) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  auto q = open_queue(path);
  ASSERT_TRUE(q);
  auto partly = commit(*q, make_message(1, {"a@x", "b@x"}), 0);
  auto fully = commit(*q, make_message(2, {"a@x", "b@x"}), 0);
  ASSERT_TRUE(partly && fully);
  const std::string partly_body = "SELECT count(*) FROM bodies WHERE message_id = " + std::to_string(partly->id);
  const std::string fully_body = "SELECT count(*) FROM bodies WHERE message_id = " + std::to_string(fully->id);

  EXPECT_FALSE(record(*q, {{partly->id, 0, RecipientState::delivered, 0, true, "250 ok", "hop1", 10},
                           {partly->id, 1, RecipientState::pending, 90'000, true, "451 4.7.1 try later", "hop1", 10},
                           {fully->id, 0, RecipientState::delivered, 0, true, "250 ok", "hop1", 10},
                           {fully->id, 1, RecipientState::expired, 0, false, "lifetime", "", 10}}));
  EXPECT_EQ(count_committed(path, partly_body), 1);
  EXPECT_EQ(count_committed(path, fully_body), 0);
  EXPECT_EQ(count_committed(path, "SELECT count(*) FROM messages"), 2) << "history rows stay";
  EXPECT_EQ(count_committed(path, "SELECT sum(attempts) FROM recipients"), 3);

  auto claimed = claim(*q, 90'000, 100'000);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ(claimed->front().id, partly->id);
  ASSERT_EQ(claimed->front().recipients.size(), 1u);
  EXPECT_EQ(claimed->front().recipients[0].index, 1);
  EXPECT_EQ(claimed->front().recipients[0].attempts, 1u);

  EXPECT_EQ(record(*q, {{partly->id + fully->id + 10, 0, RecipientState::delivered, 0, true, "250", "h", 1}}),
            errc::not_found);
}

// An outcome waits for the next transaction and shares it: with an outcome wait longer
// than any test, the record() posted before a commit completes in that commit's
// transaction (the commit is counted before any callback of its round runs). Without the
// wait the outcome ran in a transaction of its own, before the commit was posted.
TEST(MessageQueue, OutcomeRidesInTheNextCommitsTransaction) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  auto q = open_queue(path, 512, std::chrono::hours(1));
  ASSERT_TRUE(q);
  auto first = commit(*q, make_message(1), 0);
  ASSERT_TRUE(first);
  Pending<std::uint64_t> committed_when_recorded;
  MessageQueue* raw = q.get();
  q->record({{first->id, 0, RecipientState::delivered, 0, true, "250 ok", "hop1", 10}},
            [raw, p = committed_when_recorded.promise](std::error_code ec) {
              p->set_value(ec ? 0 : raw->counters().messages_committed);
            });
  auto second = commit(*q, make_message(2), 0);
  ASSERT_TRUE(second);
  EXPECT_EQ(committed_when_recorded.get(), 2u) << "the outcome is written with the second message";
  EXPECT_EQ(count_committed(path, "SELECT count(*) FROM recipients WHERE state <> 0"), 1);
}

// Outcomes held back still run: alone once the wait is over, and at shutdown.
TEST(MessageQueue, HeldOutcomesRunAfterTheWaitAndAtShutdown) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  {
    auto q = open_queue(path, 512, std::chrono::milliseconds(1));
    ASSERT_TRUE(q);
    auto m = commit(*q, make_message(1), 0);
    ASSERT_TRUE(m);
    EXPECT_FALSE(record(*q, {{m->id, 0, RecipientState::delivered, 0, true, "250 ok", "hop1", 10}}));
  }
  auto q = open_queue(path, 512, std::chrono::hours(1));
  ASSERT_TRUE(q);
  auto m = commit(*q, make_message(2), 0);
  ASSERT_TRUE(m);
  Pending<std::error_code> recorded;
  q->record({{m->id, 0, RecipientState::delivered, 0, true, "250 ok", "hop1", 10}}, recorded.callback());
  q.reset();  // shutdown: the held outcome is written before the thread ends
  EXPECT_FALSE(recorded.get());
  EXPECT_EQ(count_committed(path, "SELECT count(*) FROM recipients WHERE state <> 0"), 2);
}

TEST(MessageQueue, CommitCallbackRunsOnlyAfterTheRowIsCommitted) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  auto q = open_queue(path);
  ASSERT_TRUE(q);
  constexpr int messages = 20;
  std::vector<Pending<std::int64_t>> seen(messages);
  for (int n = 0; n < messages; ++n) {
    q->commit(make_message(n), 0, [&path, p = seen[static_cast<std::size_t>(n)].promise](CommitResult r) {
      if (!r) {
        p->set_value(-1);
        return;
      }
      const std::string id = std::to_string(r->id);
      p->set_value(count_committed(path, "SELECT count(*) FROM messages WHERE id = " + id) +
                   count_committed(path, "SELECT count(*) FROM bodies WHERE message_id = " + id) +
                   count_committed(path, "SELECT count(*) FROM recipients WHERE message_id = " + id));
    });
  }
  for (auto& s : seen) EXPECT_EQ(s.get(), 3) << "another connection must already see message, body, recipient";
}

// Deterministic batching: the first commit's callback holds the queue thread until all
// 16 × 200 commits are queued, so the following rounds must batch them.
TEST(MessageQueue, GroupCommitBatchesManyConcurrentWriters) {
  TempDir dir;
  constexpr std::uint32_t max_batch = 64;
  auto q = open_queue(dir.file("queue.db"), max_batch);
  ASSERT_TRUE(q);
  constexpr int threads = 16;
  constexpr int per_thread = 200;
  constexpr int total = threads * per_thread;

  std::promise<void> all_posted;
  std::shared_future<void> all_posted_future = all_posted.get_future().share();
  Pending<CommitResult> gate;
  q->commit(make_message(0), 0, [all_posted_future, p = gate.promise](CommitResult r) {
    all_posted_future.wait_for(wait_limit);
    p->set_value(std::move(r));
  });

  std::mutex ids_mutex;
  std::vector<MessageId> ids;
  std::atomic<int> succeeded{0};
  std::atomic<int> finished{0};
  std::promise<void> all_done;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        q->commit(make_message(t * per_thread + i), 0, [&](CommitResult r) {
          if (r) {
            std::lock_guard lock(ids_mutex);
            ids.push_back(r->id);
            ++succeeded;
          }
          if (++finished == total) all_done.set_value();
        });
      }
    });
  }
  for (auto& w : writers) w.join();
  all_posted.set_value();
  ASSERT_TRUE(gate.get());
  auto done = all_done.get_future();
  ASSERT_EQ(done.wait_for(wait_limit), std::future_status::ready);

  EXPECT_EQ(succeeded.load(), total);
  std::set<MessageId> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(total));
  const QueueCounters c = q->counters();
  EXPECT_EQ(c.messages_committed, static_cast<std::uint64_t>(total + 1));
  EXPECT_LT(c.transactions, c.messages_committed);
  EXPECT_EQ(c.largest_batch, max_batch);
  EXPECT_GE(c.transactions, 1u + total / max_batch);
}

// Free-running: writers wait for their own commit like SMTP sessions do. Batching is
// likely but not forced here, so only correctness is asserted.
TEST(MessageQueue, ConcurrentSessionsAllCommitWithUniqueIds) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  auto q = open_queue(path);
  ASSERT_TRUE(q);
  constexpr int threads = 16;
  constexpr int per_thread = 200;
  std::vector<std::vector<MessageId>> ids(threads);
  std::vector<std::thread> sessions;
  for (int t = 0; t < threads; ++t) {
    sessions.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto stored = commit(*q, make_message(t * per_thread + i), 0);
        ids[static_cast<std::size_t>(t)].push_back(stored ? stored->id : -1);
      }
    });
  }
  for (auto& s : sessions) s.join();
  std::set<MessageId> unique;
  for (const auto& v : ids) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(threads * per_thread));
  EXPECT_FALSE(unique.contains(-1));
  EXPECT_EQ(q->counters().messages_committed, static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(count_committed(path, "SELECT count(*) FROM bodies"), threads * per_thread);
}

TEST(MessageQueue, ShutdownRunsQueuedWorkAndRefusesNewCalls) {
  TempDir dir;
  auto q = open_queue(dir.file("queue.db"));
  ASSERT_TRUE(q);
  std::promise<void> shut;
  std::shared_future<void> shut_future = shut.get_future().share();
  Pending<CommitResult> first;
  Pending<CommitResult> from_callback;
  MessageQueue* raw = q.get();
  q->commit(make_message(1), 0, [&, shut_future, p = first.promise](CommitResult r) {
    shut_future.wait_for(wait_limit);
    raw->commit(make_message(2), 0, from_callback.callback());
    p->set_value(std::move(r));
  });
  Pending<CommitResult> queued;  // queued before shutdown: still runs
  q->commit(make_message(3), 0, queued.callback());
  q->shutdown();
  shut.set_value();

  Pending<ClaimResult> late_claim;
  q->claim_due(0, 1, 10, late_claim.callback());
  auto late = late_claim.get();
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), errc::closed);
  auto recovered = q->recover(0);
  ASSERT_FALSE(recovered);
  EXPECT_EQ(recovered.error(), errc::closed);

  EXPECT_TRUE(first.get());
  EXPECT_TRUE(queued.get());
  auto refused = from_callback.get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), errc::closed);
  q.reset();  // joins
}

TEST(MessageQueue, RecoverFromACallbackRunsInline) {
  TempDir dir;
  auto q = open_queue(dir.file("queue.db"));
  ASSERT_TRUE(q);
  Pending<std::expected<std::size_t, std::error_code>> recovered;
  MessageQueue* raw = q.get();
  q->commit(make_message(1, {"a@x", "b@x"}), 9'999'999, [raw, p = recovered.promise](CommitResult r) {
    if (!r) {
      p->set_value(std::unexpected(r.error()));
      return;
    }
    p->set_value(raw->recover(50));
  });
  auto pending = recovered.get();
  ASSERT_TRUE(pending) << pending.error().message();
  EXPECT_EQ(*pending, 2u);
  auto due = next_due(*q);
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, std::optional<UnixMillis>{50});
}

TEST(MessageQueue, NextDueIsEmptyOnAnEmptyQueueAndOpenFailsWithText) {
  TempDir dir;
  auto q = open_queue(dir.file("queue.db"));
  ASSERT_TRUE(q);
  auto due = next_due(*q);
  ASSERT_TRUE(due);
  EXPECT_FALSE(due->has_value());
  EXPECT_EQ(q->counters().transactions, 0u);

  auto bad = MessageQueue::open(dir.file("missing-dir/queue.db"), conf::QueueConfig{});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("missing-dir/queue.db"), std::string::npos) << bad.error();
}

// --- Ids reserved before the commit (the Received: header names them) ------------------

// Hands out `n` reserved ids; when a burst outran the background refill, waits for the
// queue thread (next_due runs after the refill) and asks again, a bounded number of times.
std::vector<MessageId> reserve(MessageQueue& q, std::size_t n) {
  std::vector<MessageId> ids;
  for (std::size_t round = 0; ids.size() < n && round < 4 * n; ++round) {
    if (auto id = q.reserve_id()) {
      ids.push_back(*id);
    } else {
      (void)next_due(q);
    }
  }
  EXPECT_EQ(ids.size(), n);
  return ids;
}

TEST(MessageQueue, ReservedIdsAreStoredAndNeverGivenTwice) {
  TempDir dir;
  const std::string path = dir.file("queue.db");
  std::set<MessageId> given;
  MessageId highest = 0;
  {
    auto q = open_queue(path);
    ASSERT_TRUE(q);
    ASSERT_FALSE(q->prepare_ids());
    const auto reserved = q->reserve_id();
    ASSERT_TRUE(reserved);
    NewMessage m = make_message(1);
    m.id = *reserved;
    auto stored = commit(*q, std::move(m), 1'000);
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_EQ(stored->id, *reserved) << "the message is stored under the id its header names";
    given.insert(*reserved);
    // Another writer (a bounce here; the CLI on its own connection) takes the next free
    // id, which lies past every reserved block.
    auto other = commit(*q, make_message(2), 1'000);
    ASSERT_TRUE(other);
    // Three blocks' worth: refills happen in the background; no id comes twice and none
    // is the other writer's.
    for (const MessageId id : reserve(*q, 3000)) {
      EXPECT_TRUE(given.insert(id).second) << id;
      EXPECT_NE(id, other->id);
      highest = std::max(highest, id);
    }
  }
  // After a restart, ids handed out but never committed are not handed out again.
  auto q = open_queue(path);
  ASSERT_TRUE(q);
  ASSERT_FALSE(q->prepare_ids());
  const auto after = q->reserve_id();
  ASSERT_TRUE(after);
  EXPECT_GT(*after, highest);
  EXPECT_EQ(count_committed(path, "SELECT count(*) FROM messages"), 2);
}

TEST(MessageQueue, ReserveIdBeforePrepareAsksForABlock) {
  TempDir dir;
  auto q = open_queue(dir.file("queue.db"));
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->reserve_id()) << "nothing reserved yet: the caller answers 4xx";
  (void)next_due(*q);  // the block asked for above has arrived
  EXPECT_TRUE(q->reserve_id());
}

}  // namespace
}  // namespace queue
