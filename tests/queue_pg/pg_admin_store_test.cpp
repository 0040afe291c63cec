// Tests for queue/pg_admin_store.cpp: the AdminStore behaviour cases
// (tests/queue/admin_store_cases.hpp) on a private PostgreSQL server, written by PgStore
// as a node writes it, and the leases of the shared queue: a recipient another node holds
// under a lease that has not run out is neither made due nor finished, and is shown with
// its holder; once the lease ran out it is like any other.
#include "conf/domain_pattern.hpp"
#include "queue/admin_store_open.hpp"
#include "queue/pg_admin_store.hpp"
#include "queue/pg_store.hpp"
#include "tests/queue/admin_store_cases.hpp"
#include "tests/support/pg_server.hpp"

#include <gtest/gtest.h>

#include <set>

namespace queue {
namespace {

class PgBackend final : public AdminBackend {
 public:
  static std::unique_ptr<AdminBackend> make(std::string& skip) {
    test_support::PgServer* server = test_support::PgServer::shared();
    if (server == nullptr) {
      skip = test_support::PgServer::skip_reason();
      return nullptr;
    }
    auto backend = std::make_unique<PgBackend>();
    backend->conninfo_ = server->create_database();
    auto opened = PgStore::open({backend->conninfo_, "node-a"});
    if (!opened) {
      skip = opened.error();
      ADD_FAILURE() << opened.error();
      return nullptr;
    }
    backend->store_ = std::move(*opened);
    return backend;
  }
  QueueStore& writer() override { return *store_; }
  // As `hubrelay queue` opens it: through the configuration, on the node's own name.
  std::expected<std::unique_ptr<AdminStore>, std::string> open_admin() override {
    conf::QueueConfig config;
    config.backend = conf::QueueBackend::postgresql;
    config.node = "node-a";
    config.pg_conninfo = conninfo_;
    config.pg_conninfo_file = "test.conninfo";
    return open_admin_store(config, "/nonexistent");
  }
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string conninfo_;
  std::unique_ptr<PgStore> store_;
};

INSTANTIATE_TEST_SUITE_P(PostgreSQL, AdminStoreBehaviour, ::testing::Values(AdminBackendFactory(PgBackend::make)),
                         [](const auto&) { return std::string("postgresql"); });

class PgAdminLeaseTest : public AdminStoreBehaviour {};

INSTANTIATE_TEST_SUITE_P(PostgreSQL, PgAdminLeaseTest, ::testing::Values(AdminBackendFactory(PgBackend::make)),
                         [](const auto&) { return std::string("postgresql"); });

// Node "other" committed the message and holds its recipient until 100'000; node-a's
// operator retries and bounces it before and after that.
TEST_P(PgAdminLeaseTest, AnotherNodesUnexpiredLeaseIsNeitherRetriedNorFinished) {
  auto other = PgStore::open({static_cast<PgBackend&>(*backend_).conninfo(), "other"});
  ASSERT_TRUE(other) << other.error();
  ASSERT_FALSE((*other)->begin());
  auto stored = (*other)->insert(message({"bob@x.example"}, 1000), 100'000);
  ASSERT_TRUE(stored);
  ASSERT_FALSE((*other)->commit());
  const MessageId id = stored->id;
  auto a = admin();
  ASSERT_TRUE(a);

  auto shown = a->show(id);
  ASSERT_TRUE(shown) << shown.error();
  ASSERT_EQ(shown->recipients.size(), 1u);
  EXPECT_TRUE(shown->recipients[0].leased);
  EXPECT_EQ(shown->recipients[0].lease_node, "other");
  EXPECT_EQ(shown->recipients[0].lease_until, 100'000);

  auto retried = a->retry(Selection{.all = true}, 50'000);
  ASSERT_TRUE(retried) << retried.error();
  EXPECT_EQ(retried->recipients, 0u);
  auto released = a->release({{id}}, 50'000);
  ASSERT_TRUE(released) << released.error();
  EXPECT_EQ(released->recipients, 0u);
  auto early = a->finish({{id}}, RecipientState::failed, "550 5.0.0 bounced by administrator", 50'000,
                         admin_store_cases::no_report);
  ASSERT_TRUE(early) << early.error();
  EXPECT_EQ(early->recipients, 0u);
  EXPECT_EQ(a->list(QueueFilter{}, 50'000)->size(), 1u) << "still pending";
  EXPECT_EQ(due_now(50'000), 0u) << "node-a takes nothing from under other's lease";

  // The lease ran out (other died): due again for any node, and the operator's to finish.
  auto late_retry = a->retry(Selection{.all = true}, 100'000);
  ASSERT_TRUE(late_retry) << late_retry.error();
  EXPECT_EQ(late_retry->recipients, 1u);
  auto late = a->finish({{id}}, RecipientState::failed, "550 5.0.0 bounced by administrator", 100'001,
                        admin_store_cases::no_report);
  ASSERT_TRUE(late) << late.error();
  EXPECT_EQ(late->recipients, 1u);
  auto finished = a->show(id);
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->recipients[0].state, RecipientState::failed);
  EXPECT_EQ(finished->recipients[0].lease_node, "");
  EXPECT_FALSE(finished->has_body);
  // Other's late outcome finds the recipient final: dropped, the bounce stands.
  const RecipientOutcome o{id, 0, RecipientState::delivered, 0, true, "250 ok", "h", 100'002};
  ASSERT_FALSE((*other)->begin());
  EXPECT_EQ((*other)->record(std::span(&o, 1), freed_), make_error_code(errc::not_found));
  ASSERT_FALSE((*other)->commit());
  EXPECT_EQ(a->show(id)->recipients[0].state, RecipientState::failed);
}

// The admin endpoint keeps its store for the daemon's life: a connection the server
// dropped (restart, failover) is replaced by the next call, which answers normally.
TEST_P(PgAdminLeaseTest, ALostConnectionIsReplacedOnTheNextCall) {
  const MessageId id = add({"bob@x.example"}, 1000);
  auto a = admin();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->show(id));
  PGconn* killer = PQconnectdb(static_cast<PgBackend&>(*backend_).conninfo().c_str());
  ASSERT_EQ(PQstatus(killer), CONNECTION_OK);
  PGresult* r = PQexec(killer, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'hubrelay node-a' AND pid <> pg_backend_pid()");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  PQfinish(killer);
  auto after = a->show(id);
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(after->id, id);
}

// The list's domain filter and the summary spell domain_of in SQL for PostgreSQL: the
// same domain conf::domain_of gives, for the forms an address takes.
TEST_P(PgAdminLeaseTest, DomainOfInPostgreSqlIsConfDomainOf) {
  const std::vector<std::string> addresses{"a@Example.COM.", "\"x@y\"@Sub.Example.com", "<c@Angle.example>",
                                           "d@[IPv6:2001:DB8::1]", "nodomain"};
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const MessageId id = add({addresses[i]}, 1000);
    outcome(id, 0, RecipientState::pending, 1'000'000, "451 later", "h");
  }
  auto a = admin();
  ASSERT_TRUE(a);
  auto in = a->summary_inputs();
  ASSERT_TRUE(in) << in.error();
  std::multiset<std::string> got, want;
  for (const SummaryInput& s : *in) got.insert(s.domain);
  for (const std::string& address : addresses) want.insert(conf::domain_of(address));
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace queue
