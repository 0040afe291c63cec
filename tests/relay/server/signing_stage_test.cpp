// tests/relay/server/signing_stage_test.cpp — DKIM signing before the commit when it
// fails at run time: the spooled body a content filter left cannot be read again. The
// message is left as it was (committed unsigned, never refused), each key it cost is
// counted under hubrelay_dkim_failures_total's labels, and an error line names the key.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>

#include "queue/body_writer.hpp"
#include "queue/spool.hpp"
#include "relay/dkim/signing_pool.hpp"
#include "relay/server/signing_stage.hpp"

namespace relay {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

constexpr std::string_view message_text =
    "From: alice@example.com\r\nTo: bob@example.net\r\nSubject: stage\r\n\r\nbody line\r\n";

using FailureKey = std::tuple<std::string, std::string, std::string>;

/// Every spdlog line while alive, for the error line an administrator reads.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

class SigningStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hubrelay-signing-stage-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto spool = queue::Spool::open(dir_.string());
    ASSERT_TRUE(spool) << spool.error();
    spool_ = std::move(*spool);
    auto key = dkim::SigningKey::generate(dkim::Algorithm::ed25519_sha256, 0);
    ASSERT_TRUE(key);
    dkim::SignerSettings settings{.name = "main", .identity = {"example.com", "s2026e", false}};
    signer_ = std::make_shared<const dkim::Signer>(std::vector<dkim::KeyedSettings>{{settings, *key}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// The message written to a spool file, as the body spooler leaves a large one.
  std::optional<queue::FinishedBody> spooled() {
    auto writer = queue::BodyWriter::create(*spool_);
    EXPECT_TRUE(writer);
    EXPECT_FALSE(writer->append(message_text));
    auto finished = writer->finish();
    EXPECT_TRUE(finished);
    return std::move(*finished);
  }

  /// Runs stage.sign() to its end on an I/O context of this thread.
  std::string sign(SigningStage& stage, queue::NewMessage& message, std::optional<queue::FinishedBody>& file,
                   bool changed) {
    asio::io_context io;
    auto done = asio::co_spawn(io, stage.sign(message, file, 1, ContentChanges{changed, changed}), asio::use_future);
    io.run();
    return done.get();
  }

  fs::path body_path(const queue::FinishedBody& file) const { return fs::path(spool_->path()) / file.name(); }

  fs::path dir_;
  std::unique_ptr<queue::Spool> spool_;
  dkim::SignerPtr signer_;
  dkim::SigningPool pool_{1};
  ListenerCounters counters_;
};

TEST_F(SigningStageTest, AFilteredSpooledBodyIsReadAgainAndSigned) {
  SigningStage stage(signer_, &pool_, conf::Direction::outbound, counters_, "s1", spool_.get());
  ASSERT_TRUE(stage.enabled());
  queue::NewMessage message;
  auto file = spooled();
  EXPECT_EQ(sign(stage, message, file, true), "example.com/s2026e/ed25519-sha256");
  EXPECT_TRUE(message.body_prefix.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;")) << message.body_prefix;
  EXPECT_EQ((counters_.dkim_signatures[FailureKey{"example.com", "s2026e", "ed25519-sha256"}]), 1u);
  EXPECT_TRUE(counters_.dkim_failures.empty());
}

// The body file is gone when the stage reads it again (open fails), or is not a file
// (open succeeds, read fails): both leave the message as it was, to be committed
// unsigned, counted against the key the From: domain would have used, logged as an error.
TEST_F(SigningStageTest, AnUnreadableSpooledBodyIsCommittedUnsignedCountedAndLogged) {
  for (const bool directory_instead : {false, true}) {
    SCOPED_TRACE(directory_instead ? "a directory in its place" : "file removed");
    counters_.dkim_failures.clear();
    SigningStage stage(signer_, &pool_, conf::Direction::outbound, counters_, "s1", spool_.get());
    const std::string arrived(message_text);
    stage.observe(arrived, 1);  // the header section as it arrived names the key
    stage.drained(arrived);
    queue::NewMessage message;
    auto file = spooled();
    fs::remove(body_path(*file));
    if (directory_instead) fs::create_directory(body_path(*file));
    LogCapture log;
    EXPECT_EQ(sign(stage, message, file, true), "");
    EXPECT_TRUE(message.body_prefix.empty()) << "nothing added: the message goes as it came";
    EXPECT_TRUE(message.body.empty());
    ASSERT_TRUE(file.has_value()) << "the body stays the session's to commit";
    EXPECT_EQ(counters_.dkim_failures, (std::map<FailureKey, std::uint64_t>{{{"example.com", "s2026e", "read"}, 1}}));
    EXPECT_TRUE(counters_.dkim_signatures.empty());
    const std::string text = log.text();
    EXPECT_NE(text.find("[error] session=s1 dkim: not signed d=example.com s=s2026e: [dkim.main]: cannot read the "
                        "spooled body: "),
              std::string::npos)
        << text;
    if (directory_instead) fs::remove(body_path(*file));
  }
}

// Without the header section as it arrived, the failure is counted against every key of
// the listener's direction: an administrator still sees which key lost a signature.
TEST_F(SigningStageTest, AFailureBeforeAnyHeaderWasSeenNamesEveryKeyOfTheDirection) {
  SigningStage stage(signer_, &pool_, conf::Direction::outbound, counters_, "s1", spool_.get());
  queue::NewMessage message;
  auto file = spooled();
  fs::remove(body_path(*file));
  LogCapture log;
  EXPECT_EQ(sign(stage, message, file, true), "");
  EXPECT_EQ(counters_.dkim_failures, (std::map<FailureKey, std::uint64_t>{{{"example.com", "s2026e", "read"}, 1}}));
  EXPECT_NE(log.text().find("[dkim.main]: cannot read the spooled body"), std::string::npos) << log.text();
}

}  // namespace
}  // namespace relay
