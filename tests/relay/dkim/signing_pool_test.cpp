// tests/relay/dkim/signing_pool_test.cpp — signing off the I/O thread: results come back on
// the awaiting coroutine's thread, many jobs in flight all complete, and a closed pool
// answers at once with a failure instead of hanging the session.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "relay/dkim/signing_pool.hpp"

namespace relay::dkim {
namespace {

namespace asio = boost::asio;

constexpr std::string_view headers = "From: a@example.com\r\nTo: b@example.net\r\nSubject: pool\r\n";

SignJob job_for(const SignerPtr& signer) {
  auto hasher = signer->body_hasher(conf::Direction::outbound);
  hasher.feed("body\r\n");
  return SignJob{signer, std::string(headers), hasher.finish(), conf::Direction::outbound, 1'700'000'000};
}

SignerPtr test_signer() {
  auto key = SigningKey::generate(Algorithm::ed25519_sha256, 0);
  SignerSettings settings{.name = "t", .identity = {"example.com", "s1", false}};
  return std::make_shared<const Signer>(std::vector<KeyedSettings>{{settings, *key}});
}

TEST(SigningPool, ResultsComeBackOnTheAwaitingThread) {
  const SignerPtr signer = test_signer();
  SigningPool pool(2);
  asio::io_context io(1);
  constexpr int jobs = 50;
  int done = 0;
  bool all_on_io_thread = true;
  const auto io_thread = std::this_thread::get_id();
  for (int i = 0; i < jobs; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          const Signer::Result result = co_await sign_message(pool, job_for(signer));
          all_on_io_thread = all_on_io_thread && std::this_thread::get_id() == io_thread;
          EXPECT_TRUE(result.failures.empty());
          EXPECT_EQ(result.signatures.size(), 1u);
          EXPECT_TRUE(result.fields.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"));
          ++done;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(done, jobs);
  EXPECT_TRUE(all_on_io_thread);
}

TEST(SigningPool, ClosedPoolAnswersAtOnce) {
  SigningPool pool(1);
  pool.shutdown();
  bool called = false;
  pool.submit(job_for(test_signer()), [&](Signer::Result result) {
    called = true;
    ASSERT_EQ(result.failures.size(), 1u);
    EXPECT_EQ(result.failures[0], "signing pool closed");
    EXPECT_TRUE(result.fields.empty());
  });
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace relay::dkim
